/**
 * The event path through an API server restart and a webhook outage, with no resync timer:
 * every pod still reaches Running once both recover, and nothing is lost. Runs alone, after the
 * other tests, because it restarts the shared API server.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { testEnv } from '../support/env.ts';
import { eventPathFixture, type EventPathFixture } from '../support/eventPathFixture.ts';
import { waitFor } from '../support/process.ts';
import { onVirtualNode } from '../support/virtualNode.ts';

describe('the event path through an API server restart and a webhook outage', () => {
  let f: EventPathFixture;
  let outage = false;
  let refused = 0;

  const createPods = async (prefix: string, count: number) => {
    for (let i = 0; i < count; i++) {
      await f.core.createNamespacedPod({
        namespace: f.namespace,
        body: {
          metadata: { name: `${prefix}-${i}` },
          spec: { ...onVirtualNode(f.node), containers: [{ name: 'c', image: 'busybox' }] },
        },
      });
    }
  };
  const running = async () =>
    (await f.core.listNamespacedPod({ namespace: f.namespace })).items.filter(
      (p) => p.status?.phase === 'Running',
    ).length;

  before(async () => {
    f = await eventPathFixture('outage', {
      startDelayMs: 500,
      wrap: (handler) => async (request, context) => {
        if (outage) {
          refused++;
          return { status: 503, jsonBody: { error: 'outage injected by the test' } };
        }
        return handler(request, context);
      },
    });
  });

  after(async () => {
    await f.stop();
  });

  it('brings every pod to Running after both recover, with one instance each', async () => {
    await createPods('before', 3);
    await waitFor('3 pods Running', async () => (await running()) === 3, {
      timeoutMs: 30_000,
      intervalMs: 250,
    });

    outage = true;
    const outageEnds = Date.now() + 30_000;
    await createPods('during', 3);
    const restart = await fetch(`${testEnv().control}/restart-apiserver`, { method: 'POST' });
    assert.equal(restart.status, 200, 'the API server restarted');
    await createPods('after-restart', 3);
    await new Promise((r) => setTimeout(r, Math.max(0, outageEnds - Date.now())));
    assert.ok(refused > 0, 'the relay hit the outage');
    assert.ok((await running()) < 9, 'nothing ran through the outage');
    outage = false;

    await waitFor('all 9 pods Running', async () => (await running()) === 9, {
      timeoutMs: 90_000,
      intervalMs: 500,
    });
    const uids = new Set(
      (await f.core.listNamespacedPod({ namespace: f.namespace })).items.map((p) => p.metadata!.uid!),
    );
    const instances = (await f.mock.listPods(f.node)).filter((v) => uids.has(v.ref.podUid));
    assert.equal(instances.length, 9);
    assert.equal(new Set(instances.map((v) => v.ref.podUid)).size, 9);
  });
});
