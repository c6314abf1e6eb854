/**
 * Four nodes side by side on one control plane, sent the same Deployment one node at a time:
 * upstream virtual-kubelet's mock (the pinned release), Funclet's mock node on its event path
 * (the function app in a process of its own with leaseRenew, nodeStatus and podResync on their
 * schedules, the relay watching and poking it), the least kubelet (leastNode.ts: the bench
 * itself patches each bound pod Running and deletes it once marked, one request each), and a
 * bare Node with no kubelet, whose pods are only ever bound: the floor the scheduler and the
 * controllers set. Pods go through the real scheduler (a nodeSelector, never a preset nodeName).
 *
 * Per node and size: time to all pods bound, to all Running (the floor: bound), after scaling
 * to 0 to the last deletionTimestamp and to all gone, and the node's API requests per pod.
 * Every figure is the median of the rounds, with min and max beside it.
 */
import { AppsV1Api, CoordinationV1Api, CoreV1Api, type KubeConfig } from '@kubernetes/client-node';
import type { TableClient } from '@azure/data-tables';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { mergePatch, strategicMergePatch } from '../../core/kube/clients.ts';
import type { ServerProcess } from '../../dev/process.ts';
import { percentile } from './counters.ts';
import { cpuByPart, cpuSince, type CpuByPart } from './processCpu.ts';
import { startCountingProxy, type CountingProxy } from './countingProxy.ts';
import type { FunctionProcess, HostCounters } from './functionProcess.ts';
import { scheduledOnto, startFuncletNode } from './funcletNode.ts';
import { createPodNamespace } from '../support/kube.ts';
import { trackPods, waitUntil, type PodTimes } from './podTracker.ts';
import type { BenchServices } from './services.ts';
import { startLeastNode, type LeastNode } from './leastNode.ts';
import { startUpstreamNode } from './upstreamNode.ts';

export interface CompareOptions {
  sizes: number[];
  rounds: number;
  /** The relay's per-attempt webhook timeout (its default, 10 s, when absent). */
  relayAttemptTimeoutMs?: number;
  /** Which of upstream, funclet, floor run (all by default). */
  nodes?: string[];
  /** Where the function process writes a CPU profile (`node --cpu-prof`); none when absent. */
  cpuProfileDir?: string;
  log: (line: string) => void;
}

const namespace = 'bench-compare';
const kinds = ['upstream', 'funclet', 'least', 'floor'] as const;
type Kind = (typeof kinds)[number];
const nodeOf: Record<Kind, string> = {
  upstream: 'bench-upstream',
  funclet: 'bench-funclet',
  least: 'bench-least',
  floor: 'bench-floor',
};
const labelOf: Record<Kind, string> = {
  upstream: 'upstream virtual-kubelet v1.13.0 mock',
  funclet: 'Funclet mock',
  least: 'least kubelet (1 status patch, 1 delete)',
  floor: 'floor: bare Node',
};

/** One round on one node, in seconds from the Deployment's creation / its scale to 0. */
interface Round {
  bound: number;
  running: number;
  marked: number;
  gone: number;
  apiPerPod: number;
  tablePerPod?: number;
  /** Funclet only: bind -> provider create, per pod, ms. */
  bindToCreateMs?: number[];
  peakRssMiB?: number;
  cpuSeconds?: number;
  /** Pods that were not Running (the floor: bound) when the round gave up waiting. */
  missing: number;
  /** Funclet only: batches the relay sent again (an attempt failed or timed out). */
  relayRetries?: number;
  /** Funclet only: requests by kind from the Deployment's creation to all Running, then to all gone. */
  kinds?: { start: Record<string, number>; delete: Record<string, number> };
  /** CPU seconds by process from the Deployment's creation to all Running (bound), then to all gone. */
  cpu: { start: CpuByPart; delete: CpuByPart };
  /** Funclet only: the function process's time to response headers by host, to all Running. */
  latency?: HostCounters['latency'];
}

export async function benchCompare(services: BenchServices, options: CompareOptions): Promise<CompareResult> {
  const { log } = options;
  const admin = services.admin;
  const core = admin.makeApiClient(CoreV1Api);
  const apps = admin.makeApiClient(AppsV1Api);
  const dir = join(services.dir, 'compare');
  mkdirSync(dir, { recursive: true });
  await createPodNamespace(core, namespace);

  const stops: (() => Promise<void>)[] = [];
  const results = new Map<string, Round[]>();
  const tracker = await trackPods(admin, namespace);
  try {
    // Upstream virtual-kubelet, behind the proxy that counts its requests.
    const proxy = await startCountingProxy({
      apiServer: services.cluster.server,
      apiServerCaPem: services.cluster.caPem,
      dir,
    });
    stops.push(() => proxy.close());
    const upstream: ServerProcess = await startUpstreamNode({
      node: nodeOf.upstream,
      proxy,
      token: adminToken(admin),
      dir,
      log,
    });
    stops.push(() => upstream.stop());

    // Funclet: the function app in its own process, the relay here.
    const funclet = await startFuncletNode(services, {
      node: nodeOf.funclet,
      tablePrefix: 'benchcompare',
      timers: ['leaseRenew', 'nodeStatus', 'podResync'],
      cpuProfileDir: options.cpuProfileDir,
      relayAttemptTimeoutMs: options.relayAttemptTimeoutMs,
    });
    stops.push(() => funclet.stop());
    const functions = funclet.functions;

    // The least kubelet: a bare Node whose pods the bench itself patches Running and deletes.
    const leastBare = await startBareNode(admin, nodeOf.least);
    stops.push(() => leastBare.stop());
    const least = await startLeastNode(admin, nodeOf.least);
    stops.push(() => Promise.resolve(least.stop()));

    // The floor: a Node object and its Lease, renewed here; nothing runs its pods.
    const floor = await startBareNode(admin, nodeOf.floor);
    stops.push(() => floor.stop());

    for (const kind of kinds) await waitForReady(core, nodeOf[kind], log);
    const mockTable = await services.tables('benchcompare', 'mockInstances');

    for (const size of options.sizes) {
      for (let round = 1; round <= options.rounds; round++) {
        for (const kind of kinds.filter((k) => options.nodes?.includes(k) ?? true)) {
          log(`compare: ${size} pods on ${nodeOf[kind]}, round ${round} of ${options.rounds}`);
          const result = await runRound({
            kind,
            size,
            name: `to-${kind}-${size}-${round}`,
            apps,
            core,
            tracker,
            functions,
            relayRetries: () => funclet.relayRetries(),
            proxy,
            least,
            mockCreatedAt: kind === 'funclet' ? () => createdAtByName(mockTable, nodeOf.funclet) : undefined,
          });
          log(
            `compare: ${nodeOf[kind]} ${size} pods: bound ${result.bound.toFixed(1)} s, Running ${result.running.toFixed(1)} s, marked ${result.marked.toFixed(1)} s, gone ${result.gone.toFixed(1)} s, ${result.apiPerPod.toFixed(1)} API requests per pod`,
          );
          const key = `${size}/${kind}`;
          results.set(key, [...(results.get(key) ?? []), result]);
        }
      }
    }
  } finally {
    tracker.stop();
    for (const stop of stops.reverse()) await stop().catch((err: unknown) => log(`stopping: ${String(err)}`));
    await core.deleteCollectionNamespacedPod({ namespace, gracePeriodSeconds: 0 }).catch(() => undefined);
    await core.deleteNamespace({ name: namespace }).catch(() => undefined);
  }
  const hosts = new Map([
    [new URL(services.cluster.server).host, 'API server'],
    [`127.0.0.1:${services.azurite.port}`, 'Table Storage (Azurite)'],
  ]);
  return summarise(results, options.sizes, hosts);
}

async function runRound(r: {
  kind: Kind;
  size: number;
  name: string;
  apps: AppsV1Api;
  core: CoreV1Api;
  tracker: Awaited<ReturnType<typeof trackPods>>;
  functions: FunctionProcess;
  relayRetries: () => number;
  proxy: CountingProxy;
  least: LeastNode;
  mockCreatedAt?: () => Promise<Map<string, number>>;
}): Promise<Round> {
  const node = nodeOf[r.kind];
  const labels = { app: r.name };
  const limitMs = Math.max(120_000, r.size * 1_000);
  if (r.kind === 'funclet') await r.functions.reset();
  r.proxy.reset();
  await r.least.reset();
  const cpuBefore = r.kind === 'funclet' ? (await r.functions.counters()).cpuMs : 0;
  const retriesBefore = r.relayRetries();

  const cpuAtCreate = cpuByPart();
  const createdAt = Date.now();
  await r.apps.createNamespacedDeployment({
    namespace,
    body: {
      metadata: { name: r.name, labels },
      spec: {
        replicas: r.size,
        selector: { matchLabels: labels },
        template: {
          metadata: { labels },
          spec: {
            ...scheduledOnto(node),
            automountServiceAccountToken: false,
            enableServiceLinks: false,
            containers: [{ name: 'c', image: 'busybox' }],
          },
        },
      },
    },
  });
  const pods = () => r.tracker.select(labels);
  const settled =
    r.kind === 'floor'
      ? (t: PodTimes) => t.boundAt !== undefined
      : (t: PodTimes) => t.runningAt !== undefined;
  // A round whose pods do not all get there in time is kept, as "not all", and the run goes on.
  const started = await waitUntil(() => pods().filter(settled).length >= r.size, limitMs);
  if (!started)
    process.stderr.write(
      `[bench] ${node}: only ${pods().filter(settled).length} of ${r.size} pods got there in ${limitMs / 1000} s\n`,
    );
  const missing = r.size - pods().filter(settled).length;
  const up = pods();
  const bound = seconds(
    up.map((t) => t.boundAt),
    createdAt,
  );
  const running = seconds(
    up.map((t) => (r.kind === 'floor' ? t.boundAt : t.runningAt)),
    createdAt,
  );
  const bindToCreateMs = r.mockCreatedAt
    ? await r
        .mockCreatedAt()
        .then((created) =>
          up.map((t) => (created.get(t.name) ?? Infinity) - t.boundAt!).sort((a, b) => a - b),
        )
    : undefined;

  const countersAtRunning = r.kind === 'funclet' ? await r.functions.counters() : undefined;
  const atRunning = countersAtRunning?.byKind ?? {};
  const cpuAtRunning = cpuByPart();
  const scaledAt = Date.now();
  await r.apps.patchNamespacedDeploymentScale(
    { name: r.name, namespace, body: { spec: { replicas: 0 } } },
    mergePatch,
  );
  const done =
    r.kind === 'floor' ? (t: PodTimes) => t.markedAt !== undefined : (t: PodTimes) => t.goneAt !== undefined;
  const deleted = await waitUntil(() => up.every(done), limitMs);
  if (!deleted)
    process.stderr.write(
      `[bench] ${node}: only ${up.filter(done).length} of ${up.length} pods were deleted in ${limitMs / 1000} s\n`,
    );
  const cpu = { start: cpuSince(cpuAtCreate, cpuAtRunning), delete: cpuSince(cpuAtRunning) };
  const marked = seconds(
    up.map((t) => t.markedAt),
    scaledAt,
  );
  // The floor's pods stay, marked, with nothing to finish their deletion: marked is its floor.
  const gone =
    r.kind === 'floor'
      ? marked
      : seconds(
          up.map((t) => t.goneAt),
          scaledAt,
        );

  let apiPerPod = 0;
  let tablePerPod: number | undefined;
  let peakRssMiB: number | undefined;
  let cpuSeconds: number | undefined;
  let kinds: Round['kinds'];
  let relayRetries: number | undefined;
  if (r.kind === 'funclet') {
    const c = await r.functions.counters();
    apiPerPod = (c.kube.reads + c.kube.writes) / r.size;
    tablePerPod = (c.tables.reads + c.tables.writes) / r.size;
    peakRssMiB = c.peakRssMiB;
    cpuSeconds = (c.cpuMs - cpuBefore) / 1000;
    relayRetries = r.relayRetries() - retriesBefore;
    kinds = {
      start: atRunning,
      delete: Object.fromEntries(Object.entries(c.byKind).map(([k, n]) => [k, n - (atRunning[k] ?? 0)])),
    };
  } else if (r.kind === 'upstream') {
    const c = r.proxy.counts();
    apiPerPod = (c.reads + c.writes) / r.size;
  } else if (r.kind === 'least') {
    apiPerPod = r.least.requests() / r.size;
  }

  await r.apps.deleteNamespacedDeployment({ name: r.name, namespace });
  if (r.kind === 'floor' || !deleted) {
    await r.core.deleteCollectionNamespacedPod({
      namespace,
      labelSelector: `app=${r.name}`,
      gracePeriodSeconds: 0,
    });
    await waitUntil(() => up.every((t) => t.goneAt !== undefined), limitMs);
  }
  return {
    bound,
    running,
    marked,
    gone,
    apiPerPod,
    tablePerPod,
    bindToCreateMs,
    peakRssMiB,
    cpuSeconds,
    kinds,
    relayRetries,
    missing,
    cpu,
    latency: countersAtRunning?.latency,
  };
}

/** Seconds from `from` to the latest of `times`; Infinity when any is missing. */
function seconds(times: (number | undefined)[], from: number): number {
  return (Math.max(...times.map((t) => t ?? Infinity)) - from) / 1000;
}

function summarise(
  results: Map<string, Round[]>,
  sizes: number[],
  hosts: ReadonlyMap<string, string>,
): CompareResult {
  const rows: Record<string, string | number>[] = [];
  const requests: Record<string, string | number>[] = [];
  const ratios: Record<string, string | number>[] = [];
  const goals: string[] = [];
  const cpu: Record<string, string | number>[] = [];
  const latency: Record<string, string | number>[] = [];
  const median = (values: number[]) =>
    percentile(
      [...values].sort((a, b) => a - b),
      50,
    );
  const figure = (values: number[], digits = 1) => {
    const sorted = [...values].sort((a, b) => a - b);
    const f = (v: number) => (Number.isFinite(v) ? v.toFixed(digits) : 'not all');
    return sorted.length === 1
      ? f(sorted[0]!)
      : `${f(median(sorted))} (${f(sorted[0]!)}-${f(sorted.at(-1)!)})`;
  };
  for (const size of sizes) {
    const of = (kind: Kind) => results.get(`${size}/${kind}`) ?? [];
    for (const kind of kinds) {
      const rounds = of(kind);
      if (rounds.length === 0) continue;
      const delays = rounds.flatMap((r) => r.bindToCreateMs ?? []).sort((a, b) => a - b);
      rows.push({
        pods: size,
        node: labelOf[kind],
        rounds: rounds.length,
        'all bound s': figure(rounds.map((r) => r.bound)),
        'all Running s (floor: bound)': figure(rounds.map((r) => r.running)),
        'scale to 0: last deletionTimestamp s': figure(rounds.map((r) => r.marked)),
        'all gone s (floor: marked)': figure(rounds.map((r) => r.gone)),
        'pods not there in time': rounds.reduce((n, r) => n + r.missing, 0),
        'API requests per pod': kind === 'floor' ? '0' : figure(rounds.map((r) => r.apiPerPod)),
        'table requests per pod': kind === 'funclet' ? figure(rounds.map((r) => r.tablePerPod ?? NaN)) : '-',
        'bind -> create p50/p99 ms':
          delays.length > 0
            ? `${Math.round(percentile(delays, 50))}/${Math.round(percentile(delays, 99))}`
            : '-',
        'relay retries':
          kind === 'funclet'
            ? figure(
                rounds.map((r) => r.relayRetries ?? NaN),
                0,
              )
            : '-',
        'function process CPU s': kind === 'funclet' ? figure(rounds.map((r) => r.cpuSeconds ?? NaN)) : '-',
        'function process peak RSS MiB':
          kind === 'funclet'
            ? figure(
                rounds.map((r) => r.peakRssMiB ?? NaN),
                0,
              )
            : '-',
      });
    }
    // Where each node's rounds spent the machine's CPU: what a figure is bound by.
    for (const kind of kinds) {
      const rounds = of(kind);
      const partsSeen = [
        ...new Set(rounds.flatMap((r) => [...Object.keys(r.cpu.start), ...Object.keys(r.cpu.delete)])),
      ];
      for (const part of partsSeen.sort()) {
        cpu.push({
          pods: size,
          node: nodeOf[kind],
          process: part,
          'CPU s, to Running (floor: bound)': figure(rounds.map((r) => r.cpu.start[part] ?? 0)),
          'CPU s, scale to 0 to all gone': figure(rounds.map((r) => r.cpu.delete[part] ?? 0)),
        });
      }
    }
    const funclet = of('funclet');
    // How long the function process's requests waited for an answer, on the way to Running.
    for (const [host, name] of hosts) {
      const seen = funclet.map((r) => r.latency?.[host]).filter((l) => l !== undefined);
      if (seen.length === 0) continue;
      latency.push({
        pods: size,
        to: name,
        requests: figure(
          seen.map((l) => l.requests),
          0,
        ),
        'p50 ms': figure(seen.map((l) => l.p50)),
        'p90 ms': figure(seen.map((l) => l.p90)),
        'p99 ms': figure(seen.map((l) => l.p99)),
      });
    }
    // Funclet's requests per pod by kind, over all rounds: what each pod costs on its way up and out.
    const sum = (phase: 'start' | 'delete') => {
      const total: Record<string, number> = {};
      for (const r of funclet)
        for (const [k, n] of Object.entries(r.kinds?.[phase] ?? {})) total[k] = (total[k] ?? 0) + n;
      return total;
    };
    const [start, del] = [sum('start'), sum('delete')];
    for (const kind of [...new Set([...Object.keys(start), ...Object.keys(del)])].sort()) {
      const per = (n: number | undefined) => ((n ?? 0) / (size * funclet.length)).toFixed(2);
      requests.push({
        pods: size,
        request: kind,
        'per pod, to Running': per(start[kind]),
        'per pod, scale to 0': per(del[kind]),
      });
    }
    for (const against of ['upstream', 'least', 'floor'] as const) {
      const other = of(against);
      if (funclet.length === 0 || other.length === 0) continue;
      const ratio = (pick: (r: Round) => number) =>
        (median(funclet.map(pick)) / median(other.map(pick))).toFixed(2);
      ratios.push({
        pods: size,
        ratio: `Funclet / ${against}`,
        'all bound': ratio((r) => r.bound),
        'all Running (floor: bound)': ratio((r) => r.running),
        'all gone (floor: marked)': ratio((r) => r.gone),
      });
    }
    if (size === 1000 && funclet.length > 0) {
      const floor = of('floor');
      if (floor.length > 0) {
        const x = median(funclet.map((r) => r.running)) / median(floor.map((r) => r.running));
        goals.push(
          `N=1000 all Running: ${x.toFixed(2)}x the floor (goal <= 1.3x): ${x <= 1.3 ? 'met' : 'missed'}`,
        );
      }
      const least = of('least');
      if (least.length > 0 && floor.length > 0) {
        const l = median(least.map((r) => r.running)) / median(floor.map((r) => r.running));
        const f = median(funclet.map((r) => r.running)) / median(least.map((r) => r.running));
        goals.push(
          `N=1000 all Running: the least kubelet is ${l.toFixed(2)}x the floor, Funclet ${f.toFixed(2)}x the least kubelet`,
        );
      }
      const y = median(funclet.map((r) => r.gone)) / median(funclet.map((r) => r.marked));
      goals.push(
        `N=1000 scale to 0: all gone ${y.toFixed(2)}x the last deletionTimestamp (goal <= 1.3x): ${y <= 1.3 ? 'met' : 'missed'}`,
      );
    }
  }
  return { rows, ratios, goals, requests, cpu, latency };
}

export interface CompareResult {
  rows: Record<string, string | number>[];
  ratios: Record<string, string | number>[];
  goals: string[];
  /** Funclet's requests per pod by kind. */
  requests: Record<string, string | number>[];
  /** CPU seconds per process and phase, per node (median of the rounds, min-max). */
  cpu: Record<string, string | number>[];
  /** The function process's time to response headers by backend, on the way to Running. */
  latency: Record<string, string | number>[];
}

async function createdAtByName(table: TableClient, node: string): Promise<Map<string, number>> {
  const byName = new Map<string, number>();
  for await (const row of table.listEntities<{ name: string; createdAtMs: number }>({
    queryOptions: { filter: `PartitionKey eq '${node}'` },
  })) {
    const before = byName.get(row.name);
    if (before === undefined || row.createdAtMs < before) byName.set(row.name, row.createdAtMs);
  }
  return byName;
}

function adminToken(admin: KubeConfig): string {
  const token = admin.getCurrentUser()?.token;
  if (!token) throw new Error('the admin kubeconfig holds no token');
  return token;
}

/**
 * A Node object with room for thousands of pods and a Ready condition, whose Lease is renewed
 * every 10 s so the node lifecycle controller leaves it alone. Nothing runs its pods.
 */
async function startBareNode(admin: KubeConfig, name: string): Promise<{ stop(): Promise<void> }> {
  const core = admin.makeApiClient(CoreV1Api);
  const coordination = admin.makeApiClient(CoordinationV1Api);
  const resources = { cpu: '1000', memory: '4Ti', pods: '5000' };
  await core.createNode({ body: { metadata: { name, labels: { 'kubernetes.io/hostname': name } } } });
  const heartbeat = async () => {
    const now = new Date();
    await core.patchNodeStatus(
      {
        name,
        body: {
          status: {
            capacity: resources,
            allocatable: resources,
            conditions: [
              {
                type: 'Ready',
                status: 'True',
                reason: 'Bare',
                message: 'no kubelet',
                lastHeartbeatTime: now,
                lastTransitionTime: now,
              },
            ],
          },
        },
      },
      strategicMergePatch,
    );
    const lease = {
      metadata: { name, namespace: 'kube-node-lease' },
      spec: { holderIdentity: name, leaseDurationSeconds: 40, renewTime: now },
    };
    try {
      await coordination.replaceNamespacedLease({ name, namespace: 'kube-node-lease', body: lease });
    } catch {
      await coordination
        .createNamespacedLease({ namespace: 'kube-node-lease', body: lease })
        .catch(() => undefined);
    }
  };
  await heartbeat();
  const timer = setInterval(() => void heartbeat().catch(() => undefined), 10_000);
  return {
    async stop() {
      clearInterval(timer);
      await core.deleteNode({ name }).catch(() => undefined);
    },
  };
}

async function waitForReady(core: CoreV1Api, node: string, log: (line: string) => void): Promise<void> {
  const ready = (n: { status?: { conditions?: { type: string; status: string }[] } }) =>
    n.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') === true;
  for (const until = Date.now() + 120_000; Date.now() < until;) {
    const found = await core.readNode({ name: node }).catch(() => undefined);
    if (found && ready(found)) return;
    await new Promise((r) => setTimeout(r, 500));
  }
  log(`compare: node ${node} is not Ready after 2 minutes`);
  throw new Error(`node ${node} did not become Ready`);
}
