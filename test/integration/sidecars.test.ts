/**
 * Native sidecars (init containers with restartPolicy Always) through the real path, on the
 * mock and on ACI through the ARM fake: they run beside the app containers, are reported among
 * the init containers as started and ready, and do not hold a Job's pod open once its app
 * container has finished. ACI runs a sidecar as an ordinary container of the group, so an init
 * container after a sidecar is refused there with the reason.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { BatchV1Api, type V1Pod } from '@kubernetes/client-node';
import {
  busybox,
  conditionOf,
  containerStatusOf,
  scriptExit,
  startLifecycleNode,
  type LifecycleNode,
} from '../support/lifecycleNode.ts';
import { waitFor } from '../support/process.ts';
import { onVirtualNode } from '../support/virtualNode.ts';

for (const providerName of ['mock', 'aci'] as const) {
  describe(`native sidecars on a ${providerName} virtual node`, () => {
    let n: LifecycleNode;

    before(async () => {
      n = await startLifecycleNode(providerName, 'sidecar');
    });
    after(async () => {
      await n.stop();
    });

    it("runs a Job's sidecar beside its work container, and the Job completes once the work is done", async () => {
      const batch = n.admin.makeApiClient(BatchV1Api);
      const template: V1Pod = {
        metadata: { labels: { job: 'with-proxy' } },
        spec: {
          ...onVirtualNode(n.node),
          restartPolicy: 'Never',
          initContainers: [{ ...busybox('proxy'), restartPolicy: 'Always' }],
          containers: [busybox('work')],
        },
      };
      scriptExit(template, 'work', 0, 3);
      await batch.createNamespacedJob({
        namespace: n.namespace,
        body: { metadata: { name: 'with-proxy' }, spec: { backoffLimit: 0, template } },
      });
      let name = '';
      await waitFor(
        'the Job pod bound to the node',
        async () => {
          const pods = await n.core.listNamespacedPod({
            namespace: n.namespace,
            labelSelector: 'job=with-proxy',
          });
          name = pods.items.find((p) => p.spec?.nodeName === n.node)?.metadata?.name ?? '';
          return name !== '';
        },
        { timeoutMs: 60_000 },
      );

      const running = await n.until(name, 'Running with its sidecar', (p) => p?.status?.phase === 'Running');
      const proxy = containerStatusOf(running, 'proxy');
      assert.ok(proxy?.state?.running, 'the sidecar runs');
      assert.equal(proxy?.started, true);
      assert.equal(proxy?.ready, true);
      assert.equal(conditionOf(running, 'Initialized'), 'True');
      assert.ok(containerStatusOf(running, 'work')?.state?.running, 'the work container runs beside it');

      const done = await n.until(name, 'Succeeded', (p) => p?.status?.phase === 'Succeeded');
      assert.equal(containerStatusOf(done, 'work')?.state?.terminated?.exitCode, 0);
      await waitFor(
        'the Job Complete',
        async () => {
          const job = await batch.readNamespacedJob({ name: 'with-proxy', namespace: n.namespace });
          return (job.status?.conditions ?? []).some((c) => c.type === 'Complete' && c.status === 'True');
        },
        { timeoutMs: 60_000 },
      );
      // The sidecar does not go on running (and costing) after the pod has finished.
      await n.until(name, 'no container of the instance still running', () => true);
      const instances = await n.instances(done!);
      assert.ok(
        instances.every((v) => [...v.containers, ...v.initContainers].every((c) => !('running' in c.state))),
        'nothing of the pod runs any more',
      );
      if (providerName === 'aci')
        assert.ok(
          n.fake!.countRequests({ method: 'DELETE', path: '/containerGroups/' }) >= 1,
          'the group was stopped',
        );
    });

    if (providerName === 'mock') {
      it('starts a sidecar before the init container that follows it, and keeps it running through it', async () => {
        const pod: V1Pod = {
          metadata: { name: 'sidecar-first' },
          spec: {
            ...onVirtualNode(n.node),
            initContainers: [{ ...busybox('proxy'), restartPolicy: 'Always' }, busybox('migrate')],
            containers: [busybox('app')],
          },
        };
        scriptExit(pod, 'migrate', 0, 3);
        await n.core.createNamespacedPod({ namespace: n.namespace, body: pod });
        const initializing = await n.until('sidecar-first', 'migrate running', (p) =>
          Boolean(containerStatusOf(p, 'migrate')?.state?.running),
        );
        assert.equal(initializing?.status?.phase, 'Pending');
        assert.ok(
          containerStatusOf(initializing, 'proxy')?.state?.running,
          'the sidecar runs during migrate',
        );
        assert.equal(containerStatusOf(initializing, 'app')?.state?.waiting?.reason, 'PodInitializing');
        const ready = await n.until('sidecar-first', 'Running', (p) => p?.status?.phase === 'Running');
        assert.equal(containerStatusOf(ready, 'migrate')?.state?.terminated?.reason, 'Completed');
        assert.ok(containerStatusOf(ready, 'proxy')?.state?.running);
      });
    } else {
      it('refuses, with the reason, an init container that comes after a sidecar, which ACI cannot start first', async () => {
        await n.core.createNamespacedPod({
          namespace: n.namespace,
          body: {
            metadata: { name: 'sidecar-first' },
            spec: {
              ...onVirtualNode(n.node),
              initContainers: [{ ...busybox('proxy'), restartPolicy: 'Always' }, busybox('migrate')],
              containers: [busybox('app')],
            },
          },
        });
        const refused = await n.until(
          'sidecar-first',
          'refused',
          (p) => containerStatusOf(p, 'app')?.state?.waiting?.reason === 'ProviderFailed',
        );
        assert.match(
          containerStatusOf(refused, 'app')?.state?.waiting?.message ?? '',
          /Init container "migrate" comes after sidecar "proxy"/,
        );
        const events = await n.events(refused!);
        assert.ok(events.some((e) => e.type === 'Warning' && /comes after sidecar/.test(e.message ?? '')));
        assert.equal((await n.instances(refused!)).length, 0, 'no container group was created');
      });
    }
  });
}
