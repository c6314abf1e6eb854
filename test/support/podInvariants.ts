/**
 * What must hold for a virtual node's pods once the state has settled, whatever crashed or
 * failed on the way there, read from the three views Funclet joins: the API server (pods bound to
 * the node), the provider (its instances tagged with the node) and the pod records. Only the
 * Provider interface is used, so the same check serves the mock, ACI and ECS.
 *
 * - at most one live (not ended) instance per pod UID, and exactly one for a pod expected Running;
 * - no instance whose pod UID is not a pod bound to the node, and no live instance of a pod in a
 *   terminal phase;
 * - every pod bound to the node reaches the phase expected of it, a pod expected gone has left the
 *   API server, and no pod is stuck Terminating;
 * - no record names an instance the provider does not have, and no record outlives its pod.
 */
import type { V1Pod } from '@kubernetes/client-node';
import type { KubeClients } from '../../core/kube/clients.ts';
import { listNodePods } from '../../core/pods/resync.ts';
import type { Provider } from '../../core/providers/provider.ts';
import type { ProviderPodView } from '../../core/providers/types.ts';
import type { PodRecords } from '../../core/state/podRecords.ts';

export interface Violation {
  invariant: string;
  /** namespace/name (or the pod UID when nothing names the pod). */
  pod: string;
  detail: string;
}

export type ExpectedPhase = 'Running' | 'Succeeded' | 'Failed' | 'gone';

export const Invariant = {
  oneLiveInstance: 'at most one live instance per pod',
  instanceForRunningPod: 'a pod expected Running has its live instance',
  noOrphanInstance: 'no instance without a pod bound to the node',
  noLiveInstanceOfTerminalPod: 'no live instance of a pod in a terminal phase',
  expectedPhase: 'each pod reaches the phase its spec implies',
  deletedPodGone: 'a deleted pod leaves the API server',
  notStuckTerminating: 'no pod stuck Terminating',
  recordMatchesProvider: 'no record names an instance the provider does not have',
  noOrphanRecord: 'no record outlives its pod',
} as const;

export async function podInvariantViolations(input: {
  kube: KubeClients;
  provider: Provider;
  records: PodRecords;
  node: string;
  /** By namespace/name. Pods not named here are checked for everything but their phase. */
  expect?: Map<string, ExpectedPhase>;
}): Promise<Violation[]> {
  const { kube, provider, records, node } = input;
  const expect = input.expect ?? new Map<string, ExpectedPhase>();
  const [pods, views, recorded] = await Promise.all([
    listNodePods(kube, node),
    provider.listPods(node),
    records.list(node),
  ]);
  const violations: Violation[] = [];
  const add = (invariant: string, pod: string, detail: string) => violations.push({ invariant, pod, detail });

  const podsByUid = new Map(pods.map((p) => [p.metadata?.uid ?? '', p]));
  const podsByName = new Map(pods.map((p) => [nameOf(p), p]));
  const liveByUid = new Map<string, ProviderPodView[]>();
  for (const view of views) {
    const pod = podsByUid.get(view.ref.podUid);
    const who = pod ? nameOf(pod) : `${view.namespace}/${view.name}`;
    if (!pod) {
      add(
        Invariant.noOrphanInstance,
        who,
        `instance ${view.ref.id} (${view.phase}) belongs to pod UID ${view.ref.podUid}, which is not bound to ${node}`,
      );
    }
    if (ended(view)) continue;
    const live = liveByUid.get(view.ref.podUid) ?? [];
    live.push(view);
    liveByUid.set(view.ref.podUid, live);
    if (pod && (pod.status?.phase === 'Succeeded' || pod.status?.phase === 'Failed')) {
      add(
        Invariant.noLiveInstanceOfTerminalPod,
        who,
        `pod is ${pod.status.phase} but instance ${view.ref.id} is ${view.phase}`,
      );
    }
  }
  for (const [uid, live] of liveByUid) {
    if (live.length > 1) {
      const pod = podsByUid.get(uid);
      add(
        Invariant.oneLiveInstance,
        pod ? nameOf(pod) : uid,
        `${live.length} live instances: ${live.map((v) => `${v.ref.id} (${v.phase})`).join(', ')}`,
      );
    }
  }

  for (const pod of pods) {
    const who = nameOf(pod);
    const wanted = expect.get(who);
    const phase = pod.status?.phase ?? 'Pending';
    if (wanted === 'gone') {
      add(
        Invariant.deletedPodGone,
        who,
        `still in the API server (phase ${phase}${pod.metadata?.deletionTimestamp ? ', Terminating' : ''})`,
      );
    } else if (pod.metadata?.deletionTimestamp) {
      add(Invariant.notStuckTerminating, who, `Terminating since ${String(pod.metadata.deletionTimestamp)}`);
    } else if (wanted !== undefined && phase !== wanted) {
      add(Invariant.expectedPhase, who, `phase ${phase}, expected ${wanted}${reasonOf(pod)}`);
    }
    if (wanted === 'Running' && (liveByUid.get(pod.metadata?.uid ?? '') ?? []).length === 0) {
      add(Invariant.instanceForRunningPod, who, 'the provider runs no instance for it');
    }
  }
  for (const [who, wanted] of expect) {
    if (wanted !== 'gone' && !podsByName.has(who)) {
      add(Invariant.expectedPhase, who, `gone from the API server, expected ${wanted}`);
    }
  }

  for (const record of recorded) {
    const who = `${record.namespace}/${record.name}`;
    if (!podsByUid.has(record.uid)) {
      add(Invariant.noOrphanRecord, who, `record of pod UID ${record.uid}, which is not bound to ${node}`);
    }
    if (record.providerId === undefined) continue;
    const view = await provider.getPod({
      provider: provider.name,
      id: record.providerId,
      podUid: record.uid,
    });
    if (!view) {
      add(
        Invariant.recordMatchesProvider,
        who,
        `record names instance ${record.providerId} (attempt ${record.attempt}), which the provider does not have`,
      );
    }
  }
  return violations;
}

/** One line per violation, for assertion messages. */
export function describeViolations(violations: readonly Violation[]): string {
  return violations.map((v) => `${v.pod}: ${v.invariant}: ${v.detail}`).join('\n');
}

function ended(view: ProviderPodView): boolean {
  return view.phase === 'Succeeded' || view.phase === 'Failed';
}

function nameOf(pod: V1Pod): string {
  return `${pod.metadata?.namespace ?? ''}/${pod.metadata?.name ?? ''}`;
}

function reasonOf(pod: V1Pod): string {
  const waiting = pod.status?.containerStatuses?.find((c) => c.state?.waiting?.reason)?.state?.waiting;
  const reason = pod.status?.reason ?? waiting?.reason;
  return reason ? ` (${reason}${pod.status?.message ? `: ${pod.status.message}` : ''})` : '';
}
