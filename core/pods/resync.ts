import type { V1Pod } from '@kubernetes/client-node';
import type { KubeClients } from '../kube/clients.ts';
import { kubeError } from '../kube/errors.ts';
import type { ProviderPodView } from '../providers/types.ts';
import type { PodRecord } from '../state/podRecords.ts';
import { runBounded } from '../util/concurrency.ts';
import {
  identityOf,
  readOwnPod,
  reconcilePod,
  reload,
  type PodDeps,
  type PodOutcome,
  type PodViews,
} from './reconcile.ts';

export interface ResyncOptions {
  /** Pods reconciled at once. */
  concurrency: number;
  /** No pod is started after this much time; the rest wait for the next pass. */
  budgetMs: number;
}

/**
 * How old the pass's list may be when a pod's turn comes before a pod that has neither record
 * nor instance is read again. Such a pod would be started; in a long pass the event path may
 * have deleted it (pod, instance and record) since the list was taken, and starting it from
 * the list would leave an instance without a pod until the next pass. A pod being deleted is
 * read again too (pod, record, instance): the event path has most likely finished it since, and
 * acting on the old views would stop its instance a second time and repeat its Killing Events.
 */
export const listFreshMs = 5_000;

export interface ResyncSummary {
  node: string;
  seen: number;
  created: number;
  restarted: number;
  deleted: number;
  collected: number;
  statusPatched: number;
  errors: number;
  skipped: number;
  durationMs: number;
}

/**
 * One full pass over a node: every pod bound to it, every instance the provider runs for it,
 * every record in its partition, joined by pod UID, each difference reconciled. This is the
 * safety net that repairs whatever the event path missed.
 */
export async function resyncNode(deps: PodDeps, options: ResyncOptions): Promise<ResyncSummary> {
  const startedAtMs = deps.now();
  const [pods, views, records] = await Promise.all([
    listNodePods(deps.kube, deps.node),
    deps.provider.listPods(deps.node),
    deps.records.list(deps.node),
  ]);
  const { targets, stale } = joinViews(pods, records, views);

  const summary: ResyncSummary = {
    node: deps.node,
    seen: pods.length,
    created: 0,
    restarted: 0,
    deleted: 0,
    collected: 0,
    statusPatched: 0,
    errors: 0,
    skipped: 0,
    durationMs: 0,
  };
  const count = (outcomes: readonly PodOutcome[]) => {
    for (const o of outcomes) if (o in summary) (summary as unknown as Record<string, number>)[o]! += 1;
  };

  // Instances of an earlier attempt, or left by a restart that crashed before it was recorded.
  for (const view of stale) {
    try {
      await deps.provider.deletePod(view.ref);
      summary.collected++;
    } catch (err) {
      summary.errors++;
      deps.logger.error('deleting a stale instance failed', { instance: view.ref.id, error: err });
    }
  }

  const run = await runBounded(
    targets,
    options.concurrency,
    async (target) => {
      try {
        const current = await currentViews(deps, target, deps.now() - startedAtMs > listFreshMs);
        if (current) count(await reconcilePod(deps, current));
      } catch {
        summary.errors++;
      }
    },
    { deadlineMs: startedAtMs + options.budgetMs, now: deps.now },
  );
  summary.skipped = run.notStarted.length;
  summary.durationMs = deps.now() - startedAtMs;
  return summary;
}

/**
 * The views a pass acts on for one target: as listed, or read again where the list may mislead
 * (see listFreshMs); undefined when the pod is to be left to the next pass.
 */
async function currentViews(
  deps: PodDeps,
  target: PodViews,
  listIsOld: boolean,
): Promise<PodViews | undefined> {
  if (!target.pod) return confirmMissing(deps, target);
  if (!listIsOld) return target;
  if (!target.record && !target.view) return confirmPresent(deps, target.pod);
  if (target.pod.metadata?.deletionTimestamp) return reload(deps, identityOf(target), target);
  return target;
}

/** Every pod bound to the node, page by page. */
export async function listNodePods(kube: KubeClients, node: string): Promise<V1Pod[]> {
  const pods: V1Pod[] = [];
  let token: string | undefined;
  do {
    try {
      const page = await kube.core.listPodForAllNamespaces({
        fieldSelector: `spec.nodeName=${node}`,
        limit: 500,
        _continue: token,
      });
      pods.push(...page.items);
      token = page.metadata?._continue || undefined;
    } catch (err) {
      throw kubeError(err, `list pods on node ${node}`);
    }
  } while (token !== undefined);
  return pods;
}

/**
 * Joins the three views by pod UID. Of several instances for one UID, the one the record names
 * is current (or, without a record, the first); the others are stale.
 */
export function joinViews(
  pods: readonly V1Pod[],
  records: readonly PodRecord[],
  views: readonly ProviderPodView[],
): { targets: PodViews[]; stale: ProviderPodView[] } {
  const byUid = new Map<string, PodViews & { candidates: ProviderPodView[] }>();
  const entry = (uid: string) => {
    let e = byUid.get(uid);
    if (!e) byUid.set(uid, (e = { candidates: [] }));
    return e;
  };
  for (const pod of pods) if (pod.metadata?.uid) entry(pod.metadata.uid).pod = pod;
  for (const record of records) entry(record.uid).record = record;
  for (const view of views) entry(view.ref.podUid).candidates.push(view);

  const targets: PodViews[] = [];
  const stale: ProviderPodView[] = [];
  for (const { pod, record, candidates } of byUid.values()) {
    const current =
      candidates.find((v) => v.ref.id === record?.providerId) ??
      (record?.providerId === undefined ? candidates[0] : undefined);
    stale.push(...candidates.filter((v) => v !== current));
    targets.push({ pod, record, view: current });
  }
  return { targets, stale };
}

/**
 * A pod to be started from a list older than listFreshMs: reads it and its record again. A pod
 * gone since is left to the next pass, which sees whatever the event path left of it.
 */
async function confirmPresent(deps: PodDeps, listed: V1Pod): Promise<PodViews | undefined> {
  const who = identityOf({ pod: listed });
  const [pod, record] = await Promise.all([readOwnPod(deps, who), deps.records.get(deps.node, who.uid)]);
  return pod ? { pod, record } : undefined;
}

/**
 * A record or instance whose pod was not in the list: read the pod once by name before treating
 * it as gone, since it may have been bound after the list was taken.
 */
async function confirmMissing(deps: PodDeps, target: PodViews): Promise<PodViews> {
  const namespace = target.record?.namespace ?? target.view?.namespace;
  const name = target.record?.name ?? target.view?.name;
  const uid = target.record?.uid ?? target.view?.ref.podUid;
  if (!namespace || !name || !uid) return target;
  const pod = await readOwnPod(deps, { namespace, name, uid });
  return pod ? { ...target, pod } : target;
}
