/**
 * The downward API's address fields in env (status.podIP, podIPs, hostIP, hostIPs), against the
 * real control plane: on the mock, whose instance address is known before the create, they are
 * the address the pod then reports, on every attempt; on ACI (the ARM fake through the real SDK),
 * which assigns a container group's address only when it creates it, the pod is refused with
 * the reason on its status and an Event, and nothing is created, rather than run with ''.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { CoreV1Api, type KubeConfig, type V1EnvVar, type V1Pod } from '@kubernetes/client-node';
import type { TimerLoop } from '../../cli/timerLoop.ts';
import { Setting } from '../../core/config.ts';
import { MockAnnotation } from '../../core/providers/mock/instances.ts';
import { createRuntime, type Runtime } from '../../functions/runtime.ts';
import { aciUnderTest, type ProviderUnderTest } from '../e2e/providers.ts';
import type { FakeAci } from '../fakes/aci/server.ts';
import { uniqueName } from '../support/env.ts';
import { functionSettings } from '../support/functions.ts';
import { createPodNamespace, functionKubeconfig, testAdmin } from '../support/kube.ts';
import { keepNodeReady, onVirtualNode, resyncUntil } from '../support/virtualNode.ts';

const addressEnv: V1EnvVar[] = [
  { name: 'POD_IP', valueFrom: { fieldRef: { fieldPath: 'status.podIP' } } },
  { name: 'POD_IPS', valueFrom: { fieldRef: { fieldPath: 'status.podIPs' } } },
  { name: 'HOST_IP', valueFrom: { fieldRef: { fieldPath: 'status.hostIP' } } },
  { name: 'HOST_IPS', valueFrom: { fieldRef: { fieldPath: 'status.hostIPs' } } },
];

describe('status.podIP and the other address fields in env', () => {
  let admin: KubeConfig;
  let core: CoreV1Api;
  let runtimes: () => Runtime;
  let lease: TimerLoop;
  let aci: ProviderUnderTest & { fake: FakeAci };
  const mockNode = uniqueName('vk-envip');
  const aciNode = uniqueName('vk-envip-aci');
  const namespace = uniqueName('envip');

  const read = (name: string) => core.readNamespacedPod({ name, namespace });
  const podOn = (node: string, name: string, annotations: Record<string, string> = {}): V1Pod => ({
    metadata: { name, annotations },
    spec: {
      ...onVirtualNode(node),
      containers: [{ name: 'app', image: 'busybox:1.36', command: ['sleep', '3600'], env: addressEnv }],
    },
  });
  /** The address variables each attempt's mock instance was created with, by attempt. */
  const mockEnvs = async (uid: string) => {
    const table = await runtimes().tables.table('mockInstances');
    const envs = new Map<number, Record<string, string | undefined>>();
    // The node's instances, and the copies the mock keeps of ended ones.
    for await (const row of table.listEntities<{ podUid: string; attempt: number; env: string }>({
      queryOptions: { filter: `podUid eq '${uid}'` },
    })) {
      if (row.podUid === uid) {
        const env = (JSON.parse(row.env) as Record<string, Record<string, string>>).app!;
        envs.set(row.attempt, Object.fromEntries(addressEnv.map((e) => [e.name, env[e.name]])));
      }
    }
    return envs;
  };

  before(async () => {
    admin = testAdmin();
    core = admin.makeApiClient(CoreV1Api);
    await createPodNamespace(core, namespace);
    aci = await aciUnderTest();
    const settings = functionSettings({
      kubeconfig: await functionKubeconfig(admin, [mockNode, aciNode]),
      tablePrefix: `envip${Math.random().toString(36).slice(2, 8)}`,
      nodes: [
        { name: mockNode, provider: 'mock' },
        { name: aciNode, provider: 'aci' },
      ],
      extra: {
        ...aci.settings,
        [Setting.mockStartDelayMs]: '200',
        [Setting.restartBackoffMs]: '300',
      },
    });
    runtimes = () => createRuntime({ env: settings, providers: aci.overrides });
    lease = await keepNodeReady(runtimes);
  });

  after(async () => {
    await lease.stop();
    await core.deleteNamespace({ name: namespace }).catch(() => undefined);
    for (const name of [mockNode, aciNode]) await core.deleteNode({ name }).catch(() => undefined);
    await aci.stop();
  });

  it('gives a mock pod the address it then reports as status.podIP, on its first instance and after a restart', async () => {
    // Each instance exits after 3 s; restartPolicy Always starts the next attempt.
    await core.createNamespacedPod({
      namespace,
      body: podOn(mockNode, 'addressed', {
        [MockAnnotation.exitCode]: '1',
        [MockAnnotation.exitAfterSeconds]: '3',
      }),
    });
    await resyncUntil(runtimes, 'addressed Running with an IP', async () => {
      const pod = await read('addressed');
      return pod.status?.phase === 'Running' && Boolean(pod.status.podIP);
    });
    const pod = await read('addressed');
    const ip = pod.status!.podIP!;
    assert.match(ip, /^\d+\.\d+\.\d+\.\d+$/);
    assert.deepEqual(
      pod.status?.podIPs?.map((p) => p.ip),
      [ip],
    );
    assert.equal(pod.status?.hostIP, ip, 'a virtual node has no host of its own: hostIP is the pod IP');
    const expected = { POD_IP: ip, POD_IPS: ip, HOST_IP: ip, HOST_IPS: ip };
    assert.deepEqual((await mockEnvs(pod.metadata!.uid!)).get(0), expected);

    await resyncUntil(
      runtimes,
      'addressed restarted',
      async () => ((await read('addressed')).status?.containerStatuses?.[0]?.restartCount ?? 0) >= 1,
      { passes: 40 },
    );
    const restarted = await read('addressed');
    assert.equal(restarted.status?.podIP ?? ip, ip);
    assert.deepEqual((await mockEnvs(pod.metadata!.uid!)).get(1), expected, 'the next attempt has it too');
  });

  it('refuses an ACI pod whose env asks for its address, with the reason on its status and a Warning Event, and creates no container group', async () => {
    aci.fake.resetRequests();
    await core.createNamespacedPod({ namespace, body: podOn(aciNode, 'unaddressed') });
    await resyncUntil(
      runtimes,
      'unaddressed refused',
      async () =>
        (await read('unaddressed')).status?.containerStatuses?.[0]?.state?.waiting?.reason ===
        'ProviderFailed',
    );
    const pod = await read('unaddressed');
    assert.equal(pod.status?.phase, 'Pending');
    const message = pod.status?.containerStatuses?.[0]?.state?.waiting?.message ?? '';
    assert.match(
      message,
      /env POD_IP of container "app": status\.podIP is not known before the pod's instance starts/,
    );
    const events = await core.listNamespacedEvent({
      namespace,
      fieldSelector: `involvedObject.uid=${pod.metadata!.uid!}`,
    });
    assert.ok(
      events.items.some(
        (e) => e.type === 'Warning' && e.reason === 'ProviderFailed' && /status\.podIP/.test(e.message ?? ''),
      ),
      'a Warning Event says why',
    );
    assert.equal(aci.fake.countRequests({ method: 'PUT' }), 0, 'no container group was created');
    assert.equal(pod.status?.podIP, undefined);
  });
});
