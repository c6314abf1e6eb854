/**
 * The event path alone (no resync timer): a Funclet mock node (the function app in its own
 * process, leaseRenew and nodeStatus on their schedules, so the node stays Ready) and the relay
 * poking it. Pods are created without a nodeName and bound by the scheduler: 200 at 20/s, for
 * bind -> provider create and bind -> Running in the API, p50/p95/p99, where bind is when the
 * bench's watch sees the pod bound (the relay's watch sees it at the same moment); then 1,000 at
 * once, for the time until the last is Running. Targets: bind -> create p50 <= 150 ms and p99
 * <= 500 ms; the burst under 30 s.
 */
import { CoreV1Api } from '@kubernetes/client-node';
import { runBounded } from '../../core/util/concurrency.ts';
import { percentile } from './counters.ts';
import { scheduledOnto, startFuncletNode } from './funcletNode.ts';
import { trackPods, waitUntil } from './podTracker.ts';
import { removeNamespace, type BenchServices } from './services.ts';
import { createPodNamespace } from '../support/kube.ts';

export async function benchEvents(
  services: BenchServices,
  steady: number,
  burst: number,
): Promise<Record<string, string | number>[]> {
  const core = services.admin.makeApiClient(CoreV1Api);
  const node = 'bench-events';
  const namespace = 'bench-events';
  await createPodNamespace(core, namespace);
  const funclet = await startFuncletNode(services, {
    node,
    tablePrefix: 'benchevents',
    timers: ['leaseRenew', 'nodeStatus'],
  });
  const tracker = await trackPods(services.admin, namespace);
  const mockTable = await services.tables('benchevents', 'mockInstances');
  const create = (name: string) =>
    core.createNamespacedPod({
      namespace,
      body: {
        metadata: { name, labels: { set: name.split('-')[0]! } },
        spec: { ...scheduledOnto(node), containers: [{ name: 'c', image: 'busybox' }] },
      },
    });
  const createdAt = async () => {
    const byName = new Map<string, number>();
    for await (const row of mockTable.listEntities<{ name: string; createdAtMs: number }>({
      queryOptions: { filter: `PartitionKey eq '${node}'` },
    })) {
      byName.set(row.name, row.createdAtMs);
    }
    return byName;
  };

  const rows: Record<string, string | number>[] = [];
  try {
    // Steady: 20 pods a second.
    await funclet.functions.reset();
    const steadyNames = Array.from({ length: steady }, (_, i) => `steady-${i}`);
    const start = Date.now();
    await Promise.all(
      steadyNames.map(async (name, i) => {
        await new Promise((r) => setTimeout(r, start + i * 50 - Date.now()));
        await create(name);
      }),
    );
    const running = () => tracker.select({ set: 'steady' }).filter((t) => t.runningAt !== undefined).length;
    await waitUntil(() => running() >= steady, 60_000);
    const created = await createdAt();
    const steadyPods = tracker.select({ set: 'steady' });
    // A pod that never got there counts as infinitely late, so it sorts last (NaN would not sort).
    const delays = (at: (t: (typeof steadyPods)[number]) => number | undefined) =>
      steadyPods.map((t) => (at(t) ?? Infinity) - (t.boundAt ?? NaN)).sort((a, b) => a - b);
    const c1 = await funclet.functions.counters();
    for (const [what, values] of [
      ['bind -> provider create', delays((t) => created.get(t.name))],
      ['bind -> Running in API', delays((t) => t.runningAt)],
    ] as const) {
      rows.push({
        scenario: `${steady} pods at 20/s`,
        measure: what,
        'p50 ms': Math.round(percentile(values, 50)),
        'p95 ms': Math.round(percentile(values, 95)),
        'p99 ms': Math.round(percentile(values, 99)),
        'all Running s': '',
        'not reached': values.filter((v) => !Number.isFinite(v)).length,
        'API requests per pod': perPod(c1.kube, steady),
        'table requests per pod': perPod(c1.tables, steady),
        'function process peak RSS MiB': c1.peakRssMiB,
      });
    }

    // Burst: all at once.
    const burstNames = Array.from({ length: burst }, (_, i) => `burst-${i}`);
    await funclet.functions.reset();
    const burstStart = Date.now();
    await runBounded(burstNames, 64, create);
    const createdIn = Date.now() - burstStart;
    const burstRunning = () => tracker.select({ set: 'burst' }).filter((t) => t.runningAt !== undefined);
    await waitUntil(() => burstRunning().length >= burst, 180_000);
    const c2 = await funclet.functions.counters();
    const last = Math.max(...burstRunning().map((t) => t.runningAt!));
    rows.push({
      scenario: `${burst} pods at once (created in ${(createdIn / 1000).toFixed(1)} s)`,
      measure: 'first create call -> last pod Running',
      'p50 ms': '',
      'p95 ms': '',
      'p99 ms': '',
      'all Running s': burstRunning().length >= burst ? ((last - burstStart) / 1000).toFixed(1) : 'not all',
      'not reached': burst - burstRunning().length,
      'API requests per pod': perPod(c2.kube, burst),
      'table requests per pod': perPod(c2.tables, burst),
      'function process peak RSS MiB': c2.peakRssMiB,
    });
  } finally {
    tracker.stop();
    await funclet.stop();
    await removeNamespace(core, namespace);
  }
  return rows;
}

function perPod(c: { reads: number; writes: number }, pods: number): string {
  return `${(c.reads / pods).toFixed(2)} reads, ${(c.writes / pods).toFixed(2)} writes`;
}
