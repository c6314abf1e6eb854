/**
 * An ECS task (as DescribeTasks returns it, with tags) as the pod view Funclet reconciles against.
 * Pure. Fields read: lastStatus, stopCode, stoppedReason, startedAt, stoppedAt,
 * executionStoppedAt, attachments (ENI private IPv4), tags, and per container name, image,
 * lastStatus, exitCode, reason, healthStatus and runtimeId.
 *
 * Restarts are not the provider's job: a stopped task is reported as it is, and the reconcile
 * engine decides whether to launch the next attempt.
 */
import type { Container, Task } from '@aws-sdk/client-ecs';
import type { ContainerState, ContainerView, PodPhase, ProviderPodView } from '../types.ts';
import { podContainerName, tagMap, TagKey } from './naming.ts';

/** Task lifecycle states before the containers run. */
const startingStatuses: ReadonlySet<string> = new Set(['PROVISIONING', 'PENDING', 'ACTIVATING']);

/**
 * Stop codes that mean the platform ended the task, not the workload: the pod failed whatever
 * exit codes the containers left (a Spot interruption sends SIGTERM, which many programs answer with 0).
 */
const platformStopCodes: ReadonlySet<string> = new Set([
  'TaskFailedToStart',
  'SpotInterruption',
  'TerminationNotice',
  'InfrastructureHealth',
]);

/**
 * The exit code reported for a container of a stopped task that never left one (it never
 * started): 128 is what the kubelet reports for a container the runtime could not start (StartError).
 */
export const noExitCode = 128;

export function podViewFromTask(task: Task): ProviderPodView {
  const tags = tagMap(task.tags);
  const status = task.lastStatus ?? 'PROVISIONING';
  const stopped = status === 'STOPPED';
  const times = {
    startedAtMs: task.startedAt?.getTime(),
    finishedAtMs: (task.executionStoppedAt ?? task.stoppedAt)?.getTime(),
  };

  const containers: ContainerView[] = [];
  const initContainers: ContainerView[] = [];
  const initDone = (task.containers ?? []).every((c) => {
    const kind = podContainerName(c.name ?? '').kind;
    if (kind === 'sidecar') return c.lastStatus === 'RUNNING' || c.lastStatus === 'STOPPED';
    return kind === 'app' || (c.lastStatus === 'STOPPED' && c.exitCode === 0);
  });
  for (const c of task.containers ?? []) {
    const { name, kind } = podContainerName(c.name ?? '');
    const view = containerView(c, name, containerState(c, task, stopped, kind === 'app' && !initDone, times));
    if (kind === 'sidecar') initContainers.push({ ...view, sidecar: true });
    else (kind === 'init' ? initContainers : containers).push(view);
  }

  const phase = podPhase(status, task.stopCode, containers);
  const view: ProviderPodView = {
    ref: { provider: 'ecs', id: task.taskArn ?? '', podUid: tags[TagKey.podUid] ?? '' },
    namespace: tags[TagKey.namespace] ?? '',
    name: tags[TagKey.pod] ?? '',
    node: tags[TagKey.node] ?? '',
    phase,
    podIP: podIP(task),
    startedAtMs: times.startedAtMs,
    containers,
    initContainers,
  };
  if (task.desiredStatus === 'STOPPED' && !stopped) view.stopping = true;
  if (phase === 'Failed') {
    view.reason = task.stopCode ?? 'TaskStopped';
    view.message = task.stoppedReason;
  }
  return view;
}

/**
 * Pending until the task runs, Running until it is STOPPED (the DEACTIVATING..DEPROVISIONING
 * states still hold the containers), then Succeeded only when every app (essential) container
 * exited 0 and the platform did not stop the task itself; any non-zero or missing exit code is Failed.
 */
export function podPhase(
  status: string,
  stopCode: string | undefined,
  appContainers: readonly ContainerView[],
): PodPhase {
  if (startingStatuses.has(status)) return 'Pending';
  if (status !== 'STOPPED') return 'Running';
  if (stopCode !== undefined && platformStopCodes.has(stopCode)) return 'Failed';
  const succeeded =
    appContainers.length > 0 &&
    appContainers.every((c) => 'terminated' in c.state && c.state.terminated.exitCode === 0);
  return succeeded ? 'Succeeded' : 'Failed';
}

function containerState(
  c: Container,
  task: Task,
  taskStopped: boolean,
  waitingForInit: boolean,
  times: { startedAtMs?: number; finishedAtMs?: number },
): ContainerState {
  if (c.lastStatus === 'STOPPED' || taskStopped) {
    const exitCode = c.exitCode ?? noExitCode;
    return {
      terminated: {
        exitCode,
        reason: terminatedReason(c, task),
        message: c.reason ?? (c.exitCode === undefined ? task.stoppedReason : undefined),
        startedAtMs: c.exitCode === undefined ? undefined : times.startedAtMs,
        finishedAtMs: times.finishedAtMs,
      },
    };
  }
  if (c.lastStatus === 'RUNNING') return { running: { startedAtMs: times.startedAtMs } };
  return { waiting: { reason: waitingForInit ? 'PodInitializing' : 'ContainerCreating' } };
}

function terminatedReason(c: Container, task: Task): string {
  if (c.reason?.startsWith('OutOfMemoryError') === true) return 'OOMKilled';
  if (c.exitCode === undefined) return task.stopCode ?? 'StartError';
  return c.exitCode === 0 ? 'Completed' : 'Error';
}

function containerView(c: Container, name: string, state: ContainerState): ContainerView {
  return {
    name,
    image: c.image ?? '',
    state,
    restartCount: 0,
    // ECS runs no readiness probes: a running container is ready unless its health check fails.
    ready: 'running' in state && c.healthStatus !== 'UNHEALTHY',
    containerId: c.runtimeId,
  };
}

/** The private IPv4 address of the task's ENI (awsvpc). */
export function podIP(task: Task): string | undefined {
  for (const attachment of task.attachments ?? []) {
    if (attachment.type !== 'ElasticNetworkInterface') continue;
    const ip = attachment.details?.find((d) => d.name === 'privateIPv4Address')?.value;
    if (ip !== undefined && ip !== '') return ip;
  }
  return undefined;
}
