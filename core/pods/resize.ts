/**
 * In-place resize (`pods/resize`, InPlacePodVerticalScaling): Funclet cannot change the
 * resources of a running instance on any provider, so it refuses a resize as the kubelet
 * refuses one it can never do: each container's status keeps the resources its instance was
 * started with (`containerStatuses[].resources`), and while the spec asks for others the pod
 * has the condition PodResizePending, reason Infeasible, and the deprecated `status.resize`
 * says Infeasible. A new instance (a restart by Funclet, or a new pod) starts with the spec's
 * resources, which ends the refusal.
 */
import type {
  V1ContainerStatus,
  V1Pod,
  V1PodCondition,
  V1ResourceRequirements,
} from '@kubernetes/client-node';

export const resizePendingCondition = 'PodResizePending';

/** The message of the refusal; names what to do instead. */
export const resizeRefusal =
  "Funclet cannot resize a running pod's containers in place; the new resources apply when the pod's containers are next started (delete and recreate the pod to apply them now)";

/**
 * What a container reports as its resources: the spec's when its instance has just been started
 * from the spec, else what the status already said (the spec's at the first report).
 */
export function reportedResources(
  pod: V1Pod,
  name: string,
  startedFromSpec: boolean,
): V1ResourceRequirements | undefined {
  const previous = pod.status?.containerStatuses?.find((c) => c.name === name)?.resources;
  if (!startedFromSpec && previous !== undefined) return previous;
  return specResources(pod, name);
}

/** PodResizePending (Infeasible) while a container's spec resources differ from its reported ones. */
export function resizeCondition(
  pod: V1Pod,
  containerStatuses: readonly V1ContainerStatus[],
  terminal: boolean,
  nowMs: number,
): V1PodCondition | undefined {
  if (terminal) return undefined;
  const pending = containerStatuses.some(
    (c) => canonical(c.resources) !== canonical(specResources(pod, c.name)),
  );
  if (!pending) return undefined;
  const previous = pod.status?.conditions?.find((c) => c.type === resizePendingCondition);
  return {
    type: resizePendingCondition,
    status: 'True',
    reason: 'Infeasible',
    message: resizeRefusal,
    lastTransitionTime:
      previous?.status === 'True' && previous.lastTransitionTime
        ? previous.lastTransitionTime
        : new Date(nowMs),
  };
}

function specResources(pod: V1Pod, name: string): V1ResourceRequirements | undefined {
  const r = pod.spec?.containers.find((c) => c.name === name)?.resources;
  if (r?.requests === undefined && r?.limits === undefined) return undefined;
  return {
    ...(r.requests === undefined ? {} : { requests: { ...r.requests } }),
    ...(r.limits === undefined ? {} : { limits: { ...r.limits } }),
  };
}

/** Requests and limits with sorted keys, for comparison; no resources and empty ones are the same. */
function canonical(r: V1ResourceRequirements | undefined): string {
  const sorted = (m: Record<string, string> | undefined) =>
    Object.fromEntries(Object.entries(m ?? {}).sort(([a], [b]) => a.localeCompare(b)));
  return JSON.stringify({ requests: sorted(r?.requests), limits: sorted(r?.limits) });
}
