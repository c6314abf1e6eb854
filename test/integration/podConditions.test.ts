/**
 * Pod conditions and readiness gates on a mock virtual node, against the real control plane: the
 * conditions a kubelet posts, Ready held back until every readiness gate's condition is True
 * (written, as a load-balancer controller would, through pods/status by someone else), and
 * Funclet's own status posts never overwriting that condition, even when they race it.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { CoreV1Api, type KubeConfig, type V1Pod, type V1PodCondition } from '@kubernetes/client-node';
import type { TimerLoop } from '../../cli/timerLoop.ts';
import { Setting } from '../../core/config.ts';
import { strategicMergePatch } from '../../core/kube/clients.ts';
import { createLogger } from '../../core/log.ts';
import { reconcilePod } from '../../core/pods/reconcile.ts';
import { podDeps, type Runtime } from '../../functions/runtime.ts';
import { uniqueName } from '../support/env.ts';
import { freshRuntimes, functionSettings } from '../support/functions.ts';
import { createPodNamespace, functionKubeconfig, testAdmin } from '../support/kube.ts';
import { kubectl } from '../support/kubectl.ts';
import { waitFor } from '../support/process.ts';
import { keepNodeReady, onVirtualNode, resyncUntil } from '../support/virtualNode.ts';

const gate = 'example.com/load-balancer';

describe('pod conditions and readiness gates on a mock virtual node', () => {
  let admin: KubeConfig;
  let core: CoreV1Api;
  let runtimes: () => Runtime;
  let lease: TimerLoop;
  const node = uniqueName('vk-cond');
  const namespace = uniqueName('cond');

  const read = (name: string) => core.readNamespacedPod({ name, namespace });
  const conditionOf = (pod: V1Pod, type: string): V1PodCondition | undefined =>
    pod.status?.conditions?.find((c) => c.type === type);
  const setGate = (name: string, status: 'True' | 'False') =>
    core.patchNamespacedPodStatus(
      {
        name,
        namespace,
        // A strategic merge patch: conditions merge by type, as controllers write them.
        body: { status: { conditions: [{ type: gate, status, lastTransitionTime: new Date() }] } },
      },
      strategicMergePatch,
    );
  const createGated = (name: string) =>
    core.createNamespacedPod({
      namespace,
      body: {
        metadata: { name },
        spec: {
          ...onVirtualNode(node),
          readinessGates: [{ conditionType: gate }],
          containers: [{ name: 'web', image: 'nginx:1.27' }],
        },
      },
    });
  /** READINESS GATES as `kubectl get pods -o wide` shows it: ready gates / all gates. */
  const readinessGatesColumn = async (name: string) => {
    const out = await kubectl(['get', 'pod', name, '-n', namespace, '-o', 'wide', '--no-headers']);
    assert.equal(out.code, 0, out.stderr);
    return out.stdout.trim().split(/\s+/).pop();
  };

  before(async () => {
    admin = testAdmin();
    core = admin.makeApiClient(CoreV1Api);
    await createPodNamespace(core, namespace);
    runtimes = freshRuntimes(
      functionSettings({
        kubeconfig: await functionKubeconfig(admin, [node]),
        tablePrefix: `cond${Math.random().toString(36).slice(2, 8)}`,
        nodes: [{ name: node, provider: 'mock' }],
        // Long enough for a status read while the instance is still starting to be stale once it runs.
        extra: { [Setting.mockStartDelayMs]: '1500' },
      }),
    );
    lease = await keepNodeReady(runtimes);
  });

  after(async () => {
    await lease.stop();
    await core.deleteNamespace({ name: namespace }).catch(() => undefined);
    await core.deleteNode({ name: node }).catch(() => undefined);
  });

  it('keeps a running pod not Ready until its readiness gate is True, then Ready, and not Ready again when the gate turns False', async () => {
    await createGated('gated');
    await resyncUntil(runtimes, 'gated running with its containers ready', async () => {
      const pod = await read('gated');
      return pod.status?.phase === 'Running' && conditionOf(pod, 'ContainersReady')?.status === 'True';
    });
    const before = await read('gated');
    assert.deepEqual(
      ['PodScheduled', 'PodReadyToStartContainers', 'Initialized', 'ContainersReady'].map(
        (t) => `${t}=${conditionOf(before, t)?.status}`,
      ),
      ['PodScheduled=True', 'PodReadyToStartContainers=True', 'Initialized=True', 'ContainersReady=True'],
    );
    const notReady = conditionOf(before, 'Ready');
    assert.equal(notReady?.status, 'False');
    assert.equal(notReady.reason, 'ReadinessGatesNotReady');
    assert.equal(notReady.message, `corresponding condition of pod readiness gate "${gate}" does not exist.`);
    for (const c of before.status?.conditions ?? [])
      assert.ok(c.lastTransitionTime, `${c.type} has a lastTransitionTime`);
    assert.equal(await readinessGatesColumn('gated'), '0/1');

    await setGate('gated', 'True');
    await resyncUntil(
      runtimes,
      'gated Ready',
      async () => conditionOf(await read('gated'), 'Ready')?.status === 'True',
    );
    const ready = await read('gated');
    assert.equal(
      conditionOf(ready, gate)?.status,
      'True',
      "the gate's condition is as its controller wrote it",
    );
    assert.equal(
      new Date(conditionOf(ready, 'ContainersReady')!.lastTransitionTime!).getTime(),
      new Date(conditionOf(before, 'ContainersReady')!.lastTransitionTime!).getTime(),
      'ContainersReady did not change, so neither did its transition time',
    );
    assert.ok(
      new Date(conditionOf(ready, 'Ready')!.lastTransitionTime!).getTime() >=
        new Date(notReady.lastTransitionTime!).getTime(),
      'Ready moved its transition time when it became True',
    );
    assert.equal(await readinessGatesColumn('gated'), '1/1');

    await setGate('gated', 'False');
    await resyncUntil(
      runtimes,
      'gated not Ready again',
      async () => conditionOf(await read('gated'), 'Ready')?.status === 'False',
    );
    const again = conditionOf(await read('gated'), 'Ready');
    assert.equal(again?.reason, 'ReadinessGatesNotReady');
    assert.equal(again.message, `the status of pod readiness gate "${gate}" is not "True", but False`);
    assert.equal(conditionOf(await read('gated'), gate)?.status, 'False');
  });

  it("keeps a readiness gate's condition written after Funclet read the pod: its status post is refused and made again from the pod as it is now", async () => {
    await createGated('racing');
    const created = await read('racing');
    const resync = await resyncUntil(
      runtimes,
      'the instance created',
      async () =>
        (await read('racing')).status?.containerStatuses?.some((c) => c.state?.waiting !== undefined) ===
        true,
    );
    assert.ok(resync >= 1);
    // What a reconcile read before the gate's controller wrote: the instance was still starting.
    const stale = await read('racing');
    assert.equal(stale.status?.phase, 'Pending');
    await setGate('racing', 'True');

    const runtime = runtimes();
    const deps = await podDeps(runtime, runtime.config.nodes[0]!, createLogger({}, { minLevel: 'error' }));
    const record = await deps.records.get(node, created.metadata!.uid!);
    assert.ok(record?.providerId, 'the record names the instance');
    const ref = { provider: deps.provider.name, id: record.providerId, podUid: record.uid };
    await waitFor(
      'the mock instance running',
      async () => (await deps.provider.getPod(ref))?.phase === 'Running',
      {
        timeoutMs: 30_000,
        intervalMs: 200,
      },
    );
    const outcomes = await reconcilePod(deps, { pod: stale, record, view: await deps.provider.getPod(ref) });
    assert.deepEqual(outcomes, ['statusPatched']);

    const now = await read('racing');
    assert.equal(now.status?.phase, 'Running');
    assert.equal(conditionOf(now, gate)?.status, 'True', "the gate's condition survived Funclet's post");
    assert.equal(conditionOf(now, 'Ready')?.status, 'True', 'Ready counts the gate written after the read');
  });
});
