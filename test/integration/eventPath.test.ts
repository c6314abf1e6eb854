import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { eventPathFixture, type EventPathFixture } from '../support/eventPathFixture.ts';
import { waitFor } from '../support/process.ts';
import { onVirtualNode } from '../support/virtualNode.ts';

describe('the event path alone, with no resync timer', () => {
  let f: EventPathFixture;

  before(async () => {
    f = await eventPathFixture('relay', { startDelayMs: 1500 });
  });

  after(async () => {
    await f.stop();
  });

  it('takes a created pod to Running through the relay and the webhook, and removes a deleted one', async () => {
    const { core, namespace, node, mock } = f;
    await core.createNamespacedPod({
      namespace,
      body: {
        metadata: { name: 'relayed' },
        spec: { ...onVirtualNode(node), containers: [{ name: 'c', image: 'busybox' }] },
      },
    });
    await waitFor(
      'the pod Running and Ready',
      async () => {
        const pod = await core.readNamespacedPod({ name: 'relayed', namespace });
        return (
          pod.status?.phase === 'Running' &&
          pod.status.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') === true
        );
      },
      { timeoutMs: 30_000, intervalMs: 250 },
    );
    const uid = (await core.readNamespacedPod({ name: 'relayed', namespace })).metadata!.uid!;
    assert.equal((await mock.listPods(node)).filter((v) => v.ref.podUid === uid).length, 1);

    await core.deleteNamespacedPod({ name: 'relayed', namespace });
    await waitFor(
      'the pod gone',
      async () =>
        (await core.listNamespacedPod({ namespace, fieldSelector: 'metadata.name=relayed' })).items.length ===
        0,
      { timeoutMs: 30_000, intervalMs: 250 },
    );
    assert.equal((await mock.listPods(node)).filter((v) => v.ref.podUid === uid).length, 0);
  });
});
