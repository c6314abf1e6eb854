/**
 * A mock instance's figures: each container uses its scripted CPU (funclet.io/mock-cpu) steadily
 * from the moment it starts, so its cumulative CPU is that rate times the time it has run, and its
 * working set is the scripted memory (funclet.io/mock-memory). Only running instances have figures.
 */
import type { PodStats } from '../types.ts';
import { mockContainerNames, mockRunTimes, instanceId, type MockInstance } from './instances.ts';
import { defaultMockCpuMillicores, defaultMockMemoryBytes } from './script.ts';

export function mockPodStats(
  instance: MockInstance,
  startDelayMs: number,
  nowMs: number,
): PodStats | undefined {
  const { startedAtMs, finishedAtMs } = mockRunTimes(instance, startDelayMs);
  if (nowMs < startedAtMs || nowMs >= finishedAtMs || instance.deletedAtMs !== undefined) return undefined;
  const cores = (instance.cpuMillicores ?? defaultMockCpuMillicores) / 1000;
  const memory = instance.memoryBytes ?? defaultMockMemoryBytes;
  return {
    ref: { provider: 'mock', id: instanceId(instance.node, instance.id), podUid: instance.podUid },
    atMs: nowMs,
    containers: mockContainerNames(instance).map((name) => ({
      name,
      startedAtMs,
      cpuUsageCoreNanoSeconds: Math.round(cores * (nowMs - startedAtMs) * 1e6),
      cpuUsageNanoCores: Math.round(cores * 1e9),
      memoryWorkingSetBytes: memory,
    })),
  };
}
