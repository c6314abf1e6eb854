import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { TableClient } from '@azure/data-tables';
import type { Provider } from '../../core/providers/provider.ts';
import {
  CallRecorder,
  CrashError,
  crashingProvider,
  crashingTable,
  isCrash,
} from '../support/crashPoints.ts';

/** A provider that only counts what reached it. */
function countingProvider(reached: string[]): Provider {
  const answer = (what: string) => () => {
    reached.push(what);
    return Promise.resolve(undefined);
  };
  return {
    name: 'mock',
    createPod: answer('createPod'),
    deletePod: answer('deletePod'),
    getPod: answer('getPod'),
    listPods: () => {
      reached.push('listPods');
      return Promise.resolve([]);
    },
    capacity: answer('capacity'),
    health: answer('health'),
  } as unknown as Provider;
}

describe('crash points', () => {
  it('fails call k before it is made, and nothing after it reaches the provider', async () => {
    const reached: string[] = [];
    const recorder = new CallRecorder({ at: 2, mode: 'before' });
    const provider = crashingProvider(countingProvider(reached), recorder);
    await provider.listPods('n');
    await assert.rejects(provider.deletePod({ provider: 'mock', id: 'x', podUid: 'u' }), CrashError);
    await assert.rejects(provider.getPod({ provider: 'mock', id: 'x', podUid: 'u' }), CrashError);
    assert.deepEqual(reached, ['listPods']);
    assert.deepEqual(recorder.calls, ['provider.mock.listPods', 'provider.mock.deletePod']);
    assert.equal(recorder.crashed, 'before provider.mock.deletePod (call 2)');
  });

  it('makes call k and then crashes, so its effect happened but the invocation never heard', async () => {
    const reached: string[] = [];
    const recorder = new CallRecorder({ at: 1, mode: 'after' });
    const provider = crashingProvider(countingProvider(reached), recorder);
    await assert.rejects(provider.deletePod({ provider: 'mock', id: 'x', podUid: 'u' }), CrashError);
    await assert.rejects(provider.listPods('n'), CrashError);
    assert.deepEqual(reached, ['deletePod']);
  });

  it('counts every call of an uncrashed invocation, table listings included, and keeps the answers', async () => {
    const recorder = new CallRecorder();
    const table = {
      getEntity: () => Promise.resolve({ partitionKey: 'n', rowKey: 'u' }),
      // eslint-disable-next-line @typescript-eslint/require-await
      listEntities: async function* () {
        yield { rowKey: 'a' };
        yield { rowKey: 'b' };
      },
    } as unknown as TableClient;
    const wrapped = crashingTable(table, recorder);
    assert.deepEqual(await wrapped.getEntity('n', 'u'), { partitionKey: 'n', rowKey: 'u' });
    const rows: unknown[] = [];
    for await (const row of wrapped.listEntities()) rows.push(row);
    assert.deepEqual(rows, [{ rowKey: 'a' }, { rowKey: 'b' }]);
    assert.deepEqual(recorder.calls, ['table.getEntity', 'table.listEntities']);
    assert.equal(recorder.crashed, undefined);
  });

  it('tells a crash from a real failure, through the causes that wrap it', () => {
    const crash = new CrashError('crashed before x');
    assert.equal(isCrash(new Error('patch status of pod a/b: crashed', { cause: crash })), true);
    assert.equal(isCrash(new Error('HTTP 500')), false);
  });
});
