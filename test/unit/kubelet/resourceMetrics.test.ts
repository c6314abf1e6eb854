import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { resourceMetricsText } from '../../../core/kubelet/resourceMetrics.ts';
import type { Summary } from '../../../core/kubelet/statsSummary.ts';

const t = '2026-12-01T10:00:00.000Z';
const atMs = Date.parse(t);

describe('resource metrics', () => {
  it('writes the families metrics-server reads, with their labels, values and timestamps', () => {
    const summary: Summary = {
      node: {
        nodeName: 'vk',
        startTime: t,
        systemContainers: [],
        cpu: { time: t, usageNanoCores: 250_000_000, usageCoreNanoSeconds: 1_500_000_000 },
        memory: { time: t, workingSetBytes: 1024, usageBytes: 1024 },
      },
      pods: [
        {
          podRef: { name: 'p', namespace: 'ns', uid: 'u' },
          startTime: t,
          cpu: { time: t, usageNanoCores: 250_000_000, usageCoreNanoSeconds: 1_500_000_000 },
          memory: { time: t, workingSetBytes: 1024, usageBytes: 1024 },
          containers: [
            {
              name: 'c',
              startTime: '2026-12-01T09:59:00.000Z',
              cpu: { time: t, usageNanoCores: 250_000_000, usageCoreNanoSeconds: 1_500_000_000 },
              memory: { time: t, workingSetBytes: 1024, usageBytes: 1024 },
            },
          ],
        },
      ],
    };
    const text = resourceMetricsText(summary);
    const lines = text.split('\n').filter((l) => l !== '' && !l.startsWith('#'));
    assert.deepEqual(lines, [
      `container_cpu_usage_seconds_total{container="c",namespace="ns",pod="p"} 1.5 ${atMs}`,
      `container_memory_working_set_bytes{container="c",namespace="ns",pod="p"} 1024 ${atMs}`,
      `container_start_time_seconds{container="c",namespace="ns",pod="p"} ${atMs / 1000 - 60} ${atMs - 60_000}`,
      `node_cpu_usage_seconds_total 1.5 ${atMs}`,
      `node_memory_working_set_bytes 1024 ${atMs}`,
      `pod_cpu_usage_seconds_total{namespace="ns",pod="p"} 1.5 ${atMs}`,
      `pod_memory_working_set_bytes{namespace="ns",pod="p"} 1024 ${atMs}`,
      'resource_scrape_error 0',
    ]);
    assert.match(text, /# TYPE container_cpu_usage_seconds_total counter\n/);
    assert.match(text, /# TYPE node_memory_working_set_bytes gauge\n/);
  });

  it('reports a scrape error when there are no figures', () => {
    assert.equal(
      resourceMetricsText(undefined)
        .split('\n')
        .filter((l) => l !== '' && !l.startsWith('#'))
        .join('\n'),
      'resource_scrape_error 1',
    );
  });
});
