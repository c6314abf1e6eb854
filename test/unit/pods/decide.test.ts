import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { V1Pod } from '@kubernetes/client-node';
import { decidePod, restartBackoffMs } from '../../../core/pods/decide.ts';
import type { ProviderPodView } from '../../../core/providers/types.ts';
import type { PodRecord } from '../../../core/state/podRecords.ts';

const now = 1_800_000_000_000;
const pod = (
  spec: Partial<NonNullable<V1Pod['spec']>> = {},
  status: V1Pod['status'] = { phase: 'Pending' },
  deleting = false,
): V1Pod => ({
  metadata: {
    name: 'p',
    namespace: 'ns',
    uid: 'u1',
    ...(deleting ? { deletionTimestamp: new Date(now) } : {}),
  },
  spec: { containers: [{ name: 'c', image: 'i' }], nodeName: 'vk', ...spec },
  status,
});
const record = (fields: Partial<PodRecord> = {}): PodRecord => ({
  node: 'vk',
  uid: 'u1',
  namespace: 'ns',
  name: 'p',
  attempt: 0,
  ...fields,
});
const view = (phase: ProviderPodView['phase'], finishedAtMs?: number): ProviderPodView => ({
  ref: { provider: 'mock', id: 'i1', podUid: 'u1' },
  namespace: 'ns',
  name: 'p',
  node: 'vk',
  phase,
  initContainers: [],
  containers: [
    {
      name: 'c',
      image: 'i',
      ready: phase === 'Running',
      restartCount: 0,
      state:
        finishedAtMs === undefined
          ? { running: {} }
          : { terminated: { exitCode: phase === 'Failed' ? 1 : 0, finishedAtMs } },
    },
  ],
});
const decide = (input: Omit<Parameters<typeof decidePod>[0], 'nowMs' | 'backoffBaseMs'>) =>
  decidePod({ ...input, nowMs: now, backoffBaseMs: 10_000 });

describe('reconcile decisions', () => {
  it('creates the instance of a new pod', () => {
    assert.equal(decide({ pod: pod() }).action, 'create');
    assert.equal(
      decide({ pod: pod(), record: record({ lastWarningReason: 'CreateContainerConfigError' }) }).action,
      'create',
    );
  });

  it('posts status for a pod whose instance runs', () => {
    assert.equal(
      decide({ pod: pod(), record: record({ providerId: 'i1' }), view: view('Running') }).action,
      'status',
    );
  });

  it('deletes a pod being deleted, with or without its instance', () => {
    assert.equal(decide({ pod: pod({}, undefined, true), view: view('Running') }).action, 'deletePod');
    assert.equal(decide({ pod: pod({}, undefined, true) }).action, 'deletePod');
  });

  it('leaves terminal pods alone, but stops an instance still running under one', () => {
    assert.equal(
      decide({ pod: pod({}, { phase: 'Succeeded' }), view: view('Succeeded', now) }).action,
      'none',
    );
    assert.equal(decide({ pod: pod({}, { phase: 'Failed' }), view: view('Running') }).action, 'stopInstance');
  });

  it('collects an instance no pod owns, and forgets a record with nothing behind it', () => {
    assert.equal(decide({ view: view('Running') }).action, 'collect');
    assert.equal(decide({ record: record() }).action, 'forget');
  });

  it('fails a pod whose instance vanished under restartPolicy Never, and restarts it otherwise', () => {
    const lost = decide({ pod: pod({ restartPolicy: 'Never' }), record: record({ providerId: 'i1' }) });
    assert.equal(lost.action, 'fail');
    assert.equal(lost.action === 'fail' && lost.reason, 'ProviderInstanceLost');
    assert.equal(
      decide({ pod: pod({ restartPolicy: 'Always' }), record: record({ providerId: 'i1' }) }).action,
      'restart',
    );
  });

  it('restarts an ended instance per restartPolicy, after the crash-loop back-off', () => {
    const ended = record({ providerId: 'i1', attempt: 2 });
    const justFailed = view('Failed', now - 1000);
    assert.equal(
      decide({ pod: pod({ restartPolicy: 'Never' }), record: ended, view: justFailed }).action,
      'status',
    );
    assert.equal(
      decide({ pod: pod({ restartPolicy: 'OnFailure' }), record: ended, view: view('Succeeded', now - 1000) })
        .action,
      'status',
    );
    const waiting = decide({ pod: pod({ restartPolicy: 'OnFailure' }), record: ended, view: justFailed });
    assert.deepEqual(waiting, { action: 'backoff', untilMs: now - 1000 + 40_000 });
    assert.equal(
      decide({ pod: pod({ restartPolicy: 'Always' }), record: ended, view: view('Succeeded', now - 41_000) })
        .action,
      'restart',
    );
  });

  it('enforces activeDeadlineSeconds from the pod start', () => {
    const started = record({ providerId: 'i1', startedAtMs: now - 61_000 });
    const d = decide({ pod: pod({ activeDeadlineSeconds: 60 }), record: started, view: view('Running') });
    assert.equal(d.action === 'fail' && d.reason, 'DeadlineExceeded');
    assert.equal(
      decide({ pod: pod({ activeDeadlineSeconds: 120 }), record: started, view: view('Running') }).action,
      'status',
    );
  });

  it('doubles the back-off up to five minutes', () => {
    assert.deepEqual(
      [0, 1, 2, 5, 10].map((a) => restartBackoffMs(a, 10_000)),
      [10_000, 20_000, 40_000, 300_000, 300_000],
    );
  });

  it('restarts a running pod whose container image changed, naming the containers, but not one whose instance has ended', () => {
    const updated = pod({ containers: [{ name: 'c', image: 'i2' }] }, { phase: 'Running' });
    assert.deepEqual(decide({ pod: updated, record: record({ providerId: 'i1' }), view: view('Running') }), {
      action: 'update',
      changed: [{ name: 'c', image: 'i2', was: 'i' }],
    });
    assert.equal(
      decide({
        pod: pod({}, { phase: 'Running' }),
        record: record({ providerId: 'i1' }),
        view: view('Running'),
      }).action,
      'status',
      'the same image: nothing to restart',
    );
    const ended = decide({
      pod: updated,
      record: record({ providerId: 'i1' }),
      view: view('Succeeded', now - 1),
    });
    assert.notEqual(ended.action, 'update', 'an ended instance follows its restart policy');
  });

  it('stops the instance of a finished pod while a sidecar in it still runs', () => {
    const finished = view('Succeeded', now - 1000);
    const sidecar = {
      name: 's',
      image: 'i',
      ready: true,
      restartCount: 0,
      sidecar: true,
      state: { running: {} },
    };
    assert.deepEqual(
      decide({ pod: pod({}, { phase: 'Succeeded' }), view: { ...finished, initContainers: [sidecar] } }),
      {
        action: 'stopInstance',
      },
    );
    assert.equal(decide({ pod: pod({}, { phase: 'Succeeded' }), view: finished }).action, 'none');
  });
});
