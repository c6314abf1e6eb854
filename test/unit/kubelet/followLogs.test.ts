import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { KubeletApiCall } from '../../../core/kubelet/client.ts';
import { serveContainerLogs, type LogSink } from '../../../core/kubelet/followLogs.ts';
import type { ContainerLogsRequest } from '../../../core/kubelet/protocol.ts';
import { memoryLogger } from '../../../core/log.ts';

const target = { node: 'vk', namespace: 'ns', pod: 'p', container: 'c' };
const options = { follow: true, previous: false, timestamps: false };

/** A function that hands out `chunks` one per call, then says the run ended. */
function scripted(chunks: { status?: number; text?: string }[]): {
  call: KubeletApiCall;
  requests: ContainerLogsRequest[];
} {
  const requests: ContainerLogsRequest[] = [];
  let i = 0;
  const call: KubeletApiCall = (request) => {
    requests.push(request as ContainerLogsRequest);
    const chunk = chunks[i];
    i++;
    if (chunk?.status !== undefined && chunk.status !== 200)
      return Promise.resolve({ status: chunk.status, body: { error: 'down' } });
    return Promise.resolve({
      status: 200,
      body: { text: chunk?.text ?? '', cursor: `after-${i}`, ended: chunk === undefined },
    });
  };
  return { call, requests };
}

function sink(abort?: AbortController) {
  const written: string[] = [];
  let status: number | undefined;
  let message: string | undefined;
  let ended = false;
  const controller = abort ?? new AbortController();
  const s: LogSink = {
    start(code, m) {
      status = code;
      message = m;
    },
    write: (t) => void written.push(t),
    end: () => void (ended = true),
    signal: controller.signal,
  };
  return { s, written, state: () => ({ status, message, ended }) };
}

const noSleep = () => Promise.resolve();

describe('following container logs', () => {
  it('passes each cursor back, writes each chunk once, and ends when the run has ended', async () => {
    const { call, requests } = scripted([{ text: 'a\n' }, { text: '' }, { text: 'b\nc\n' }]);
    const out = sink();
    await serveContainerLogs(target, options, out.s, { call, logger: memoryLogger().logger, sleep: noSleep });
    assert.deepEqual(out.written, ['a\n', 'b\nc\n']);
    assert.deepEqual(out.state(), { status: 200, message: undefined, ended: true });
    assert.deepEqual(
      requests.map((r) => r.cursor),
      [undefined, 'after-1', 'after-2', 'after-3'],
    );
  });

  it('keeps following through a few failed reads, and gives up after too many in a row', async () => {
    const { call } = scripted([
      { text: 'a\n' },
      { status: 503 },
      { text: 'b\n' },
      { status: 503 },
      { status: 503 },
      { status: 503 },
    ]);
    const out = sink();
    await serveContainerLogs(target, options, out.s, {
      call,
      logger: memoryLogger().logger,
      sleep: noSleep,
      maxFailures: 3,
    });
    assert.deepEqual(out.written, ['a\n', 'b\n']);
    assert.equal(out.state().ended, true);
  });

  it('stops at limitBytes, cutting at a character boundary', async () => {
    const { call } = scripted([{ text: 'ab\n' }, { text: 'cdé\n' }, { text: 'never\n' }]);
    const out = sink();
    await serveContainerLogs(target, { ...options, limitBytes: 6 }, out.s, {
      call,
      logger: memoryLogger().logger,
      sleep: noSleep,
    });
    assert.equal(out.written.join(''), 'ab\ncd');
  });

  it('stops when the caller goes away', async () => {
    const controller = new AbortController();
    let calls = 0;
    const call: KubeletApiCall = () => {
      calls++;
      if (calls === 3) controller.abort();
      return Promise.resolve({
        status: 200,
        body: { text: `line ${calls}\n`, cursor: String(calls), ended: false },
      });
    };
    const out = sink(controller);
    await serveContainerLogs(target, options, out.s, { call, logger: memoryLogger().logger, sleep: noSleep });
    assert.equal(calls, 3);
    assert.equal(out.state().ended, true);
  });

  it('passes a refusal on with its status and message', async () => {
    const out = sink();
    await serveContainerLogs(target, options, out.s, {
      call: () =>
        Promise.resolve({
          status: 400,
          body: { error: 'container "c" in pod "p" is waiting to start: ContainerCreating' },
        }),
      logger: memoryLogger().logger,
      sleep: noSleep,
    });
    assert.deepEqual(out.state(), {
      status: 400,
      message: 'container "c" in pod "p" is waiting to start: ContainerCreating',
      ended: true,
    });
    assert.deepEqual(out.written, []);
  });

  it('reads once without follow', async () => {
    const { call, requests } = scripted([{ text: 'a\n' }, { text: 'b\n' }]);
    const out = sink();
    await serveContainerLogs(target, { ...options, follow: false, tailLines: 1 }, out.s, {
      call,
      logger: memoryLogger().logger,
      sleep: noSleep,
    });
    assert.deepEqual(out.written, ['a\n']);
    assert.equal(requests.length, 1);
    assert.equal(requests[0]?.tailLines, 1);
  });
});
