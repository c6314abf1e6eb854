import type { V1NodeCondition } from '@kubernetes/client-node';
import type { ProviderHealth } from '../providers/types.ts';

/** The conditions a kubelet reports, in the order kubectl shows them. */
export const NodeConditionType = {
  Ready: 'Ready',
  MemoryPressure: 'MemoryPressure',
  DiskPressure: 'DiskPressure',
  PIDPressure: 'PIDPressure',
  NetworkUnavailable: 'NetworkUnavailable',
} as const;
export type NodeConditionType = keyof typeof NodeConditionType;

/**
 * The node's conditions at `nowMs`. Compares each condition's status with the one the API
 * server holds: lastTransitionTime moves only when the status changes, lastHeartbeatTime always.
 * A provider that fails its health check makes the node Ready=False, so the scheduler stops
 * placing pods on it.
 */
export function nodeConditions(
  current: readonly V1NodeCondition[] | undefined,
  health: ProviderHealth,
  nowMs: number,
): V1NodeCondition[] {
  const now = new Date(nowMs);
  const wanted: Omit<V1NodeCondition, 'lastHeartbeatTime' | 'lastTransitionTime'>[] = [
    health.ok
      ? { type: 'Ready', status: 'True', reason: 'KubeletReady', message: 'Funclet is posting ready status' }
      : {
          type: 'Ready',
          status: 'False',
          reason: 'ProviderUnhealthy',
          message: health.message ?? 'the provider failed its health check',
        },
    {
      type: 'MemoryPressure',
      status: 'False',
      reason: 'KubeletHasSufficientMemory',
      message: 'the provider has memory available',
    },
    {
      type: 'DiskPressure',
      status: 'False',
      reason: 'KubeletHasNoDiskPressure',
      message: 'the provider has no disk pressure',
    },
    {
      type: 'PIDPressure',
      status: 'False',
      reason: 'KubeletHasSufficientPID',
      message: 'the provider has PIDs available',
    },
    {
      type: 'NetworkUnavailable',
      status: 'False',
      reason: 'RouteCreated',
      message: 'the provider configures networking',
    },
  ];
  return wanted.map((condition) => {
    const previous = current?.find((c) => c.type === condition.type);
    const unchanged = previous?.status === condition.status && previous.lastTransitionTime !== undefined;
    return {
      ...condition,
      lastHeartbeatTime: now,
      lastTransitionTime: unchanged ? previous.lastTransitionTime : now,
    };
  });
}

/** True when the API server's Ready condition is not what this node would report. */
export function readyNeedsRepost(current: readonly V1NodeCondition[] | undefined): boolean {
  const ready = current?.find((c) => c.type === 'Ready');
  return ready?.status !== 'True';
}
