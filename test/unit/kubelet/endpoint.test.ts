import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import type { KubeletApiCall } from '../../../core/kubelet/client.ts';
import { kubeletEndpointHandler } from '../../../core/kubelet/endpoint.ts';
import type { KubeletApiRequest } from '../../../core/kubelet/protocol.ts';
import { memoryLogger } from '../../../core/log.ts';

const summaryBody = (freshForMs?: number) => ({
  node: {
    nodeName: 'vk',
    startTime: '2026-12-01T00:00:00Z',
    systemContainers: [],
    cpu: { time: '2026-12-01T00:00:00Z', usageNanoCores: 0, usageCoreNanoSeconds: 0 },
    memory: { time: '2026-12-01T00:00:00Z', workingSetBytes: 0, usageBytes: 0 },
  },
  pods: [],
  ...(freshForMs !== undefined ? { freshForMs } : {}),
});

describe('the kubelet endpoint handler', () => {
  let server: Server;
  let base = '';
  let nowMs = 1_000_000;
  let freshForMs: number | undefined;
  const calls: KubeletApiRequest[] = [];
  const call: KubeletApiCall = (request) => {
    calls.push(request);
    return Promise.resolve({ status: 200, body: summaryBody(freshForMs) });
  };

  before(async () => {
    server = createServer(
      kubeletEndpointHandler({
        node: 'vk',
        authenticator: {
          authenticate: (req) =>
            Promise.resolve(
              req.headers.authorization === 'Bearer ok' ? { username: 'u', groups: [] } : undefined,
            ),
        },
        authorizer: {
          authorize: (_user, _node, _method, path) =>
            Promise.resolve(
              path.startsWith('/stats') || path.startsWith('/metrics')
                ? { allowed: true }
                : { allowed: false, message: 'Forbidden' },
            ),
        },
        call,
        listPods: () => Promise.resolve([]),
        logger: memoryLogger().logger,
        now: () => nowMs,
        statsTtlMs: 10_000,
      }),
    );
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });

  after(() => new Promise<void>((r) => server.close(() => r())));

  const get = async (path: string, token = 'ok') => {
    const response = await fetch(`${base}${path}`, { headers: { authorization: `Bearer ${token}` } });
    return { status: response.status, text: await response.text() };
  };

  it('answers 401 before 403, and neither reaches the function', async () => {
    const before = calls.length;
    assert.equal((await get('/stats/summary', 'bad')).status, 401);
    assert.equal((await get('/containerLogs/ns/p/c')).status, 403);
    assert.equal(calls.length, before);
  });

  it('reuses a summary for its TTL, or for the provider grain the function names, and strips that hint', async () => {
    calls.length = 0;
    freshForMs = undefined;
    const first = JSON.parse((await get('/stats/summary')).text) as Record<string, unknown>;
    assert.equal(first.freshForMs, undefined);
    await get('/metrics/resource');
    nowMs += 9_000;
    await get('/stats/summary');
    assert.equal(calls.length, 1, 'one call within 10 s');
    nowMs += 2_000;
    freshForMs = 30_000;
    const second = JSON.parse((await get('/stats/summary')).text) as Record<string, unknown>;
    assert.equal(calls.length, 2);
    assert.equal(second.freshForMs, undefined, 'the hint is not passed on');
    nowMs += 25_000;
    await get('/stats/summary');
    assert.equal(calls.length, 2, 'kept for the 30 s the provider grain allows');
    nowMs += 6_000;
    await get('/stats/summary');
    assert.equal(calls.length, 3);
  });
});
