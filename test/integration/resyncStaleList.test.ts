/**
 * A long resync pass against the real control plane: a pod deleted after the pass listed it,
 * but before its turn came, is not started from the pass's stale list (which would leave an
 * instance without a pod until the next pass), while a pod still there is started as before.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { CoreV1Api, type KubeConfig } from '@kubernetes/client-node';
import type { TimerLoop } from '../../cli/timerLoop.ts';
import { createLogger } from '../../core/log.ts';
import type { PodDeps } from '../../core/pods/reconcile.ts';
import { listFreshMs, resyncNode } from '../../core/pods/resync.ts';
import { podDeps, type Runtime } from '../../functions/runtime.ts';
import { uniqueName } from '../support/env.ts';
import { freshRuntimes, functionSettings } from '../support/functions.ts';
import { createPodNamespace, functionKubeconfig, testAdmin } from '../support/kube.ts';
import { keepNodeReady } from '../support/virtualNode.ts';

describe('a resync pass whose pod list has aged', () => {
  let admin: KubeConfig;
  let core: CoreV1Api;
  let runtimes: () => Runtime;
  let lease: TimerLoop;
  const node = uniqueName('vk-stale');
  const namespace = uniqueName('stale');

  before(async () => {
    admin = testAdmin();
    core = admin.makeApiClient(CoreV1Api);
    await createPodNamespace(core, namespace);
    runtimes = freshRuntimes(
      functionSettings({
        kubeconfig: await functionKubeconfig(admin, [node]),
        tablePrefix: `stale${Math.random().toString(36).slice(2, 8)}`,
        nodes: [{ name: node, provider: 'mock' }],
      }),
    );
    lease = await keepNodeReady(runtimes);
  });

  after(async () => {
    await lease.stop();
    await core.deleteNamespace({ name: namespace }).catch(() => undefined);
    await core.deleteNode({ name: node }).catch(() => undefined);
  });

  /**
   * A pass whose clock jumps past listFreshMs once its pod list is back, with `afterList` run
   * before the list is handed over, and the provider's creates counted.
   */
  async function agedPass(afterList: () => Promise<void>) {
    const runtime = runtimes();
    const deps = await podDeps(runtime, runtime.config.nodes[0]!, createLogger({}, { minLevel: 'error' }));
    let offsetMs = 0;
    const creates: string[] = [];
    const core = new Proxy(deps.kube.core, {
      get(target, key, receiver) {
        const value = Reflect.get(target, key, receiver) as unknown;
        if (key !== 'listPodForAllNamespaces' || typeof value !== 'function') return value;
        return async (...args: unknown[]) => {
          const listed: unknown = await (value as (...a: unknown[]) => Promise<unknown>).apply(target, args);
          await afterList();
          offsetMs = listFreshMs + 1_000;
          return listed;
        };
      },
    });
    const provider = new Proxy(deps.provider, {
      get(target, key, receiver) {
        const value = Reflect.get(target, key, receiver) as unknown;
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
    return { summary, creates, instances: await deps.provider.listPods(node) };
  }

  const createPod = async (name: string) => {
    const pod = await core.createNamespacedPod({
      namespace,
      body: {
        metadata: { name },
        // No token: the Node authorizer would refuse one for a deleted pod, which hides the case.
        spec: {
          nodeName: node,
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
      await core.deleteNamespacedPod({ name: 'deleted-meanwhile', namespace, gracePeriodSeconds: 0 });
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
});
