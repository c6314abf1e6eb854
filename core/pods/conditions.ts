/**
 * The pod conditions a kubelet owns, computed as the kubelet's pkg/kubelet/status/generate.go
 * does: PodScheduled, PodReadyToStartContainers, Initialized, ContainersReady and Ready, with
 * the kubelet's reasons and messages. Ready needs the containers ready and every
 * `spec.readinessGates` condition True; those conditions belong to other controllers (they set
 * them through pods/status) and, like every condition Funclet does not own, are kept untouched.
 */
import type { V1ContainerStatus, V1Pod, V1PodCondition } from '@kubernetes/client-node';
import type { PodPhase } from '../providers/types.ts';

/** Conditions the kubelet owns (kubetypes.PodConditionByKubelet, with PodReadyToStartContainers). */
export const kubeletConditionTypes: ReadonlySet<string> = new Set([
  'PodScheduled',
  'PodReadyToStartContainers',
  'Initialized',
  'ContainersReady',
  'Ready',
]);

export interface ConditionInput {
  pod: V1Pod;
  phase: PodPhase;
  containerStatuses: readonly V1ContainerStatus[];
  initContainerStatuses: readonly V1ContainerStatus[];
  /**
   * Whether the pod has a live instance in the provider: a virtual node's equivalent of the
   * kubelet's sandbox with its network configured (PodReadyToStartContainers).
   */
  hasInstance: boolean;
  nowMs: number;
}

/**
 * The conditions to post: those other components own first, as the pod has them, then the
 * kubelet's in the kubelet's order. A condition whose status is unchanged keeps its
 * lastTransitionTime; one that changes gets now.
 */
export function podConditions(input: ConditionInput): V1PodCondition[] {
  const { pod, phase, nowMs } = input;
  const current = pod.status?.conditions ?? [];
  const others = current.filter((c) => !kubeletConditionTypes.has(c.type));
  const terminal = phase === 'Succeeded' || phase === 'Failed';
  const containersReady = containersReadyCondition(input, terminal);
  const ready =
    containersReady.status === 'True'
      ? readinessGatesCondition(pod, others)
      : { ...containersReady, type: 'Ready' };
  const made: Omit<V1PodCondition, 'lastTransitionTime'>[] = [
    { type: 'PodScheduled', status: 'True' },
    { type: 'PodReadyToStartContainers', status: input.hasInstance && !terminal ? 'True' : 'False' },
    initializedCondition(input),
    ready,
    containersReady,
  ];
  return [...others, ...made.map((c) => withTransitionTime(current, c, nowMs))];
}

function containersReadyCondition(
  input: ConditionInput,
  terminal: boolean,
): Omit<V1PodCondition, 'lastTransitionTime'> {
  if (terminal) {
    return {
      type: 'ContainersReady',
      status: 'False',
      reason: input.phase === 'Failed' ? 'PodFailed' : 'PodCompleted',
    };
  }
  const spec = input.pod.spec;
  // Sidecars (init containers with restartPolicy Always) count, as the kubelet counts them.
  const names = [
    ...(spec?.initContainers ?? []).filter((c) => c.restartPolicy === 'Always').map((c) => c.name),
    ...(spec?.containers ?? []).map((c) => c.name),
  ];
  const statuses = [...input.initContainerStatuses, ...input.containerStatuses];
  const unknown: string[] = [];
  const unready: string[] = [];
  for (const name of names) {
    const status = statuses.find((s) => s.name === name);
    if (!status) unknown.push(name);
    else if (!status.ready) unready.push(name);
  }
  const messages = [
    ...(unknown.length > 0 ? [`containers with unknown status: ${goList(unknown)}`] : []),
    ...(unready.length > 0 ? [`containers with unready status: ${goList(unready)}`] : []),
  ];
  if (messages.length > 0) {
    return {
      type: 'ContainersReady',
      status: 'False',
      reason: 'ContainersNotReady',
      message: messages.join(', '),
    };
  }
  return { type: 'ContainersReady', status: 'True' };
}

/** Ready once the containers are: False with ReadinessGatesNotReady while a gate is not True. */
function readinessGatesCondition(
  pod: V1Pod,
  others: readonly V1PodCondition[],
): Omit<V1PodCondition, 'lastTransitionTime'> {
  const messages: string[] = [];
  for (const gate of pod.spec?.readinessGates ?? []) {
    const found = others.find((c) => c.type === gate.conditionType);
    if (!found)
      messages.push(`corresponding condition of pod readiness gate "${gate.conditionType}" does not exist.`);
    else if (found.status !== 'True')
      messages.push(
        `the status of pod readiness gate "${gate.conditionType}" is not "True", but ${found.status}`,
      );
  }
  if (messages.length > 0) {
    return { type: 'Ready', status: 'False', reason: 'ReadinessGatesNotReady', message: messages.join(', ') };
  }
  return { type: 'Ready', status: 'True' };
}

function initializedCondition(input: ConditionInput): Omit<V1PodCondition, 'lastTransitionTime'> {
  const { pod, phase } = input;
  const incomplete: string[] = [];
  for (const c of pod.spec?.initContainers ?? []) {
    const status = input.initContainerStatuses.find((s) => s.name === c.name);
    const done =
      c.restartPolicy === 'Always'
        ? status?.started === true
        : status?.ready === true || status?.state?.terminated?.exitCode === 0;
    if (!done) incomplete.push(c.name);
  }
  if (phase === 'Succeeded') return { type: 'Initialized', status: 'True', reason: 'PodCompleted' };
  // A pod whose app containers have started (or that keeps Running while its instance is
  // recreated) has been initialized before.
  const regularStarted =
    phase === 'Running' ||
    input.containerStatuses.some((s) => s.state?.running !== undefined || s.state?.terminated !== undefined);
  if (regularStarted || incomplete.length === 0) return { type: 'Initialized', status: 'True' };
  return {
    type: 'Initialized',
    status: 'False',
    reason: 'ContainersNotInitialized',
    message: `containers with incomplete status: ${goList(incomplete)}`,
  };
}

function withTransitionTime(
  current: readonly V1PodCondition[],
  made: Omit<V1PodCondition, 'lastTransitionTime'>,
  nowMs: number,
): V1PodCondition {
  const previous = current.find((c) => c.type === made.type);
  const lastTransitionTime =
    previous?.status === made.status && previous.lastTransitionTime
      ? previous.lastTransitionTime
      : new Date(nowMs);
  return { ...made, lastTransitionTime };
}

/** A list as Go's %s prints a []string: `[a b]`. */
function goList(names: readonly string[]): string {
  return `[${names.join(' ')}]`;
}
