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

describe('the event path alone, with no resync timer', () => {
  let admin: KubeConfig;
  let core: CoreV1Api;
  let runtimes: () => Runtime;
  let lease: TimerLoop;
  let events: EventPath;
  let mock: MockProvider;
  const node = uniqueName('vk-relay');
  const namespace = uniqueName('relay');

  before(async () => {
    admin = kubeConfigFrom(readFileSync(testEnv().cluster.adminKubeconfigPath, 'utf8'));
    core = admin.makeApiClient(CoreV1Api);
    await core.createNamespace({ body: { metadata: { name: namespace } } });
    const secret = localWebhookSecret();
    runtimes = freshRuntimes(
      functionSettings({
        kubeconfig: await functionKubeconfig(admin),
        tablePrefix: `rel${Math.random().toString(36).slice(2, 8)}`,
        nodes: [{ name: node, provider: 'mock' }],
        extra: { [Setting.webhookSecret]: secret, [Setting.mockStartDelayMs]: '1500' },
      }),
    );
    lease = await keepNodeReady(runtimes);
    mock = new MockProvider({
      table: await runtimes().tables.table('mockInstances'),
      startDelayMs: 1500,
      now: Date.now,
    });
    events = await startEventPath({
      admin,
      runtimes,
      nodes: [node],
      secret,
      out: () => undefined,
      logger: createLogger({}, { minLevel: 'error' }),
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

  it('takes a created pod to Running through the relay and the webhook, and removes a deleted one', async () => {
    await core.createNamespacedPod({
      namespace,
      body: {
        metadata: { name: 'relayed' },
        spec: { ...onVirtualNode(node), containers: [{ name: 'c', image: 'busybox' }] },
      },
    });
    await waitFor(
      'the pod Running and Ready',
      async () => {
        const pod = await core.readNamespacedPod({ name: 'relayed', namespace });
        return (
          pod.status?.phase === 'Running' &&
          pod.status.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') === true
        );
      },
      { timeoutMs: 30_000, intervalMs: 250 },
    );
    const uid = (await core.readNamespacedPod({ name: 'relayed', namespace })).metadata!.uid!;
    assert.equal((await mock.listPods(node)).filter((v) => v.ref.podUid === uid).length, 1);

    await core.deleteNamespacedPod({ name: 'relayed', namespace });
    await waitFor(
      'the pod gone',
      async () =>
        (await core.listNamespacedPod({ namespace, fieldSelector: 'metadata.name=relayed' })).items.length ===
        0,
      { timeoutMs: 30_000, intervalMs: 250 },
    );
    assert.equal((await mock.listPods(node)).filter((v) => v.ref.podUid === uid).length, 0);
  });
});
