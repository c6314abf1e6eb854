/**
 * `/metrics/resource`: the kubelet's resource metrics in the Prometheus text format, with the
 * names, labels and units metrics-server reads (pkg/kubelet/metrics/collectors/
 * resource_metrics.go), made from a stats summary.
 */
import type { Summary } from './statsSummary.ts';

interface Family {
  name: string;
  help: string;
  type: 'counter' | 'gauge';
  samples: { labels: Record<string, string>; value: number; atMs?: number }[];
}

export function resourceMetricsText(summary: Summary | undefined): string {
  const families: Family[] = [
    {
      name: 'container_cpu_usage_seconds_total',
      help: 'Cumulative cpu time consumed by the container in core-seconds',
      type: 'counter',
      samples: [],
    },
    {
      name: 'container_memory_working_set_bytes',
      help: 'Current working set of the container in bytes',
      type: 'gauge',
      samples: [],
    },
    {
      name: 'container_start_time_seconds',
      help: 'Start time of the container since unix epoch in seconds',
      type: 'gauge',
      samples: [],
    },
    {
      name: 'node_cpu_usage_seconds_total',
      help: 'Cumulative cpu time consumed by the node in core-seconds',
      type: 'counter',
      samples: [],
    },
    {
      name: 'node_memory_working_set_bytes',
      help: 'Current working set of the node in bytes',
      type: 'gauge',
      samples: [],
    },
    {
      name: 'pod_cpu_usage_seconds_total',
      help: 'Cumulative cpu time consumed by the pod in core-seconds',
      type: 'counter',
      samples: [],
    },
    {
      name: 'pod_memory_working_set_bytes',
      help: 'Current working set of the pod in bytes',
      type: 'gauge',
      samples: [],
    },
    {
      name: 'resource_scrape_error',
      help: '1 if there was an error while getting container metrics, 0 otherwise',
      type: 'gauge',
      samples: [],
    },
  ];
  const family = (name: string): Family => families.find((f) => f.name === name)!;

  if (summary === undefined) {
    family('resource_scrape_error').samples.push({ labels: {}, value: 1 });
  } else {
    const node = summary.node;
    family('node_cpu_usage_seconds_total').samples.push({
      labels: {},
      value: node.cpu.usageCoreNanoSeconds / 1e9,
      atMs: Date.parse(node.cpu.time),
    });
    family('node_memory_working_set_bytes').samples.push({
      labels: {},
      value: node.memory.workingSetBytes,
      atMs: Date.parse(node.memory.time),
    });
    for (const pod of summary.pods) {
      const podLabels = { namespace: pod.podRef.namespace, pod: pod.podRef.name };
      family('pod_cpu_usage_seconds_total').samples.push({
        labels: podLabels,
        value: pod.cpu.usageCoreNanoSeconds / 1e9,
        atMs: Date.parse(pod.cpu.time),
      });
      family('pod_memory_working_set_bytes').samples.push({
        labels: podLabels,
        value: pod.memory.workingSetBytes,
        atMs: Date.parse(pod.memory.time),
      });
      for (const c of pod.containers) {
        const labels = { container: c.name, namespace: pod.podRef.namespace, pod: pod.podRef.name };
        family('container_cpu_usage_seconds_total').samples.push({
          labels,
          value: c.cpu.usageCoreNanoSeconds / 1e9,
          atMs: Date.parse(c.cpu.time),
        });
        family('container_memory_working_set_bytes').samples.push({
          labels,
          value: c.memory.workingSetBytes,
          atMs: Date.parse(c.memory.time),
        });
        family('container_start_time_seconds').samples.push({
          labels,
          value: Date.parse(c.startTime) / 1000,
          atMs: Date.parse(c.startTime),
        });
      }
    }
    family('resource_scrape_error').samples.push({ labels: {}, value: 0 });
  }

  return families
    .filter((f) => f.samples.length > 0)
    .map(
      (f) =>
        `# HELP ${f.name} [STABLE] ${f.help}\n# TYPE ${f.name} ${f.type}\n` +
        f.samples
          .map(
            (s) =>
              `${f.name}${labelText(s.labels)} ${formatValue(s.value)}${s.atMs !== undefined ? ` ${s.atMs}` : ''}\n`,
          )
          .join(''),
    )
    .join('');
}

function labelText(labels: Record<string, string>): string {
  const entries = Object.entries(labels);
  if (entries.length === 0) return '';
  return `{${entries.map(([k, v]) => `${k}="${v.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n')}"`).join(',')}}`;
}

function formatValue(value: number): string {
  return Number.isInteger(value) ? String(value) : value.toPrecision(15).replace(/\.?0+$/, '');
}
