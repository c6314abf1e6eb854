/**
 * The fake's Azure Monitor metrics for container groups: `GET {containerGroupId}/providers/
 * Microsoft.Insights/metrics` at api-version 2024-02-01 (azure-rest-api-specs, monitor
 * metrics_API.json, operation Metrics_List), the version @azure/arm-monitor 8.x sends. It serves
 * the two container group metrics Funclet reads, CpuUsage (millicores, unit Count) and MemoryUsage
 * (Bytes), at the time grains ACI lists (PT1M to PT12H, each grain the average of its minutes),
 * with the dimension containerName, as the response the spec
 * describes: value[].name.value, value[].timeseries[].metadatavalues (the dimension name in lower
 * case, as Azure Monitor answers), and one data[] point per grain of the timespan, with an
 * average only where the container had a figure (output.ts).
 */
import type { Reply } from './arm.ts';
import { minuteAverage, minuteMs } from './output.ts';
import type { GroupRecord, GroupStore } from './store.ts';
import { armError, type ArmError } from './wire.ts';

export const metricsApiVersion = '2024-02-01';

const metricUnits = { CpuUsage: 'Count', MemoryUsage: 'Bytes' } as const;
type MetricName = keyof typeof metricUnits;
const descriptions: Record<MetricName, string> = {
  CpuUsage: 'CPU usage on all cores in millicores.',
  MemoryUsage: 'Total memory usage in byte.',
};
const aggregations = ['average', 'minimum', 'maximum'] as const;
/** The time grains Azure Monitor lists for container group metrics. */
const grains: Record<string, number> = {
  PT1M: minuteMs,
  PT5M: 5 * minuteMs,
  PT15M: 15 * minuteMs,
  PT30M: 30 * minuteMs,
  PT1H: 60 * minuteMs,
  PT6H: 360 * minuteMs,
  PT12H: 720 * minuteMs,
};

export function metricsReply(store: GroupStore, record: GroupRecord, url: URL, nowMs: number): Reply {
  const q = url.searchParams;
  const interval = (q.get('interval') ?? 'PT1M').toUpperCase();
  const grainMs = grains[interval];
  if (grainMs === undefined) {
    return bad(
      `Invalid interval ${interval}: these metrics have the time grains ${Object.keys(grains).join(', ')}.`,
    );
  }

  const metrics: MetricName[] = [];
  for (const name of (q.get('metricnames') ?? '').split(',').filter((n) => n !== '')) {
    const known = (Object.keys(metricUnits) as MetricName[]).find(
      (m) => m.toLowerCase() === name.toLowerCase(),
    );
    if (known === undefined) {
      return bad(
        `Failed to find metric configuration for provider: Microsoft.ContainerInstance, resource Type: containerGroups, metric: ${name}, Valid metrics: ${Object.keys(metricUnits).join(',')}`,
      );
    }
    metrics.push(known);
  }
  if (metrics.length === 0) return bad('The fake needs metricnames.');

  const asked = (q.get('aggregation') ?? 'average').split(',').map((a) => a.trim().toLowerCase());
  const unknown = asked.find((a) => !(aggregations as readonly string[]).includes(a));
  if (unknown !== undefined) return bad(`Aggregation ${unknown} is not supported for these metrics.`);

  const span = timespan(q.get('timespan'), nowMs);
  if ('status' in span)
    return { status: span.status, body: { error: { code: span.code, message: span.message } } };

  const containers = record.spec.properties.containers;
  const filter = q.get('$filter');
  let selected: string[] | undefined;
  if (filter !== null) {
    const parsed = containerFilter(filter);
    if (parsed === undefined) {
      return bad(`The fake understands $filter=containerName eq '<name>' (or '*') only, not ${filter}.`);
    }
    selected =
      parsed === '*'
        ? containers.map((c) => c.name)
        : parsed.filter((n) => containers.some((c) => c.name === n));
  }
  const top = Number(q.get('top') ?? '10');
  const grainStarts: number[] = [];
  for (let t = Math.floor(span.fromMs / grainMs) * grainMs; t < span.untilMs; t += grainMs)
    grainStarts.push(t);

  const value = metrics.map((metric) => {
    // A grain's figure is the average over its minutes that have one, of every container asked.
    const point = (grainStartMs: number, names: readonly string[]) => {
      const figures: number[] = [];
      for (let t = grainStartMs; t < grainStartMs + grainMs; t += minuteMs) {
        for (const name of names) {
          const spec = containers.find((c) => c.name === name);
          const v = spec === undefined ? undefined : minuteAverage(store, record, spec, metric, t, nowMs);
          if (v !== undefined) figures.push(v);
        }
      }
      const entry: Record<string, unknown> = { timeStamp: new Date(grainStartMs).toISOString() };
      if (figures.length > 0) {
        const average = figures.reduce((x, y) => x + y, 0) / figures.length;
        for (const a of asked) entry[a] = average;
      }
      return entry;
    };
    const all = containers.map((c) => c.name);
    const timeseries =
      selected === undefined
        ? [{ metadatavalues: [], data: grainStarts.map((t) => point(t, all)) }]
        : selected.slice(0, Math.max(0, top)).map((name) => ({
            metadatavalues: [
              { name: { value: 'containername', localizedValue: 'containerName' }, value: name },
            ],
            data: grainStarts.map((t) => point(t, [name])),
          }));
    return {
      id: `/subscriptions/${record.subscription}/resourceGroups/${record.resourceGroup}/providers/Microsoft.ContainerInstance/containerGroups/${record.name}/providers/Microsoft.Insights/metrics/${metric}`,
      type: 'Microsoft.Insights/metrics',
      name: { value: metric, localizedValue: metric.replace(/([a-z])([A-Z])/g, '$1 $2') },
      displayDescription: descriptions[metric],
      unit: metricUnits[metric],
      timeseries,
      errorCode: 'Success',
    };
  });
  return {
    status: 200,
    body: {
      cost: value.length * grainStarts.length,
      timespan: `${new Date(span.fromMs).toISOString()}/${new Date(span.untilMs).toISOString()}`,
      interval,
      value,
      namespace: 'Microsoft.ContainerInstance/containerGroups',
      resourceregion: record.spec.location,
    },
  };
}

/** `start/end` in ISO 8601; without one, the last hour (as Azure Monitor). */
function timespan(text: string | null, nowMs: number): { fromMs: number; untilMs: number } | ArmError {
  if (text === null) return { fromMs: nowMs - 3_600_000, untilMs: nowMs };
  const [from = '', until = ''] = text.split('/');
  const fromMs = Date.parse(from);
  const untilMs = Date.parse(until);
  if (Number.isNaN(fromMs) || Number.isNaN(untilMs) || untilMs <= fromMs) {
    return armError(
      400,
      'BadRequest',
      `Invalid timespan ${text}: it must be 'start/end', the end after the start.`,
    );
  }
  return { fromMs, untilMs };
}

/** The container names of `containerName eq 'a' or containerName eq 'b'`, '*' for all. */
function containerFilter(filter: string): string[] | '*' | undefined {
  const terms = filter.split(/\s+or\s+/i).map((t) => /^\s*containerName\s+eq\s+'([^']*)'\s*$/i.exec(t)?.[1]);
  if (terms.some((t) => t === undefined)) return undefined;
  return terms.includes('*') ? '*' : (terms as string[]);
}

function bad(message: string): Reply {
  return { status: 400, body: { error: { code: 'BadRequest', message } } };
}
