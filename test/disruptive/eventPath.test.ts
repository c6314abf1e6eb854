/**
 * The event path through an API server restart and a webhook outage, with no resync timer:
 * every pod still reaches Running once both recover, and nothing is lost. Runs alone, after the
 * other tests, because it restarts the shared API server.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { CoreV1Api, type KubeConfig } from '@kubernetes/client-node';
import { localWebhookSecret, startEventPath, type EventPath } from '../../cli/eventPath.ts';
import type { TimerLoop } from '../../cli/timerLoop.ts';
import { Setting } from '../../core/config.ts';
import { createLogger } from '../../core/log.ts';
import { MockProvider } from '../../core/providers/mock/provider.ts';
import type { Runtime } from '../../functions/runtime.ts';
import { freshRuntimes, functionSettings } from '../support/functions.ts';
import { functionKubeconfig, kubeConfigFrom } from '../support/kube.ts';
import { testEnv, uniqueName } from '../support/env.ts';
import { waitFor } from '../support/process.ts';
import { keepNodeReady, onVirtualNode } from '../support/virtualNode.ts';

describe('the event path through an API server restart and a webhook outage', () => {
  let admin: KubeConfig;
  let core: CoreV1Api;
  let runtimes: () => Runtime;
  let lease: TimerLoop;
  let events: EventPath;
  let mock: MockProvider;
  let outage = false;
  let refused = 0;
  const node = uniqueName('vk-outage');
  const namespace = uniqueName('outage');

  const createPods = async (prefix: string, count: number) => {
    for (let i = 0; i < count; i++) {
      await core.createNamespacedPod({
        namespace,
        body: {
          metadata: { name: `${prefix}-${i}` },
          spec: { ...onVirtualNode(node), containers: [{ name: 'c', image: 'busybox' }] },
        },
      });
    }
  };
  const running = async () =>
    (await core.listNamespacedPod({ namespace })).items.filter((p) => p.status?.phase === 'Running').length;

  before(async () => {
    admin = kubeConfigFrom(readFileSync(testEnv().cluster.adminKubeconfigPath, 'utf8'));
    core = admin.makeApiClient(CoreV1Api);
    await core.createNamespace({ body: { metadata: { name: namespace } } });
    const secret = localWebhookSecret();
    runtimes = freshRuntimes(
      functionSettings({
        kubeconfig: await functionKubeconfig(admin),
        tablePrefix: `out${Math.random().toString(36).slice(2, 8)}`,
        nodes: [{ name: node, provider: 'mock' }],
        extra: { [Setting.webhookSecret]: secret, [Setting.mockStartDelayMs]: '500' },
      }),
    );
    lease = await keepNodeReady(runtimes);
    mock = new MockProvider({
      table: await runtimes().tables.table('mockInstances'),
      startDelayMs: 500,
      now: Date.now,
    });
    events = await startEventPath({
      admin,
      runtimes,
      nodes: [node],
      secret,
      out: () => undefined,
      logger: createLogger({}, { minLevel: 'error' }),
      wrap: (handler) => async (request, context) => {
        if (outage) {
          refused++;
          return { status: 503, jsonBody: { error: 'outage injected by the test' } };
        }
        return handler(request, context);
      },
    });
    await waitFor(
      'the default ServiceAccount',
      async () => (await core.listNamespacedServiceAccount({ namespace })).items.length > 0,
      {
        timeoutMs: 30_000,
      },
    );
  });

  after(async () => {
    await events.stop();
    await lease.stop();
    await core.deleteNamespace({ name: namespace }).catch(() => undefined);
    await core.deleteNode({ name: node }).catch(() => undefined);
  });

  it('brings every pod to Running after both recover, with one instance each', async () => {
    await createPods('before', 3);
    await waitFor('3 pods Running', async () => (await running()) === 3, {
      timeoutMs: 30_000,
      intervalMs: 250,
    });

    outage = true;
    const outageEnds = Date.now() + 30_000;
    await createPods('during', 3);
    const restart = await fetch(`${testEnv().control}/restart-apiserver`, { method: 'POST' });
    assert.equal(restart.status, 200, 'the API server restarted');
    await createPods('after-restart', 3);
    await new Promise((r) => setTimeout(r, Math.max(0, outageEnds - Date.now())));
    assert.ok(refused > 0, 'the relay hit the outage');
    assert.ok((await running()) < 9, 'nothing ran through the outage');
    outage = false;

    await waitFor('all 9 pods Running', async () => (await running()) === 9, {
      timeoutMs: 90_000,
      intervalMs: 500,
    });
    const uids = new Set((await core.listNamespacedPod({ namespace })).items.map((p) => p.metadata!.uid!));
    const instances = (await mock.listPods(node)).filter((v) => uids.has(v.ref.podUid));
    assert.equal(instances.length, 9);
    assert.equal(new Set(instances.map((v) => v.ref.podUid)).size, 9);
  });
});
