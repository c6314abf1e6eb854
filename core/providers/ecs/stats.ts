/**
 * Pod figures for ECS tasks from CloudWatch Container Insights with enhanced observability.
 *
 * Why this source: the task metadata endpoint (docker-style stats, the kubelet's own kind of
 * figures) is reachable only from inside the task, and Funclet runs outside it; ECS's free
 * metrics are per cluster or service, not per task. Container Insights with enhanced
 * observability publishes per-container metrics in the `ECS/ContainerInsights` namespace once a
 * minute, for the dimension set {ContainerName, TaskDefinitionFamily, ClusterName, TaskId} among
 * others: ContainerCpuUtilized (CPU units, 1024 = one vCPU) and ContainerMemoryUtilized (MiB).
 * It is turned on per cluster (cluster setting `containerInsights` = `enhanced`, or the account
 * default of the same name); without it there are no figures and tasks are left out.
 *
 * Read with GetMetricData, Average per minute (per hour for the part of a long run before the
 * minute lookback): cumulative CPU is the sum of average x duration since the task started
 * (cpu-grains.ts), `atMs` the end of the last minute every running container has a figure for.
 */
import type { CloudWatchClient, MetricDataQuery, MetricDataResult } from '@aws-sdk/client-cloudwatch';
import type { Task } from '@aws-sdk/client-ecs';
import { cpuSpans, cumulativeCpu, minuteMs, type CpuGrain, type GrainSpan } from '../cpu-grains.ts';
import type { ContainerStats, PodStats, ProviderRef } from '../types.ts';
import { podContainerName, taskIdFromArn } from './naming.ts';
import type { AwsCall } from './retry.ts';
import { familyOf } from './task-definition-registry.ts';

export const insightsNamespace = 'ECS/ContainerInsights';
const cpuMetric = 'ContainerCpuUtilized';
const memoryMetric = 'ContainerMemoryUtilized';
/** GetMetricData takes at most 500 queries per call. */
const maxQueriesPerCall = 500;

/** A running app container of a task, with what its metrics are found by. */
interface Measured {
  ref: ProviderRef;
  task: Task;
  ecsContainer: string;
  name: string;
  startedAtMs: number;
}

/** The dimensions Container Insights gives one container of a task, in its documented order. */
export function containerDimensions(
  clusterName: string,
  task: Task,
  ecsContainer: string,
): { Name: string; Value: string }[] {
  return [
    { Name: 'ContainerName', Value: ecsContainer },
    { Name: 'TaskDefinitionFamily', Value: familyOf(task.taskDefinitionArn ?? '') ?? '' },
    { Name: 'ClusterName', Value: clusterName },
    { Name: 'TaskId', Value: taskIdFromArn(task.taskArn ?? '') },
  ];
}

/**
 * Figures for the running tasks among `tasks` (each paired with the ref it was asked for);
 * a task without figures yet is left out.
 */
export async function readTaskStats(
  cloudwatch: CloudWatchClient,
  call: AwsCall,
  clusterName: string,
  tasks: readonly { ref: ProviderRef; task: Task }[],
  nowMs: number,
): Promise<PodStats[]> {
  const measured: Measured[] = tasks.flatMap(({ ref, task }) => {
    const startedAtMs = task.startedAt?.getTime();
    if (task.lastStatus !== 'RUNNING' || startedAtMs === undefined) return [];
    return (task.containers ?? []).flatMap((c) => {
      const { name, kind } = podContainerName(c.name ?? '');
      if (kind !== 'app' || c.name === undefined || (c.lastStatus ?? 'RUNNING') === 'STOPPED') return [];
      return [{ ref, task, ecsContainer: c.name, name, startedAtMs }];
    });
  });
  if (measured.length === 0) return [];

  // One read per grain over all containers: from the earliest start its span needs.
  const spans = measured.map((m) => cpuSpans(m.startedAtMs, nowMs));
  const union = (pick: (s: ReturnType<typeof cpuSpans>) => GrainSpan | undefined): GrainSpan | undefined => {
    const list = spans.map(pick).filter((s): s is GrainSpan => s !== undefined);
    if (list.length === 0) return undefined;
    return {
      grainMs: list[0]!.grainMs,
      fromMs: Math.min(...list.map((s) => s.fromMs)),
      untilMs: Math.max(...list.map((s) => s.untilMs)),
    };
  };
  const minutely = union((s) => s.minutely);
  if (minutely === undefined) return [];
  const hourly = union((s) => s.hourly);
  const [hourlyData, minutelyData] = await Promise.all([
    hourly === undefined
      ? new Map<string, Average[]>()
      : readMetrics(cloudwatch, call, clusterName, measured, hourly, [cpuMetric]),
    readMetrics(cloudwatch, call, clusterName, measured, minutely, [cpuMetric, memoryMetric]),
  ]);

  const byTask = new Map<string, Measured[]>();
  for (const m of measured) byTask.set(m.ref.id, [...(byTask.get(m.ref.id) ?? []), m]);
  const stats: PodStats[] = [];
  for (const containers of byTask.values()) {
    const figures = podFigures(containers, hourlyData, minutelyData, nowMs);
    if (figures !== undefined) stats.push(figures);
  }
  return stats;
}

/** One task's figures from the grains read, or undefined when no container has a minute yet. */
function podFigures(
  containers: readonly Measured[],
  hourly: ReadonlyMap<string, Average[]>,
  minutely: ReadonlyMap<string, Average[]>,
  nowMs: number,
): PodStats | undefined {
  // ContainerCpuUtilized is in CPU units: 1024 to a vCPU.
  const cores = (list: readonly Average[] | undefined): CpuGrain[] =>
    (list ?? []).map((a) => ({ startMs: a.startMs, cores: a.value / 1024 }));
  const integral = (m: Measured, untilMs: number) =>
    cumulativeCpu(
      cpuSpans(m.startedAtMs, nowMs),
      { hourly: cores(hourly.get(key(m, cpuMetric))), minutely: cores(minutely.get(key(m, cpuMetric))) },
      m.startedAtMs,
      untilMs,
    );
  const lastEnds = containers.flatMap((m) => {
    const last = integral(m, Number.POSITIVE_INFINITY).last;
    return last === undefined ? [] : [last.startMs + minuteMs];
  });
  if (lastEnds.length === 0) return undefined;
  const atMs = Math.min(...lastEnds);
  const out: ContainerStats[] = [];
  for (const m of containers) {
    const cumulative = integral(m, atMs);
    if (cumulative.last === undefined) continue;
    const memory = (minutely.get(key(m, memoryMetric)) ?? [])
      .filter((g) => g.startMs + minuteMs <= atMs)
      .sort((a, b) => b.startMs - a.startMs)[0];
    out.push({
      name: m.name,
      startedAtMs: m.startedAtMs,
      cpuUsageCoreNanoSeconds: cumulative.coreNanoSeconds,
      cpuUsageNanoCores: Math.round(cumulative.last.cores * 1e9),
      memoryWorkingSetBytes: Math.round((memory?.value ?? 0) * 1024 * 1024), // ContainerMemoryUtilized is in MiB
    });
  }
  return out.length === 0 ? undefined : { ref: containers[0]!.ref, atMs, containers: out };
}

/** One period's average, as CloudWatch answers it. */
interface Average {
  startMs: number;
  value: number;
}

/** The averages of `metrics` for every container over `span`, keyed by key(). */
async function readMetrics(
  cloudwatch: CloudWatchClient,
  call: AwsCall,
  clusterName: string,
  measured: readonly Measured[],
  span: GrainSpan,
  metrics: readonly string[],
): Promise<Map<string, Average[]>> {
  const { GetMetricDataCommand } = await import('@aws-sdk/client-cloudwatch');
  const queries: { id: string; key: string; query: MetricDataQuery }[] = [];
  measured.forEach((m, i) =>
    metrics.forEach((metric, j) => {
      queries.push({
        id: `q${i}_${j}`,
        key: key(m, metric),
        query: {
          Id: `q${i}_${j}`,
          MetricStat: {
            Metric: {
              Namespace: insightsNamespace,
              MetricName: metric,
              Dimensions: containerDimensions(clusterName, m.task, m.ecsContainer),
            },
            Period: span.grainMs / 1000,
            Stat: 'Average',
          },
          ReturnData: true,
        },
      });
    }),
  );
  const keys = new Map(queries.map((q) => [q.id, q.key]));
  const grains = new Map<string, Average[]>();
  for (let i = 0; i < queries.length; i += maxQueriesPerCall) {
    const batch = queries.slice(i, i + maxQueriesPerCall).map((q) => q.query);
    let nextToken: string | undefined;
    do {
      const out = await call(`reading Container Insights metrics of ${measured.length} ECS containers`, () =>
        cloudwatch.send(
          new GetMetricDataCommand({
            MetricDataQueries: batch,
            StartTime: new Date(span.fromMs),
            EndTime: new Date(span.untilMs),
            ScanBy: 'TimestampAscending',
            NextToken: nextToken,
          }),
        ),
      );
      for (const result of out.MetricDataResults ?? []) addResult(grains, keys, result);
      nextToken = out.NextToken;
    } while (nextToken !== undefined && nextToken !== '');
  }
  return grains;
}

function addResult(
  grains: Map<string, Average[]>,
  keys: ReadonlyMap<string, string>,
  result: MetricDataResult,
): void {
  const k = result.Id === undefined ? undefined : keys.get(result.Id);
  if (k === undefined) return;
  const list = grains.get(k) ?? [];
  (result.Timestamps ?? []).forEach((at, i) => {
    const value = result.Values?.[i];
    if (value !== undefined) list.push({ startMs: at.getTime(), value });
  });
  grains.set(k, list);
}

function key(m: Measured, metric: string): string {
  return `${m.ref.id}|${m.ecsContainer}|${metric}`;
}
