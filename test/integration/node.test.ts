import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { CoreV1Api, CoordinationV1Api, type KubeConfig, type V1Node } from '@kubernetes/client-node';
import { startTimerLoop } from '../../cli/timerLoop.ts';
import { Setting } from '../../core/config.ts';
import { setMockHealth } from '../../core/providers/mock/provider.ts';
import { Tables } from '../../core/state/tables.ts';
import { leaseRenewHandler, leaseRenewSchedule } from '../../functions/leaseRenew.ts';
import { nodeStatusHandler } from '../../functions/nodeStatus.ts';
import { freshRuntimes, functionSettings, invocation, timer } from '../support/functions.ts';
import { functionKubeconfig, testAdmin } from '../support/kube.ts';
import { testEnv, uniqueName } from '../support/env.ts';
import { waitFor } from '../support/process.ts';

function ready(node: V1Node): string | undefined {
  return node.status?.conditions?.find((c) => c.type === 'Ready')?.status;
}

describe('a virtual node', () => {
  let admin: KubeConfig;
  let core: CoreV1Api;
  let fnKubeconfig: string;
  const tablePrefix = `node${Math.random().toString(36).slice(2, 8)}`;
  const created: string[] = [];

  const settingsFor = (name: string, extra: Record<string, string> = {}) =>
    functionSettings({
      kubeconfig: fnKubeconfig,
      tablePrefix,
      nodes: [{ name, provider: 'mock', labels: { team: 'platform' }, capacity: { pods: '110' } }],
      extra,
    });
  // Each test's node has its own system:node: certificate, issued for all of them at once.
  const names = Array.from({ length: 8 }, () => uniqueName('vk'));
  const newNodeName = () => {
    const name = names.pop();
    if (name === undefined) throw new Error('more nodes than certificates issued: raise the count');
    created.push(name);
    return name;
  };

  before(async () => {
    admin = testAdmin();
    core = admin.makeApiClient(CoreV1Api);
    fnKubeconfig = await functionKubeconfig(admin, names);
  });

  after(async () => {
    for (const name of created) await core.deleteNode({ name }).catch(() => undefined);
  });

  it('is registered Ready by the two timer handlers, with labels, taint and capacity', async () => {
    const name = newNodeName();
    const runtimes = freshRuntimes(settingsFor(name));
    await leaseRenewHandler(runtimes)(timer(), invocation('leaseRenew').context);
    await nodeStatusHandler(runtimes)(timer(), invocation('nodeStatus').context);

    const node = await core.readNode({ name });
    assert.equal(ready(node), 'True');
    assert.deepEqual(
      Object.fromEntries(
        [
          'type',
          'kubernetes.io/os',
          'kubernetes.io/hostname',
          'funclet.io/provider',
          'node.kubernetes.io/exclude-from-external-load-balancers',
          'team',
        ].map((k) => [k, node.metadata?.labels?.[k]]),
      ),
      {
        type: 'virtual-kubelet',
        'kubernetes.io/os': 'linux',
        'kubernetes.io/hostname': name,
        'funclet.io/provider': 'mock',
        'node.kubernetes.io/exclude-from-external-load-balancers': 'true',
        team: 'platform',
      },
    );
    // The node lifecycle controller may briefly add its own not-ready taint to a node it has
    // just seen; Funclet's taint is the one that must be there.
    assert.deepEqual(
      node.spec?.taints
        ?.filter((t) => !t.key.startsWith('node.kubernetes.io/'))
        .map((t) => `${t.key}=${t.value}:${t.effect}`),
      ['virtual-kubelet.io/provider=mock:NoSchedule'],
    );
    assert.equal(node.status?.capacity?.pods, '110');
    assert.equal(node.status?.allocatable?.cpu, '1k');
    assert.match(node.status?.nodeInfo?.kubeletVersion ?? '', /funclet/);
    assert.deepEqual(
      node.status?.conditions?.map((c) => `${c.type}=${c.status}`),
      [
        'Ready=True',
        'MemoryPressure=False',
        'DiskPressure=False',
        'PIDPressure=False',
        'NetworkUnavailable=False',
      ],
    );
    const lease = await admin
      .makeApiClient(CoordinationV1Api)
      .readNamespacedLease({ name, namespace: 'kube-node-lease' });
    assert.equal(lease.spec?.leaseDurationSeconds, 40);
    assert.equal(lease.metadata?.ownerReferences?.[0]?.uid, node.metadata?.uid);
  });

  it('stays Ready while the lease timer runs, goes Unknown and unreachable when it stops, and comes back', async () => {
    const grace = testEnv().cluster.nodeMonitorGracePeriodSeconds;
    const name = newNodeName();
    const runtimes = freshRuntimes(settingsFor(name));
    const handler = leaseRenewHandler(runtimes);
    const errors: string[] = [];
    const run = () => handler(timer(), invocation('leaseRenew').context);
    await run();

    let loop = startTimerLoop(leaseRenewSchedule, run, (err) => errors.push(String(err)));
    const until = Date.now() + 2 * grace * 1000 + 5000;
    while (Date.now() < until) {
      assert.equal(
        ready(await core.readNode({ name })),
        'True',
        'the node lost Ready while its lease was renewed',
      );
      await new Promise((r) => setTimeout(r, 1000));
    }
    await loop.stop();
    assert.deepEqual(errors, [] as string[]);

    await waitFor(
      'the node lifecycle controller to mark the node Unknown and unreachable',
      async () => {
        const node = await core.readNode({ name });
        return (
          ready(node) === 'Unknown' &&
          (node.spec?.taints ?? []).some((t) => t.key === 'node.kubernetes.io/unreachable')
        );
      },
      { timeoutMs: (grace + 20) * 1000, intervalMs: 500 },
    );

    loop = startTimerLoop(leaseRenewSchedule, run, (err) => errors.push(String(err)));
    try {
      await waitFor(
        'the node to be Ready again without the unreachable taint',
        async () => {
          const node = await core.readNode({ name });
          return (
            ready(node) === 'True' &&
            !(node.spec?.taints ?? []).some((t) => t.key === 'node.kubernetes.io/unreachable')
          );
        },
        { timeoutMs: 30_000, intervalMs: 500 },
      );
    } finally {
      await loop.stop();
    }
    assert.deepEqual(errors, [] as string[]);
  });

  it('is recreated by the next invocation after someone deletes it', async () => {
    const name = newNodeName();
    const handler = leaseRenewHandler(freshRuntimes(settingsFor(name)));
    await handler(timer(), invocation('leaseRenew').context);
    const first = await core.readNode({ name });
    await core.deleteNode({ name });

    await handler(timer(), invocation('leaseRenew').context);
    const second = await core.readNode({ name });
    assert.notEqual(second.metadata?.uid, first.metadata?.uid);
    assert.equal(ready(second), 'True');
    const lease = await admin
      .makeApiClient(CoordinationV1Api)
      .readNamespacedLease({ name, namespace: 'kube-node-lease' });
    assert.equal(lease.metadata?.ownerReferences?.[0]?.uid, second.metadata?.uid);
  });

  it('renews its lease from two concurrent invocations without either failing', async () => {
    const name = newNodeName();
    const handler = leaseRenewHandler(freshRuntimes(settingsFor(name)));
    await handler(timer(), invocation('leaseRenew').context);
    for (let round = 0; round < 3; round++) {
      const results = await Promise.allSettled([
        handler(timer(), invocation('leaseRenew').context),
        handler(timer(), invocation('leaseRenew').context),
      ]);
      assert.deepEqual(
        results.map((r) => r.status),
        ['fulfilled', 'fulfilled'],
      );
    }
  });

  it('reports Ready=False with the reason when the provider fails its health check', async () => {
    const name = newNodeName();
    const env = settingsFor(name);
    const runtimes = freshRuntimes(env);
    await nodeStatusHandler(runtimes)(timer(), invocation('nodeStatus').context);
    const mockTable = await new Tables(runtimes().config.tables).table('mockInstances');
    await setMockHealth(mockTable, { ok: false, message: 'the mock provider is down for maintenance' });
    try {
      await nodeStatusHandler(runtimes)(timer(), invocation('nodeStatus').context);
      const condition = (await core.readNode({ name })).status?.conditions?.find((c) => c.type === 'Ready');
      assert.equal(condition?.status, 'False');
      assert.equal(condition.reason, 'ProviderUnhealthy');
      assert.match(condition.message ?? '', /down for maintenance/);
    } finally {
      await setMockHealth(mockTable, { ok: true });
    }
    await nodeStatusHandler(runtimes)(timer(), invocation('nodeStatus').context);
    assert.equal(ready(await core.readNode({ name })), 'True');
  });

  it('fails on a missing or malformed setting, naming it, and writes nothing', async () => {
    const name = newNodeName();
    const cases: [Record<string, string>, string][] = [
      [{ ...settingsFor(name), [Setting.kubeconfig]: '' }, Setting.kubeconfig],
      [{ ...settingsFor(name), [Setting.nodes]: '[{"name": "Not A DNS Name"}]' }, `${Setting.nodes}[0].name`],
      [{ ...settingsFor(name), [Setting.tablePrefix]: 'no-dashes!' }, Setting.tablePrefix],
    ];
    for (const [env, setting] of cases) {
      const { context, lines } = invocation('leaseRenew');
      await assert.rejects(
        leaseRenewHandler(freshRuntimes(env))(timer(), context),
        new RegExp(setting.replace(/[[\]]/g, '\\$&')),
      );
      assert.ok(
        lines.some((l) => l.level === 'error' && JSON.stringify(l).includes(setting)),
        `the log names ${setting}`,
      );
    }
    await assert.rejects(core.readNode({ name }), (err: { code?: number }) => err.code === 404);
  });

  it('logs structured JSON with the invocation id, node and provider', async () => {
    const name = newNodeName();
    const { context, lines } = invocation('nodeStatus');
    await nodeStatusHandler(freshRuntimes(settingsFor(name)))(timer(), context);
    const line = lines.find((l) => l.message === 'node status posted');
    assert.ok(line, 'a "node status posted" line');
    assert.equal(line.invocationId, context.invocationId);
    assert.equal(line.node, name);
    assert.equal(line.provider, 'mock');
    assert.equal(typeof line.timestamp, 'string');
  });
});
