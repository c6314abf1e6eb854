/**
 * A container's requests and limits as cores, bytes and GPU counts. Requests are taken after the
 * API server's defaulting (a resource with a limit and no request requests its limit), so a pod
 * built by hand resolves as the same pod read back from the API server would.
 */
import type { V1Container } from '@kubernetes/client-node';
import { InvalidInputError } from '../../errors.ts';
import type { ResourceAmounts } from '../../providers/types.ts';
import { byteCount, cpuCores, wholeCount } from './quantity.ts';

export const gpuResource = 'nvidia.com/gpu';

export function containerResources(container: V1Container): {
  requests: ResourceAmounts;
  limits: ResourceAmounts;
} {
  const where = `container "${container.name}"`;
  return {
    requests: amounts(requestsOf(container), `${where} requests`),
    limits: amounts(container.resources?.limits ?? {}, `${where} limits`),
  };
}

function amounts(list: Readonly<Record<string, string>>, where: string): ResourceAmounts {
  const out: ResourceAmounts = {};
  try {
    if (list.cpu !== undefined) out.cpu = cpuCores(list.cpu);
    if (list.memory !== undefined) out.memoryBytes = byteCount(list.memory);
    if (list[gpuResource] !== undefined) out.gpu = wholeCount(list[gpuResource]);
  } catch (err) {
    throw new InvalidInputError(`${where}: ${err instanceof Error ? err.message : String(err)}`, {
      cause: err,
    });
  }
  return out;
}

/** The container's requests after API defaulting: an unset request takes its limit. */
export function requestsOf(container: V1Container): Record<string, string> {
  return { ...container.resources?.limits, ...container.resources?.requests };
}
