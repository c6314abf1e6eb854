/**
 * Fargate runs a task only at one of a fixed set of CPU/memory sizes. A pod asks for whatever it
 * asks for; this rounds it up to the smallest size that holds it, or says in a sentence why none does.
 *
 * The table is AWS's "Task CPU and memory" list for the FARGATE launch type (Linux platform 1.4.0,
 * which 8 and 16 vCPU need; Windows only offers 1, 2 and 4 vCPU).
 */
import { InvalidInputError } from '../../errors.ts';

/** ECS CPU units: 1024 per vCPU. */
export const cpuUnitsPerCore = 1024;
const mib = 1024 * 1024;

export interface FargateSize {
  /** CPU units (1024 = 1 vCPU). */
  cpu: number;
  memoryMiB: number;
}

interface CpuRow {
  cpu: number;
  memoryMiB: readonly number[];
}

function range(from: number, to: number, step: number): number[] {
  const out: number[] = [];
  for (let m = from; m <= to; m += step) out.push(m);
  return out;
}

const linuxSizes: readonly CpuRow[] = [
  { cpu: 256, memoryMiB: [512, 1024, 2048] },
  { cpu: 512, memoryMiB: range(1024, 4096, 1024) },
  { cpu: 1024, memoryMiB: range(2048, 8192, 1024) },
  { cpu: 2048, memoryMiB: range(4096, 16384, 1024) },
  { cpu: 4096, memoryMiB: range(8192, 30720, 1024) },
  { cpu: 8192, memoryMiB: range(16384, 61440, 4096) },
  { cpu: 16384, memoryMiB: range(32768, 122880, 8192) },
];

const windowsSizes: readonly CpuRow[] = linuxSizes.filter((row) => row.cpu >= 1024 && row.cpu <= 4096);

/** Cores (0.25) to CPU units (256), rounded up; float noise such as 0.1 * 1024 = 102.4000001 is ignored. */
export function cpuUnits(cores: number): number {
  return Math.max(0, Math.ceil(cores * cpuUnitsPerCore - 1e-6));
}

/** Bytes to MiB, rounded up. */
export function mebibytes(bytes: number): number {
  return Math.ceil(bytes / mib);
}

/**
 * The smallest Fargate size with at least `cpu` units and `memoryMiB` of memory: the lowest CPU
 * row that can hold the memory, then the lowest memory of that row. Throws InvalidInputError when
 * the pod is larger than any Fargate task.
 */
export function fargateSizeFor(need: FargateSize, os: 'linux' | 'windows'): FargateSize {
  const rows = os === 'windows' ? windowsSizes : linuxSizes;
  for (const row of rows) {
    if (row.cpu < need.cpu) continue;
    const memoryMiB = row.memoryMiB.find((m) => m >= need.memoryMiB);
    if (memoryMiB !== undefined) return { cpu: row.cpu, memoryMiB };
  }
  const largest = rows.at(-1) ?? { cpu: 0, memoryMiB: [] };
  const largestMemory = largest.memoryMiB.at(-1) ?? 0;
  throw new InvalidInputError(
    `the pod needs ${describeCpu(need.cpu)} and ${describeMemory(need.memoryMiB)}, more than the largest ` +
      `${os === 'windows' ? 'Windows ' : ''}Fargate task (${describeCpu(largest.cpu)} and ${describeMemory(largestMemory)})`,
  );
}

function describeCpu(units: number): string {
  return `${round2(units / cpuUnitsPerCore)} vCPU`;
}

function describeMemory(memoryMiB: number): string {
  return memoryMiB >= 1024 ? `${round2(memoryMiB / 1024)} GiB of memory` : `${memoryMiB} MiB of memory`;
}

function round2(n: number): number {
  return Math.round(n * 100) / 100;
}
