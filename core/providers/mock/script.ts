/**
 * The output and resource use a mock pod scripts with its annotations (MockAnnotation), read
 * once when the instance is created and kept in its row, so that every later invocation computes
 * the same log lines and figures from the instance's own times. A malformed annotation refuses
 * the pod with a sentence naming it.
 */
import { InvalidInputError } from '../../errors.ts';
import { byteCount, cpuCores } from '../../pods/resolve/quantity.ts';
import type { ResolvedPod } from '../types.ts';
import { MockAnnotation } from './instances.ts';

/** What an instance row keeps of the script; absent fields take the defaults below. */
export interface MockScript {
  /** JSON array of the lines each container writes when it starts. */
  logLines?: string;
  /** One more line, `<container> tick <n>`, every this many seconds while it runs. */
  logEverySeconds?: number;
  /** Each container's steady CPU use, in millicores. */
  cpuMillicores?: number;
  /** Each container's working set, in bytes. */
  memoryBytes?: number;
}

/** Small figures for a pod that scripts none: a container idling. */
export const defaultMockCpuMillicores = 5;
export const defaultMockMemoryBytes = 16 * 1024 * 1024;

export function mockScript(pod: ResolvedPod): MockScript {
  const a = pod.annotations;
  const script: MockScript = {};
  const log = a[MockAnnotation.log];
  if (log !== undefined) {
    const lines = log.split('\n');
    if (lines.at(-1) === '') lines.pop();
    script.logLines = JSON.stringify(lines.map((line) => line.replace(/\r$/, '')));
  }
  const every = a[MockAnnotation.logEverySeconds];
  if (every !== undefined) {
    const seconds = Number(every);
    if (every.trim() === '' || !Number.isFinite(seconds) || seconds <= 0) {
      throw refusal(MockAnnotation.logEverySeconds, every, 'a number of seconds greater than 0');
    }
    script.logEverySeconds = seconds;
  }
  const cpu = a[MockAnnotation.cpu];
  if (cpu !== undefined) script.cpuMillicores = quantity(MockAnnotation.cpu, cpu, (q) => cpuCores(q) * 1000);
  const memory = a[MockAnnotation.memory];
  if (memory !== undefined) script.memoryBytes = quantity(MockAnnotation.memory, memory, byteCount);
  return script;
}

/** The script's lines, or none. */
export function scriptedLines(script: MockScript): string[] {
  if (script.logLines === undefined) return [];
  const parsed: unknown = JSON.parse(script.logLines);
  return Array.isArray(parsed) ? parsed.map(String) : [];
}

function quantity(annotation: string, text: string, parse: (q: string) => number): number {
  let value: number;
  try {
    value = parse(text.trim());
  } catch (err) {
    throw refusal(annotation, text, 'a Kubernetes quantity such as 250m or 64Mi', err);
  }
  if (!(value >= 0)) throw refusal(annotation, text, 'a quantity that is not negative');
  return value;
}

function refusal(annotation: string, value: string, wanted: string, cause?: unknown): InvalidInputError {
  return new InvalidInputError(`annotation ${annotation} is "${value}"; it must be ${wanted}`, { cause });
}
