/**
 * What a running pod sees when a ConfigMap or Secret it uses changes, against the real control
 * plane. Funclet reads them when it creates an instance and a provider cannot change a running
 * instance's env or files, so: a running instance keeps the values it started with and no
 * provider call is made; the next instance Funclet creates for the pod (a restart after the
 * containers exited, on the mock) has the new values; and on ACI, which restarts containers
 * inside their group itself, `kubectl rollout restart` brings them, through a new pod.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { AppsV1Api, CoreV1Api, type KubeConfig } from '@kubernetes/client-node';
import type { TimerLoop } from '../../cli/timerLoop.ts';
import { Setting } from '../../core/config.ts';
import { containerGroupName } from '../../core/providers/aci/names.ts';
import { MockAnnotation } from '../../core/providers/mock/instances.ts';
import { createRuntime, type Runtime } from '../../functions/runtime.ts';
import { aciUnderTest, type ProviderUnderTest } from '../e2e/providers.ts';
import type { FakeAci } from '../fakes/aci/server.ts';
import { uniqueName } from '../support/env.ts';
import { functionSettings } from '../support/functions.ts';
import { createPodNamespace, functionKubeconfig, testAdmin } from '../support/kube.ts';
import { kubectl } from '../support/kubectl.ts';
import { waitFor } from '../support/process.ts';
import { keepNodeReady, onVirtualNode, resyncUntil } from '../support/virtualNode.ts';

describe('ConfigMap and Secret updates seen by running pods', () => {
  let admin: KubeConfig;
  let core: CoreV1Api;
  let runtimes: () => Runtime;
  let lease: TimerLoop;
  let aci: ProviderUnderTest & { fake: FakeAci };
  const mockNode = uniqueName('vk-cmupd');
  const aciNode = uniqueName('vk-cmupd-aci');
  const namespace = uniqueName('cmupd');

  const read = (name: string) => core.readNamespacedPod({ name, namespace });
  const resyncPasses = async (n: number) => {
    let left = n;
    await resyncUntil(runtimes, `${n} passes`, () => Promise.resolve(--left <= 0), {
      passes: n,
      pauseMs: 300,
    });
  };
  /** The env of container `app` of each attempt's mock instance of the pod, by attempt. */
  const mockEnvs = async (uid: string, names: readonly string[]) => {
    const table = await runtimes().tables.table('mockInstances');
    const envs = new Map<number, Record<string, string | undefined>>();
    // The node's instances, and the copies the mock keeps of ended ones.
    for await (const row of table.listEntities<{ podUid: string; attempt: number; env: string }>({
      queryOptions: { filter: `podUid eq '${uid}'` },
    })) {
      const env = (JSON.parse(row.env) as Record<string, Record<string, string>>).app!;
      envs.set(row.attempt, Object.fromEntries(names.map((n) => [n, env[n]])));
    }
    return envs;
  };
  const events = async (uid: string) =>
    (await core.listNamespacedEvent({ namespace, fieldSelector: `involvedObject.uid=${uid}` })).items;

  before(async () => {
    admin = testAdmin();
    core = admin.makeApiClient(CoreV1Api);
    await createPodNamespace(core, namespace);
    aci = await aciUnderTest();
    const settings = functionSettings({
      kubeconfig: await functionKubeconfig(admin, [mockNode, aciNode]),
      tablePrefix: `cmupd${Math.random().toString(36).slice(2, 8)}`,
      nodes: [
        { name: mockNode, provider: 'mock' },
        { name: aciNode, provider: 'aci' },
      ],
      extra: { ...aci.settings, [Setting.mockStartDelayMs]: '200', [Setting.restartBackoffMs]: '300' },
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

  it('keeps the values a running instance started with, and gives the next instance after a restart the new ones', async () => {
    await core.createNamespacedConfigMap({
      namespace,
      body: { metadata: { name: 'settings' }, data: { greeting: 'hello' } },
    });
    await core.createNamespacedSecret({
      namespace,
      body: { metadata: { name: 'token' }, stringData: { TOKEN: 'one' } },
    });
    // The instance's containers exit (0) after a while; restartPolicy Always starts the next one.
    const pod = await core.createNamespacedPod({
      namespace,
      body: {
        metadata: {
          name: 'reader',
          annotations: { [MockAnnotation.exitCode]: '0', [MockAnnotation.exitAfterSeconds]: '12' },
        },
        spec: {
          ...onVirtualNode(mockNode),
          containers: [
            {
              name: 'app',
              image: 'busybox:1.36',
              env: [
                { name: 'GREETING', valueFrom: { configMapKeyRef: { name: 'settings', key: 'greeting' } } },
              ],
              envFrom: [{ secretRef: { name: 'token' } }],
            },
          ],
        },
      },
    });
    const uid = pod.metadata!.uid!;
    await resyncUntil(
      runtimes,
      'reader Running',
      async () => (await read('reader')).status?.phase === 'Running',
    );
    assert.deepEqual(
      await mockEnvs(uid, ['GREETING', 'TOKEN']),
      new Map([[0, { GREETING: 'hello', TOKEN: 'one' }]]),
    );

    await core.replaceNamespacedConfigMap({
      name: 'settings',
      namespace,
      body: { metadata: { name: 'settings' }, data: { greeting: 'bonjour' } },
    });
    await core.replaceNamespacedSecret({
      name: 'token',
      namespace,
      body: { metadata: { name: 'token' }, stringData: { TOKEN: 'two' } },
    });
    await resyncPasses(2);
    const running = await read('reader');
    assert.equal(running.status?.phase, 'Running');
    assert.equal(running.status?.containerStatuses?.[0]?.restartCount, 0, 'the update restarted nothing');
    assert.deepEqual(
      await mockEnvs(uid, ['GREETING', 'TOKEN']),
      new Map([[0, { GREETING: 'hello', TOKEN: 'one' }]]),
      'the running instance keeps what it started with, and no other was created',
    );

    await resyncUntil(
      runtimes,
      'reader restarted after its containers exited',
      async () => ((await read('reader')).status?.containerStatuses?.[0]?.restartCount ?? 0) >= 1,
      { passes: 80 },
    );
    assert.deepEqual(
      (await mockEnvs(uid, ['GREETING', 'TOKEN'])).get(1),
      { GREETING: 'bonjour', TOKEN: 'two' },
      'the next instance reads the ConfigMap and Secret as they are now',
    );
    assert.ok(
      (await events(uid)).some((e) => e.reason === 'Restarted'),
      'a Restarted Event',
    );
  });

  it('on ACI, keeps a running container group as it was created, and `kubectl rollout restart` brings the new values', async () => {
    await core.createNamespacedConfigMap({
      namespace,
      body: { metadata: { name: 'site' }, data: { 'index.html': 'v1', mode: 'blue' } },
    });
    const labels = { app: 'site' };
    await admin.makeApiClient(AppsV1Api).createNamespacedDeployment({
      namespace,
      body: {
        metadata: { name: 'site' },
        spec: {
          replicas: 1,
          selector: { matchLabels: labels },
          template: {
            metadata: { labels },
            spec: {
              ...onVirtualNode(aciNode),
              volumes: [
                {
                  name: 'content',
                  configMap: { name: 'site', items: [{ key: 'index.html', path: 'index.html' }] },
                },
              ],
              containers: [
                {
                  name: 'web',
                  image: 'nginx:1.27',
                  env: [{ name: 'MODE', valueFrom: { configMapKeyRef: { name: 'site', key: 'mode' } } }],
                  volumeMounts: [{ name: 'content', mountPath: '/usr/share/nginx/html' }],
                },
              ],
            },
          },
        },
      },
    });
    const sitePods = async () =>
      (await core.listNamespacedPod({ namespace, labelSelector: 'app=site' })).items;
    await waitFor(
      'the site pod bound',
      async () => (await sitePods()).some((p) => p.spec?.nodeName === aciNode),
      {
        timeoutMs: 60_000,
      },
    );
    await resyncUntil(runtimes, 'the site pod Running', async () =>
      (await sitePods()).some((p) => p.status?.phase === 'Running'),
    );
    const [first] = await sitePods();
    const groupOf = (p: typeof first) =>
      containerGroupName({ namespace, name: p!.metadata!.name!, uid: p!.metadata!.uid!, attempt: 0 });
    /** What the group was created with: MODE and the mounted file. */
    const created = (group: string) => {
      const spec = aci.fake.groupSpec(group);
      assert.ok(spec, `container group ${group} exists`);
      const env = spec.properties.containers[0]?.properties?.environmentVariables as {
        name: string;
        value?: string;
      }[];
      const file = spec.properties.volumes?.find((v) => v.name === 'content')?.secret?.['index.html'];
      return {
        mode: env.find((e) => e.name === 'MODE')?.value,
        file: file === undefined ? undefined : Buffer.from(file, 'base64').toString('utf8'),
      };
    };
    assert.deepEqual(created(groupOf(first)), { mode: 'blue', file: 'v1' });

    aci.fake.resetRequests();
    await core.replaceNamespacedConfigMap({
      name: 'site',
      namespace,
      body: { metadata: { name: 'site' }, data: { 'index.html': 'v2', mode: 'green' } },
    });
    await resyncPasses(2);
    assert.deepEqual(created(groupOf(first)), { mode: 'blue', file: 'v1' });
    assert.equal(aci.fake.countRequests({ method: 'PUT' }), 0, 'no container group was created or replaced');
    assert.equal((await read(first!.metadata!.name!)).status?.containerStatuses?.[0]?.restartCount, 0);

    const restart = await kubectl(['rollout', 'restart', 'deployment/site', '-n', namespace]);
    assert.equal(restart.code, 0, restart.stderr);
    await resyncUntil(
      runtimes,
      'the restarted rollout done: one new pod Running, the old one gone',
      async () => {
        const pods = await sitePods();
        return (
          pods.length === 1 &&
          pods[0]!.metadata!.uid !== first!.metadata!.uid &&
          pods[0]!.status?.phase === 'Running'
        );
      },
      { passes: 60 },
    );
    const [second] = await sitePods();
    assert.deepEqual(created(groupOf(second)), { mode: 'green', file: 'v2' });
    assert.equal(aci.fake.groupSpec(groupOf(first)), undefined, "the old pod's group is deleted");
  });
});
