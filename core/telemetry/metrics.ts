/**
 * Funclet's metrics, as named instruments on the @opentelemetry/api meter. Without a registered
 * meter provider each record is a no-op. The instruments are made from whichever provider is
 * registered when they are first used after it changed: the API's meter (unlike its tracer) is not
 * a proxy, and an instrument taken from the no-op provider would stay a no-op.
 *
 * In Application Insights each is a row of customMetrics (AppMetrics) named as below, its
 * attributes in customDimensions (docs/observe.md has the queries).
 */
import {
  metrics,
  trace,
  type Counter,
  type Histogram,
  type MeterProvider,
  type ObservableGauge,
  type ObservableResult,
} from '@opentelemetry/api';
import { funcletVersion } from '../version.ts';
import { telemetryScope } from './tracing.ts';

export const MetricName = {
  /** Counter: one per outcome of each pod reconcile (created, statusPatched, ..., error). */
  reconcileOutcomes: 'funclet.reconcile.outcomes',
  /** Histogram, ms: from the pod's PodScheduled condition to the provider's answer to its create. */
  bindToCreate: 'funclet.pod.bind_to_create',
  /** Histogram, ms: how old the node's Lease was when it was renewed (it expires at 40 s). */
  leaseRenewalLag: 'funclet.lease.renewal_lag',
  /** Counter: provider calls answered "slow down" (ARM 429, AWS throttling), each retry counted. */
  providerThrottles: 'funclet.provider.throttles',
  /** Gauge: pods with a poke waiting in the relay for podEvents, per node. */
  relayQueueDepth: 'funclet.relay.queue_depth',
} as const;

interface Instruments {
  reconcileOutcomes: Counter;
  bindToCreate: Histogram;
  leaseRenewalLag: Histogram;
  providerThrottles: Counter;
  relayQueueDepth: ObservableGauge;
}

let current: { provider: MeterProvider; instruments: Instruments } | undefined;

function instruments(): Instruments {
  const provider = metrics.getMeterProvider();
  if (current?.provider === provider) return current.instruments;
  const meter = provider.getMeter(telemetryScope, funcletVersion);
  const made: Instruments = {
    reconcileOutcomes: meter.createCounter(MetricName.reconcileOutcomes, {
      description: 'Outcomes of pod reconciles',
    }),
    bindToCreate: meter.createHistogram(MetricName.bindToCreate, {
      description: "From the pod's PodScheduled condition to the provider's answer to its create",
      unit: 'ms',
    }),
    leaseRenewalLag: meter.createHistogram(MetricName.leaseRenewalLag, {
      description: "Age of the node's Lease when it was renewed",
      unit: 'ms',
    }),
    providerThrottles: meter.createCounter(MetricName.providerThrottles, {
      description: 'Provider calls answered with throttling',
    }),
    relayQueueDepth: meter.createObservableGauge(MetricName.relayQueueDepth, {
      description: 'Pods with a poke waiting in the relay',
    }),
  };
  current = { provider, instruments: made };
  return made;
}

export interface ReconcileOutcomeAttributes {
  node: string;
  provider: string;
}

/** Counts each outcome of one reconcile; `error` when it threw. */
export function recordReconcileOutcomes(
  outcomes: readonly string[],
  where: ReconcileOutcomeAttributes,
): void {
  const counter = instruments().reconcileOutcomes;
  for (const outcome of outcomes) counter.add(1, { ...where, outcome });
}

/**
 * Bind -> create: the pod's PodScheduled=True transition (set when the pod is bound, to the
 * second) to the provider's answer. Pods without the condition are not recorded.
 */
export function recordBindToCreate(
  conditions: readonly { type?: string; status?: string; lastTransitionTime?: Date | string }[] | undefined,
  createdAtMs: number,
  where: ReconcileOutcomeAttributes,
): void {
  const scheduled = conditions?.find((c) => c.type === 'PodScheduled' && c.status === 'True');
  if (scheduled?.lastTransitionTime === undefined) return;
  const boundAtMs = new Date(scheduled.lastTransitionTime).getTime();
  if (Number.isNaN(boundAtMs)) return;
  instruments().bindToCreate.record(Math.max(0, createdAtMs - boundAtMs), { ...where });
}

/** The Lease's age at renewal: the time since its previous renewTime. */
export function recordLeaseRenewalLag(lagMs: number, node: string): void {
  if (!Number.isFinite(lagMs)) return;
  instruments().leaseRenewalLag.record(Math.max(0, lagMs), { node });
}

/**
 * One throttled provider call (each retry of it counts once more). `action` is the sentence the
 * provider names the call by ("creating container group x for pod y"): only its verb is kept as
 * the `operation` attribute, so that the metric's series do not multiply with pods and groups.
 * The active span (the provider call's) gets a `throttled` event with the whole sentence.
 */
export function recordProviderThrottle(provider: string, action: string): void {
  const operation = /^\S+/.exec(action)?.[0] ?? 'unknown';
  instruments().providerThrottles.add(1, { provider, operation });
  trace.getActiveSpan()?.addEvent('throttled', { action });
}

/**
 * Reports the relay's waiting pokes per node whenever metrics are collected; returns the call
 * that stops reporting them.
 */
export function observeRelayQueueDepth(read: () => Iterable<{ node: string; pending: number }>): () => void {
  const gauge = instruments().relayQueueDepth;
  const callback = (result: ObservableResult) => {
    for (const { node, pending } of read()) result.observe(pending, { node });
  };
  gauge.addCallback(callback);
  return () => gauge.removeCallback(callback);
}
