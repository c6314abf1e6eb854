/**
 * Provider calls as spans and throttles as a metric: the real ACI provider, through the real
 * @azure/arm-containerinstance SDK, against the fake ARM server, wrapped as the composition root
 * wraps it, with the OpenTelemetry SDK recording into memory.
 */
import assert from 'node:assert/strict';
import { after, before, beforeEach, describe, it } from 'node:test';
import { SpanStatusCode, trace } from '@opentelemetry/api';
import { InvalidInputError } from '../../../core/errors.ts';
import { hasLogs } from '../../../core/providers/provider.ts';
import { MetricName } from '../../../core/telemetry/metrics.ts';
import { tracedProvider } from '../../../core/telemetry/tracedProvider.ts';
import { startFakeAci, type FakeAci } from '../../fakes/aci/server.ts';
import { container, pod, providerFor } from '../aci/support.ts';
import { installTelemetry, valueWhere, type Telemetry } from './inMemory.ts';

describe('provider calls in traces', () => {
  let fake: FakeAci;
  let telemetry: Telemetry;

  before(async () => {
    telemetry = installTelemetry();
    fake = await startFakeAci();
  });
  after(async () => {
    await fake.close();
    await telemetry.uninstall();
  });
  beforeEach(async () => {
    fake.clearErrors();
    await telemetry.reset();
  });

  it('records a create as provider.createPod under the span that made it, naming the pod and node', async () => {
    const provider = tracedProvider(providerFor(fake).provider);
    const p = pod();
    const ref = await trace.getTracer('test').startActiveSpan('caller', async (caller) => {
      try {
        return await provider.createPod(p);
      } finally {
        caller.end();
      }
    });
    assert.equal(ref.podUid, p.uid);
    const [caller] = telemetry.spans('caller');
    const [create] = telemetry.spans('provider.createPod');
    assert.ok(caller && create, 'both spans ended');
    assert.equal(create.parentSpanContext?.spanId, caller.spanContext().spanId);
    assert.equal(create.spanContext().traceId, caller.spanContext().traceId);
    assert.deepEqual(
      {
        provider: create.attributes.provider,
        node: create.attributes.node,
        podNamespace: create.attributes.podNamespace,
        podName: create.attributes.podName,
        podUid: create.attributes.podUid,
      },
      { provider: 'aci', node: p.node, podNamespace: p.namespace, podName: p.name, podUid: p.uid },
    );
    assert.equal(create.status.code, SpanStatusCode.UNSET);

    await provider.getPod(ref);
    const [get] = telemetry.spans('provider.getPod');
    assert.equal(get?.attributes.podUid, p.uid);
    assert.equal(get?.attributes.instance, ref.id);
  });

  it('counts each 429 ARM answers as a provider throttle, and marks it on the call’s span', async () => {
    const provider = tracedProvider(providerFor(fake).provider);
    fake.injectErrors({
      status: 429,
      code: 'TooManyRequests',
      method: 'PUT',
      times: 2,
      retryAfterSeconds: 1,
    });
    await provider.createPod(pod());
    const points = await telemetry.points(MetricName.providerThrottles);
    assert.equal(valueWhere(points, { provider: 'aci', operation: 'creating' }), 2);
    const [create] = telemetry.spans('provider.createPod');
    assert.deepEqual(
      create?.events.map((e) => e.name),
      ['throttled', 'throttled'],
    );
    assert.match(String(create?.events[0]?.attributes?.action), /^creating container group /);
  });

  it('marks the span of a refused create failed with the error’s name, and rethrows the error itself', async () => {
    const provider = tracedProvider(providerFor(fake).provider);
    await assert.rejects(
      provider.createPod(pod({ containers: [container({ image: ' ' })] })),
      InvalidInputError,
    );
    const [create] = telemetry.spans('provider.createPod');
    assert.equal(create?.status.code, SpanStatusCode.ERROR);
    assert.match(create?.status.message ?? '', /InvalidContainerImage/);
    assert.equal(create?.attributes['error.type'], 'InvalidInputError');
  });

  it('keeps what the provider can do: its name, and its optional abilities detected as before', () => {
    const bare = providerFor(fake).provider;
    const provider = tracedProvider(bare);
    assert.equal(provider.name, 'aci');
    assert.equal(hasLogs(provider), hasLogs(bare));
    assert.equal(hasLogs(provider), true);
    assert.equal(provider.statsGrainMs, bare.statsGrainMs);
  });
});
