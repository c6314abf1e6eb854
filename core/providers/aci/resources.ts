/**
 * CPU and memory in ACI's terms, and the rule that keeps limits acceptable to ACI.
 *
 * ACI sizes a container group by the sum of its containers' requests; a container's limit is how
 * much of that total it may use. So ACI rejects a limit below the container's own request
 * (ResourceLimitsLessThanRequests) and a limit above the group total
 * (ContainerLimitGreaterThanContainerGroupTotalRequest), which Kubernetes allows. Our rule:
 *
 * - request = the Kubernetes request, else the limit (as Kubernetes defaults it), else 1 core and
 *   1.5 GB (ACI's own default, as upstream azure-aci does); rounded UP to ACI's granularity
 *   (0.01 core, 0.1 GB, GB = 10^9 bytes) so that a request is always honoured in full.
 * - limit (only when Kubernetes sets one) = rounded up, then clamped into
 *   [the container's request, the group total of requests]. A container can never use more than
 *   the group has, so clamping loses nothing ACI could have given.
 *
 * All arithmetic is in whole hundredths of a core and tenths of a GB, so sums are exact.
 */
import type { ResolvedContainer } from '../types.ts';

export interface AciResources {
  requests: { cpu: number; memoryInGB: number };
  limits?: { cpu?: number; memoryInGB?: number };
}

const defaultCentiCores = 100;
const defaultDeciGB = 15;
const bytesPerDeciGB = 100_000_000;

/** Cores to whole hundredths of a core, rounded up, at least 0.01. */
export function centiCores(cores: number): number {
  return Math.max(1, Math.ceil(cores * 100 - 1e-9));
}

/** Bytes to whole tenths of a GB, rounded up, at least 0.1 GB. */
export function deciGB(bytes: number): number {
  return Math.max(1, Math.ceil(bytes / bytesPerDeciGB - 1e-9));
}

/** A group's total request, in hundredths of a core and tenths of a GB. */
export interface GroupTotal {
  centiCores: number;
  deciGB: number;
}

/** Resources for each container, in order, following the rule above. */
export function containerResources(containers: readonly ResolvedContainer[]): AciResources[] {
  const total = groupTotal(containers);
  return containers.map((c) => resourcesFor(c, total));
}

export function groupTotal(containers: readonly ResolvedContainer[]): GroupTotal {
  return containers
    .map(requestUnits)
    .reduce((sum, r) => ({ centiCores: sum.centiCores + r.centiCores, deciGB: sum.deciGB + r.deciGB }), {
      centiCores: 0,
      deciGB: 0,
    });
}

export function resourcesFor(container: ResolvedContainer, total: GroupTotal): AciResources {
  const request = requestUnits(container);
  const resources: AciResources = {
    requests: { cpu: request.centiCores / 100, memoryInGB: request.deciGB / 10 },
  };
  const limits: NonNullable<AciResources['limits']> = {};
  if (container.limits.cpu !== undefined) {
    limits.cpu = clamp(centiCores(container.limits.cpu), request.centiCores, total.centiCores) / 100;
  }
  if (container.limits.memoryBytes !== undefined) {
    limits.memoryInGB = clamp(deciGB(container.limits.memoryBytes), request.deciGB, total.deciGB) / 10;
  }
  if (limits.cpu !== undefined || limits.memoryInGB !== undefined) resources.limits = limits;
  return resources;
}

function requestUnits(c: ResolvedContainer): GroupTotal {
  return {
    centiCores: amount(c.requests.cpu ?? c.limits.cpu, centiCores, defaultCentiCores),
    deciGB: amount(c.requests.memoryBytes ?? c.limits.memoryBytes, deciGB, defaultDeciGB),
  };
}

function amount(value: number | undefined, toUnits: (v: number) => number, fallback: number): number {
  return value === undefined || !Number.isFinite(value) || value <= 0 ? fallback : toUnits(value);
}

function clamp(value: number, min: number, max: number): number {
  return Math.min(Math.max(value, min), max);
}
