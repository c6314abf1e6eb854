/**
 * The kubelet's `/stats/summary` (stats.k8s.io Summary) for a virtual node, built from what the
 * provider measures for each pod's current instance. The node's own figures are the sum of its
 * pods': a virtual node has no machine of its own.
 */
import type { V1Pod } from '@kubernetes/client-node';
import { kubeError } from '../kube/errors.ts';
import { hasStats } from '../providers/provider.ts';
import type { PodStats, ProviderRef } from '../providers/types.ts';
import type { KubeletDeps } from './deps.ts';

export interface CpuStats {
  time: string;
  usageNanoCores: number;
  usageCoreNanoSeconds: number;
}

export interface MemoryStats {
  time: string;
  workingSetBytes: number;
  usageBytes: number;
}

export interface ContainerSummary {
  name: string;
  startTime: string;
  cpu: CpuStats;
  memory: MemoryStats;
}

export interface PodSummary {
  podRef: { name: string; namespace: string; uid: string };
  startTime: string;
  containers: ContainerSummary[];
  cpu: CpuStats;
  memory: MemoryStats;
}

export interface Summary {
  node: {
    nodeName: string;
    startTime: string;
    systemContainers: [];
    cpu: CpuStats;
    memory: MemoryStats;
  };
  pods: PodSummary[];
}

/** What the kubeletApi function answers: the summary, and how long it is worth reusing. */
export interface SummaryAnswer extends Summary {
  /** The provider's figures change at this grain at best; the relay keeps the answer this long. */
  freshForMs?: number;
}

export async function statsSummary(deps: KubeletDeps): Promise<SummaryAnswer> {
  const node = deps.node.name;
  const [pods, records, nodeObject] = await Promise.all([
    deps.kube.core
      .listPodForAllNamespaces({ fieldSelector: `spec.nodeName=${node}` })
      .then((list) => list.items)
      .catch((err: unknown) => {
        throw kubeError(err, `list pods on node ${node}`);
      }),
    deps.pods.list(node),
    deps.kube.core.readNode({ name: node }).catch(() => undefined),
  ]);
  const byUid = new Map(records.map((r) => [r.uid, r]));
  const running = pods.filter((p) => p.status?.phase === 'Running');
  const refs: { pod: V1Pod; ref: ProviderRef }[] = [];
  for (const pod of running) {
    const uid = pod.metadata?.uid ?? '';
    const id = byUid.get(uid)?.providerId;
    if (id !== undefined) refs.push({ pod, ref: { provider: deps.provider.name, id, podUid: uid } });
  }
  const stats: PodStats[] =
    hasStats(deps.provider) && refs.length > 0 ? await deps.provider.podStats(refs.map((r) => r.ref)) : [];
  const statsById = new Map(stats.map((s) => [s.ref.id, s]));

  const podSummaries = refs.flatMap(({ pod, ref }) => {
    const s = statsById.get(ref.id);
    return s ? [podSummary(pod, s)] : [];
  });
  const atMs = stats.length > 0 ? Math.max(...stats.map((s) => s.atMs)) : deps.now();
  const nodeCreatedMs = nodeObject?.metadata?.creationTimestamp
    ? new Date(nodeObject.metadata.creationTimestamp).getTime()
    : atMs;
  return {
    node: {
      nodeName: node,
      startTime: iso(nodeCreatedMs),
      systemContainers: [],
      cpu: sumCpu(
        podSummaries.map((p) => p.cpu),
        atMs,
      ),
      memory: sumMemory(
        podSummaries.map((p) => p.memory),
        atMs,
      ),
    },
    pods: podSummaries,
    // Half a grain: a new figure is seen within half a minute of the provider publishing it.
    ...(hasStats(deps.provider) && deps.provider.statsGrainMs !== undefined
      ? { freshForMs: deps.provider.statsGrainMs / 2 }
      : {}),
  };
}

function podSummary(pod: V1Pod, stats: PodStats): PodSummary {
  const time = iso(stats.atMs);
  const containers: ContainerSummary[] = stats.containers.map((c) => ({
    name: c.name,
    startTime: iso(c.startedAtMs),
    cpu: {
      time,
      usageNanoCores: Math.round(c.cpuUsageNanoCores),
      usageCoreNanoSeconds: Math.round(c.cpuUsageCoreNanoSeconds),
    },
    memory: {
      time,
      workingSetBytes: Math.round(c.memoryWorkingSetBytes),
      usageBytes: Math.round(c.memoryWorkingSetBytes),
    },
  }));
  const started = pod.status?.startTime ? new Date(pod.status.startTime).getTime() : stats.atMs;
  return {
    podRef: {
      name: pod.metadata?.name ?? '',
      namespace: pod.metadata?.namespace ?? '',
      uid: pod.metadata?.uid ?? '',
    },
    startTime: iso(started),
    containers,
    cpu: sumCpu(
      containers.map((c) => c.cpu),
      stats.atMs,
    ),
    memory: sumMemory(
      containers.map((c) => c.memory),
      stats.atMs,
    ),
  };
}

function sumCpu(parts: readonly CpuStats[], atMs: number): CpuStats {
  return {
    time: iso(atMs),
    usageNanoCores: parts.reduce((n, p) => n + p.usageNanoCores, 0),
    usageCoreNanoSeconds: parts.reduce((n, p) => n + p.usageCoreNanoSeconds, 0),
  };
}

function sumMemory(parts: readonly MemoryStats[], atMs: number): MemoryStats {
  return {
    time: iso(atMs),
    workingSetBytes: parts.reduce((n, p) => n + p.workingSetBytes, 0),
    usageBytes: parts.reduce((n, p) => n + p.usageBytes, 0),
  };
}

function iso(ms: number): string {
  return new Date(ms).toISOString();
}
