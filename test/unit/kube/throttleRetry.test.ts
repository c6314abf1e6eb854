import assert from 'node:assert/strict';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, beforeEach, describe, it } from 'node:test';
import {
  createConfiguration,
  HttpMethod,
  KubeConfig,
  RequestContext,
  ServerConfiguration,
} from '@kubernetes/client-node';
import { kubeClients, mergePatch } from '../../../core/kube/clients.ts';
import { kubeError } from '../../../core/kube/errors.ts';
import { retryOnThrottle } from '../../../core/kube/throttleRetry.ts';
import { ThrottledError } from '../../../core/errors.ts';

/** An API server stand-in on loopback that turns away the first `refuse` requests with 429. */
const seen: { method: string; url: string; body: string }[] = [];
let refuse = 0;
let refusal = { status: 429, retryAfter: '0' as string | undefined };
const server = createServer((req: IncomingMessage, res: ServerResponse) => {
  let body = '';
  req.on('data', (chunk: Buffer) => (body += chunk.toString()));
  req.on('end', () => {
    seen.push({ method: req.method ?? '', url: req.url ?? '', body });
    if (refuse > 0) {
      refuse--;
      res.writeHead(refusal.status, {
        'content-type': 'text/plain',
        ...(refusal.retryAfter !== undefined ? { 'retry-after': refusal.retryAfter } : {}),
      });
      res.end('Too many requests, please try again later.\n');
      return;
    }
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ apiVersion: 'v1', kind: 'Pod', metadata: { name: 'p', resourceVersion: '2' } }));
  });
});
let url = '';

function clients() {
  const kc = new KubeConfig();
  kc.loadFromOptions({
    clusters: [{ name: 'c', server: url, skipTLSVerify: true }],
    users: [{ name: 'u', token: 'not-a-secret' }],
    contexts: [{ name: 'x', cluster: 'c', user: 'u' }],
    currentContext: 'x',
  });
  return kubeClients(kc);
}

describe('requests the API server turns away with 429', () => {
  before(async () => {
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  after(() => server.close());
  beforeEach(() => {
    seen.length = 0;
    refuse = 0;
    refusal = { status: 429, retryAfter: '0' };
  });

  it('are sent again, the same body each time, and the caller sees only the success', async () => {
    refuse = 2;
    const patched = await clients().core.patchNamespacedPodStatus(
      { name: 'p', namespace: 'ns', body: { status: { phase: 'Running' } } },
      mergePatch,
    );
    assert.equal(patched.metadata?.resourceVersion, '2');
    assert.equal(seen.length, 3);
    assert.deepEqual(new Set(seen.map((s) => `${s.method} ${s.url} ${s.body}`)).size, 1);
    assert.match(seen[0]!.body, /"phase":"Running"/);
  });

  it('give up after five sends, and the caller gets a ThrottledError', async () => {
    refuse = 10;
    await assert.rejects(
      clients()
        .core.readNamespacedPod({ name: 'p', namespace: 'ns' })
        .catch((err: unknown) => {
          throw kubeError(err, 'read pod ns/p');
        }),
      (err: unknown) => err instanceof ThrottledError && /Too many requests/.test(err.message),
    );
    assert.equal(seen.length, 5);
  });

  it('other failures are not sent again', async () => {
    refuse = 1;
    refusal = { status: 500, retryAfter: '0' };
    await assert.rejects(clients().core.readNamespacedPod({ name: 'p', namespace: 'ns' }));
    assert.equal(seen.length, 1);
  });

  it('wait the Retry-After the server names, plus up to half again, capped; 1 s when it names none', async () => {
    const waits: number[] = [];
    const baseServer = new ServerConfiguration(url, {});
    const send = (random: number) =>
      retryOnThrottle(createConfiguration({ baseServer }).httpApi, {
        random: () => random,
        sleep: (ms) => {
          waits.push(ms);
          return Promise.resolve();
        },
      })
        .send(new RequestContext(`${url}/api/v1/namespaces/ns/pods/p`, HttpMethod.GET))
        .toPromise();

    refuse = 1;
    refusal = { status: 429, retryAfter: '2' };
    assert.equal((await send(0)).httpStatusCode, 200);
    refuse = 1;
    refusal = { status: 429, retryAfter: '2' };
    await send(0.999);
    refuse = 1;
    refusal = { status: 429, retryAfter: '60' };
    await send(0);
    refuse = 1;
    refusal = { status: 429, retryAfter: undefined };
    await send(0);
    assert.deepEqual(
      waits.map((w) => Math.round(w)),
      [2000, 2999, 5000, 1000],
    );
  });
});
