/**
 * The spans of the pod path: one per batch of pokes (podEvents) and one per pod reconcile, with
 * the reconcile outcome counted as a metric. The provider calls a reconcile makes are its children
 * (tracedProvider.ts).
 */
import { SpanName, inSpan } from './tracing.ts';
import { recordReconcileOutcomes } from './metrics.ts';

export interface ReconcileTarget {
  node: string;
  provider: string;
  namespace: string;
  name: string;
  uid: string;
}

/** Runs one reconcile in a `pod.reconcile` span and counts its outcomes (`error` when it throws). */
export function traceReconcile<O extends string>(
  target: ReconcileTarget,
  reconcile: () => Promise<O[]>,
): Promise<O[]> {
  const where = { node: target.node, provider: target.provider };
  return inSpan(
    SpanName.reconcile,
    { ...where, podNamespace: target.namespace, podName: target.name, podUid: target.uid },
    async (span) => {
      let outcomes: O[];
      try {
        outcomes = await reconcile();
      } catch (err) {
        recordReconcileOutcomes(['error'], where);
        throw err;
      }
      span.setAttribute('outcomes', outcomes);
      recordReconcileOutcomes(outcomes, where);
      return outcomes;
    },
  );
}

export interface PokeBatchTarget {
  node: string;
  provider: string;
  invocationId?: string;
  pokes: number;
}

/** Runs the handling of one batch of pokes in a `pokes.batch` span, with how each poke ended. */
export function tracePokeBatch<T extends { results: { status: string }[]; notStarted: unknown[] }>(
  target: PokeBatchTarget,
  handle: () => Promise<T>,
): Promise<T> {
  return inSpan(SpanName.pokeBatch, { ...target }, async (span) => {
    const handled = await handle();
    const counts: Record<string, number> = { reconciled: 0, skipped: 0, deferred: 0, failed: 0 };
    for (const r of handled.results) counts[r.status] = (counts[r.status] ?? 0) + 1;
    for (const [status, n] of Object.entries(counts)) span.setAttribute(status, n);
    span.setAttribute('resend', handled.notStarted.length);
    return handled;
  });
}
