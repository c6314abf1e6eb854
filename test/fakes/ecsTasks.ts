/**
 * An in-memory ECS for one node, for what moto cannot do (make a container exit non-zero): tasks
 * as DescribeTasks shows them, turned into pod views by the ECS provider's own podViewFromTask.
 */
import type { Task } from '@aws-sdk/client-ecs';
import {
  ecsContainerName,
  initKind,
  podTags,
  startedByFor,
  tagMap,
  TagKey,
} from '../../core/providers/ecs/naming.ts';
import { podViewFromTask } from '../../core/providers/ecs/task-status.ts';
import type { Provider } from '../../core/providers/provider.ts';
import type { NodeCapacity, ProviderPodView, ProviderRef, ResolvedPod } from '../../core/providers/types.ts';
import type { ManualClock } from '../unit/pods/fakes.ts';

export const taskArn = (n: number) =>
  `arn:aws:ecs:us-east-1:123456789012:task/pods/${n.toString(16).padStart(32, '0')}`;

/**
 * ECS as DescribeTasks shows it, for one node: RunTask starts a RUNNING task tagged with its pod
 * and attempt (the same RunTask for the same pod UID and attempt returns the task it started),
 * StopTask stops one, and `exit` ends a task as ECS does when its essential container exits.
 * Stopped tasks stay listed, as ECS keeps them for about an hour.
 */
export class FakeEcsTasks implements Provider {
  readonly name = 'ecs';
  readonly tasks: Task[] = [];
  readonly launched: ResolvedPod[] = [];
  readonly stopped: string[] = [];
  private readonly clock: ManualClock;

  private readonly clusterName: string;

  constructor(clock: ManualClock, clusterName: string) {
    this.clock = clock;
    this.clusterName = clusterName;
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
        startedBy: startedByFor(this.clusterName, pod.node),
        createdAt: new Date(this.clock.nowMs),
        startedAt: new Date(this.clock.nowMs),
        containers: [
          // Init containers have run to exit 0; sidecars run beside the app containers.
          ...pod.initContainers.map((c, i) => ({
            taskArn: arn,
            name: ecsContainerName(c.name, initKind(c)),
            image: c.image,
            ...(initKind(c) === 'sidecar'
              ? { lastStatus: 'RUNNING' }
              : { lastStatus: 'STOPPED', exitCode: 0 }),
            runtimeId: `${arn.slice(-8)}-init-${i}`,
          })),
          ...pod.containers.map((c, i) => ({
            taskArn: arn,
            name: ecsContainerName(c.name, 'app'),
            image: c.image,
            lastStatus: 'RUNNING',
            runtimeId: `${arn.slice(-8)}-${i}`,
          })),
        ],
        tags: podTags(pod, this.clusterName),
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

  /** The essential container exits with this code; ECS stops the task, and its sidecars (which exit 0). */
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
    for (const c of task.containers ?? []) {
      if (c.lastStatus === 'STOPPED') continue;
      const sidecar = c.name?.startsWith(ecsContainerName('', 'sidecar')) === true;
      Object.assign(c, { lastStatus: 'STOPPED', exitCode: sidecar ? 0 : exitCode });
    }
  }

  private task(arn: string): Task | undefined {
    return this.tasks.find((t) => t.taskArn === arn);
  }

  private refOf(task: Task): ProviderRef {
    return { provider: 'ecs', id: task.taskArn!, podUid: tagMap(task.tags)[TagKey.podUid]! };
  }
}
