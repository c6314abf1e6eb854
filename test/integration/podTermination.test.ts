/**
 * Graceful termination through the real path. A deleted pod stays Terminating until its
 * instance is gone, and the kubelet's Killing Event says its containers are being stopped. The
 * mock gives its containers SIGTERM and the grace period (the delete's own, else
 * terminationGracePeriodSeconds), and its scripted stop time says how long they take to exit.
 * ACI kills a group's containers without SIGTERM or grace period, which the pod is told in a
 * Warning Event. Either way the pod is removed only once the instance is gone.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { V1Pod } from '@kubernetes/client-node';
import { MockAnnotation } from '../../core/providers/mock/instances.ts';
import { busybox, startLifecycleNode, type LifecycleNode } from '../support/lifecycleNode.ts';
import { onVirtualNode, resyncUntil } from '../support/virtualNode.ts';

const terminating = (p: V1Pod | undefined) => p?.metadata?.deletionTimestamp !== undefined;

describe('graceful termination on a mock virtual node', () => {
  let n: LifecycleNode;

  before(async () => {
    n = await startLifecycleNode('mock', 'term');
  });
  after(async () => {
    await n.stop();
  });

  const runPod = async (name: string, grace: number, stopSeconds: number): Promise<V1Pod> => {
    await n.core.createNamespacedPod({
      namespace: n.namespace,
      body: {
        metadata: { name, annotations: { [MockAnnotation.stopSeconds]: String(stopSeconds) } },
        spec: {
          ...onVirtualNode(n.node),
          terminationGracePeriodSeconds: grace,
          containers: [busybox('app')],
        },
      },
    });
    return (await n.until(name, 'Running', (p) => p?.status?.phase === 'Running'))!;
  };

  it("gives the containers the pod's terminationGracePeriodSeconds, keeping the pod Terminating until they have exited", async () => {
    const pod = await runPod('slow-stop', 30, 3);
    await n.core.deleteNamespacedPod({ name: 'slow-stop', namespace: n.namespace });
    const stopping = await n.until('slow-stop', 'its containers told to stop', () => true);
    assert.ok(terminating(stopping), 'the pod is still there, Terminating, while its containers stop');
    const [row] = await n.mockRows(pod);
    assert.equal(row?.stopGraceMs, 30_000, 'the provider was given the 30 s grace period');
    const events = await n.events(pod);
    assert.ok(events.some((e) => e.reason === 'Killing' && e.message === 'Stopping container app'));
    assert.ok(!events.some((e) => e.reason === 'GracePeriodCut'), 'the mock gives any grace period');

    await n.until('slow-stop', 'gone', (p) => p === undefined);
    assert.deepEqual(await n.mockRows(pod), [], 'the instance is gone');
  });

  it("takes the delete's own grace period over the pod's, and kills containers that outlast it", async () => {
    const pod = await runPod('deaf', 600, 600);
    await n.core.deleteNamespacedPod({ name: 'deaf', namespace: n.namespace, gracePeriodSeconds: 2 });
    await n.until('deaf', 'its containers told to stop', () => true);
    const [row] = await n.mockRows(pod);
    assert.equal(row?.stopGraceMs, 2_000, 'the grace period of the delete, not the 600 s of the spec');
    await n.until('deaf', 'gone once the 2 s ran out', (p) => p === undefined);
    assert.deepEqual(await n.mockRows(pod), []);
  });

  it('removes a pod deleted with grace period 0 at once, and its instance with it', async () => {
    const pod = await runPod('forced', 30, 600);
    await n.core.deleteNamespacedPod({ name: 'forced', namespace: n.namespace, gracePeriodSeconds: 0 });
    await resyncUntil(
      n.runtimes,
      'the instance of a force-deleted pod collected',
      async () => (await n.mockRows(pod)).length === 0,
    );
    assert.equal(await n.pod('forced'), undefined);
  });
});

describe('termination on an ACI virtual node', () => {
  let n: LifecycleNode;

  before(async () => {
    n = await startLifecycleNode('aci', 'term');
  });
  after(async () => {
    await n.stop();
  });

  it('deletes the container group, says that ACI gives no grace period, and removes the pod once the group is gone', async () => {
    await n.core.createNamespacedPod({
      namespace: n.namespace,
      body: {
        metadata: { name: 'web' },
        spec: { ...onVirtualNode(n.node), terminationGracePeriodSeconds: 45, containers: [busybox('app')] },
      },
    });
    const pod = (await n.until('web', 'Running', (p) => p?.status?.phase === 'Running'))!;
    const [group] = await n.instances(pod);
    assert.ok(group);
    n.fake!.setDeleteDelay(3_000);
    n.fake!.resetRequests();
    await n.core.deleteNamespacedPod({ name: 'web', namespace: n.namespace });

    const deleting = await n.until('web', 'its group told to go', () => true);
    assert.ok(terminating(deleting), 'Terminating while ACI deletes the group');
    assert.equal(n.fake!.countRequests({ method: 'DELETE', path: `/containerGroups/${group.ref.id}` }), 1);
    const events = await n.events(pod);
    assert.ok(events.some((e) => e.reason === 'Killing' && e.message === 'Stopping container app'));
    const cut = events.find((e) => e.reason === 'GracePeriodCut');
    assert.equal(cut?.type, 'Warning');
    assert.match(
      cut?.message ?? '',
      /grace period is 45 s, but ACI stops .* without SIGTERM or a grace period/,
    );

    await n.until('web', 'gone', (p) => p === undefined);
    assert.ok(!n.fake!.groupNames().includes(group.ref.id), 'the group is gone');
    const killing = (await n.events(pod)).filter((e) => e.reason === 'Killing');
    assert.equal(killing.length, 1, 'Killing is said once, not at every pass');
  });

  it('refuses a preStop hook, which ACI cannot run, with the reason on the pod', async () => {
    await n.core.createNamespacedPod({
      namespace: n.namespace,
      body: {
        metadata: { name: 'hooked' },
        spec: {
          ...onVirtualNode(n.node),
          containers: [{ ...busybox('app'), lifecycle: { preStop: { exec: { command: ['sleep', '5'] } } } }],
        },
      },
    });
    const refused = await n.until(
      'hooked',
      'refused',
      (p) => p?.status?.containerStatuses?.[0]?.state?.waiting?.reason === 'ProviderFailed',
    );
    assert.match(
      refused?.status?.containerStatuses?.[0]?.state?.waiting?.message ?? '',
      /lifecycle hooks \(postStart\/preStop\), which ACI cannot run/,
    );
  });
});
