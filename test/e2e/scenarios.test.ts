/**
 * The same pod scenarios on every provider, through the same functions and the same real
 * control plane: mock, ACI (the ARM fake through the real ACI SDK) and ECS (moto).
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { AppsV1Api, CoreV1Api, type KubeConfig, type V1Pod } from '@kubernetes/client-node';
import type { TimerLoop } from '../../cli/timerLoop.ts';
import { Setting } from '../../core/config.ts';
import { mergePatch } from '../../core/kube/clients.ts';
import { createLogger } from '../../core/log.ts';
import type { Provider } from '../../core/providers/provider.ts';
import type { ProviderName } from '../../core/providers/types.ts';
import { podResyncHandler } from '../../functions/podResync.ts';
import { createRuntime, type Runtime } from '../../functions/runtime.ts';
import { functionSettings, invocation, timer } from '../support/functions.ts';
import { functionKubeconfig, testAdmin, createPodNamespace } from '../support/kube.ts';
import { uniqueName } from '../support/env.ts';
import { waitFor } from '../support/process.ts';
import { resolvedContainer, resolvedPod } from '../support/resolvedPod.ts';
import { keepNodeReady, onVirtualNode, resyncUntil } from '../support/virtualNode.ts';
import { providerUnderTest, type ProviderUnderTest } from './providers.ts';

for (const name of ['mock', 'aci', 'ecs'] as const satisfies readonly ProviderName[]) {
  describe(`pods on a ${name} virtual node`, () => {
    let admin: KubeConfig;
    let core: CoreV1Api;
    let backend: ProviderUnderTest;
    let runtimes: () => Runtime;
    let provider: Provider;
    let lease: TimerLoop;
    const node = uniqueName(`e2e-${name}`);
    const namespace = uniqueName(`e2e-${name}`);

    const podsIn = async (selector: string) =>
      (await core.listNamespacedPod({ namespace, labelSelector: selector })).items;
    const up = (p: V1Pod) =>
      p.status?.phase === 'Running' &&
      (!backend.reportsReady ||
        p.status.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') === true);
    const instancesOf = async (pods: V1Pod[]) => {
      const uids = new Set(pods.map((p) => p.metadata!.uid!));
      return (await provider.listPods(node)).filter(
        (v) => uids.has(v.ref.podUid) && v.phase !== 'Succeeded' && v.phase !== 'Failed',
      );
    };
    const podSpec = (labels: Record<string, string>) => ({
      ...onVirtualNode(node),
      containers: [
        {
          name: 'app',
          image: 'busybox:1.36',
          command: ['sh', '-c', 'sleep 3600'],
          resources: { requests: { cpu: '250m', memory: '256Mi' } },
        },
      ],
      _labels: labels,
    });

    before(async () => {
      admin = testAdmin();
      core = admin.makeApiClient(CoreV1Api);
      await createPodNamespace(core, namespace);
      backend = await providerUnderTest(name);
      const settings = functionSettings({
        kubeconfig: await functionKubeconfig(admin, [node]),
        tablePrefix: `e2e${name}${Math.random().toString(36).slice(2, 7)}`,
        nodes: [{ name: node, provider: name }],
        extra: {
          ...backend.settings,
          [Setting.mockStartDelayMs]: '200',
          [Setting.clusterName]: `e2e-${name}`,
        },
      });
      runtimes = () => createRuntime({ env: settings, providers: backend.overrides });
      lease = await keepNodeReady(runtimes);
      provider = await runtimes().provider(name, createLogger({}, { minLevel: 'error' }));
    });

    after(async () => {
      await lease.stop();
      await core.deleteNamespace({ name: namespace }).catch(() => undefined);
      await core.deleteNode({ name: node }).catch(() => undefined);
      await backend.stop();
    });

    it('runs a Deployment of 4 replicas, one instance each, and deletes 3 when scaled to 1', async () => {
      const apps = admin.makeApiClient(AppsV1Api);
      const labels = { app: 'web' };
      const { _labels, ...spec } = podSpec(labels);
      await apps.createNamespacedDeployment({
        namespace,
        body: {
          metadata: { name: 'web' },
          spec: { replicas: 4, selector: { matchLabels: _labels }, template: { metadata: { labels }, spec } },
        },
      });
      await waitFor(
        '4 pods bound',
        async () => (await podsIn('app=web')).filter((p) => p.spec?.nodeName === node).length === 4,
        { timeoutMs: 60_000 },
      );
      await resyncUntil(runtimes, '4 pods up', async () => (await podsIn('app=web')).filter(up).length === 4);
      assert.equal((await instancesOf(await podsIn('app=web'))).length, 4);
      const all = await podsIn('app=web');

      await apps.patchNamespacedDeploymentScale(
        { name: 'web', namespace, body: { spec: { replicas: 1 } } },
        mergePatch,
      );
      await resyncUntil(runtimes, '3 pods gone', async () => (await podsIn('app=web')).length === 1);
      await resyncUntil(runtimes, '3 instances gone', async () => (await instancesOf(all)).length === 1);
    });

    it('deletes the instance and the pod on a client delete', async () => {
      const { _labels, ...spec } = podSpec({});
      await core.createNamespacedPod({
        namespace,
        body: { metadata: { name: 'solo', labels: { t: 'solo' } }, spec },
      });
      await resyncUntil(runtimes, 'solo up', async () => (await podsIn('t=solo')).some(up));
      const pods = await podsIn('t=solo');
      await core.deleteNamespacedPod({ name: 'solo', namespace });
      await resyncUntil(runtimes, 'solo gone', async () => (await podsIn('t=solo')).length === 0);
      assert.equal((await instancesOf(pods)).length, 0);
    });

    it('holds a pod whose Secret is missing in CreateContainerConfigError and runs it once the Secret exists', async () => {
      const { _labels, ...spec } = podSpec({});
      spec.containers[0] = {
        ...spec.containers[0]!,
        env: [{ name: 'TOKEN', valueFrom: { secretKeyRef: { name: 'api', key: 'token' } } }],
      } as never;
      await core.createNamespacedPod({
        namespace,
        body: { metadata: { name: 'needs-secret', labels: { t: 'secret' } }, spec },
      });
      await resyncUntil(
        runtimes,
        'CreateContainerConfigError',
        async () =>
          (await podsIn('t=secret'))[0]?.status?.containerStatuses?.[0]?.state?.waiting?.reason ===
          'CreateContainerConfigError',
      );
      assert.equal((await instancesOf(await podsIn('t=secret'))).length, 0);
      await core.createNamespacedSecret({
        namespace,
        body: { metadata: { name: 'api' }, stringData: { token: 't0k3n' } },
      });
      await resyncUntil(runtimes, 'needs-secret up', async () => (await podsIn('t=secret')).some(up));
    });

    it('deletes an instance tagged for this node that no pod owns', async () => {
      const ref = await provider.createPod(
        resolvedPod({
          namespace,
          name: 'ghost',
          node,
          containers: [
            resolvedContainer({
              command: ['sleep', '3600'],
              requests: { cpu: 0.25, memoryBytes: 256 * 1024 * 1024 },
            }),
          ],
        }),
      );
      await waitFor(
        'the ghost listed',
        async () => (await provider.listPods(node)).some((v) => v.ref.id === ref.id),
        { timeoutMs: 10_000 },
      );
      await resyncUntil(runtimes, 'the ghost deleted', async () => {
        const view = await provider.getPod(ref);
        return view === undefined || view.phase === 'Succeeded' || view.phase === 'Failed';
      });
    });

    it('creates one instance per pod when two resyncs run at once', async () => {
      const { _labels, ...spec } = podSpec({});
      for (let i = 0; i < 3; i++) {
        await core.createNamespacedPod({
          namespace,
          body: { metadata: { name: `twin-${i}`, labels: { t: 'twin' } }, spec },
        });
      }
      await waitFor(
        '3 twins bound',
        async () => (await podsIn('t=twin')).filter((p) => p.spec?.nodeName === node).length === 3,
        {
          timeoutMs: 30_000,
        },
      );
      const resync = podResyncHandler(runtimes);
      await Promise.all([
        resync(timer(), invocation('podResync').context),
        resync(timer(), invocation('podResync').context),
      ]);
      const instances = await instancesOf(await podsIn('t=twin'));
      assert.equal(instances.length, 3);
      assert.equal(new Set(instances.map((i) => i.ref.podUid)).size, 3);
    });
  });
}
