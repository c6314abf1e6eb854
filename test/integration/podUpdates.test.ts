/**
 * Updates of a running pod through the real path, on the mock and on ACI through the ARM fake.
 * A new image for a container restarts it with that image, as the kubelet does: its
 * restartCount goes up by one and the pod's Events say Killing, then Pulling. Funclet does it by
 * starting the pod's next instance (a new container group on ACI) and stopping the old one. An
 * activeDeadlineSeconds set on a running pod takes effect.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { mergePatch, strategicMergePatch } from '../../core/kube/clients.ts';
import {
  busybox,
  containerStatusOf,
  startLifecycleNode,
  type LifecycleNode,
} from '../support/lifecycleNode.ts';
import { onVirtualNode } from '../support/virtualNode.ts';

for (const providerName of ['mock', 'aci'] as const) {
  describe(`pod updates on a ${providerName} virtual node`, () => {
    let n: LifecycleNode;

    before(async () => {
      n = await startLifecycleNode(providerName, 'update');
    });
    after(async () => {
      await n.stop();
    });

    it('restarts a container whose image changed with the new image: restartCount + 1, Killing then Pulling, the old instance gone', async () => {
      await n.core.createNamespacedPod({
        namespace: n.namespace,
        body: {
          metadata: { name: 'web' },
          spec: { ...onVirtualNode(n.node), containers: [busybox('web', 'busybox:1.36')] },
        },
      });
      const before = (await n.until('web', 'Running', (p) => p?.status?.phase === 'Running'))!;
      const [old] = await n.instances(before);
      assert.ok(old);
      assert.equal(containerStatusOf(before, 'web')?.restartCount, 0);

      await n.core.patchNamespacedPod(
        {
          name: 'web',
          namespace: n.namespace,
          body: { spec: { containers: [{ name: 'web', image: 'busybox:1.37' }] } },
        },
        strategicMergePatch,
      );
      const updated = await n.until(
        'web',
        'running the new image',
        (p) =>
          containerStatusOf(p, 'web')?.image === 'busybox:1.37' &&
          Boolean(containerStatusOf(p, 'web')?.state?.running),
      );
      assert.equal(updated?.status?.phase, 'Running');
      assert.equal(containerStatusOf(updated, 'web')?.restartCount, 1);

      const reasons = (await n.events(updated)).map((e) => `${e.reason}: ${e.message}`);
      const killing = reasons.indexOf('Killing: Container web definition changed, will be restarted');
      const pulling = reasons.indexOf('Pulling: Pulling image "busybox:1.37"');
      assert.ok(killing >= 0, `a Killing Event (got ${reasons.join(' | ')})`);
      assert.ok(pulling > killing, 'Pulling follows Killing');

      const now = await n.instances(updated);
      assert.equal(now.length, 1, 'one instance: the old one was stopped');
      assert.notEqual(now[0]!.ref.id, old.ref.id);
      assert.equal(now[0]!.containers[0]!.image, 'busybox:1.37');
      if (providerName === 'aci') {
        assert.equal(
          n.fake!.groupSpec(now[0]!.ref.id)?.properties.containers[0]?.properties.image,
          'busybox:1.37',
        );
        assert.ok(!n.fake!.groupNames().includes(old.ref.id), 'the old group was deleted');
      }
    });

    it('refuses an in-place resize (pods/resize) as infeasible: PodResizePending, status.resize, the resources it runs with, nothing restarted', async () => {
      await n.core.createNamespacedPod({
        namespace: n.namespace,
        body: {
          metadata: { name: 'sized' },
          spec: { ...onVirtualNode(n.node), containers: [busybox('app')] },
        },
      });
      const running = (await n.until('sized', 'Running', (p) => p?.status?.phase === 'Running'))!;
      assert.equal(containerStatusOf(running, 'app')?.resources?.requests?.cpu, '100m');
      const [instance] = await n.instances(running);
      await n.core.patchNamespacedPodResize(
        {
          name: 'sized',
          namespace: n.namespace,
          body: { spec: { containers: [{ name: 'app', resources: { requests: { cpu: '200m' } } }] } },
        },
        strategicMergePatch,
      );
      const refused = await n.until('sized', 'resize refused', (p) =>
        (p?.status?.conditions ?? []).some((c) => c.type === 'PodResizePending' && c.status === 'True'),
      );
      const condition = refused?.status?.conditions?.find((c) => c.type === 'PodResizePending');
      assert.equal(condition?.reason, 'Infeasible');
      assert.match(condition?.message ?? '', /cannot resize a running pod's containers in place/);
      assert.equal(refused?.status?.resize, 'Infeasible');
      assert.equal(
        refused?.spec?.containers[0]?.resources?.requests?.cpu,
        '200m',
        'the API server took the resize',
      );
      const app = containerStatusOf(refused, 'app');
      assert.equal(app?.resources?.requests?.cpu, '100m', 'the container reports what it runs with');
      assert.equal(app?.restartCount, 0);
      assert.deepEqual(
        (await n.instances(refused)).map((v) => v.ref.id),
        [instance!.ref.id],
        'the instance was left alone',
      );
    });

    it('fails a running pod once an activeDeadlineSeconds set on it has passed', async () => {
      await n.core.createNamespacedPod({
        namespace: n.namespace,
        body: {
          metadata: { name: 'bounded' },
          spec: { ...onVirtualNode(n.node), restartPolicy: 'Never', containers: [busybox('app')] },
        },
      });
      await n.until('bounded', 'Running', (p) => p?.status?.phase === 'Running');
      await n.core.patchNamespacedPod(
        { name: 'bounded', namespace: n.namespace, body: { spec: { activeDeadlineSeconds: 1 } } },
        mergePatch,
      );
      const failed = await n.until('bounded', 'Failed', (p) => p?.status?.phase === 'Failed');
      assert.equal(failed?.status?.reason, 'DeadlineExceeded');
      assert.deepEqual(await n.instances(failed), [], 'its instance was stopped');
    });
  });
}
