/**
 * One virtual node for the pod lifecycle tests, on the mock (its instances in Azurite), on ACI
 * (the real SDK against the ARM fake) or on ECS (the real SDK against moto), with its own namespace and tables, kept Ready while the
 * tests run; and the reads those tests make of what a user sees (pods, Events).
 */
import {
  CoreV1Api,
  type CoreV1Event,
  type KubeConfig,
  type V1Container,
  type V1Pod,
} from '@kubernetes/client-node';
import type { TimerLoop } from '../../cli/timerLoop.ts';
import { Setting } from '../../core/config.ts';
import { createLogger } from '../../core/log.ts';
import type { Provider } from '../../core/providers/provider.ts';
import type { ProviderPodView } from '../../core/providers/types.ts';
import { MockAnnotation, type MockInstance } from '../../core/providers/mock/instances.ts';
import type { Runtime } from '../../functions/runtime.ts';
import { aciUnderTest, providerUnderTest, type ProviderUnderTest } from '../e2e/providers.ts';
import type { FakeAci } from '../fakes/aci/server.ts';
import { uniqueName } from './env.ts';
import { freshRuntimes, functionSettings } from './functions.ts';
import { createPodNamespace, functionKubeconfig, testAdmin } from './kube.ts';
import { keepNodeReady, resyncUntil } from './virtualNode.ts';

export type LifecycleProvider = 'mock' | 'aci' | 'ecs';

export interface LifecycleNode {
  providerName: LifecycleProvider;
  admin: KubeConfig;
  core: CoreV1Api;
  runtimes: () => Runtime;
  /** The node's provider, as the functions build it: for listing what it runs. */
  provider: Provider;
  /** ACI only: the ARM fake, its controls and the requests it served. */
  fake?: FakeAci;
  node: string;
  namespace: string;
  /** The function settings the node runs with. */
  settings: Record<string, string>;
  pod(name: string): Promise<V1Pod | undefined>;
  /** Resyncs until `done` holds for the pod (undefined once it is gone). */
  until(name: string, what: string, done: (pod: V1Pod | undefined) => boolean): Promise<V1Pod | undefined>;
  events(pod: V1Pod): Promise<CoreV1Event[]>;
  /** The provider's instances of the pod (every attempt still there). */
  instances(pod: V1Pod): Promise<ProviderPodView[]>;
  /** Mock only: the instance rows of the pod, as the mock keeps them. */
  mockRows(pod: V1Pod): Promise<MockInstance[]>;
  stop(): Promise<void>;
}

export async function startLifecycleNode(
  providerName: LifecycleProvider,
  prefix: string,
): Promise<LifecycleNode> {
  const admin = testAdmin();
  const core = admin.makeApiClient(CoreV1Api);
  const node = uniqueName(`${prefix}-${providerName}`);
  const namespace = uniqueName(prefix);
  await createPodNamespace(core, namespace);
  const backend: (ProviderUnderTest & { fake?: FakeAci }) | undefined =
    providerName === 'aci'
      ? await aciUnderTest()
      : providerName === 'ecs'
        ? await providerUnderTest('ecs')
        : undefined;
  const settings = functionSettings({
    kubeconfig: await functionKubeconfig(admin, [node]),
    tablePrefix: `${prefix.replace(/[^a-z0-9]/gi, '')}${Math.random().toString(36).slice(2, 7)}`,
    nodes: [{ name: node, provider: providerName }],
    extra: {
      [Setting.restartBackoffMs]: '300',
      [Setting.mockStartDelayMs]: '300',
      ...(backend === undefined ? {} : { ...backend.settings, [Setting.clusterName]: uniqueName(prefix) }),
    },
  });
  const runtimes = freshRuntimes(settings, undefined, backend?.overrides);
  const lease: TimerLoop = await keepNodeReady(runtimes);
  const provider = await runtimes().provider(providerName, createLogger({}, { minLevel: 'error' }));
  const pod = async (name: string) =>
    (await core.listNamespacedPod({ namespace, fieldSelector: `metadata.name=${name}` })).items[0];
  return {
    providerName,
    admin,
    core,
    runtimes,
    provider,
    ...(backend?.fake === undefined ? {} : { fake: backend.fake }),
    node,
    namespace,
    settings,
    pod,
    async until(name, what, done) {
      let last: V1Pod | undefined;
      await resyncUntil(
        runtimes,
        `${name}: ${what}`,
        async () => {
          last = await pod(name);
          return done(last);
        },
        { passes: 60, pauseMs: 400 },
      );
      return last;
    },
    async events(p) {
      const listed = await core.listNamespacedEvent({
        namespace,
        fieldSelector: `involvedObject.uid=${p.metadata!.uid!}`,
      });
      return listed.items.sort(
        (a, b) => new Date(a.firstTimestamp ?? 0).getTime() - new Date(b.firstTimestamp ?? 0).getTime(),
      );
    },
    async instances(p) {
      return (await provider.listPods(node)).filter((v) => v.ref.podUid === p.metadata!.uid);
    },
    async mockRows(p) {
      const table = await runtimes().tables.table('mockInstances');
      const rows: MockInstance[] = [];
      for await (const row of table.listEntities<MockInstance>({
        queryOptions: { filter: `PartitionKey eq '${node}'` },
      }))
        if (row.podUid === p.metadata!.uid) rows.push(row);
      return rows;
    },
    async stop() {
      await lease.stop();
      await core.deleteNamespace({ name: namespace }).catch(() => undefined);
      await core.deleteNode({ name: node }).catch(() => undefined);
      await backend?.stop();
    },
  };
}

/** A container's status by name, app or init. */
export function containerStatusOf(pod: V1Pod | undefined, name: string) {
  return [...(pod?.status?.initContainerStatuses ?? []), ...(pod?.status?.containerStatuses ?? [])].find(
    (c) => c.name === name,
  );
}

export function conditionOf(pod: V1Pod | undefined, type: string): string | undefined {
  return pod?.status?.conditions?.find((c) => c.type === type)?.status;
}

/**
 * Scripts a container's exit on either provider: the mock reads pod annotations
 * (funclet.io/mock-exit-code.<container>), the ARM fake a container's env (FAKE_ACI_EXIT_CODE).
 */
export function scriptExit(pod: V1Pod, container: string, exitCode: number, afterSeconds: number): V1Pod {
  pod.metadata = {
    ...pod.metadata,
    annotations: {
      ...pod.metadata?.annotations,
      [`${MockAnnotation.exitCode}.${container}`]: String(exitCode),
      [`${MockAnnotation.exitAfterSeconds}.${container}`]: String(afterSeconds),
    },
  };
  const spec = [...(pod.spec?.initContainers ?? []), ...(pod.spec?.containers ?? [])].find(
    (c) => c.name === container,
  );
  if (spec === undefined) throw new Error(`no container ${container} to script`);
  spec.env = [
    ...(spec.env ?? []),
    { name: 'FAKE_ACI_EXIT_CODE', value: String(exitCode) },
    { name: 'FAKE_ACI_EXIT_AFTER_SECONDS', value: String(afterSeconds) },
  ];
  return pod;
}

/** A small container both providers run. */
export function busybox(name: string, image = 'busybox:1.36'): V1Container {
  return { name, image, resources: { requests: { cpu: '100m', memory: '128Mi' } } };
}
