import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { AppsV1Api, BatchV1Api, CoreV1Api, type KubeConfig, type V1Pod } from '@kubernetes/client-node';
import type { TimerLoop } from '../../cli/timerLoop.ts';
import { MockProvider } from '../../core/providers/mock/provider.ts';
import { MockAnnotation } from '../../core/providers/mock/instances.ts';
import { podResyncHandler } from '../../functions/podResync.ts';
import type { Runtime } from '../../functions/runtime.ts';
import { Setting } from '../../core/config.ts';
import { freshRuntimes, functionSettings, invocation, timer } from '../support/functions.ts';
import { functionKubeconfig, testAdmin, createPodNamespace } from '../support/kube.ts';
import { uniqueName } from '../support/env.ts';
import { waitFor } from '../support/process.ts';
import { resolvedPod } from '../support/resolvedPod.ts';
import { keepNodeReady, onVirtualNode, resyncUntil } from '../support/virtualNode.ts';

describe('pods on a mock virtual node', () => {
  let admin: KubeConfig;
  let core: CoreV1Api;
  let runtimes: () => Runtime;
  let lease: TimerLoop;
  let mock: MockProvider;
  const node = uniqueName('vk-pods');
  const namespace = uniqueName('pods');

  const podsIn = async (selector?: string) =>
    (await core.listNamespacedPod({ namespace, labelSelector: selector })).items;
  const running = (p: V1Pod) =>
    p.status?.phase === 'Running' &&
    p.status.conditions?.some((c) => c.type === 'Ready' && c.status === 'True');
  const instancesFor = async (uids?: Set<string>) =>
    (await mock.listPods(node)).filter((v) => uids === undefined || uids.has(v.ref.podUid));

  before(async () => {
    admin = testAdmin();
    core = admin.makeApiClient(CoreV1Api);
    await createPodNamespace(core, namespace);
    const settings = functionSettings({
      kubeconfig: await functionKubeconfig(admin, [node]),
      tablePrefix: `pods${Math.random().toString(36).slice(2, 8)}`,
      nodes: [{ name: node, provider: 'mock' }],
      extra: { [Setting.restartBackoffMs]: '300', [Setting.mockStartDelayMs]: '300' },
    });
    runtimes = freshRuntimes(settings);
    lease = await keepNodeReady(runtimes);
    const runtime = runtimes();
    mock = new MockProvider({
      table: await runtime.tables.table('mockInstances'),
      startDelayMs: 300,
      now: Date.now,
    });
  });

  after(async () => {
    await lease.stop();
    await core.deleteNamespace({ name: namespace }).catch(() => undefined);
    await core.deleteNode({ name: node }).catch(() => undefined);
  });

  it('runs a Deployment of 20 replicas, then deletes 15 instances and pods when scaled to 5', async () => {
    const apps = admin.makeApiClient(AppsV1Api);
    const labels = { app: 'web' };
    await apps.createNamespacedDeployment({
      namespace,
      body: {
        metadata: { name: 'web' },
        spec: {
          replicas: 20,
          selector: { matchLabels: labels },
          template: {
            metadata: { labels },
            spec: { ...onVirtualNode(node), containers: [{ name: 'web', image: 'nginx:1.27' }] },
          },
        },
      },
    });
    await waitFor(
      '20 pods bound to the node',
      async () => (await podsIn('app=web')).filter((p) => p.spec?.nodeName === node).length === 20,
      {
        timeoutMs: 60_000,
      },
    );
    await resyncUntil(
      runtimes,
      'all 20 pods Running and Ready',
      async () => (await podsIn('app=web')).filter(running).length === 20,
    );
    const uids = new Set((await podsIn('app=web')).map((p) => p.metadata!.uid!));
    assert.equal((await instancesFor(uids)).length, 20);
    assert.equal((await instancesFor()).length, 20, 'the mock holds exactly 20 instances');

    await apps.patchNamespacedDeploymentScale(
      { name: 'web', namespace, body: { spec: { replicas: 5 } } },
      (await import('../../core/kube/clients.ts')).mergePatch,
    );
    await resyncUntil(
      runtimes,
      '15 pods gone from the API',
      async () => (await podsIn('app=web')).length === 5,
    );
    assert.equal((await instancesFor(uids)).length, 5, '15 instances deleted');
    assert.equal((await podsIn('app=web')).filter(running).length, 5);
    assert.ok(
      (await podsIn('app=web')).every((p) => p.metadata?.deletionTimestamp === undefined),
      'nothing stuck Terminating',
    );
    await apps.deleteNamespacedDeployment({ name: 'web', namespace });
  });

  it('deletes the instance and removes the pod on a client delete, leaving nothing Terminating', async () => {
    await core.createNamespacedPod({
      namespace,
      body: {
        metadata: { name: 'solo', labels: { t: 'solo' } },
        spec: { ...onVirtualNode(node), containers: [{ name: 'c', image: 'busybox' }] },
      },
    });
    await resyncUntil(runtimes, 'solo Running', async () => (await podsIn('t=solo')).some(running));
    const uid = (await podsIn('t=solo'))[0]!.metadata!.uid!;
    await core.deleteNamespacedPod({ name: 'solo', namespace });
    await resyncUntil(runtimes, 'solo gone', async () => (await podsIn('t=solo')).length === 0);
    assert.equal((await instancesFor(new Set([uid]))).length, 0);
  });

  it('leaves a pod whose env needs a missing Secret Pending with CreateContainerConfigError and an Event, and runs it once the Secret exists', async () => {
    await core.createNamespacedPod({
      namespace,
      body: {
        metadata: { name: 'needs-secret', labels: { t: 'secret' } },
        spec: {
          ...onVirtualNode(node),
          containers: [
            {
              name: 'app',
              image: 'busybox',
              env: [{ name: 'PASSWORD', valueFrom: { secretKeyRef: { name: 'db', key: 'password' } } }],
            },
          ],
        },
      },
    });
    await resyncUntil(runtimes, 'CreateContainerConfigError reported', async () => {
      const pod = (await podsIn('t=secret'))[0];
      return pod?.status?.containerStatuses?.[0]?.state?.waiting?.reason === 'CreateContainerConfigError';
    });
    const pod = (await podsIn('t=secret'))[0]!;
    assert.equal(pod.status?.phase, 'Pending');
    assert.match(pod.status?.containerStatuses?.[0]?.state?.waiting?.message ?? '', /db/);
    const events = await core.listNamespacedEvent({
      namespace,
      fieldSelector: `involvedObject.uid=${pod.metadata!.uid!}`,
    });
    assert.ok(
      events.items.some((e) => e.type === 'Warning' && /db/.test(e.message ?? '')),
      'a Warning event names the Secret',
    );
    assert.equal((await instancesFor(new Set([pod.metadata!.uid!]))).length, 0, 'nothing was started');

    await core.createNamespacedSecret({
      namespace,
      body: { metadata: { name: 'db' }, stringData: { password: 's3cret' } },
    });
    await resyncUntil(runtimes, 'needs-secret Running', async () => (await podsIn('t=secret')).some(running));
    const [instance] = await instancesFor(new Set([pod.metadata!.uid!]));
    assert.ok(instance);
    const stored = await (
      await runtimes().tables.table('mockInstances')
    ).getEntity<{ env: string }>(node, instance.ref.id.split(':').pop()!);
    assert.equal((JSON.parse(stored.env) as Record<string, Record<string, string>>).app?.PASSWORD, 's3cret');
  });

  it('refuses a privileged pod and one asking runAsNonRoot of the mock, each with the reason on its status and an Event', async () => {
    const refused = [
      { name: 'privileged', securityContext: { privileged: true }, reason: /asks for privileged mode/ },
      {
        name: 'non-root',
        securityContext: { runAsNonRoot: true },
        reason: /securityContext\.runAsNonRoot, which the mock provider cannot enforce/,
      },
    ];
    for (const r of refused)
      await core.createNamespacedPod({
        namespace,
        body: {
          metadata: { name: r.name, labels: { t: 'insecure' } },
          spec: {
            ...onVirtualNode(node),
            containers: [{ name: 'app', image: 'busybox', securityContext: r.securityContext }],
          },
        },
      });
    const waiting = (p: V1Pod) => p.status?.containerStatuses?.[0]?.state?.waiting;
    await resyncUntil(runtimes, 'both refused', async () =>
      (await podsIn('t=insecure')).every((p) => waiting(p)?.reason === 'ProviderFailed'),
    );
    for (const r of refused) {
      const pod = (await podsIn('t=insecure')).find((p) => p.metadata?.name === r.name)!;
      assert.match(waiting(pod)?.message ?? '', r.reason);
      const events = await core.listNamespacedEvent({
        namespace,
        fieldSelector: `involvedObject.uid=${pod.metadata!.uid!}`,
      });
      assert.ok(
        events.items.some((e) => e.type === 'Warning' && r.reason.test(e.message ?? '')),
        r.name,
      );
      assert.equal(
        (await instancesFor(new Set([pod.metadata!.uid!]))).length,
        0,
        `${r.name}: nothing started`,
      );
    }
  });

  describe('Jobs', () => {
    const job = (name: string, exitCode: number, restartPolicy: 'Never' | 'OnFailure') => ({
      metadata: { name },
      spec: {
        backoffLimit: restartPolicy === 'Never' ? 0 : 6,
        template: {
          metadata: {
            labels: { job: name },
            annotations: {
              [MockAnnotation.exitCode]: String(exitCode),
              [MockAnnotation.exitAfterSeconds]: '1',
            },
          },
          spec: { ...onVirtualNode(node), restartPolicy, containers: [{ name: 'task', image: 'busybox' }] },
        },
      },
    });

    it('completes a Job whose pod exits 0', async () => {
      const batch = admin.makeApiClient(BatchV1Api);
      await batch.createNamespacedJob({ namespace, body: job('ok', 0, 'Never') });
      await resyncUntil(runtimes, 'the Job complete', async () => {
        const j = await batch.readNamespacedJob({ name: 'ok', namespace });
        return (
          (j.status?.succeeded ?? 0) === 1 &&
          (j.status?.conditions ?? []).some((c) => c.type === 'Complete' && c.status === 'True')
        );
      });
      const [pod] = await podsIn('job=ok');
      assert.equal(pod?.status?.phase, 'Succeeded');
      assert.equal(pod?.status?.containerStatuses?.[0]?.state?.terminated?.exitCode, 0);
    });

    it('fails a pod that exits 1 under restartPolicy Never', async () => {
      await admin
        .makeApiClient(BatchV1Api)
        .createNamespacedJob({ namespace, body: job('fails', 1, 'Never') });
      await resyncUntil(runtimes, 'the pod Failed', async () =>
        (await podsIn('job=fails')).some((p) => p.status?.phase === 'Failed'),
      );
      const pod = (await podsIn('job=fails')).find((p) => p.status?.phase === 'Failed')!;
      assert.equal(pod.status?.containerStatuses?.[0]?.state?.terminated?.exitCode, 1);
      assert.equal(pod.status?.containerStatuses?.[0]?.restartCount, 0);
    });

    it('recreates a pod that exits 1 under restartPolicy OnFailure, counting restarts', async () => {
      await admin
        .makeApiClient(BatchV1Api)
        .createNamespacedJob({ namespace, body: job('retries', 1, 'OnFailure') });
      await resyncUntil(
        runtimes,
        'restartCount of at least 2',
        async () =>
          ((await podsIn('job=retries'))[0]?.status?.containerStatuses?.[0]?.restartCount ?? 0) >= 2,
        { passes: 40 },
      );
      const pods = await podsIn('job=retries');
      assert.equal(pods.length, 1, 'restarted in place, not replaced by the Job controller');
      assert.notEqual(pods[0]?.status?.phase, 'Failed');
      const lastState = pods[0]?.status?.containerStatuses?.[0]?.lastState?.terminated;
      assert.equal(lastState?.exitCode, 1);
    });
  });

  it('deletes an out-of-band instance tagged for this node that no pod owns', async () => {
    const ref = await mock.createPod(resolvedPod({ namespace, name: 'ghost', node, containers: [] }));
    assert.ok(await mock.getPod(ref));
    await resyncUntil(
      runtimes,
      'the ghost instance deleted',
      async () => (await mock.getPod(ref)) === undefined,
    );
  });

  it('creates no duplicate instance when two resyncs run at once', async () => {
    for (let i = 0; i < 5; i++) {
      await core.createNamespacedPod({
        namespace,
        body: {
          metadata: { name: `twin-${i}`, labels: { t: 'twin' } },
          spec: { ...onVirtualNode(node), containers: [{ name: 'c', image: 'busybox' }] },
        },
      });
    }
    await waitFor(
      '5 twins bound',
      async () => (await podsIn('t=twin')).filter((p) => p.spec?.nodeName === node).length === 5,
      { timeoutMs: 30_000 },
    );
    const resync = podResyncHandler(runtimes);
    await Promise.all([
      resync(timer(), invocation('podResync').context),
      resync(timer(), invocation('podResync').context),
    ]);
    const uids = new Set((await podsIn('t=twin')).map((p) => p.metadata!.uid!));
    const instances = await instancesFor(uids);
    assert.equal(instances.length, 5);
    assert.equal(new Set(instances.map((i) => i.ref.podUid)).size, 5);
  });
});
