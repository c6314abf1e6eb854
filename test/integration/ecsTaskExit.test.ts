/**
 * What a pod becomes when its ECS task stops with exit code 1, and how init containers and
 * sidecars in a task are reported. moto cannot make a container exit non-zero, so the tasks are
 * DescribeTasks-shaped and held in memory (test/fakes/ecsTasks.ts), and their pod views are the
 * ECS provider's own (podViewFromTask). The decisions and the status are checked as pure
 * functions first, then through the real resync and reconcile code with what podDeps builds: the
 * real API server (as the node's own identity) and pod records in Azurite.
 */
import assert from 'node:assert/strict';
import { after, afterEach, before, beforeEach, describe, it } from 'node:test';
import type { Task } from '@aws-sdk/client-ecs';
import { CoreV1Api, type V1ContainerStatus, type V1Pod } from '@kubernetes/client-node';
import type { TimerLoop } from '../../cli/timerLoop.ts';
import { createLogger } from '../../core/log.ts';
import { decidePod } from '../../core/pods/decide.ts';
import type { PodDeps } from '../../core/pods/reconcile.ts';
import { resyncNode } from '../../core/pods/resync.ts';
import { podStatus } from '../../core/pods/status.ts';
import { podTags } from '../../core/providers/ecs/naming.ts';
import { podViewFromTask } from '../../core/providers/ecs/task-status.ts';
import type { RestartPolicy } from '../../core/providers/types.ts';
import type { PodRecord } from '../../core/state/podRecords.ts';
import { podDeps } from '../../functions/runtime.ts';
import { FakeEcsTasks, taskArn } from '../fakes/ecsTasks.ts';
import { uniqueName } from '../support/env.ts';
import { freshRuntimes, functionSettings } from '../support/functions.ts';
import { createPodNamespace, functionKubeconfig, testAdmin } from '../support/kube.ts';
import { keepNodeReady } from '../support/virtualNode.ts';
import { resolvedPod } from '../unit/ecs/pods.ts';
import { ManualClock } from '../unit/pods/fakes.ts';

const node = 'vk-ecs';
const clusterName = 'test-cluster';
const t0 = Date.UTC(2026, 0, 5, 9, 0, 0);
const backoffBaseMs = 10_000;

function pod(restartPolicy: RestartPolicy, phase = 'Running'): V1Pod {
  return {
    metadata: { namespace: 'jobs', name: 'worker', uid: 'uid-worker', creationTimestamp: new Date(t0) },
    spec: {
      nodeName: node,
      restartPolicy,
      enableServiceLinks: false,
      containers: [{ name: 'app', image: 'busybox:1.36', command: ['sh', '-c', 'exit 1'] }],
    },
    status: { phase },
  };
}

/** A task as DescribeTasks returns it once its only (essential) container exited with `exitCode`. */
function stoppedTask(exitCode: number, stoppedAtMs: number): Task {
  const tags = podTags(
    resolvedPod({ namespace: 'jobs', name: 'worker', uid: 'uid-worker', node }),
    clusterName,
  );
  return {
    taskArn: taskArn(1),
    lastStatus: 'STOPPED',
    desiredStatus: 'STOPPED',
    stopCode: 'EssentialContainerExited',
    stoppedReason: 'Essential container in task exited',
    startedAt: new Date(t0),
    executionStoppedAt: new Date(stoppedAtMs),
    stoppedAt: new Date(stoppedAtMs),
    containers: [{ name: 'app', image: 'busybox:1.36', lastStatus: 'STOPPED', exitCode, runtimeId: 'r-1' }],
    tags,
  };
}

const launched = (fields: Partial<PodRecord> = {}): PodRecord => ({
  node,
  uid: 'uid-worker',
  namespace: 'jobs',
  name: 'worker',
  providerId: taskArn(1),
  attempt: 0,
  instanceCreatedAtMs: t0,
  startedAtMs: t0,
  ...fields,
});

describe('a pod whose ECS task stops with exit code 1, as decisions and status', () => {
  const stoppedAtMs = t0 + 60_000;
  const view = podViewFromTask(stoppedTask(1, stoppedAtMs));

  it('is Failed under restartPolicy Never, with exit code 1 in its container status', () => {
    const input = { pod: pod('Never'), record: launched(), view, nowMs: stoppedAtMs + 1000, backoffBaseMs };
    assert.deepEqual(decidePod(input), { action: 'status' });
    const status = podStatus(input.pod, view, { record: input.record, nowMs: input.nowMs });
    assert.equal(status.phase, 'Failed');
    assert.equal(status.reason, 'EssentialContainerExited');
    const app = status.containerStatuses?.[0];
    assert.equal(app?.state?.terminated?.exitCode, 1);
    assert.equal(app?.state?.terminated?.reason, 'Error');
    assert.equal(app?.state?.terminated?.finishedAt?.getTime(), stoppedAtMs);
    assert.equal(app?.restartCount, 0);
    assert.equal(app?.ready, false);
  });

  it('is relaunched under restartPolicy Always once the restart back-off has passed, not before', () => {
    const input = { pod: pod('Always'), record: launched(), view, backoffBaseMs };
    assert.deepEqual(decidePod({ ...input, nowMs: stoppedAtMs + 1000 }), {
      action: 'backoff',
      untilMs: stoppedAtMs + backoffBaseMs,
    });
    assert.equal(decidePod({ ...input, nowMs: stoppedAtMs + backoffBaseMs }).action, 'restart');
  });

  it('is relaunched under OnFailure too, but a task that exited 0 under OnFailure is Succeeded', () => {
    const nowMs = stoppedAtMs + backoffBaseMs;
    assert.equal(
      decidePod({ pod: pod('OnFailure'), record: launched(), view, nowMs, backoffBaseMs }).action,
      'restart',
    );
    const succeeded = podViewFromTask(stoppedTask(0, stoppedAtMs));
    assert.equal(succeeded.phase, 'Succeeded');
    assert.deepEqual(
      decidePod({ pod: pod('OnFailure'), record: launched(), view: succeeded, nowMs, backoffBaseMs }),
      { action: 'status' },
    );
  });
});

describe('a pod on ECS through resync and reconcile, with the real API server and Azurite', () => {
  const admin = testAdmin();
  const core = admin.makeApiClient(CoreV1Api);
  const liveNode = uniqueName('vk-ecs-exit');
  const namespace = uniqueName('ecs-exit');
  let lease: TimerLoop;
  let runtimes: ReturnType<typeof freshRuntimes>;
  let clock: ManualClock;
  let ecs: FakeEcsTasks;
  let deps: PodDeps;
  let podName = '';

  const resync = () => resyncNode(deps, { concurrency: 4, budgetMs: 30_000 });
  const current = async (): Promise<V1Pod> => core.readNamespacedPod({ name: podName, namespace });
  const status = async (name: string): Promise<V1ContainerStatus | undefined> => {
    const s = (await current()).status;
    return [...(s?.initContainerStatuses ?? []), ...(s?.containerStatuses ?? [])].find(
      (c) => c.name === name,
    );
  };

  /** Creates the pod, bound to the node, and resyncs until its first task runs. */
  const startWorker = async (
    restartPolicy: RestartPolicy,
    spec: Partial<V1Pod['spec']> = {},
  ): Promise<string> => {
    podName = uniqueName('worker');
    await core.createNamespacedPod({
      namespace,
      body: {
        metadata: { name: podName },
        spec: {
          nodeName: liveNode,
          restartPolicy,
          automountServiceAccountToken: false,
          enableServiceLinks: false,
          containers: [{ name: 'app', image: 'busybox:1.36', command: ['sh', '-c', 'exit 1'] }],
          ...spec,
        },
      },
    });
    assert.equal((await resync()).created, 1);
    clock.advance(2000);
    await resync();
    assert.equal((await current()).status?.phase, 'Running');
    assert.equal(ecs.tasks.length, 1);
    return ecs.tasks[0]!.taskArn!;
  };

  before(async () => {
    await createPodNamespace(core, namespace);
    const settings = functionSettings({
      kubeconfig: await functionKubeconfig(admin, [liveNode]),
      tablePrefix: `ecsexit${Math.random().toString(36).slice(2, 7)}`,
      nodes: [{ name: liveNode, provider: 'mock' }],
    });
    runtimes = freshRuntimes(settings);
    lease = await keepNodeReady(runtimes);
  });
  after(async () => {
    await lease.stop();
    await core.deleteNamespace({ name: namespace }).catch(() => undefined);
    await core.deleteNode({ name: liveNode }).catch(() => undefined);
  });

  beforeEach(async () => {
    clock = new ManualClock(Date.now());
    ecs = new FakeEcsTasks(clock, clusterName);
    const runtime = runtimes();
    const built = await podDeps(runtime, runtime.config.nodes[0]!, createLogger({}, { minLevel: 'error' }));
    // The node's ECS is the in-memory one; everything else is what the functions build.
    deps = { ...built, provider: ecs, now: clock.now, backoffBaseMs };
  });

  // Each test has the node to itself: its pod goes, at once, when it ends.
  afterEach(async () => {
    await core
      .deleteNamespacedPod({ name: podName, namespace, gracePeriodSeconds: 0 })
      .catch(() => undefined);
  });

  it('under restartPolicy Never: the pod goes Failed with exit code 1 in its container status, and no task is relaunched', async () => {
    const first = await startWorker('Never');

    clock.advance(30_000);
    ecs.exit(first, 1);
    await resync();

    const failed = await current();
    assert.equal(failed.status?.phase, 'Failed');
    assert.equal(failed.status?.reason, 'EssentialContainerExited');
    assert.equal((await status('app'))?.state?.terminated?.exitCode, 1);
    assert.equal((await status('app'))?.state?.terminated?.reason, 'Error');
    assert.equal((await status('app'))?.restartCount, 0);

    clock.advance(5 * 60_000);
    const later = await resync();
    assert.equal(later.created + later.restarted, 0);
    assert.equal(ecs.launched.length, 1, 'one task, ever');
    assert.equal((await current()).status?.phase, 'Failed', 'a terminal pod stays as it is');
  });

  it('under restartPolicy Always: a new task is launched after the back-off, and the container reports restartCount 1 with exit code 1 as its last state', async () => {
    const first = await startWorker('Always');

    clock.advance(30_000);
    ecs.exit(first, 1);
    clock.advance(1000);
    await resync();
    assert.equal(ecs.launched.length, 1, 'not relaunched during the back-off');
    assert.equal((await status('app'))?.state?.waiting?.reason, 'CrashLoopBackOff');
    assert.equal((await status('app'))?.lastState?.terminated?.exitCode, 1);
    assert.equal((await current()).status?.phase, 'Running');

    clock.advance(backoffBaseMs);
    assert.equal((await resync()).restarted, 1);
    assert.equal(ecs.launched.length, 2);
    assert.equal(ecs.launched[1]?.attempt, 1, 'the relaunch is the next attempt');

    clock.advance(2000);
    await resync();
    assert.equal((await current()).status?.phase, 'Running');
    assert.ok((await status('app'))?.state?.running, 'the relaunched container runs');
    assert.equal((await status('app'))?.restartCount, 1);
    assert.equal((await status('app'))?.lastState?.terminated?.exitCode, 1);
    assert.deepEqual(
      ecs.running().map((t) => t.taskArn),
      [ecs.tasks[1]?.taskArn],
      'only the new task runs',
    );
    const events = await core.listNamespacedEvent({
      namespace,
      fieldSelector: `involvedObject.name=${podName}`,
    });
    assert.ok(
      events.items.some((e) => e.reason === 'Restarted'),
      'a Restarted event names the pod',
    );
  });

  it("reports a task's init container as Completed and its sidecar as started and ready, and a Job-like pod Succeeded once its app container exits 0", async () => {
    const first = await startWorker('Never', {
      initContainers: [
        { name: 'setup', image: 'busybox:1.36' },
        { name: 'proxy', image: 'busybox:1.36', restartPolicy: 'Always' },
      ],
    });
    const setup = await status('setup');
    assert.equal(setup?.state?.terminated?.reason, 'Completed');
    assert.equal(setup?.ready, true);
    assert.equal(setup?.started, false);
    const proxy = await status('proxy');
    assert.ok(proxy?.state?.running);
    assert.equal(proxy?.started, true);
    assert.equal(proxy?.ready, true);

    clock.advance(10_000);
    ecs.exit(first, 0);
    await resync();
    assert.equal((await current()).status?.phase, 'Succeeded', 'the sidecar did not hold the pod open');
    assert.equal((await status('app'))?.state?.terminated?.exitCode, 0);
  });
});
