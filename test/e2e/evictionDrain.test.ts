/**
 * Eviction and drain of a virtual node (mock, and ACI through the ARM fake), end to end against
 * the real controller-manager and the real kubectl:
 * - the node's timers stop: the node lifecycle controller marks it Unknown and taints it
 *   unreachable, and the taint eviction controller deletes the pods that tolerate that for only a
 *   few seconds; once the timers run again, Funclet deletes their instances and removes the pods,
 *   and the pod that tolerates the taint for good runs on, with no instance left over;
 * - `kubectl drain` evicts through the eviction API, and a PodDisruptionBudget holds back the
 *   eviction that would break it until the budget allows it.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import {
  AppsV1Api,
  CoreV1Api,
  PolicyV1Api,
  type KubeConfig,
  type V1Pod,
  type V1Toleration,
} from '@kubernetes/client-node';
import type { TimerLoop } from '../../cli/timerLoop.ts';
import { Setting } from '../../core/config.ts';
import { createLogger } from '../../core/log.ts';
import type { PodDeps } from '../../core/pods/reconcile.ts';
import type { ProviderName } from '../../core/providers/types.ts';
import { podResyncHandler } from '../../functions/podResync.ts';
import { createRuntime, podDeps, type Runtime } from '../../functions/runtime.ts';
import { testEnv, uniqueName } from '../support/env.ts';
import { functionSettings, invocation, timer } from '../support/functions.ts';
import { createPodNamespace, functionKubeconfig, testAdmin } from '../support/kube.ts';
import { kubectl } from '../support/kubectl.ts';
import { podInvariantViolations } from '../support/podInvariants.ts';
import { waitFor } from '../support/process.ts';
import { keepNodeReady, onVirtualNode, resyncUntil } from '../support/virtualNode.ts';
import { providerUnderTest, type ProviderUnderTest } from './providers.ts';

/** podResync over and over, as its timer would run it, until stopped. */
function resyncInBackground(runtimes: () => Runtime) {
  const resync = podResyncHandler(runtimes);
  const errors: string[] = [];
  let stopped = false;
  const loop = (async () => {
    while (!stopped) {
      await resync(timer(), invocation('podResync').context).catch((err: unknown) =>
        errors.push(String(err)),
      );
      await new Promise((r) => setTimeout(r, 500));
    }
  })();
  return {
    errors,
    stop: async () => {
      stopped = true;
      await loop;
    },
  };
}

for (const providerName of ['mock', 'aci'] as const satisfies readonly ProviderName[]) {
  describe(`eviction and drain of a ${providerName} virtual node`, () => {
    let admin: KubeConfig;
    let core: CoreV1Api;
    let fnKubeconfig: string;
    let backend: ProviderUnderTest;
    let drainRuntimes: () => Runtime;
    let drainLease: TimerLoop | undefined;
    const evictNode = uniqueName(`vk-evict-${providerName}`);
    const drainNode = uniqueName(`vk-drain-${providerName}`);
    const namespace = uniqueName(`evict-${providerName}`);
    const leases: TimerLoop[] = [];

    const runtimesFor = (node: string) => {
      const settings = functionSettings({
        kubeconfig: fnKubeconfig,
        tablePrefix: `ev${Math.random().toString(36).slice(2, 8)}`,
        nodes: [{ name: node, provider: providerName }],
        extra: { ...backend.settings, [Setting.mockStartDelayMs]: '200' },
      });
      return () => createRuntime({ env: settings, providers: backend.overrides });
    };
    const depsFor = async (runtimes: () => Runtime): Promise<PodDeps> => {
      const runtime = runtimes();
      return podDeps(runtime, runtime.config.nodes[0]!, createLogger({}, { minLevel: 'error' }));
    };
    const podsIn = async (selector: string) =>
      (await core.listNamespacedPod({ namespace, labelSelector: selector })).items;
    const liveInstances = async (deps: PodDeps, pods: readonly V1Pod[]) => {
      const uids = new Set(pods.map((p) => p.metadata!.uid!));
      return (await deps.provider.listPods(deps.node)).filter(
        (v) => uids.has(v.ref.podUid) && v.phase !== 'Succeeded' && v.phase !== 'Failed',
      );
    };
    const ready = (p: V1Pod) =>
      p.status?.phase === 'Running' &&
      p.status.conditions?.some((c) => c.type === 'Ready' && c.status === 'True');

    before(async () => {
      admin = testAdmin();
      core = admin.makeApiClient(CoreV1Api);
      await createPodNamespace(core, namespace);
      fnKubeconfig = await functionKubeconfig(admin, [evictNode, drainNode]);
      backend = await providerUnderTest(providerName);
      drainRuntimes = runtimesFor(drainNode);
    });

    after(async () => {
      for (const lease of leases) await lease.stop();
      await drainLease?.stop();
      await core.deleteNamespace({ name: namespace }).catch(() => undefined);
      for (const name of [evictNode, drainNode]) await core.deleteNode({ name }).catch(() => undefined);
      await backend.stop();
    });

    it('evicts the pods that tolerate an unreachable node for a few seconds once its timers stop, and deletes their instances once they run again', async () => {
      // Another node stays Ready. Were every node of the zone not ready, the node lifecycle
      // controller would take it for the control plane losing them all (full disruption) and
      // evict nothing.
      drainLease ??= await keepNodeReady(drainRuntimes);
      const runtimes = runtimesFor(evictNode);
      let lease = await keepNodeReady(runtimes);
      leases.push(lease);
      const unreachable = (tolerationSeconds?: number): V1Toleration[] =>
        ['node.kubernetes.io/unreachable', 'node.kubernetes.io/not-ready'].map((key) => ({
          key,
          operator: 'Exists',
          effect: 'NoExecute',
          ...(tolerationSeconds !== undefined ? { tolerationSeconds } : {}),
        }));
      const base = onVirtualNode(evictNode);
      for (const [name, tolerations] of [
        ['brief', unreachable(5)],
        ['steady', unreachable()],
      ] as const)
        await core.createNamespacedPod({
          namespace,
          body: {
            metadata: { name, labels: { t: 'evict' } },
            spec: {
              ...base,
              tolerations: [...base.tolerations, ...tolerations],
              terminationGracePeriodSeconds: 1,
              containers: [{ name: 'app', image: 'busybox:1.36', command: ['sleep', '3600'] }],
            },
          },
        });
      await resyncUntil(
        runtimes,
        'both pods Running and Ready',
        async () => (await podsIn('t=evict')).filter(ready).length === 2,
      );
      const briefUid = (await core.readNamespacedPod({ name: 'brief', namespace })).metadata!.uid!;
      const steadyUid = (await core.readNamespacedPod({ name: 'steady', namespace })).metadata!.uid!;

      // The timers stop: no lease renewals, no status posts, no resync.
      await lease.stop();
      const grace = testEnv().cluster.nodeMonitorGracePeriodSeconds;
      await waitFor(
        'the node Unknown and tainted unreachable',
        async () => {
          const node = await core.readNode({ name: evictNode });
          return (
            node.status?.conditions?.find((c) => c.type === 'Ready')?.status === 'Unknown' &&
            (node.spec?.taints ?? []).some(
              (t) => t.key === 'node.kubernetes.io/unreachable' && t.effect === 'NoExecute',
            )
          );
        },
        { timeoutMs: (grace + 30) * 1000, intervalMs: 500 },
      );
      await waitFor(
        'the taint eviction controller to delete brief',
        async () =>
          (await core.readNamespacedPod({ name: 'brief', namespace })).metadata?.deletionTimestamp !==
          undefined,
        { timeoutMs: 60_000, intervalMs: 500 },
      );
      const terminating = await core.readNamespacedPod({ name: 'brief', namespace });
      const disruption = terminating.status?.conditions?.find((c) => c.type === 'DisruptionTarget');
      assert.equal(disruption?.status, 'True');
      assert.equal(disruption.reason, 'DeletionByTaintManager');
      // Its Event names the pod without a UID (taint_eviction.go emitPodDeletionEvent).
      await waitFor(
        'the taint eviction controller to record the eviction on the pod',
        async () =>
          (
            await core.listNamespacedEvent({ namespace, fieldSelector: 'involvedObject.name=brief' })
          ).items.some(
            (e) => e.reason === 'TaintManagerEviction' && /Marking for deletion Pod/.test(e.message ?? ''),
          ),
        { timeoutMs: 30_000, intervalMs: 500 },
      );
      const deps = await depsFor(runtimes);
      assert.equal(
        (await liveInstances(deps, [terminating])).length,
        1,
        'with the timers stopped the instance still runs and the pod stays Terminating',
      );
      const steadyNow = await core.readNamespacedPod({ name: 'steady', namespace });
      assert.equal(steadyNow.metadata?.deletionTimestamp, undefined, 'steady tolerates the taint for good');

      // The timers run again.
      lease = await keepNodeReady(runtimes);
      leases.push(lease);
      await resyncUntil(runtimes, 'brief gone from the API server', async () =>
        (await podsIn('t=evict')).every((p) => p.metadata?.uid !== briefUid),
      );
      await resyncUntil(runtimes, 'steady Ready again', async () =>
        (await podsIn('t=evict')).some((p) => p.metadata?.uid === steadyUid && ready(p)),
      );
      const left = await podsIn('t=evict');
      assert.deepEqual(
        left.map((p) => p.metadata?.name),
        ['steady'],
      );
      assert.equal((await liveInstances(deps, [terminating])).length, 0, "brief's instance is deleted");
      assert.equal((await liveInstances(deps, left)).length, 1, 'steady still has its instance');
      const expect = new Map([
        [`${namespace}/brief`, 'gone' as const],
        [`${namespace}/steady`, 'Running' as const],
      ]);
      // An instance that ended as its pod was removed is collected by the next pass.
      await resyncUntil(
        runtimes,
        'no instance or record left over',
        async () => (await podInvariantViolations({ ...deps, expect })).length === 0,
      );
    });

    it('drains through the eviction API, holding back the eviction a PodDisruptionBudget forbids until the budget allows it', async () => {
      const runtimes = drainRuntimes;
      drainLease ??= await keepNodeReady(runtimes);
      const labels = { app: 'web' };
      await admin.makeApiClient(AppsV1Api).createNamespacedDeployment({
        namespace,
        body: {
          metadata: { name: 'web' },
          spec: {
            replicas: 2,
            selector: { matchLabels: labels },
            template: {
              metadata: { labels },
              spec: {
                ...onVirtualNode(drainNode),
                terminationGracePeriodSeconds: 1,
                containers: [{ name: 'web', image: 'nginx:1.27' }],
              },
            },
          },
        },
      });
      const policy = admin.makeApiClient(PolicyV1Api);
      await policy.createNamespacedPodDisruptionBudget({
        namespace,
        body: { metadata: { name: 'web' }, spec: { minAvailable: 1, selector: { matchLabels: labels } } },
      });
      await waitFor(
        '2 web pods bound',
        async () => (await podsIn('app=web')).filter((p) => p.spec?.nodeName === drainNode).length === 2,
        {
          timeoutMs: 60_000,
        },
      );
      await resyncUntil(
        runtimes,
        'both web pods Ready',
        async () => (await podsIn('app=web')).filter(ready).length === 2,
      );
      const original = await podsIn('app=web');
      await waitFor(
        'the budget to allow one disruption',
        async () =>
          (await policy.readNamespacedPodDisruptionBudget({ name: 'web', namespace })).status
            ?.disruptionsAllowed === 1,
        { timeoutMs: 60_000, intervalMs: 500 },
      );
      const deps = await depsFor(runtimes);

      const resync = resyncInBackground(runtimes);
      let blocked;
      try {
        blocked = await kubectl(
          ['drain', drainNode, '--ignore-daemonsets', '--delete-emptydir-data', '--timeout=25s'],
          {
            timeoutMs: 90_000,
          },
        );
      } finally {
        await resync.stop();
      }
      assert.notEqual(blocked.code, 0, 'the drain could not finish within its timeout');
      assert.match(
        blocked.stdout + blocked.stderr,
        /Cannot evict pod as it would violate the pod's disruption budget/,
      );
      assert.equal(
        (await core.readNode({ name: drainNode })).spec?.unschedulable,
        true,
        'the node is cordoned',
      );
      const originalUids = new Set(original.map((p) => p.metadata!.uid!));
      const remaining = (await podsIn('app=web')).filter((p) => originalUids.has(p.metadata!.uid!));
      assert.equal(remaining.length, 1, 'one pod was evicted and is gone, the other held by the budget');
      assert.ok(ready(remaining[0]!) && remaining[0]!.metadata?.deletionTimestamp === undefined);
      assert.equal((await liveInstances(deps, original)).length, 1, "the evicted pod's instance is deleted");
      assert.ok(
        (await podsIn('app=web'))
          .filter((p) => !originalUids.has(p.metadata!.uid!))
          .every((p) => !p.spec?.nodeName),
        'its replacement waits unscheduled: the node is cordoned',
      );

      await policy.deleteNamespacedPodDisruptionBudget({ name: 'web', namespace });
      const resyncAgain = resyncInBackground(runtimes);
      let drained;
      try {
        drained = await kubectl(
          ['drain', drainNode, '--ignore-daemonsets', '--delete-emptydir-data', '--timeout=60s'],
          {
            timeoutMs: 90_000,
          },
        );
      } finally {
        await resyncAgain.stop();
      }
      assert.equal(drained.code, 0, drained.stderr);
      assert.match(drained.stdout, new RegExp(`node/${drainNode} drained`));
      assert.equal(
        (await podsIn('app=web')).filter((p) => originalUids.has(p.metadata!.uid!)).length,
        0,
        'every original pod is gone',
      );
      assert.equal((await liveInstances(deps, original)).length, 0, 'and so is every instance');
      // An instance that ended as its pod was removed is collected by the next pass.
      await resyncUntil(
        runtimes,
        'no instance or record left over',
        async () => (await podInvariantViolations(deps)).length === 0,
      );
      assert.deepEqual([...resync.errors, ...resyncAgain.errors], [] as string[]);
      await admin.makeApiClient(AppsV1Api).deleteNamespacedDeployment({ name: 'web', namespace });
    });
  });
}
