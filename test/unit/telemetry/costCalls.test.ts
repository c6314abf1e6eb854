/**
 * The per-invocation figures scripts/cost.ts prices, measured: what each timer invocation of a
 * warm instance asks of the API server and of Table Storage, and how many log lines it writes,
 * for one idle mock node against the real API server and Azurite; and what starting pods through
 * the event path (relay -> podEvents) costs per pod. The mock provider's own table is not counted:
 * it stands in for the provider's API (ARM, ECS), which Funclet does not pay per call.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { CoreV1Api, type KubeConfig, type V1Pod } from '@kubernetes/client-node';
import { localWebhookSecret, startEventPath, type EventPath } from '../../../cli/eventPath.ts';
import type { HttpFunction } from '../../../cli/httpHost.ts';
import type { TimerLoop } from '../../../cli/timerLoop.ts';
import { Setting } from '../../../core/config.ts';
import { createLogger } from '../../../core/log.ts';
import { TableName } from '../../../core/state/tables.ts';
import { credentialRenewalHandler } from '../../../functions/credentialRenewal.ts';
import { leaseRenewHandler } from '../../../functions/leaseRenew.ts';
import { nodeStatusHandler } from '../../../functions/nodeStatus.ts';
import { podResyncHandler } from '../../../functions/podResync.ts';
import { createRuntime, type Runtime } from '../../../functions/runtime.ts';
import { idleLineBytes, perInvocation, perPodStart, type CallCounts } from '../../../scripts/cost.ts';
import { uniqueName } from '../../support/env.ts';
import { freshRuntimes, functionSettings, invocation, timer } from '../../support/functions.ts';
import { createPodNamespace, functionKubeconfig, testAdmin } from '../../support/kube.ts';
import { waitFor } from '../../support/process.ts';
import { keepNodeReady, onVirtualNode } from '../../support/virtualNode.ts';

/** Counts requests by kind while a step runs. */
class Counts {
  kube = 0;
  tables = 0;
  observe = {
    kube: () => {
      this.kube++;
    },
    tables: (_method: string, url: string) => {
      if (!new URL(url).pathname.toLowerCase().includes(TableName.mockInstances)) this.tables++;
    },
  };
  take(): { kube: number; tables: number } {
    const taken = { kube: this.kube, tables: this.tables };
    this.kube = this.tables = 0;
    return taken;
  }
}

describe('what Funclet calls, per invocation and per pod start', () => {
  let admin: KubeConfig;
  let core: CoreV1Api;
  let lease: TimerLoop;
  let settings: Record<string, string>;
  const node = uniqueName('vk-cost');
  const namespace = uniqueName('cost');
  const secret = localWebhookSecret();

  before(async () => {
    admin = testAdmin();
    core = admin.makeApiClient(CoreV1Api);
    await createPodNamespace(core, namespace);
    settings = functionSettings({
      kubeconfig: await functionKubeconfig(admin, [node]),
      tablePrefix: `cost${Math.random().toString(36).slice(2, 8)}`,
      nodes: [{ name: node, provider: 'mock' }],
      extra: { [Setting.webhookSecret]: secret, [Setting.mockStartDelayMs]: '200' },
    });
    lease = await keepNodeReady(freshRuntimes(settings));
  });

  after(async () => {
    await lease.stop();
    await core.deleteNamespace({ name: namespace }).catch(() => undefined);
    await core.deleteNode({ name: node }).catch(() => undefined);
  });

  it('an idle node: each timer invocation of a warm instance makes the calls and writes the lines the cost model prices', async () => {
    const counts = new Counts();
    // One runtime, as a warm instance keeps it between invocations (sharedRuntime).
    const runtime = createRuntime({ env: settings, observe: counts.observe });
    const source = () => runtime;
    const timers = {
      leaseRenew: leaseRenewHandler(source),
      nodeStatus: nodeStatusHandler(source),
      podResync: podResyncHandler(source),
      credentialRenewal: credentialRenewalHandler(source),
    };
    const measured: Record<string, CallCounts> = {};
    const bytes: number[] = [];
    for (const [name, handler] of Object.entries(timers)) {
      await handler(timer(), invocation(name).context); // the instance's first: opens its tables
      counts.take();
      const { context, lines } = invocation(name);
      await handler(timer(), context);
      measured[name] = { ...counts.take(), logLines: lines.length };
      bytes.push(...lines.map((l) => JSON.stringify(l).length));
    }
    process.stderr.write(
      `measured per invocation: ${JSON.stringify(measured)}, line bytes ${JSON.stringify(bytes)}\n`,
    );
    assert.deepEqual(measured, perInvocation);
    const mean = bytes.reduce((a, b) => a + b, 0) / bytes.length;
    assert.ok(
      mean > idleLineBytes / 2 && mean < idleLineBytes * 2,
      `an idle node's lines are ${Math.round(mean)} bytes on average; the model says ${idleLineBytes}`,
    );
  });

  it('pods started through the relay and podEvents cost about what the model says per pod', async () => {
    const counts = new Counts();
    let executions = 0;
    let logLines = 0;
    const runtimes = (): Runtime => createRuntime({ env: settings, observe: counts.observe });
    const events: EventPath = await startEventPath({
      admin,
      runtimes,
      nodes: [node],
      secret,
      out: (line) => {
        if (line.includes('"message"')) logLines++;
      },
      logger: createLogger({}, { minLevel: 'error' }),
      wrap:
        (handler: HttpFunction): HttpFunction =>
        (request, context) => {
          executions++;
          return handler(request, context);
        },
    });
    const pods = 10;
    try {
      counts.take();
      // One pod a second: each pod's pokes travel in batches of their own, as when pods come and go
      // one by one (a burst shares batches, and costs less per pod).
      for (let i = 0; i < pods; i++) {
        if (i > 0) await new Promise((resolve) => setTimeout(resolve, 1_000));
        await core.createNamespacedPod({
          namespace,
          body: {
            metadata: { name: `start-${i}`, labels: { cost: 'start' } },
            spec: { ...onVirtualNode(node), containers: [{ name: 'c', image: 'busybox' }] },
          },
        });
      }
      const running = (p: V1Pod) =>
        p.status?.phase === 'Running' &&
        p.status.conditions?.some((c) => c.type === 'Ready' && c.status === 'True');
      await waitFor(
        `${pods} pods Running through the event path`,
        async () =>
          (await core.listNamespacedPod({ namespace, labelSelector: 'cost=start' })).items.filter(running)
            .length === pods,
        { timeoutMs: 90_000 },
      );
      // Let the last rechecks land, so that what each pod start costs is counted whole.
      await new Promise((resolve) => setTimeout(resolve, 3_000));
    } finally {
      await events.stop();
    }
    const taken = counts.take();
    const measured = {
      executions: executions / pods,
      kube: taken.kube / pods,
      tables: taken.tables / pods,
      logLines: logLines / pods,
    };
    process.stderr.write(`measured per pod start: ${JSON.stringify(measured)}\n`);
    // Batching and rechecks depend on timing: within half to twice the model's figure per pod.
    for (const key of ['executions', 'kube', 'tables', 'logLines'] as const) {
      assert.ok(
        measured[key] >= perPodStart[key] / 2 && measured[key] <= perPodStart[key] * 2,
        `${key} per pod start: measured ${measured[key]}, the model says ${perPodStart[key]}`,
      );
    }
  });
});
