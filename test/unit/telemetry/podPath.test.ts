/**
 * Spans and metrics along the real pod path: a pod bound by the real scheduler to a mock virtual
 * node, poked through podEvents (signed as the relay signs), reconciled against the real API
 * server and Azurite, with the OpenTelemetry SDK recording into memory.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { CoreV1Api, type KubeConfig, type V1Pod } from '@kubernetes/client-node';
import type { TimerLoop } from '../../../cli/timerLoop.ts';
import { Setting } from '../../../core/config.ts';
import { MetricName } from '../../../core/telemetry/metrics.ts';
import { leaseRenewHandler } from '../../../functions/leaseRenew.ts';
import { podEventsHandler } from '../../../functions/podEvents.ts';
import type { Runtime } from '../../../functions/runtime.ts';
import { uniqueName } from '../../support/env.ts';
import { freshRuntimes, functionSettings, invocation, timer } from '../../support/functions.ts';
import { createPodNamespace, functionKubeconfig, testAdmin } from '../../support/kube.ts';
import { waitFor } from '../../support/process.ts';
import { keepNodeReady, onVirtualNode } from '../../support/virtualNode.ts';
import { pokeRequest } from '../../support/webhook.ts';
import { installTelemetry, valueWhere, type Telemetry } from './inMemory.ts';

const secret = 'a-webhook-secret-of-at-least-32-characters';

describe('telemetry of the pod path', () => {
  let telemetry: Telemetry;
  let admin: KubeConfig;
  let core: CoreV1Api;
  let runtimes: () => Runtime;
  let lease: TimerLoop;
  const node = uniqueName('vk-otel');
  const namespace = uniqueName('otel');

  before(async () => {
    telemetry = installTelemetry();
    admin = testAdmin();
    core = admin.makeApiClient(CoreV1Api);
    await createPodNamespace(core, namespace);
    runtimes = freshRuntimes(
      functionSettings({
        kubeconfig: await functionKubeconfig(admin, [node]),
        tablePrefix: `otel${Math.random().toString(36).slice(2, 8)}`,
        nodes: [{ name: node, provider: 'mock' }],
        extra: { [Setting.webhookSecret]: secret, [Setting.mockStartDelayMs]: '0' },
      }),
    );
    lease = await keepNodeReady(runtimes);
  });

  after(async () => {
    await lease.stop();
    await core.deleteNamespace({ name: namespace }).catch(() => undefined);
    await core.deleteNode({ name: node }).catch(() => undefined);
    await telemetry.uninstall();
  });

  it('traces a poke batch, the reconcile it ran and the provider create under it, and counts the outcome', async () => {
    await core.createNamespacedPod({
      namespace,
      body: {
        metadata: { name: 'traced' },
        spec: { ...onVirtualNode(node), containers: [{ name: 'c', image: 'busybox' }] },
      },
    });
    let pod: V1Pod | undefined;
    await waitFor(
      'the pod bound to the node',
      async () => (pod = await core.readNamespacedPod({ name: 'traced', namespace })).spec?.nodeName === node,
      { timeoutMs: 30_000 },
    );
    const uid = pod!.metadata!.uid!;
    await telemetry.reset();

    const { context } = invocation('podEvents');
    const response = await podEventsHandler(runtimes)(
      pokeRequest(secret, node, [
        { type: 'ADDED', namespace, name: 'traced', uid, resourceVersion: pod!.metadata!.resourceVersion! },
      ]),
      context,
    );
    assert.equal(response.status, 200);

    const batches = telemetry.spans('pokes.batch');
    assert.equal(batches.length, 1);
    const batch = batches[0]!;
    assert.deepEqual(
      {
        node: batch.attributes.node,
        provider: batch.attributes.provider,
        invocationId: batch.attributes.invocationId,
        pokes: batch.attributes.pokes,
        reconciled: batch.attributes.reconciled,
        failed: batch.attributes.failed,
      },
      { node, provider: 'mock', invocationId: context.invocationId, pokes: 1, reconciled: 1, failed: 0 },
    );

    const reconciles = telemetry.spans('pod.reconcile').filter((s) => s.attributes.podUid === uid);
    assert.equal(reconciles.length, 1, 'one reconcile of the pod');
    const reconcile = reconciles[0]!;
    assert.equal(
      reconcile.parentSpanContext?.spanId,
      batch.spanContext().spanId,
      'the reconcile is the batch’s child',
    );
    assert.deepEqual(
      [reconcile.attributes.node, reconcile.attributes.podNamespace, reconcile.attributes.podName],
      [node, namespace, 'traced'],
    );
    assert.ok((reconcile.attributes.outcomes as string[]).includes('created'));

    const creates = telemetry.spans('provider.createPod').filter((s) => s.attributes.podUid === uid);
    assert.equal(creates.length, 1);
    assert.equal(creates[0]!.parentSpanContext?.spanId, reconcile.spanContext().spanId);
    assert.equal(creates[0]!.spanContext().traceId, batch.spanContext().traceId, 'one trace for the batch');

    const outcomes = await telemetry.points(MetricName.reconcileOutcomes);
    assert.equal(valueWhere(outcomes, { node, provider: 'mock', outcome: 'created' }), 1);
    const bindToCreate = await telemetry.points(MetricName.bindToCreate);
    assert.equal(valueWhere(bindToCreate, { node, provider: 'mock' }), 1, 'one bind -> create measured');
  });

  it('measures the Lease’s age at each renewal, well inside its 40 s', async () => {
    await telemetry.reset();
    const renew = leaseRenewHandler(runtimes);
    await renew(timer(), invocation('leaseRenew').context);
    await renew(timer(), invocation('leaseRenew').context);
    const points = await telemetry.points(MetricName.leaseRenewalLag);
    const ours = points.filter((p) => p.attributes.node === node);
    assert.ok(valueWhere(ours, { node }) >= 2, 'both renewals measured');
    const max = Math.max(
      ...ours.map((p) => (typeof p.value === 'number' ? p.value : (p.value.max ?? Infinity))),
    );
    assert.ok(max < 40_000, `the lease was ${max} ms old when renewed`);
  });
});
