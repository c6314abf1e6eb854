import type { V1Pod } from '@kubernetes/client-node';
import type { PodPhase, ProviderPodView, RestartPolicy } from '../providers/types.ts';
import type { PodRecord } from '../state/podRecords.ts';

/** What reconcile should do for one pod, decided from the three views and nothing else. */
export type Decision =
  | { action: 'none'; why: string }
  /** Start the first instance (or the current attempt's, if it was never created). */
  | { action: 'create' }
  /** The current instance ended or vanished and restartPolicy wants it back: create attempt + 1. */
  | { action: 'restart'; why: string }
  /** A restart is due at untilMs (CrashLoopBackOff); meanwhile report the wait. */
  | { action: 'backoff'; untilMs: number }
  /** Post the status the provider's view implies, if it changed. */
  | { action: 'status' }
  /** The pod has failed for a reason of Funclet's own (deadline, instance lost): stop the instance, report Failed. */
  | { action: 'fail'; reason: string; message: string }
  /** The pod is being deleted: delete the instance, then remove the pod (grace 0, UID precondition). */
  | { action: 'deletePod' }
  /**
   * A running pod's spec now names another image for these containers: stop the instance and
   * start the next attempt with the new images, as the kubelet restarts a changed container.
   */
  | { action: 'update'; changed: { name: string; image: string; was: string }[] }
  /** The pod is terminal but its instance still runs (or a sidecar in it does): stop the instance, leave the pod alone. */
  | { action: 'stopInstance' }
  /** No pod owns this instance any more: delete it and the record. */
  | { action: 'collect' }
  /** Nothing left but the record: delete it. */
  | { action: 'forget' };

export interface DecisionInput {
  /** The pod from the API server, if it exists and is bound to this node. */
  pod?: V1Pod;
  record?: PodRecord;
  /** The provider's view of the current instance. */
  view?: ProviderPodView;
  nowMs: number;
  /** The first restart waits this long; each further one twice as long, up to five minutes. */
  backoffBaseMs: number;
}

const maxBackoffMs = 5 * 60_000;
/** How long a creation claim holds off other invocations; longer than any provider create call. */
export const creationClaimTtlMs = 2 * 60_000;

export function isTerminal(phase: string | undefined): phase is 'Succeeded' | 'Failed' {
  return phase === 'Succeeded' || phase === 'Failed';
}

export function restartPolicyOf(pod: V1Pod): RestartPolicy {
  const policy = pod.spec?.restartPolicy;
  return policy === 'Never' || policy === 'OnFailure' ? policy : 'Always';
}

/** Whether the kubelet would run the pod's containers again after the instance ended in `phase`. */
export function shouldRestart(policy: RestartPolicy, phase: PodPhase): boolean {
  return policy === 'Always' || (policy === 'OnFailure' && phase === 'Failed');
}

/** The wait before restart number attempt + 1, as the kubelet's crash-loop backoff grows it. */
export function restartBackoffMs(attempt: number, baseMs: number): number {
  return Math.min(baseMs * 2 ** Math.min(attempt, 20), maxBackoffMs);
}

export function decidePod(input: DecisionInput): Decision {
  const { pod, record, view, nowMs } = input;
  if (!pod) {
    if (view) return { action: 'collect' };
    return record ? { action: 'forget' } : { action: 'none', why: 'nothing to do' };
  }
  if (pod.metadata?.deletionTimestamp) return { action: 'deletePod' };
  if (isTerminal(pod.status?.phase)) {
    return view && (!isTerminal(view.phase) || runsAnything(view))
      ? { action: 'stopInstance' }
      : { action: 'none', why: 'pod is terminal' };
  }

  const deadlineSeconds = pod.spec?.activeDeadlineSeconds;
  const startedAtMs =
    record?.startedAtMs ?? (pod.status?.startTime ? new Date(pod.status.startTime).getTime() : undefined);
  if (
    deadlineSeconds !== undefined &&
    startedAtMs !== undefined &&
    nowMs - startedAtMs >= deadlineSeconds * 1000
  ) {
    return {
      action: 'fail',
      reason: 'DeadlineExceeded',
      message: `Pod was active on the node longer than the specified deadline (${deadlineSeconds} s)`,
    };
  }

  const claimed =
    record?.creatingSinceMs !== undefined && nowMs - record.creatingSinceMs < creationClaimTtlMs;
  if (claimed && (!view || view.ref.id === record.providerId)) {
    return { action: 'none', why: 'another invocation is starting the instance' };
  }

  const policy = restartPolicyOf(pod);
  if (!view) {
    if (record?.providerId === undefined) return { action: 'create' };
    if (policy === 'Never') {
      return {
        action: 'fail',
        reason: 'ProviderInstanceLost',
        message:
          "The pod's instance no longer exists in the provider, and restartPolicy Never does not recreate it",
      };
    }
    return { action: 'restart', why: 'the instance vanished from the provider' };
  }
  const changed = changedImages(pod, view);
  if (changed.length > 0 && !isTerminal(view.phase)) return { action: 'update', changed };
  if (isTerminal(view.phase) && shouldRestart(policy, view.phase)) {
    const finishedAtMs = Math.max(
      ...view.containers.map((c) => ('terminated' in c.state ? (c.state.terminated.finishedAtMs ?? 0) : 0)),
      record?.instanceCreatedAtMs ?? 0,
    );
    const untilMs = finishedAtMs + restartBackoffMs(record?.attempt ?? 0, input.backoffBaseMs);
    if (nowMs < untilMs) return { action: 'backoff', untilMs };
    return {
      action: 'restart',
      why: `the instance ended ${view.phase === 'Failed' ? 'in failure' : 'successfully'} under restartPolicy ${policy}`,
    };
  }
  return { action: 'status' };
}

/** Whether any container of the instance, sidecars included, still runs. */
export function runsAnything(view: ProviderPodView): boolean {
  return [...view.containers, ...view.initContainers].some((c) => 'running' in c.state);
}

/**
 * Containers whose image in the pod's spec differs from the one the instance runs (the only
 * container field a pod update may change besides resources). Compares each container the
 * instance reports, init containers included, by name; a container it reports without an image
 * is not compared.
 */
export function changedImages(
  pod: V1Pod,
  view: ProviderPodView,
): { name: string; image: string; was: string }[] {
  const specs = [...(pod.spec?.initContainers ?? []), ...(pod.spec?.containers ?? [])];
  const running = [...view.initContainers, ...view.containers];
  return specs.flatMap((c) => {
    const found = running.find((v) => v.name === c.name);
    if (found === undefined || found.image === '' || c.image === undefined || found.image === c.image)
      return [];
    return [{ name: c.name, image: c.image, was: found.image }];
  });
}
