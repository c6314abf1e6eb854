import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { ApiException, AppsV1Api, CoreV1Api, type KubeConfig } from '@kubernetes/client-node';
import { functionKubeconfig, kubeConfigFrom, testAdmin } from '../support/kube.ts';
import { uniqueName } from '../support/env.ts';
import { waitFor } from '../support/process.ts';

describe('the test control plane', () => {
  let admin: KubeConfig;
  let namespace: string;

  before(async () => {
    admin = testAdmin();
    namespace = uniqueName('cp');
    await admin.makeApiClient(CoreV1Api).createNamespace({ body: { metadata: { name: namespace } } });
  });

  after(async () => {
    await admin.makeApiClient(CoreV1Api).deleteNamespace({ name: namespace });
  });

  it('runs the deployment and replicaset controllers: 2 replicas become a ReplicaSet and 2 Pending pods', async () => {
    const apps = admin.makeApiClient(AppsV1Api);
    const core = admin.makeApiClient(CoreV1Api);
    const labels = { app: 'web' };
    await apps.createNamespacedDeployment({
      namespace,
      body: {
        metadata: { name: 'web' },
        spec: {
          replicas: 2,
          selector: { matchLabels: labels },
          template: { metadata: { labels }, spec: { containers: [{ name: 'web', image: 'nginx:1.27' }] } },
        },
      },
    });
    await waitFor(
      'a ReplicaSet and 2 pods',
      async () => {
        const sets = await apps.listNamespacedReplicaSet({ namespace });
        const pods = await core.listNamespacedPod({ namespace });
        return sets.items.length === 1 && pods.items.length === 2;
      },
      { timeoutMs: 30_000 },
    );
    const pods = await core.listNamespacedPod({ namespace });
    // No node can run them, so the scheduler leaves them Pending and says why.
    for (const pod of pods.items) assert.equal(pod.status?.phase, 'Pending');
    const owner = pods.items[0]?.metadata?.ownerReferences?.[0];
    assert.equal(owner?.kind, 'ReplicaSet');
  });

  it('lists a Node created with a client', async () => {
    const core = admin.makeApiClient(CoreV1Api);
    const name = uniqueName('node');
    await core.createNode({ body: { metadata: { name, labels: { 'funclet.test/node': 'yes' } } } });
    try {
      const nodes = await core.listNode({ labelSelector: 'funclet.test/node=yes' });
      assert.ok(nodes.items.some((n) => n.metadata?.name === name));
    } finally {
      await core.deleteNode({ name });
    }
  });

  it("gives the function's ServiceAccount what its ClusterRole grants, and 403 for anything else", async () => {
    const fn = kubeConfigFrom(await functionKubeconfig(admin));
    const core = fn.makeApiClient(CoreV1Api);
    const pods = await core.listNamespacedPod({ namespace });
    assert.ok(Array.isArray(pods.items));

    const forbidden = [
      () => fn.makeApiClient(AppsV1Api).listNamespacedDeployment({ namespace }),
      () => core.listNamespacedSecret({ namespace }),
      () => core.createNamespace({ body: { metadata: { name: uniqueName('nope') } } }),
    ];
    for (const call of forbidden) {
      await assert.rejects(call, (err: unknown) => err instanceof ApiException && err.code === 403);
    }
  });
});
