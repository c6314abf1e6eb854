/**
 * A long resync pass against the real control plane: a pod deleted after the pass listed it,
 * but before its turn came, is not started from the pass's stale list (which would leave an
 * instance without a pod until the next pass), while a pod still there is started as before;
 * and a pod the event path finished deleting meanwhile is not stopped again, nor its Killing
 * Event repeated.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { createLogger } from '../../core/log.ts';
import type { PodDeps } from '../../core/pods/reconcile.ts';
import { handlePokes } from '../../core/pods/pokes.ts';
import { listFreshMs, resyncNode } from '../../core/pods/resync.ts';
import { podDeps } from '../../functions/runtime.ts';
import { waitFor } from '../support/process.ts';
import { startLifecycleNode, type LifecycleNode } from '../support/lifecycleNode.ts';

describe('a resync pass whose pod list has aged', () => {
  let n: LifecycleNode;

  before(async () => {
    n = await startLifecycleNode('mock', 'stale');
  });

  after(async () => {
    await n.stop();
  });

  /**
   * A pass whose clock jumps past listFreshMs once its pod list is back, with `afterList` run
   * before the list is handed over, and the provider's creates counted.
   */
  async function agedPass(afterList: () => Promise<void>) {
    const runtime = n.runtimes();
    const deps = await podDeps(runtime, runtime.config.nodes[0]!, createLogger({}, { minLevel: 'error' }));
    let offsetMs = 0;
    const creates: string[] = [];
    const deletes: string[] = [];
    const listedUids: string[] = [];
    const core = new Proxy(deps.kube.core, {
      get(target, key, receiver) {
        const value = Reflect.get(target, key, receiver) as unknown;
        if (key !== 'listPodForAllNamespaces' || typeof value !== 'function') return value;
        return async (...args: unknown[]) => {
          const listed = (await (value as (...a: unknown[]) => Promise<unknown>).apply(target, args)) as {
            items: { metadata?: { uid?: string } }[];
          };
          listedUids.push(...listed.items.map((p) => p.metadata?.uid ?? ''));
          await afterList();
          offsetMs = listFreshMs + 1_000;
          return listed;
        };
      },
    });
    const provider = new Proxy(deps.provider, {
      get(target, key, receiver) {
        const value = Reflect.get(target, key, receiver) as unknown;
        if (key === 'deletePod' && typeof value === 'function')
          return (ref: { podUid: string }, ...rest: unknown[]) => {
            deletes.push(ref.podUid);
            return (value as (...a: unknown[]) => Promise<unknown>).call(target, ref, ...rest);
          };
        if (key !== 'createPod' || typeof value !== 'function') return value;
        return (pod: { uid: string }) => {
          creates.push(pod.uid);
          return (value as (p: unknown) => Promise<unknown>).call(target, pod);
        };
      },
    });
    const aged: PodDeps = {
      ...deps,
      kube: { ...deps.kube, core },
      provider,
      now: () => Date.now() + offsetMs,
    };
    const summary = await resyncNode(aged, { concurrency: 4, budgetMs: 60_000 });
    return { summary, creates, deletes, listedUids, instances: await deps.provider.listPods(n.node) };
  }

  const createPod = async (name: string) => {
    const pod = await n.core.createNamespacedPod({
      namespace: n.namespace,
      body: {
        metadata: { name },
        // No token: the Node authorizer would refuse one for a deleted pod, which hides the case.
        spec: {
          nodeName: n.node,
          automountServiceAccountToken: false,
          containers: [{ name: 'web', image: 'nginx:1.27' }],
        },
      },
    });
    return pod.metadata!.uid!;
  };

  it('does not start a pod deleted since the list was taken', async () => {
    const uid = await createPod('deleted-meanwhile');
    const { summary, creates, instances } = await agedPass(async () => {
      await n.core.deleteNamespacedPod({
        name: 'deleted-meanwhile',
        namespace: n.namespace,
        gracePeriodSeconds: 0,
      });
    });
    assert.equal(summary.seen, 1, 'the pass listed the pod');
    assert.deepEqual(creates, [], 'no instance was created for the deleted pod');
    assert.equal(summary.created, 0);
    assert.equal(instances.filter((v) => v.ref.podUid === uid).length, 0, 'no instance without its pod');
  });

  it('starts a pod still there, read again after the list aged', async () => {
    const uid = await createPod('still-here');
    const { summary, creates, instances } = await agedPass(async () => {});
    assert.equal(summary.created, 1);
    assert.equal(creates.length, 1);
    assert.equal(instances.filter((v) => v.ref.podUid === uid).length, 1, 'the pod has its instance');
  });

  it('does not stop again, nor repeat the Killing Event of, a pod the event path deleted since the list', async () => {
    const uid = await createPod('finished-meanwhile');
    const runtime = n.runtimes();
    const deps = await podDeps(runtime, runtime.config.nodes[0]!, createLogger({}, { minLevel: 'error' }));
    await resyncNode(deps, { concurrency: 4, budgetMs: 60_000 });
    await waitFor(
      'the instance running (the mock start delay)',
      async () =>
        (await deps.provider.listPods(n.node)).some((v) => v.ref.podUid === uid && v.phase === 'Running'),
      { timeoutMs: 10_000 },
    );
    await n.core.deleteNamespacedPod({ name: 'finished-meanwhile', namespace: n.namespace });
    const { summary, deletes, listedUids } = await agedPass(async () => {
      // The event path, poked by the deletion, finishes it: instance, record, pod.
      const deleting = await n.core.readNamespacedPod({ name: 'finished-meanwhile', namespace: n.namespace });
      const poke = {
        type: 'MODIFIED' as const,
        namespace: n.namespace,
        name: 'finished-meanwhile',
        uid,
        resourceVersion: deleting.metadata!.resourceVersion!,
      };
      const { results } = await handlePokes(deps, [poke], 1);
      assert.deepEqual(
        results.map((r) => r.status),
        ['reconciled'],
      );
    });
    assert.ok(listedUids.includes(uid), 'the pass listed the pod while it was being deleted');
    assert.equal(summary.deleted, 0);
    assert.deepEqual(deletes, [], 'the pass did not stop the instance again');
    const killing = await n.core.listNamespacedEvent({
      namespace: n.namespace,
      fieldSelector: `involvedObject.uid=${uid},reason=Killing`,
    });
    assert.equal(killing.items.length, 1, 'one Killing Event');
  });
});
