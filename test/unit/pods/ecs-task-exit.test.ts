/**
 * What a pod becomes when its ECS task stops with exit code 1. moto cannot make a container exit
 * non-zero, so the task is DescribeTasks-shaped and held by an in-memory provider, and its pod
 * view is the ECS provider's own (podViewFromTask). The decisions and the status are checked as
 * pure functions first, then through the real resync and reconcile code, with in-memory pod
 * records (the real PodRecords over an in-memory table) and API server.
 */
import assert from 'node:assert/strict';
import { beforeEach, describe, it } from 'node:test';
import type { Task } from '@aws-sdk/client-ecs';
import type { V1ContainerStatus, V1Pod } from '@kubernetes/client-node';
import { memoryLogger } from '../../../core/log.ts';
import { decidePod } from '../../../core/pods/decide.ts';
import type { PodDeps } from '../../../core/pods/reconcile.ts';
import { resyncNode } from '../../../core/pods/resync.ts';
import { podStatus } from '../../../core/pods/status.ts';
import {
  ecsContainerName,
  podTags,
  startedByFor,
  tagMap,
  TagKey,
} from '../../../core/providers/ecs/naming.ts';
import { podViewFromTask } from '../../../core/providers/ecs/task-status.ts';
import type { Provider } from '../../../core/providers/provider.ts';
import type {
  NodeCapacity,
  ProviderPodView,
  ProviderRef,
  ResolvedPod,
  RestartPolicy,
} from '../../../core/providers/types.ts';
import { PodRecords, type PodRecord } from '../../../core/state/podRecords.ts';
import { resolvedPod } from '../ecs/pods.ts';
import { FakeResolverApi } from '../resolve/support.ts';
import { FakePodApi, ManualClock, MemoryTable } from './fakes.ts';

const node = 'vk-ecs';
const clusterName = 'test-cluster';
const t0 = Date.UTC(2026, 0, 5, 9, 0, 0);
const backoffBaseMs = 10_000;
const taskArn = (n: number) =>
  `arn:aws:ecs:us-east-1:123456789012:task/pods/${n.toString(16).padStart(32, '0')}`;

/**
 * ECS as DescribeTasks shows it, for one node: RunTask starts a RUNNING task tagged with its pod
 * and attempt (the same RunTask for the same pod UID and attempt returns the task it started),
 * StopTask stops one, and `exit` ends a task as ECS does when its essential container exits.
 * Stopped tasks stay listed, as ECS keeps them for about an hour.
 */
class FakeEcsTasks implements Provider {
  readonly name = 'ecs';
  readonly tasks: Task[] = [];
  readonly launched: ResolvedPod[] = [];
  readonly stopped: string[] = [];
  private readonly clock: ManualClock;

  constructor(clock: ManualClock) {
    this.clock = clock;
  }

  createPod(pod: ResolvedPod): Promise<ProviderRef> {
    const existing = this.tasks.find((t) => {
      const tags = tagMap(t.tags);
      return tags[TagKey.podUid] === pod.uid && tags[TagKey.attempt] === String(pod.attempt);
    });
    if (existing === undefined) {
      const arn = taskArn(this.tasks.length + 1);
      this.launched.push(pod);
      this.tasks.push({
        taskArn: arn,
        taskDefinitionArn: 'arn:aws:ecs:us-east-1:123456789012:task-definition/funclet-web:1',
        lastStatus: 'RUNNING',
        desiredStatus: 'RUNNING',
        launchType: 'FARGATE',
        startedBy: startedByFor(clusterName, pod.node),
        createdAt: new Date(this.clock.nowMs),
        startedAt: new Date(this.clock.nowMs),
        containers: pod.containers.map((c, i) => ({
          taskArn: arn,
          name: ecsContainerName(c.name, 'app'),
          image: c.image,
          lastStatus: 'RUNNING',
          runtimeId: `${arn.slice(-8)}-${i}`,
        })),
        tags: podTags(pod, clusterName),
        attachments: [
          {
            type: 'ElasticNetworkInterface',
            status: 'ATTACHED',
            details: [{ name: 'privateIPv4Address', value: `10.0.1.${this.tasks.length + 10}` }],
          },
        ],
      });
    }
    return Promise.resolve(this.refOf(existing ?? this.tasks.at(-1)!));
  }

  deletePod(ref: ProviderRef): Promise<void> {
    const task = this.task(ref.id);
    if (task !== undefined && task.lastStatus !== 'STOPPED') {
      this.stopped.push(ref.id);
      this.stop(task, 'UserInitiated', 'Deleted by Funclet', 143);
    }
    return Promise.resolve();
  }

  getPod(ref: ProviderRef): Promise<ProviderPodView | undefined> {
    const task = this.task(ref.id);
    return Promise.resolve(task === undefined ? undefined : podViewFromTask(structuredClone(task)));
  }

  listPods(forNode: string): Promise<ProviderPodView[]> {
    return Promise.resolve(
      this.tasks
        .filter((t) => tagMap(t.tags)[TagKey.node] === forNode)
        .map((t) => podViewFromTask(structuredClone(t))),
    );
  }

  capacity(): Promise<NodeCapacity> {
    return Promise.resolve({ cpu: '100', memory: '400Gi', pods: '100', ephemeralStorage: '1Ti' });
  }

  health() {
    return Promise.resolve({ ok: true });
  }

  /** The essential container exits with this code; ECS stops the task. */
  exit(arn: string, exitCode: number): void {
    this.stop(this.task(arn)!, 'EssentialContainerExited', 'Essential container in task exited', exitCode);
  }

  running(): Task[] {
    return this.tasks.filter((t) => t.lastStatus !== 'STOPPED');
  }

  private stop(task: Task, stopCode: Task['stopCode'], stoppedReason: string, exitCode: number): void {
    const at = new Date(this.clock.nowMs);
    Object.assign(task, {
      lastStatus: 'STOPPED',
      desiredStatus: 'STOPPED',
      stopCode,
      stoppedReason,
      stoppingAt: at,
      executionStoppedAt: at,
      stoppedAt: at,
    });
    for (const c of task.containers ?? []) Object.assign(c, { lastStatus: 'STOPPED', exitCode });
  }

  private task(arn: string): Task | undefined {
    return this.tasks.find((t) => t.taskArn === arn);
  }

  private refOf(task: Task): ProviderRef {
    return { provider: 'ecs', id: task.taskArn!, podUid: tagMap(task.tags)[TagKey.podUid]! };
  }
}

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

describe('a pod whose ECS task stops with exit code 1, through resync and reconcile', () => {
  let clock: ManualClock;
  let api: FakePodApi;
  let ecs: FakeEcsTasks;
  let deps: PodDeps;

  const resync = () => resyncNode(deps, { concurrency: 4, budgetMs: 30_000 });
  const current = (): V1Pod => api.pod('jobs', 'worker');
  const app = (): V1ContainerStatus | undefined => current().status?.containerStatuses?.[0];

  /** Creates the pod and resyncs until its first task runs. */
  const startWorker = async (restartPolicy: RestartPolicy): Promise<string> => {
    api.add(pod(restartPolicy, 'Pending'));
    assert.equal((await resync()).created, 1);
    clock.advance(2000);
    await resync();
    assert.equal(current().status?.phase, 'Running');
    assert.equal(ecs.tasks.length, 1);
    return ecs.tasks[0]!.taskArn!;
  };

  beforeEach(() => {
    clock = new ManualClock(t0);
    api = new FakePodApi();
    ecs = new FakeEcsTasks(clock);
    deps = {
      kube: api.kube(),
      provider: ecs,
      records: new PodRecords(new MemoryTable().asTableClient()),
      resolver: new FakeResolverApi(),
      node,
      now: clock.now,
      logger: memoryLogger().logger,
      backoffBaseMs,
    };
  });

  it('under restartPolicy Never: the pod goes Failed with exit code 1 in its container status, and no task is relaunched', async () => {
    const first = await startWorker('Never');

    clock.advance(30_000);
    ecs.exit(first, 1);
    await resync();

    const failed = current();
    assert.equal(failed.status?.phase, 'Failed');
    assert.equal(failed.status?.reason, 'EssentialContainerExited');
    assert.equal(app()?.state?.terminated?.exitCode, 1);
    assert.equal(app()?.state?.terminated?.reason, 'Error');
    assert.equal(app()?.restartCount, 0);

    clock.advance(5 * 60_000);
    const later = await resync();
    assert.equal(later.created + later.restarted, 0);
    assert.equal(ecs.launched.length, 1, 'one task, ever');
    assert.equal(current().status?.phase, 'Failed', 'a terminal pod stays as it is');
  });

  it('under restartPolicy Always: a new task is launched after the back-off, and the container reports restartCount 1 with exit code 1 as its last state', async () => {
    const first = await startWorker('Always');

    clock.advance(30_000);
    ecs.exit(first, 1);
    clock.advance(1000);
    await resync();
    assert.equal(ecs.launched.length, 1, 'not relaunched during the back-off');
    assert.equal(app()?.state?.waiting?.reason, 'CrashLoopBackOff');
    assert.equal(app()?.lastState?.terminated?.exitCode, 1);
    assert.equal(current().status?.phase, 'Running');

    clock.advance(backoffBaseMs);
    assert.equal((await resync()).restarted, 1);
    assert.equal(ecs.launched.length, 2);
    assert.equal(ecs.launched[1]?.attempt, 1, 'the relaunch is the next attempt');
    assert.equal(ecs.launched[1]?.uid, 'uid-worker');

    clock.advance(2000);
    await resync();
    const running = current();
    assert.equal(running.status?.phase, 'Running');
    assert.ok(app()?.state?.running, 'the relaunched container runs');
    assert.equal(app()?.restartCount, 1);
    assert.equal(app()?.lastState?.terminated?.exitCode, 1);
    assert.deepEqual(
      ecs.running().map((t) => t.taskArn),
      [ecs.tasks[1]?.taskArn],
      'only the new task runs',
    );
    assert.ok(
      api.events.some((e) => e.reason === 'Restarted' && e.involvedObject.uid === 'uid-worker'),
      'a Restarted event names the pod',
    );
  });
});
