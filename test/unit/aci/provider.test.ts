/**
 * The ACI provider as Funclet uses it, driven through the real Azure SDK against the fake ARM
 * server (test/fakes/aci), which runs in-process on loopback.
 */
import assert from 'node:assert/strict';
import { after, before, beforeEach, describe, it } from 'node:test';
import {
  ConflictError,
  FuncletError,
  InvalidInputError,
  NotFoundError,
  ThrottledError,
} from '../../../core/errors.ts';
import { containerGroupName } from '../../../core/providers/aci/names.ts';
import { defaultAciCapacity } from '../../../core/providers/aci/provider.ts';
import { startFakeAci, type FakeAci } from '../../fakes/aci/server.ts';
import { aciConfig, container, pod, providerFor, sdkClient, type TestProvider } from './support.ts';

describe('the ACI provider', () => {
  let fake: FakeAci;
  let t: TestProvider;

  before(async () => {
    fake = await startFakeAci();
  });
  after(() => fake.close());
  beforeEach(() => {
    for (const name of fake.groupNames()) fake.deleteGroup(name);
    fake.setProvisioningDelay(0);
    fake.setDeleteDelay(0);
    fake.setPageSize(100);
    fake.clearErrors();
    fake.resetRequests();
    t = providerFor(fake);
  });

  describe('creating pods', () => {
    it('makes one container group however often, and however concurrently, the same pod is created', async () => {
      const p = pod();
      const first = await t.provider.createPod(p);
      const again = await t.provider.createPod(p);
      assert.deepEqual(again, first);
      assert.deepEqual(first, { provider: 'aci', id: containerGroupName(p), podUid: p.uid });
      assert.equal(fake.countRequests({ method: 'PUT' }), 1);

      const q = pod();
      const racing = await Promise.all([
        t.provider.createPod(q),
        t.provider.createPod(q),
        t.provider.createPod(q),
      ]);
      for (const ref of racing)
        assert.deepEqual(ref, { provider: 'aci', id: containerGroupName(q), podUid: q.uid });
      assert.deepEqual(fake.groupNames().sort(), [first.id, containerGroupName(q)].sort());
    });

    it('returns while the group is still being created, and the pod is Pending until ACI is done', async () => {
      fake.setProvisioningDelay(10 * 60_000);
      const started = Date.now();
      const ref = await t.provider.createPod(pod());
      assert.ok(Date.now() - started < 5_000);
      assert.equal((await t.provider.getPod(ref))?.phase, 'Pending');
      fake.completeProvisioning(ref.id);
      const view = await t.provider.getPod(ref);
      assert.equal(view?.phase, 'Running');
      assert.equal(view?.containers[0]?.ready, true);
    });

    it('refuses a pod with args but no command before any call to Azure, naming the container', async () => {
      const p = pod({ containers: [container({ name: 'worker', args: ['--once'] })] });
      await assert.rejects(t.provider.createPod(p), (err: unknown) => {
        assert.ok(err instanceof InvalidInputError);
        assert.match(err.message, /Container "worker" sets args but no command/);
        return true;
      });
      assert.equal(fake.requests.length, 0);
    });

    it('passes ACI’s own reason on when ACI refuses the group', async () => {
      await assert.rejects(
        t.provider.createPod(pod({ containers: [container({ image: ' ' })] })),
        (err: unknown) => {
          assert.ok(err instanceof InvalidInputError);
          assert.match(err.message, /InvalidContainerImage/);
          return true;
        },
      );
      assert.deepEqual(fake.groupNames(), []);
    });

    it('runs a pod whose limits exceed what the group requests in total (which ACI alone would refuse)', async () => {
      const p = pod({
        containers: [
          container({
            name: 'app',
            requests: { cpu: 0.25, memoryBytes: 0.5e9 },
            limits: { cpu: 2, memoryBytes: 4e9 },
          }),
          container({ name: 'proxy', requests: { cpu: 0.25, memoryBytes: 0.5e9 } }),
        ],
      });
      const ref = await t.provider.createPod(p);
      const app = fake.groupSpec(ref.id)?.properties.containers[0]?.properties.resources;
      assert.deepEqual(app, {
        requests: { cpu: 0.25, memoryInGB: 0.5 },
        limits: { cpu: 0.5, memoryInGB: 1 },
      });
    });

    it('never adopts a group of the same name that belongs to another pod', async () => {
      const p = pod();
      await sdkClient(fake).containerGroups.beginCreateOrUpdateAndWait(
        aciConfig().resourceGroup,
        containerGroupName(p),
        {
          location: aciConfig().region,
          osType: 'Linux',
          tags: { 'funclet-pod-uid': 'someone-else' },
          containers: [{ name: 'x', image: 'busybox', resources: { requests: { cpu: 1, memoryInGB: 1 } } }],
        },
      );
      await assert.rejects(t.provider.createPod(p), ConflictError);
    });

    it('retries a 429 for as long as Retry-After says, then succeeds', async () => {
      fake.injectErrors({
        status: 429,
        retryAfterSeconds: 3,
        times: 2,
        method: 'GET',
        path: '/containerGroups/',
      });
      const ref = await t.provider.createPod(pod());
      assert.deepEqual(t.sleeps, [3000, 3000]);
      assert.deepEqual(fake.groupNames(), [ref.id]);
    });

    it('surfaces a persistent 429 as a ThrottledError with the Retry-After, within its time budget', async () => {
      t = providerFor(fake, { budgetMs: 10_000 });
      fake.injectErrors({ status: 429, retryAfterSeconds: 4, times: Infinity });
      await assert.rejects(t.provider.createPod(pod()), (err: unknown) => {
        assert.ok(err instanceof ThrottledError);
        assert.equal(err.retryAfterMs, 4000);
        return true;
      });
      assert.equal(fake.requests.length, 3);
      assert.deepEqual(fake.groupNames(), []);
    });

    it('does not make a second group when ACI accepted the PUT but the status poll after it failed', async () => {
      fake.setProvisioningDelay(60_000);
      fake.injectErrors({ status: 503, times: 1, path: '/operations/' });
      const ref = await t.provider.createPod(pod());
      assert.deepEqual(fake.groupNames(), [ref.id]);
      assert.equal(fake.countRequests({ method: 'PUT' }), 1);
      assert.deepEqual(t.sleeps, [], 'adopted at once, without backing off');
    });

    it('retries a 503 on the PUT itself and then creates the group', async () => {
      fake.injectErrors({ status: 503, times: 1, method: 'PUT' });
      const ref = await t.provider.createPod(pod());
      assert.deepEqual(fake.groupNames(), [ref.id]);
      assert.equal(t.sleeps.length, 1);
    });

    it('shows a group ACI failed to provision as a Failed pod with ACI’s message', async () => {
      fake.failNextProvisioning({
        code: 'InaccessibleImage',
        message: "The image 'private/app:1' is not accessible.",
      });
      const ref = await t.provider.createPod(pod());
      const view = await t.provider.getPod(ref);
      assert.equal(view?.phase, 'Failed');
      assert.equal(view?.message, "The image 'private/app:1' is not accessible.");
    });
  });

  describe('reading pods', () => {
    it('maps a container that exited 1 under restartPolicy Never to a Failed pod with exit code 1', async () => {
      const ref = await t.provider.createPod(
        pod({ restartPolicy: 'Never', containers: [container({ name: 'job' })] }),
      );
      fake.terminateContainer(ref.id, 'job', 1);
      const view = await t.provider.getPod(ref);
      assert.equal(view?.phase, 'Failed');
      const state = view?.containers[0]?.state;
      assert.ok(state !== undefined && 'terminated' in state);
      assert.equal(state.terminated.exitCode, 1);
      assert.equal(typeof state.terminated.finishedAtMs, 'number');
    });

    it('keeps a pod Running with a restart counted when its container exits under Always', async () => {
      const ref = await t.provider.createPod(pod({ restartPolicy: 'Always' }));
      fake.terminateContainer(ref.id, 'app', 2);
      const view = await t.provider.getPod(ref);
      assert.equal(view?.phase, 'Running');
      assert.equal(view?.containers[0]?.restartCount, 1);
    });

    it('reports the public IP of a pod that asked for one on a node that gives them, and none otherwise', async () => {
      const ported = (annotations: Record<string, string>) =>
        pod({ annotations, containers: [container({ ports: [{ containerPort: 80, protocol: 'TCP' }] })] });
      const { provider } = providerFor(fake, { publicIp: 'annotated' });
      const ref = await provider.createPod(ported({ 'funclet.io/aci-public-ip': 'true' }));
      assert.match((await provider.getPod(ref))?.podIP ?? '', /^\d+\.\d+\.\d+\.\d+$/);
      const unexposed = await t.provider.createPod(ported({}));
      assert.equal((await t.provider.getPod(unexposed))?.podIP, undefined, 'ports alone expose nothing');
    });

    it('says a group deleted out of band is gone', async () => {
      const ref = await t.provider.createPod(pod());
      fake.deleteGroup(ref.id);
      assert.equal(await t.provider.getPod(ref), undefined);
    });

    it('does not take a missing resource group for missing pods', async () => {
      const lonely = await startFakeAci({ resourceGroups: ['another-rg'] });
      try {
        const { provider } = providerFor(lonely);
        await assert.rejects(provider.getPod({ provider: 'aci', id: 'x', podUid: 'u' }), (err: unknown) => {
          assert.ok(err instanceof FuncletError && !(err instanceof NotFoundError));
          assert.match(err.message, /ResourceGroupNotFound/);
          return true;
        });
      } finally {
        await lonely.close();
      }
    });

    it('lists exactly this node’s groups of this cluster, across pages', async () => {
      fake.setPageSize(2);
      const mine = [
        await t.provider.createPod(pod({ node: 'vk-a' })),
        await t.provider.createPod(pod({ node: 'vk-a' })),
      ];
      await t.provider.createPod(pod({ node: 'vk-b' }));
      await providerFor(fake, {}).provider.createPod(pod({ node: 'vk-a', namespace: 'x' }));
      const otherCluster = pod({ node: 'vk-a' });
      await sdkClient(fake).containerGroups.beginCreateOrUpdateAndWait(
        aciConfig().resourceGroup,
        'other-cluster-pod',
        {
          location: aciConfig().region,
          osType: 'Linux',
          tags: {
            'funclet-namespace': otherCluster.namespace,
            'funclet-pod': otherCluster.name,
            'funclet-pod-uid': otherCluster.uid,
            'funclet-node': 'vk-a',
            'funclet-cluster': 'another-cluster',
          },
          containers: [{ name: 'x', image: 'busybox', resources: { requests: { cpu: 1, memoryInGB: 1 } } }],
        },
      );

      const views = await t.provider.listPods('vk-a');
      assert.equal(views.length, 3);
      assert.ok(
        mine.every((ref) =>
          views.some((v) => v.ref.id === ref.id && v.node === 'vk-a' && v.phase === 'Running'),
        ),
      );
      assert.ok(!views.some((v) => v.ref.id === 'other-cluster-pod'));
      assert.deepEqual(await t.provider.listPods('vk-none'), []);
    });
  });

  describe('deleting pods', () => {
    it('succeeds for a group that does not exist', async () => {
      await t.provider.deletePod({ provider: 'aci', id: 'never-was-1234abcd', podUid: 'u' });
      assert.equal(fake.countRequests({ method: 'DELETE' }), 1);
    });

    it('deletes the group, and succeeds again when asked twice', async () => {
      const ref = await t.provider.createPod(pod());
      await t.provider.deletePod(ref);
      await t.provider.deletePod(ref);
      assert.deepEqual(fake.groupNames(), []);
    });

    it('returns without waiting while ACI is still deleting', async () => {
      fake.setDeleteDelay(10 * 60_000);
      const ref = await t.provider.createPod(pod());
      const started = Date.now();
      await t.provider.deletePod(ref);
      assert.ok(Date.now() - started < 5_000);
      assert.deepEqual(fake.groupNames(), [ref.id]);
    });
  });

  describe('capacity and health', () => {
    it('offers the free quota plus what this node’s own groups hold', async () => {
      fake.setUsageLimit('StandardCores', 10);
      fake.setUsageLimit('ContainerGroups', 20);
      await t.provider.createPod(
        pod({ node: 'vk-a', containers: [container({ requests: { cpu: 1, memoryBytes: 1e9 } })] }),
      );
      await t.provider.createPod(
        pod({ node: 'vk-b', containers: [container({ requests: { cpu: 2, memoryBytes: 1e9 } })] }),
      );
      const capacity = await t.provider.capacity('vk-a');
      assert.equal(capacity.cpu, '8');
      assert.equal(capacity.pods, '19');
      assert.equal(capacity.memory, defaultAciCapacity.memory);
    });

    it('falls back to defaults when ACI does not say', async () => {
      fake.injectErrors({ status: 403, code: 'AuthorizationFailed', path: '/usages' });
      assert.deepEqual(await t.provider.capacity('vk-a'), defaultAciCapacity);
    });

    it('is healthy when ARM answers, and says why not when it refuses', async () => {
      assert.deepEqual(await t.provider.health(), { ok: true });
      fake.injectErrors({
        status: 403,
        code: 'AuthorizationFailed',
        message: 'The client has no access.',
        path: '/usages',
      });
      const health = await t.provider.health();
      assert.equal(health.ok, false);
      assert.match(health.message ?? '', /AuthorizationFailed/);
    });
  });

  it('never writes secret values to its logs', async () => {
    const p = pod({
      containers: [container({ env: [{ name: 'DB_PASSWORD', value: 'hunter2-secret', secret: true }] })],
      imagePullCredentials: [{ server: 'r.example', username: 'u', password: 'registry-secret' }],
      volumes: [
        {
          name: 'share',
          kind: 'azureFile',
          shareName: 's',
          storageAccountName: 'a',
          storageAccountKey: 'storage-secret',
          readOnly: false,
        },
      ],
    });
    fake.injectErrors({ status: 503, times: 1, method: 'PUT' });
    const ref = await t.provider.createPod(p);
    await t.provider.getPod(ref);
    await t.provider.listPods(p.node);
    await t.provider.deletePod(ref);
    const written = JSON.stringify(t.lines);
    assert.ok(t.lines.length > 0);
    for (const secret of ['hunter2-secret', 'registry-secret', 'storage-secret'])
      assert.ok(!written.includes(secret), secret);
  });
});
