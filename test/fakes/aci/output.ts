/**
 * What the fake's containers write and how much they use, scripted through their env as exits
 * are (store.ts), and computed from the fake's clock so that every read agrees with the last:
 *
 * - FAKE_ACI_LOG_LINES: text the container writes when each run starts, one line per line.
 * - FAKE_ACI_LOG_EVERY_SECONDS: one more line, `<container> tick <n>`, every this many seconds of
 *   the run.
 * - FAKE_ACI_CPU_MILLICORES, FAKE_ACI_MEMORY_BYTES: the container's per-minute averages, a
 *   comma-separated list taken in turn minute after minute (by the minute's number since the
 *   epoch, so the same minute always has the same figure; defaults 5 and 16 MiB).
 *
 * Logs are the current run's only: what the logs API has been reported to answer after ACI
 * restarted a container in place. Lines written with appendLogs count when they fall in it.
 */
import type { GroupStore, GroupRecord } from './store.ts';
import type { WireContainer } from './wire.ts';

export interface OutputLine {
  atMs: number;
  line: string;
}

export const minuteMs = 60_000;
const defaultCpuMillicores = '5';
const defaultMemoryBytes = String(16 * 1024 * 1024);

/** The container's current run: when it started, and when it ended if it has. */
export function currentRun(
  store: GroupStore,
  record: GroupRecord,
  container: WireContainer,
  init: boolean,
): { startMs: number; endMs: number } | undefined {
  const state = store.instanceView(record, container, init).currentState;
  if (state.state === 'Waiting' || state.startTime === undefined) return undefined;
  const endMs = state.finishTime === undefined ? Number.POSITIVE_INFINITY : Date.parse(state.finishTime);
  return { startMs: Date.parse(state.startTime), endMs };
}

/** Everything the container's current run has written by `nowMs`, oldest first. */
export function containerOutput(
  store: GroupStore,
  record: GroupRecord,
  container: WireContainer,
  init: boolean,
  nowMs: number,
): OutputLine[] {
  const run = currentRun(store, record, container, init);
  if (run === undefined) return [];
  const endMs = Math.min(run.endMs, nowMs);
  const env = envOf(container);
  const lines: OutputLine[] = [];
  const scripted = env.get('FAKE_ACI_LOG_LINES');
  if (scripted !== undefined) {
    for (const line of scripted.split('\n').filter((l, i, all) => l !== '' || i < all.length - 1)) {
      lines.push({ atMs: run.startMs, line });
    }
  }
  const everyMs = Number(env.get('FAKE_ACI_LOG_EVERY_SECONDS')) * 1000;
  if (everyMs > 0) {
    for (let n = 1; run.startMs + n * everyMs <= endMs; n++) {
      lines.push({ atMs: run.startMs + n * everyMs, line: `${container.name} tick ${n}` });
    }
  }
  for (const appended of record.logs.get(container.name) ?? []) {
    if (appended.atMs >= run.startMs && appended.atMs <= endMs) lines.push(appended);
  }
  // Stable: at one instant, the scripted lines come first, then ticks, then appended lines.
  return lines.sort((a, b) => a.atMs - b.atMs);
}

/**
 * The container's average for metric CpuUsage (millicores) or MemoryUsage (bytes) over the minute
 * starting at `minuteStartMs`, or undefined when it has none: the minute is not over yet, or the
 * container did not run in it. Metrics follow the container across in-place restarts.
 */
export function minuteAverage(
  store: GroupStore,
  record: GroupRecord,
  container: WireContainer,
  metric: 'CpuUsage' | 'MemoryUsage',
  minuteStartMs: number,
  nowMs: number,
): number | undefined {
  if (!store.isProvisioned(record) || minuteStartMs + minuteMs > nowMs) return undefined;
  const run = currentRun(store, record, container, false);
  if (run === undefined) return undefined;
  const aliveFromMs = record.readyAtMs;
  if (minuteStartMs + minuteMs <= aliveFromMs || minuteStartMs >= run.endMs) return undefined;
  const env = envOf(container);
  const list = (
    metric === 'CpuUsage'
      ? (env.get('FAKE_ACI_CPU_MILLICORES') ?? defaultCpuMillicores)
      : (env.get('FAKE_ACI_MEMORY_BYTES') ?? defaultMemoryBytes)
  )
    .split(',')
    .map(Number);
  const value = list[Math.floor(minuteStartMs / minuteMs) % list.length];
  return value === undefined || Number.isNaN(value) ? undefined : value;
}

function envOf(container: WireContainer): Map<string, string> {
  return new Map(
    (container.properties.environmentVariables ?? []).flatMap((e) =>
      e.value === undefined ? [] : [[e.name, e.value] as [string, string]],
    ),
  );
}
