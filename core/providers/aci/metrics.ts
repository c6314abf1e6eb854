/**
 * Pod figures from Azure Monitor: the container group metrics CpuUsage (millicores) and
 * MemoryUsage (bytes), per container (dimension containerName), averaged per minute (PT1M). A
 * minute's average holds once the minute is over, so cumulative CPU is the sum of average x 60 s
 * over the complete minutes since the container's run started (hours, PT1H, for the part of a
 * long run before the minute lookback: cpu-grains.ts), `atMs` the end of the last minute every
 * running container has a figure for, current use that minute's average, and the working set the
 * memory average of the last minute up to `atMs`.
 *
 * @azure/arm-monitor is loaded on the first podStats call only, with the same credential, ARM
 * endpoint and extra trust as the ACI client (client.ts).
 */
import type { MonitorClient, Response as MetricsResponse } from '@azure/arm-monitor';
import type { AciConfig } from '../../config.ts';
import { cpuSpans, cumulativeCpu, minuteMs, type CpuGrain, type GrainSpan } from '../cpu-grains.ts';
import type { ContainerStats, PodStats, ProviderPodView } from '../types.ts';
import { defaultCredential, type ClientDeps } from './client.ts';

export async function createMonitorClient(config: AciConfig, deps: ClientDeps): Promise<MonitorClient> {
  const { MonitorClient } = await import('@azure/arm-monitor');
  const credential = deps.credential ?? (await defaultCredential());
  const endpoint = config.armEndpoint?.replace(/\/+$/, '');
  return new MonitorClient(credential, config.subscriptionId, {
    ...(endpoint === undefined ? {} : { endpoint, credentials: { scopes: [`${endpoint}/.default`] } }),
    retryOptions: { maxRetries: 0 },
    userAgentOptions: { userAgentPrefix: 'funclet' },
    ...(deps.trustedCaPem === undefined ? {} : { tlsOptions: { ca: deps.trustedCaPem } }),
  });
}

/** The running containers of a group view, by name, with the start of their current run. */
export function runningContainers(view: ProviderPodView): Map<string, number> {
  const running = new Map<string, number>();
  for (const c of view.containers) {
    if ('running' in c.state && c.state.running.startedAtMs !== undefined) {
      running.set(c.name, c.state.running.startedAtMs);
    }
  }
  return running;
}

export interface MetricsQuery {
  timespan: string;
  interval: string;
  metricnames: string;
  aggregation: string;
  filter: string;
  top: number;
}

/**
 * The metrics.list options for the pod's complete minutes (and, for runs older than the minute
 * lookback, hours) from its containers' earliest start to `nowMs`: nothing before the first
 * minute is complete.
 */
export function metricsQueries(
  starts: ReadonlyMap<string, number>,
  nowMs: number,
): { hourly?: MetricsQuery; minutely?: MetricsQuery } {
  if (starts.size === 0) return {};
  const spans = cpuSpans(Math.min(...starts.values()), nowMs);
  const query = (span: GrainSpan, interval: string): MetricsQuery => ({
    timespan: `${new Date(span.fromMs).toISOString()}/${new Date(span.untilMs).toISOString()}`,
    interval,
    metricnames: 'CpuUsage,MemoryUsage',
    aggregation: 'Average',
    filter: "containerName eq '*'",
    top: starts.size,
  });
  return {
    ...(spans.hourly === undefined ? {} : { hourly: query(spans.hourly, 'PT1H') }),
    ...(spans.minutely === undefined ? {} : { minutely: query(spans.minutely, 'PT1M') }),
  };
}

/** The pod's figures from the metrics answers, or undefined when no running container has any yet. */
export function podStatsFromMetrics(
  ref: PodStats['ref'],
  starts: ReadonlyMap<string, number>,
  answers: { hourly?: MetricsResponse; minutely?: MetricsResponse },
  nowMs: number,
): PodStats | undefined {
  const cpu = (answer: MetricsResponse | undefined, name: string): CpuGrain[] =>
    (answer === undefined ? [] : (series(answer, 'CpuUsage').get(name) ?? [])).map((p) => ({
      startMs: p.startMs,
      cores: p.value / 1000,
    }));
  const integral = (name: string, startedAtMs: number, untilMs: number) =>
    cumulativeCpu(
      cpuSpans(startedAtMs, nowMs),
      { hourly: cpu(answers.hourly, name), minutely: cpu(answers.minutely, name) },
      startedAtMs,
      untilMs,
    );
  const memory =
    answers.minutely === undefined
      ? new Map<string, MinuteAverage[]>()
      : series(answers.minutely, 'MemoryUsage');

  // Every container's figures describe the same time: the end of the last minute all have.
  const lastEnds: number[] = [];
  for (const [name, startedAtMs] of starts) {
    const last = integral(name, startedAtMs, Number.POSITIVE_INFINITY).last;
    if (last !== undefined) lastEnds.push(last.startMs + minuteMs);
  }
  if (lastEnds.length === 0) return undefined;
  const atMs = Math.min(...lastEnds);

  const containers: ContainerStats[] = [];
  for (const [name, startedAtMs] of starts) {
    const cumulative = integral(name, startedAtMs, atMs);
    if (cumulative.last === undefined) continue;
    const memoryMinute = (memory.get(name) ?? [])
      .filter((m) => m.startMs + minuteMs <= atMs)
      .sort((a, b) => b.startMs - a.startMs)[0];
    containers.push({
      name,
      startedAtMs,
      cpuUsageCoreNanoSeconds: cumulative.coreNanoSeconds,
      cpuUsageNanoCores: Math.round(cumulative.last.cores * 1e9),
      memoryWorkingSetBytes: Math.round(memoryMinute?.value ?? 0),
    });
  }
  return containers.length === 0 ? undefined : { ref, atMs, containers };
}

interface MinuteAverage {
  startMs: number;
  value: number;
}

/** One metric's averages by container name; grains without a figure are left out. */
function series(metrics: MetricsResponse, metric: string): Map<string, MinuteAverage[]> {
  const byContainer = new Map<string, MinuteAverage[]>();
  for (const m of metrics.value) {
    if (m.name.value.toLowerCase() !== metric.toLowerCase()) continue;
    for (const ts of m.timeseries) {
      const name = ts.metadatavalues?.find((v) => v.name?.value.toLowerCase() === 'containername')?.value;
      if (name === undefined) continue;
      const grains = byContainer.get(name) ?? [];
      for (const point of ts.data ?? []) {
        if (typeof point.average !== 'number') continue;
        grains.push({ startMs: new Date(point.timeStamp).getTime(), value: point.average });
      }
      byContainer.set(name, grains);
    }
  }
  return byContainer;
}
