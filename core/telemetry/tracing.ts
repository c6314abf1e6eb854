/**
 * Spans for Funclet's own work, through @opentelemetry/api only: until a tracer provider is
 * registered (core/telemetry/azureMonitor.ts, when APPLICATIONINSIGHTS_CONNECTION_STRING is set)
 * every span here is a no-op that costs a function call. Attribute names are the fixed log keys
 * (core/log.ts), so a span and the log lines of the same work are found by the same names.
 */
import { SpanStatusCode, trace, type Attributes, type Span, type Tracer } from '@opentelemetry/api';
import { errorMessage } from '../errors.ts';
import { funcletVersion } from '../version.ts';

/** The instrumentation scope of every span and instrument Funclet makes. */
export const telemetryScope = 'funclet';

/** The fixed log keys, as span and metric attributes. */
export interface TelemetryAttributes {
  node?: string;
  provider?: string;
  podNamespace?: string;
  podName?: string;
  podUid?: string;
  invocationId?: string;
}

export const SpanName = {
  /** One podEvents request: a batch of pokes for one node. */
  pokeBatch: 'pokes.batch',
  /** One pod decided and acted on (podEvents, podResync). */
  reconcile: 'pod.reconcile',
  /** One call to a provider; the method follows: provider.createPod, provider.getPod, ... */
  providerPrefix: 'provider.',
} as const;

export function tracer(): Tracer {
  // The API's global tracer provider is a proxy: a tracer taken before the SDK is registered
  // starts recording once it is.
  return trace.getTracer(telemetryScope, funcletVersion);
}

/** Only the attributes that have a value: OpenTelemetry drops undefined ones anyway, with a warning. */
export function definedAttributes(attributes: TelemetryAttributes & Attributes): Attributes {
  const out: Attributes = {};
  for (const [key, value] of Object.entries(attributes))
    if (value !== undefined && value !== '') out[key] = value;
  return out;
}

/**
 * Runs `work` inside a span that is the active one for everything `work` awaits (its children
 * parent to it). A thrown error marks the span failed, with the error's name and message, and is
 * rethrown unchanged.
 */
export function inSpan<T>(
  name: string,
  attributes: TelemetryAttributes & Attributes,
  work: (span: Span) => Promise<T>,
): Promise<T> {
  return tracer().startActiveSpan(name, { attributes: definedAttributes(attributes) }, async (span) => {
    try {
      return await work(span);
    } catch (err) {
      markFailed(span, err);
      throw err;
    } finally {
      span.end();
    }
  });
}

/** Marks a span failed with the error's name and message (never its cause chain or data). */
export function markFailed(span: Span, err: unknown): void {
  span.setStatus({ code: SpanStatusCode.ERROR, message: errorMessage(err) });
  span.setAttribute('error.type', err instanceof Error ? err.name : typeof err);
}
