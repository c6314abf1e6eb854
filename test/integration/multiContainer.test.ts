/**
 * Pods of more than one container through the real path (podResync, the real API server,
 * Azurite), on the mock and on ACI through the ARM fake: init containers as the kubelet reports
 * them, an init container that fails under Never, and two app containers that end differently
 * under OnFailure. Exits are scripted per container (scriptExit).
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { V1Pod } from '@kubernetes/client-node';
import {
  busybox,
  conditionOf,
  containerStatusOf,
  scriptExit,
  startLifecycleNode,
  type LifecycleNode,
} from '../support/lifecycleNode.ts';
import { onVirtualNode } from '../support/virtualNode.ts';

for (const providerName of ['mock', 'aci'] as const) {
  describe(`pods of several containers on a ${providerName} virtual node`, () => {
    let n: LifecycleNode;

    before(async () => {
      n = await startLifecycleNode(providerName, 'multi');
    });
    after(async () => {
      await n.stop();
    });

    const create = async (pod: V1Pod) => {
      await n.core.createNamespacedPod({ namespace: n.namespace, body: pod });
    };
    const base = (name: string, restartPolicy: 'Never' | 'OnFailure' | 'Always'): V1Pod => ({
      metadata: { name },
      spec: { ...onVirtualNode(n.node), restartPolicy, containers: [busybox('main')] },
    });

    it('reports a completed init container as terminated Completed with exit code 0, ready and not started, and the app Running', async () => {
      const pod = base('one-init', 'Always');
      pod.spec!.initContainers = [busybox('setup')];
      await create(pod);
      const running = await n.until(
        'one-init',
        'Running and Ready',
        (p) => conditionOf(p, 'Ready') === 'True',
      );
      assert.equal(running?.status?.phase, 'Running');
      assert.equal(conditionOf(running, 'Initialized'), 'True');
      const setup = containerStatusOf(running, 'setup');
      assert.equal(setup?.state?.terminated?.exitCode, 0);
      assert.equal(setup?.state?.terminated?.reason, 'Completed');
      assert.equal(setup?.ready, true);
      assert.equal(setup?.started, false);
      assert.ok(containerStatusOf(running, 'main')?.state?.running, 'the app container runs');
    });

    it('fails a pod whose init container exits 1 under Never, without starting its app container', async () => {
      const pod = base('init-fails', 'Never');
      pod.spec!.initContainers = [busybox('setup')];
      scriptExit(pod, 'setup', 1, 1);
      await create(pod);
      const failed = await n.until('init-fails', 'Failed', (p) => p?.status?.phase === 'Failed');
      const setup = containerStatusOf(failed, 'setup');
      assert.equal(setup?.state?.terminated?.exitCode, 1);
      assert.equal(setup?.state?.terminated?.reason, 'Error');
      assert.equal(setup?.ready, false);
      assert.equal(conditionOf(failed, 'Initialized'), 'False');
      const main = containerStatusOf(failed, 'main');
      assert.equal(main?.state?.running, undefined, 'the app container never ran');
      assert.equal(main?.state?.terminated?.exitCode ?? 0, 0);
      // Nothing restarts a pod under Never: one instance, and it stays the only one.
      assert.ok((await n.instances(failed!)).length <= 1);
    });

    it('keeps a pod of two app containers that exit 0 and 1 under OnFailure Running, restarting the one that failed', async () => {
      const pod = base('two-exits', 'OnFailure');
      pod.spec!.containers = [busybox('ok'), busybox('bad')];
      scriptExit(pod, 'ok', 0, 1);
      scriptExit(pod, 'bad', 1, 1);
      await create(pod);
      const restarted = await n.until(
        'two-exits',
        'bad restarted after exiting 1',
        (p) =>
          (containerStatusOf(p, 'bad')?.restartCount ?? 0) >= 1 &&
          containerStatusOf(p, 'bad')?.lastState?.terminated?.exitCode === 1,
      );
      assert.equal(
        restarted?.status?.phase,
        'Running',
        'OnFailure restarts a failed container: the pod is not Failed',
      );
      const ok = containerStatusOf(restarted, 'ok');
      if (providerName === 'aci') {
        // ACI restarts the failed container in place, as the kubelet does; the other stays Completed.
        assert.equal(ok?.state?.terminated?.exitCode, 0);
        assert.equal(ok?.restartCount, 0);
        assert.equal((await n.instances(restarted)).length, 1, 'one container group throughout');
      } else {
        // The mock, like ECS, runs a pod as one instance: Funclet restarts it whole, so the
        // container that succeeded runs again too, its exit code 0 kept as its lastState.
        assert.equal(ok?.lastState?.terminated?.exitCode, 0);
        assert.ok((ok?.restartCount ?? 0) >= 1);
      }
    });
  });
}
