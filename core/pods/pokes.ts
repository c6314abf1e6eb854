import type { V1Pod } from '@kubernetes/client-node';
import { ConflictError, errorMessage } from '../errors.ts';
import type { ProviderPodView } from '../providers/types.ts';
import type { Poke, Recheck } from '../relay/protocol.ts';
import { runBounded } from '../util/concurrency.ts';
import { isTerminal } from './decide.ts';
import { readOwnPod, reconcilePod, type PodDeps, type PodOutcome, type PodViews } from './reconcile.ts';

export type PokeResult =
  /** recheckAfterMs: the pod has not settled; poke it again then. */
  | { uid: string; status: 'reconciled'; outcomes: PodOutcome[]; recheckAfterMs?: number }
  | { uid: string; status: 'skipped'; why: string }
  /** Reconcile failed; the record says so and the next resync takes it. */
  | { uid: string; status: 'deferred'; error: string }
  /** Neither reconciled nor remembered: the caller must not acknowledge the batch. */
  | { uid: string; status: 'failed'; error: string };

const mismatch = 'the poke names another pod than the one this UID belongs to';

export interface HandledPokes {
  results: PokeResult[];
  /** Pokes not started because the deadline passed: nothing was read or written for them. */
  notStarted: Poke[];
}

/**
 * Acts on a batch of pokes for one node. A poke carries identifiers only: the pod is read from
 * the API server, so a forged or replayed poke can at most re-reconcile a pod. Pokes the record
 * has already seen (same resourceVersion) are skipped. No poke is started once `deadlineMs` has
 * passed; those already running finish.
 */
export async function handlePokes(
  deps: PodDeps,
  pokes: readonly Poke[],
  concurrency: number,
  options: { deadlineMs?: number } = {},
): Promise<HandledPokes> {
  // Only the latest poke per pod matters; a DELETED one wins.
  const latest = new Map<string, Poke>();
  for (const poke of pokes) {
    const previous = latest.get(poke.uid);
    if (!previous || previous.type !== 'DELETED') latest.set(poke.uid, poke);
  }
  // Instances of gone pods are looked up by UID in one list per batch, however many pokes need it.
  let listed: Promise<ProviderPodView[]> | undefined;
  const instances = () => (listed ??= deps.provider.listPods(deps.node));
  const run = await runBounded(
    [...latest.values()],
    concurrency,
    (poke) => handlePoke(deps, poke, instances),
    { deadlineMs: options.deadlineMs, now: deps.now },
  );
  return { results: run.results, notStarted: run.notStarted };
}

/** What the relay should poke again, and when: pods podEvents found still on their way. */
export function rechecksFor(pokes: readonly Poke[], results: readonly PokeResult[]): Recheck[] {
  const byUid = new Map(pokes.map((p) => [p.uid, p]));
  return results.flatMap((r) => {
    const poke = byUid.get(r.uid);
    if (r.status !== 'reconciled' || r.recheckAfterMs === undefined || !poke) return [];
    const { namespace, name, uid, resourceVersion } = poke;
    return [{ namespace, name, uid, resourceVersion, afterMs: r.recheckAfterMs }];
  });
}

async function handlePoke(
  deps: PodDeps,
  poke: Poke,
  instances: () => Promise<ProviderPodView[]>,
): Promise<PokeResult> {
  // An ADDED poke reads the pod first. A pod just bound that nothing has reported on has no
  // record yet, or (after a crash) one that the claim's insert runs into, which reloads and
  // decides again: its record need not be read. Any other pod takes the usual path, with this read.
  let added: { pod: V1Pod | undefined } | undefined;
  try {
    if (poke.type === 'ADDED') {
      added = { pod: await readOwnPod(deps, poke) };
      if (added.pod && unstarted(added.pod)) {
        const outcomes = await reconcilePod(deps, { pod: added.pod });
        return reconciled(poke, outcomes, unsettled({ pod: added.pod }, outcomes, undefined, deps.now()));
      }
    }
  } catch (err) {
    return defer(deps, poke, err);
  }
  const record = await deps.records.get(deps.node, poke.uid).catch(() => undefined);
  // The record, not the poke, says which pod a UID is: a signed poke with a real UID and another
  // name would otherwise read "no such pod" and have the instance collected.
  if (record && (record.namespace !== poke.namespace || record.name !== poke.name)) {
    return { uid: poke.uid, status: 'skipped', why: mismatch };
  }
  if (
    (poke.type === 'ADDED' || poke.type === 'MODIFIED') &&
    record?.lastResourceVersion === poke.resourceVersion
  ) {
    return { uid: poke.uid, status: 'skipped', why: 'already reconciled at this resourceVersion' };
  }
  try {
    // The usual end of a pod Funclet deleted itself (instance gone, record removed, then the pod).
    // An instance is only ever created under a record (the claim comes first) and a record only
    // removed once its instance is gone, so with no record there is nothing left to stop; an
    // instance left some other way (a lost table) is podResync's to collect.
    if (!record && poke.type === 'DELETED')
      return { uid: poke.uid, status: 'skipped', why: 'deleted, and Funclet holds no record of it' };
    const views = await gather(deps, poke, record, instances, added);
    if (!views) return { uid: poke.uid, status: 'skipped', why: mismatch };
    const outcomes = await reconcilePod(deps, views);
    // Remember the version only when nothing was written: a write (status patch) makes a new
    // version anyway, and this way a duplicate of a no-op poke costs one table read.
    if (
      record &&
      views.pod &&
      record.lastResourceVersion !== poke.resourceVersion &&
      outcomes.every((o) => o === 'unchanged')
    ) {
      await deps.records
        .save({ ...record, lastResourceVersion: poke.resourceVersion })
        .catch((err: unknown) => {
          // Someone wrote the record since: they have acted on at least this version's facts.
          if (!(err instanceof ConflictError)) throw err;
        });
    }
    return reconciled(poke, outcomes, unsettled(views, outcomes, record, deps.now()));
  } catch (err) {
    return defer(deps, poke, err);
  }
}

function reconciled(poke: Poke, outcomes: PodOutcome[], recheckAfterMs: number | undefined): PokeResult {
  return {
    uid: poke.uid,
    status: 'reconciled',
    outcomes,
    ...(recheckAfterMs !== undefined ? { recheckAfterMs } : {}),
  };
}

/** Whether nothing has reported on the pod yet: no container statuses, no start, not being deleted. */
function unstarted(pod: V1Pod): boolean {
  const status = pod.status;
  return (
    pod.metadata?.deletionTimestamp === undefined &&
    (status?.containerStatuses?.length ?? 0) === 0 &&
    (status?.initContainerStatuses?.length ?? 0) === 0 &&
    (status?.phase === undefined || status.phase === 'Pending') &&
    status?.startTime === undefined
  );
}

/**
 * Whether the pod is still on its way somewhere (starting, restarting, being deleted) and so
 * worth asking about again: nothing in the API server will change to poke it when the provider
 * finishes. The wait grows with the instance's age (a deleted pod's: the time since its deletion
 * was asked for), from 250 ms to 30 s.
 */
function unsettled(
  views: PodViews,
  outcomes: readonly PodOutcome[],
  record: PodViews['record'],
  nowMs: number,
): number | undefined {
  const pod = views.pod;
  if (!pod) return undefined;
  if (!outcomes.includes('waiting')) {
    const phase = pod.status?.phase;
    if (isTerminal(phase)) return undefined;
    const ready = pod.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') === true;
    if (phase === 'Running' && ready) return undefined;
  }
  // A pod being deleted waits for its instance to stop, which began when the deletion was asked
  // for (its deletionTimestamp less the grace period), however old the instance is.
  const deletion = pod.metadata?.deletionTimestamp;
  const sinceMs =
    deletion !== undefined
      ? new Date(deletion).getTime() - (pod.metadata?.deletionGracePeriodSeconds ?? 0) * 1000
      : record?.instanceCreatedAtMs;
  const age = Math.max(0, nowMs - (sinceMs ?? nowMs));
  return Math.min(30_000, Math.max(250, Math.round(age / 2)));
}

/**
 * Reads the pod (unless `read` holds it already) and its instance for a poke; undefined when
 * the instance belongs to another pod name.
 */
async function gather(
  deps: PodDeps,
  poke: Poke,
  record: PodViews['record'],
  instances: () => Promise<ProviderPodView[]>,
  read?: { pod: V1Pod | undefined },
): Promise<PodViews | undefined> {
  // Read by the record's own identity (handlePoke has checked the poke agrees with it, so a pod
  // read by the poke's is the same pod).
  const pod = read ? read.pod : await readOwnPod(deps, record ?? poke);
  if (record?.providerId !== undefined) {
    const view = await deps.provider.getPod({
      provider: deps.provider.name,
      id: record.providerId,
      podUid: poke.uid,
    });
    return { pod, record, view };
  }
  if (!pod) {
    // A pod that is gone and that Funclet holds no record of: find its instance by UID, and act
    // on it only when its own tags name the pod the poke names (read above and found gone).
    const view = (await instances()).find((v) => v.ref.podUid === poke.uid);
    if (view && (view.namespace !== poke.namespace || view.name !== poke.name)) return undefined;
    return { pod, record, view };
  }
  return { pod, record };
}

/**
 * Remembers a failed poke in the pod's record so the next resync knows to look (the resync
 * looks at every pod anyway); when even that write fails, the batch must be retried.
 */
async function defer(deps: PodDeps, poke: Poke, err: unknown): Promise<PokeResult> {
  const error = errorMessage(err);
  try {
    const record = await deps.records.get(deps.node, poke.uid);
    await deps.records.save({
      ...(record ?? {
        node: deps.node,
        uid: poke.uid,
        namespace: poke.namespace,
        name: poke.name,
        attempt: 0,
      }),
      lastResourceVersion: undefined,
    });
    deps.logger.warn('poke deferred to the next resync', {
      podNamespace: poke.namespace,
      podName: poke.name,
      podUid: poke.uid,
      error: err,
    });
    return { uid: poke.uid, status: 'deferred', error };
  } catch {
    return { uid: poke.uid, status: 'failed', error };
  }
}
