import type { V1ContainerState, V1ContainerStatus, V1Pod, V1PodStatus } from '@kubernetes/client-node';
import type { ContainerState, ContainerView, PodPhase, ProviderPodView } from '../providers/types.ts';
import type { PodRecord } from '../state/podRecords.ts';
import { podConditions } from './conditions.ts';
import { reportedResources, resizeCondition, resizePendingCondition } from './resize.ts';

/** Extra facts about the pod that the provider does not know. */
export interface StatusContext {
  record?: PodRecord;
  nowMs: number;
  /** Overrides the phase with a reason: a refused pod, a deadline passed, an instance lost. */
  verdict?: { phase: PodPhase; reason: string; message: string };
  /** Overrides the phase alone: a pod restarting keeps the phase it had. */
  phase?: PodPhase;
  /** Containers wait with this reason instead of what the provider says (CreateContainerConfigError, CrashLoopBackOff). */
  waiting?: { reason: string; message?: string };
  /** The containers' lastState, when not the record's (during a restart back-off: the ended instance). */
  lastTerminations?: Record<string, ContainerState>;
  /** The instance was just started from the spec as it is now: its resources are the spec's (resize.ts). */
  startedFromSpec?: boolean;
}

/**
 * The pods/status a kubelet would post for `pod`, given what the provider reports. Conditions
 * (conditions.ts) keep their lastTransitionTime while their status is unchanged.
 */
export function podStatus(pod: V1Pod, view: ProviderPodView | undefined, ctx: StatusContext): V1PodStatus {
  const phase: PodPhase = ctx.verdict?.phase ?? ctx.phase ?? view?.phase ?? 'Pending';
  const lastTerminations = ctx.lastTerminations ?? parseTerminations(ctx.record?.lastTermination);
  const attempt = ctx.record?.attempt ?? 0;
  const containerStatuses = (pod.spec?.containers ?? []).map((c) =>
    withResources(
      pod,
      containerStatus(
        c.name,
        c.image ?? '',
        view?.containers.find((v) => v.name === c.name),
        attempt,
        lastTerminations[c.name],
        ctx,
      ),
      ctx.startedFromSpec === true,
    ),
  );
  const initContainerStatuses = (pod.spec?.initContainers ?? []).map((c) =>
    initContainerStatus(
      containerStatus(
        c.name,
        c.image ?? '',
        view?.initContainers.find((v) => v.name === c.name),
        attempt,
        lastTerminations[c.name],
        ctx,
      ),
      c.restartPolicy === 'Always',
    ),
  );
  const conditions = podConditions({
    pod,
    phase,
    containerStatuses,
    initContainerStatuses,
    hasInstance: view !== undefined || (ctx.record?.providerId !== undefined && ctx.verdict === undefined),
    nowMs: ctx.nowMs,
  }).filter((c) => c.type !== resizePendingCondition);
  const resize = resizeCondition(
    pod,
    containerStatuses,
    phase === 'Succeeded' || phase === 'Failed',
    ctx.nowMs,
  );
  if (resize !== undefined) conditions.push(resize);

  const status: V1PodStatus = {
    phase,
    conditions,
    containerStatuses,
    ...(initContainerStatuses.length > 0 ? { initContainerStatuses } : {}),
    ...(pod.status?.qosClass ? { qosClass: pod.status.qosClass } : {}),
    ...(resize !== undefined ? { resize: 'Infeasible' } : {}),
  };
  const startedAtMs = ctx.record?.startedAtMs ?? view?.startedAtMs;
  if (startedAtMs !== undefined) status.startTime = new Date(startedAtMs);
  else if (pod.status?.startTime) status.startTime = pod.status.startTime;
  if (view?.podIP) {
    // A virtual node has no host of its own: each pod is its own host, as in virtual-kubelet.
    status.podIP = view.podIP;
    status.podIPs = [{ ip: view.podIP }];
    status.hostIP = view.podIP;
    status.hostIPs = [{ ip: view.podIP }];
  }
  const reason = ctx.verdict?.reason ?? (view?.phase === 'Failed' ? view.reason : undefined);
  const message = ctx.verdict?.message ?? (view?.phase === 'Failed' ? view.message : undefined);
  if (reason) status.reason = reason;
  if (message) status.message = message;
  return status;
}

function containerStatus(
  name: string,
  image: string,
  view: ContainerView | undefined,
  attempt: number,
  lastTerminated: ContainerState | undefined,
  ctx: StatusContext,
): V1ContainerStatus {
  const verdictTerminal =
    ctx.verdict && (ctx.verdict.phase === 'Failed' || ctx.verdict.phase === 'Succeeded');
  let state: V1ContainerState;
  if (ctx.waiting && !verdictTerminal) {
    state = { waiting: { reason: ctx.waiting.reason, message: ctx.waiting.message } };
  } else if (view) {
    state = kubeState(view.state);
  } else if (verdictTerminal) {
    state = {
      terminated: { exitCode: 137, reason: ctx.verdict?.reason ?? 'Error', message: ctx.verdict?.message },
    };
  } else {
    state = { waiting: { reason: 'ContainerCreating' } };
  }
  const running = state.running !== undefined;
  return {
    name,
    image: view?.image ?? image,
    imageID: '',
    ready: running && (view?.ready ?? false),
    started: running,
    restartCount: (view?.restartCount ?? 0) + attempt,
    state,
    ...((view?.lastState ?? lastTerminated)
      ? { lastState: kubeState((view?.lastState ?? lastTerminated)!) }
      : {}),
    ...(view?.containerId ? { containerID: view.containerId } : {}),
  };
}

/** The resources a container reports: those its instance was started with (resize.ts). */
function withResources(pod: V1Pod, status: V1ContainerStatus, startedFromSpec: boolean): V1ContainerStatus {
  const resources = reportedResources(pod, status.name, startedFromSpec);
  return resources === undefined ? status : { ...status, resources };
}

/**
 * As the kubelet's prober manager reports init containers: a native sidecar (restartPolicy
 * Always) is started and ready as an app container is; any other init container is never
 * `started`, and is `ready` once it has completed with exit code 0.
 */
function initContainerStatus(status: V1ContainerStatus, sidecar: boolean): V1ContainerStatus {
  if (sidecar) return status;
  return { ...status, started: false, ready: status.state?.terminated?.exitCode === 0 };
}

export function kubeState(state: ContainerState): V1ContainerState {
  if ('waiting' in state)
    return { waiting: { reason: state.waiting.reason, message: state.waiting.message } };
  if ('running' in state) {
    return {
      running:
        state.running.startedAtMs !== undefined ? { startedAt: new Date(state.running.startedAtMs) } : {},
    };
  }
  const t = state.terminated;
  return {
    terminated: {
      exitCode: t.exitCode,
      reason: t.reason ?? (t.exitCode === 0 ? 'Completed' : 'Error'),
      ...(t.message ? { message: t.message } : {}),
      ...(t.startedAtMs !== undefined ? { startedAt: new Date(t.startedAtMs) } : {}),
      ...(t.finishedAtMs !== undefined ? { finishedAt: new Date(t.finishedAtMs) } : {}),
    },
  };
}

export function parseTerminations(json: string | undefined): Record<string, ContainerState> {
  if (!json) return {};
  try {
    return JSON.parse(json) as Record<string, ContainerState>;
  } catch {
    return {};
  }
}

/**
 * Whether posting `desired` would change what the API server holds. Compares phase, reason,
 * message, IPs, startTime, each condition's type/status/reason/message, and each container's name,
 * image, containerID, ready, started, restartCount, state and lastState. Times compare at
 * second precision, as the API server stores them.
 */
export function podStatusChanged(current: V1PodStatus | undefined, desired: V1PodStatus): boolean {
  return JSON.stringify(comparable(current ?? {})) !== JSON.stringify(comparable(desired));
}

function comparable(s: V1PodStatus): unknown {
  const seconds = (t: Date | string | undefined) =>
    t === undefined ? undefined : Math.floor(new Date(t).getTime() / 1000);
  const state = (st: V1ContainerState | undefined) =>
    st && {
      waiting: st.waiting && { reason: st.waiting.reason, message: st.waiting.message },
      running: st.running && { startedAt: seconds(st.running.startedAt) },
      terminated: st.terminated && {
        exitCode: st.terminated.exitCode,
        reason: st.terminated.reason,
        message: st.terminated.message,
        startedAt: seconds(st.terminated.startedAt),
        finishedAt: seconds(st.terminated.finishedAt),
      },
    };
  const containers = (list: V1ContainerStatus[] | undefined) =>
    (list ?? []).map((c) => ({
      name: c.name,
      image: c.image,
      containerID: c.containerID,
      ready: c.ready,
      started: c.started,
      restartCount: c.restartCount,
      state: state(c.state),
      lastState: c.lastState && Object.keys(c.lastState).length > 0 ? state(c.lastState) : undefined,
    }));
  return {
    phase: s.phase,
    reason: s.reason,
    message: s.message,
    podIP: s.podIP,
    hostIP: s.hostIP,
    startTime: seconds(s.startTime),
    conditions: (s.conditions ?? [])
      .map((c) => ({ type: c.type, status: c.status, reason: c.reason, message: c.message }))
      .sort((a, b) => a.type.localeCompare(b.type)),
    containerStatuses: containers(s.containerStatuses),
    initContainerStatuses: containers(s.initContainerStatuses),
  };
}
