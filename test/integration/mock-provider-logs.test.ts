/**
 * The mock provider's container logs and figures, against Azurite: what pods script with their
 * annotations, followed from a cursor by provider objects that share nothing but the table (as
 * two function instances would), and the previous attempt's output kept after a restart.
 */
import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import type { TableClient } from '@azure/data-tables';
import { InvalidInputError, NotFoundError } from '../../core/errors.ts';
import { MockAnnotation } from '../../core/providers/mock/instances.ts';
import { MockProvider } from '../../core/providers/mock/provider.ts';
import { hasLogs, hasStats } from '../../core/providers/provider.ts';
import type { ProviderRef, ResolvedPod } from '../../core/providers/types.ts';
import { Tables } from '../../core/state/tables.ts';
import { testEnv } from '../support/env.ts';
import { resolvedContainer, resolvedPod } from '../support/resolvedPod.ts';

const startDelayMs = 2000;
const createdAtMs = Date.UTC(2026, 11, 1, 20, 0, 0);
const startedAtMs = createdAtMs + startDelayMs;

void describe('mock provider logs and stats (Azurite)', () => {
  let table: TableClient;
  let nowMs = createdAtMs;
  /** A provider object of its own, as a new function instance would build. */
  const provider = () => new MockProvider({ table, startDelayMs, now: () => nowMs });
  const pod = (annotations: Record<string, string>, overrides: Partial<ResolvedPod> = {}): ResolvedPod =>
    resolvedPod({
      node: 'mock-logs-node',
      annotations,
      containers: [resolvedContainer({ name: 'app' }), resolvedContainer({ name: 'sidecar' })],
      ...overrides,
    });

  before(async () => {
    const tables = new Tables({
      kind: 'connectionString',
      connectionString: testEnv().azurite.connectionString,
      tablePrefix: `mocklogs${Math.random().toString(36).slice(2, 8)}`,
    });
    table = await tables.table('mockInstances');
  });

  /** Creates the pod at createdAtMs, then moves the clock to `atMs`. */
  const started = async (p: ResolvedPod, atMs: number): Promise<ProviderRef> => {
    nowMs = createdAtMs;
    const ref = await provider().createPod(p);
    nowMs = atMs;
    return ref;
  };

  void it('has both optional abilities', () => {
    const p = provider();
    assert.ok(hasLogs(p) && hasStats(p));
  });

  void it('writes the scripted lines when a container starts, and a tick line per period after', async () => {
    const ref = await started(
      pod({ [MockAnnotation.log]: 'starting\nlistening on :80\n', [MockAnnotation.logEverySeconds]: '5' }),
      startedAtMs + 12_000,
    );
    const chunk = await provider().containerLogs(ref, 'app', {});
    assert.equal(chunk.text, 'starting\nlistening on :80\napp tick 1\napp tick 2\n');
    assert.equal((await provider().containerLogs(ref, 'sidecar', { tailLines: 1 })).text, 'sidecar tick 2\n');
    assert.equal(
      (await provider().containerLogs(ref, 'app', { timestamps: true, tailLines: 1 })).text,
      `${new Date(startedAtMs + 10_000).toISOString().slice(0, 23)}000000Z app tick 2\n`,
    );
    assert.equal(
      (await provider().containerLogs(ref, 'app', { sinceMs: startedAtMs + 1 })).text,
      'app tick 1\napp tick 2\n',
    );
    assert.equal(
      (await provider().containerLogs(ref, 'app', { sinceMs: startedAtMs, tailLines: 3 })).text,
      'listening on :80\napp tick 1\napp tick 2\n',
    );
    assert.equal((await provider().containerLogs(ref, 'app', { limitBytes: 12 })).text, 'starting\nlis');
  });

  void it('answers an empty chunk before the container starts, and NotFound for what does not exist', async () => {
    const ref = await started(pod({ [MockAnnotation.log]: 'hello' }), createdAtMs + 500);
    const before = await provider().containerLogs(ref, 'app', {});
    assert.equal(before.text, '');
    nowMs = startedAtMs;
    assert.equal((await provider().containerLogs(ref, 'app', { cursor: before.cursor })).text, 'hello\n');
    await assert.rejects(provider().containerLogs(ref, 'nope', {}), NotFoundError);
    await assert.rejects(
      provider().containerLogs({ ...ref, id: 'mock-logs-node:missing-0' }, 'app', {}),
      NotFoundError,
    );
    await assert.rejects(provider().containerLogs(ref, 'app', { cursor: 'garbage!' }), InvalidInputError);
  });

  void it('following from each cursor, with a new provider object each time, gives every line once', async () => {
    const ref = await started(
      pod({ [MockAnnotation.log]: 'a\nb', [MockAnnotation.logEverySeconds]: '1' }),
      createdAtMs,
    );
    let cursor: string | undefined;
    let seen = '';
    for (let step = 0; step < 40; step++) {
      nowMs += 700; // some calls see no new line, some see two
      const chunk = await provider().containerLogs(
        ref,
        'app',
        cursor === undefined ? { tailLines: 10 } : { cursor },
      );
      seen += chunk.text;
      cursor = chunk.cursor;
    }
    const whole = (await provider().containerLogs(ref, 'app', {})).text;
    assert.equal(whole.split('\n').length, 2 + 26 + 1, 'two scripted lines, then a tick a second');
    assert.equal(seen, whole);
  });

  void it('a chunk cut by limitBytes goes on after the line it cut', async () => {
    const ref = await started(
      pod({ [MockAnnotation.log]: 'first line\nsecond line\nthird line' }),
      startedAtMs,
    );
    const cut = await provider().containerLogs(ref, 'app', { limitBytes: 15 });
    assert.equal(cut.text, 'first line\nseco');
    assert.equal((await provider().containerLogs(ref, 'app', { cursor: cut.cursor })).text, 'third line\n');
  });

  void it('stops writing when the containers exit', async () => {
    const ref = await started(
      pod({
        [MockAnnotation.logEverySeconds]: '2',
        [MockAnnotation.exitCode]: '0',
        [MockAnnotation.exitAfterSeconds]: '5',
      }),
      startedAtMs + 60_000,
    );
    assert.equal((await provider().containerLogs(ref, 'app', {})).text, 'app tick 1\napp tick 2\n');
  });

  void it('keeps a deleted attempt readable for --previous, out of listPods and getPod', async () => {
    const first = pod({ [MockAnnotation.logEverySeconds]: '1' });
    const ref = await started(first, startedAtMs + 3_500);
    await provider().deletePod(ref);
    nowMs += 10_000;
    assert.equal(await provider().getPod(ref), undefined);
    assert.ok(!(await provider().listPods(first.node)).some((v) => v.ref.id === ref.id));
    // What it wrote until it was deleted, however much later it is read.
    assert.equal(
      (await provider().containerLogs(ref, 'app', {})).text,
      'app tick 1\napp tick 2\napp tick 3\n',
    );

    // Deleting the next attempt keeps that one and drops the one before.
    const second = await started({ ...first, attempt: 1 }, startedAtMs + 1_000);
    await provider().deletePod(second);
    assert.equal((await provider().containerLogs(second, 'app', {})).text, 'app tick 1\n');
    await assert.rejects(provider().containerLogs(ref, 'app', {}), NotFoundError);
  });

  void it('refuses a pod whose script annotations are malformed, naming the annotation', async () => {
    nowMs = createdAtMs;
    const malformed: Record<string, string>[] = [
      { [MockAnnotation.logEverySeconds]: '0' },
      { [MockAnnotation.cpu]: 'lots' },
      { [MockAnnotation.memory]: '-1Mi' },
    ];
    for (const annotations of malformed) {
      await assert.rejects(provider().createPod(pod(annotations)), (err: unknown) => {
        assert.ok(err instanceof InvalidInputError);
        assert.match(err.message, new RegExp(`annotation ${Object.keys(annotations)[0]} is`));
        return true;
      });
    }
  });

  void it('reports scripted CPU and memory for running instances only, cumulative over the run', async () => {
    const busy = pod({ [MockAnnotation.cpu]: '250m', [MockAnnotation.memory]: '64Mi' });
    const idle = pod({});
    const ending = pod({ [MockAnnotation.exitCode]: '1', [MockAnnotation.exitAfterSeconds]: '1' });
    nowMs = createdAtMs;
    const refs = [
      await provider().createPod(busy),
      await provider().createPod(idle),
      await provider().createPod(ending),
    ];
    nowMs = createdAtMs + 1000;
    assert.deepEqual(await provider().podStats(refs), [], 'nothing runs yet');

    nowMs = startedAtMs + 10_000;
    const stats = await provider().podStats([...refs, { ...refs[0]!, id: 'mock-logs-node:missing-0' }]);
    assert.deepEqual(
      stats.map((s) => s.ref.id),
      [refs[0]!.id, refs[1]!.id],
      'the exited and the missing instance are left out',
    );
    const [app] = stats[0]!.containers;
    assert.equal(stats[0]!.atMs, nowMs);
    assert.deepEqual(app, {
      name: 'app',
      startedAtMs,
      cpuUsageCoreNanoSeconds: 0.25 * 10 * 1e9,
      cpuUsageNanoCores: 0.25e9,
      memoryWorkingSetBytes: 64 * 1024 * 1024,
    });
    assert.equal(stats[1]!.containers[0]!.cpuUsageNanoCores, 5e6, 'the default is a few millicores');

    nowMs += 30_000;
    const later = (await provider().podStats([refs[0]!]))[0]!.containers[0]!;
    assert.equal(later.cpuUsageCoreNanoSeconds, 0.25 * 40 * 1e9);
  });
});
