/**
 * The event path alone (no resync timer): the relay watching a mock node and poking podEvents
 * served on loopback. 200 pods created at 20/s: bind -> provider create and bind -> Running
 * visible in the API, p50/p95/p99; then a burst of 1,000 pods at once: time until all are
 * Running. Targets: p99 bind -> create under 500 ms; the burst under 30 s.
 */
import { CoreV1Api, Watch, type KubeConfig, type V1Pod } from '@kubernetes/client-node';
import { localWebhookSecret, startEventPath } from '../../cli/eventPath.ts';
import { Setting } from '../../core/config.ts';
import { createLogger } from '../../core/log.ts';
import { runBounded } from '../../core/util/concurrency.ts';
import { leaseRenewHandler } from '../../functions/leaseRenew.ts';
import { createRuntime } from '../../functions/runtime.ts';
import { azuriteConnectionString } from '../support/azurite.ts';
import { invocation, timer } from '../support/functions.ts';
import { functionKubeconfig, createPodNamespace } from '../support/kube.ts';
import { peakRssMiB, percentile, RequestCounters } from './counters.ts';
import { removeNamespace } from './services.ts';

export async function benchEvents(
  admin: KubeConfig,
  azuritePort: number,
  steady: number,
  burst: number,
): Promise<Record<string, string | number>[]> {
  const core = admin.makeApiClient(CoreV1Api);
  const node = 'bench-events';
  const namespace = 'bench-events';
  await createPodNamespace(core, namespace);
  const secret = localWebhookSecret();
  const counters = new RequestCounters();
  const runtime = createRuntime({
    observe: { kube: counters.observeKube, tables: counters.observeTable },
    env: {
      [Setting.nodes]: JSON.stringify([{ name: node, provider: 'mock' }]),
      [Setting.kubeconfig]: await functionKubeconfig(admin, [node]),
      [Setting.tableConnectionString]: azuriteConnectionString(azuritePort),
      [Setting.tablePrefix]: 'benchevents',
      [Setting.webhookSecret]: secret,
      [Setting.mockStartDelayMs]: '0',
    },
  });
  await leaseRenewHandler(() => runtime)(timer(), invocation('leaseRenew').context);
  const quiet = createLogger({}, { minLevel: (process.env.BENCH_LOG_LEVEL ?? 'error') as 'error' });
  const events = await startEventPath({
    admin,
    runtimes: () => runtime,
    nodes: [node],
    secret,
    out: () => undefined,
    logger: quiet,
  });
  const mockTable = await runtime.tables.table('mockInstances');

  const boundAt = new Map<string, number>();
  const runningAt = new Map<string, number>();
  // A watch, not a poll: listing a thousand pods every few ms would load the API server the bench
  // measures. Resumed from the last resourceVersion whenever the server or client ends it.
  let watching = true;
  let lastVersion: string | undefined;
  let watch: AbortController | undefined;
  const startWatch = async (): Promise<void> => {
    watch = await new Watch(admin).watch(
      `/api/v1/namespaces/${namespace}/pods`,
      lastVersion
        ? { resourceVersion: lastVersion, allowWatchBookmarks: true }
        : { allowWatchBookmarks: true },
      (_type: string, p: V1Pod) => {
        lastVersion = p.metadata?.resourceVersion ?? lastVersion;
        const name = p.metadata?.name;
        if (name && p.status?.phase === 'Running' && !runningAt.has(name)) runningAt.set(name, Date.now());
      },
      () => {
        if (watching) setTimeout(() => void startWatch(), 10);
      },
    );
  };
  await startWatch();
  const create = async (name: string) => {
    await core.createNamespacedPod({
      namespace,
      body: { metadata: { name }, spec: { nodeName: node, containers: [{ name: 'c', image: 'busybox' }] } },
    });
    boundAt.set(name, Date.now());
  };
  const createdAt = async () => {
    const byName = new Map<string, number>();
    for await (const row of mockTable.listEntities<{ name: string; createdAtMs: number }>({
      queryOptions: { filter: `PartitionKey eq '${node}'` },
    })) {
      byName.set(row.name, row.createdAtMs);
    }
    return byName;
  };
  const waitAllRunning = async (names: string[], limitMs: number) => {
    const until = Date.now() + limitMs;
    while (Date.now() < until && names.some((n) => !runningAt.has(n)))
      await new Promise((r) => setTimeout(r, 100));
  };

  const rows: Record<string, string | number>[] = [];
  try {
    // Steady: 20 pods a second.
    const steadyNames = Array.from({ length: steady }, (_, i) => `steady-${i}`);
    const start = Date.now();
    await Promise.all(
      steadyNames.map(async (name, i) => {
        await new Promise((r) => setTimeout(r, start + i * 50 - Date.now()));
        await create(name);
      }),
    );
    await waitAllRunning(steadyNames, 60_000);
    const created = await createdAt();
    // A pod that never got there counts as infinitely late, so it sorts last (NaN would not sort).
    const delays = (at: Map<string, number>) =>
      steadyNames.map((n) => (at.get(n) ?? Infinity) - boundAt.get(n)!).sort((a, b) => a - b);
    const toCreate = delays(created);
    const toRunning = delays(runningAt);
    for (const [what, values] of [
      ['bind -> provider create', toCreate],
      ['bind -> Running in API', toRunning],
    ] as const) {
      rows.push({
        scenario: `${steady} pods at 20/s`,
        measure: what,
        'p50 ms': Math.round(percentile(values, 50)),
        'p95 ms': Math.round(percentile(values, 95)),
        'p99 ms': Math.round(percentile(values, 99)),
        'not reached': values.filter((v) => v === Infinity).length,
        'API requests per pod': '',
        'table requests per pod': '',
        'peak RSS MiB': peakRssMiB(),
      });
    }

    // Burst: all at once.
    const burstNames = Array.from({ length: burst }, (_, i) => `burst-${i}`);
    counters.reset();
    const burstStart = Date.now();
    await runBounded(burstNames, 64, create);
    const createdIn = Date.now() - burstStart;
    await waitAllRunning(burstNames, 180_000);
    const perPod = (n: number) => (n / burst).toFixed(1);
    const { kube, tables } = counters;
    const last = Math.max(...burstNames.map((n) => runningAt.get(n) ?? NaN));
    rows.push({
      scenario: `${burst} pods at once`,
      measure: `all Running (pods created in ${(createdIn / 1000).toFixed(1)} s)`,
      'p50 ms': '',
      'p95 ms': '',
      'p99 ms': Number.isNaN(last) ? 'not all' : Math.round(last - burstStart),
      'not reached': burstNames.filter((n) => !runningAt.has(n)).length,
      'API requests per pod': `${perPod(kube.reads)} reads, ${perPod(kube.writes)} writes`,
      'table requests per pod': `${perPod(tables.reads)} reads, ${perPod(tables.writes)} writes`,
      'peak RSS MiB': peakRssMiB(),
    });
  } finally {
    watching = false;
    watch?.abort();
    await events.stop();
    await removeNamespace(core, namespace);
  }
  return rows;
}
