/**
 * A provider whose every call is a span `provider.<method>`, a child of whatever span is active
 * (a reconcile, a resync, a heartbeat). The provider is otherwise unchanged: its optional abilities
 * (logs, stats, exec) are detected through the proxy as they are on the provider itself, and a
 * method answers what it answered before (a promise, or a value for the few that are synchronous).
 */
import type { Attributes } from '@opentelemetry/api';
import type { Provider } from '../providers/provider.ts';
import { SpanName, definedAttributes, markFailed, tracer, type TelemetryAttributes } from './tracing.ts';

export function tracedProvider<P extends Provider>(provider: P): P {
  const wrapped = new Map<string, unknown>();
  return new Proxy(provider, {
    get(target, property, receiver) {
      // Read on the provider itself, so that getters using its private fields work.
      const value: unknown = Reflect.get(target, property);
      if (typeof value !== 'function' || typeof property === 'symbol' || property === 'constructor')
        return value;
      let traced = wrapped.get(property);
      if (!traced) {
        traced = traceMethod(target, property, value as (...args: unknown[]) => unknown, receiver);
        wrapped.set(property, traced);
      }
      return traced;
    },
  });
}

function traceMethod(
  target: Provider,
  property: string,
  method: (...args: unknown[]) => unknown,
  proxy: unknown,
): (...args: unknown[]) => unknown {
  const name = `${SpanName.providerPrefix}${property}`;
  return function (this: unknown, ...args: unknown[]) {
    // Called on the proxy (or detached): run it on the provider itself, as it was written.
    const self = this === undefined || this === proxy ? target : this;
    const attributes = definedAttributes({ provider: target.name, ...callAttributes(args) });
    return tracer().startActiveSpan(name, { attributes }, (span) => {
      let result: unknown;
      try {
        result = method.apply(self, args);
      } catch (err) {
        markFailed(span, err);
        span.end();
        throw err;
      }
      if (!isPromise(result)) {
        span.end();
        return result;
      }
      return result.then(
        (answer) => {
          span.end();
          return answer;
        },
        (err: unknown) => {
          markFailed(span, err);
          span.end();
          throw err;
        },
      );
    });
  };
}

function isPromise(value: unknown): value is Promise<unknown> {
  return typeof (value as { then?: unknown } | null)?.then === 'function';
}

/** The pod and node a call is about, from its first argument (a ResolvedPod, a ProviderRef, a node name). */
function callAttributes(args: readonly unknown[]): TelemetryAttributes & Attributes {
  const first = args[0];
  if (typeof first === 'string') return { node: first };
  if (Array.isArray(first)) return { pods: first.length };
  if (typeof first !== 'object' || first === null) return {};
  const o = first as Record<string, unknown>;
  const text = (v: unknown) => (typeof v === 'string' ? v : undefined);
  // A ResolvedPod has namespace/name/uid/node; a ProviderRef has podUid and the instance id.
  return {
    node: text(o.node),
    podNamespace: text(o.namespace),
    podName: text(o.name),
    podUid: text(o.uid) ?? text(o.podUid),
    instance: text(o.id),
  };
}
