/**
 * When each container of a mock instance runs, computed from its row alone, as a kubelet would
 * run the pod's containers:
 * - nothing runs until startDelayMs after creation;
 * - init containers run one after another, each for its scripted time (default: it completes at
 *   once, exit code 0); one that exits non-zero ends the instance, and nothing after it starts;
 * - a native sidecar (an init container with restartPolicy Always) starts in its turn and the
 *   next container starts beside it; it runs until the app containers have all ended, then ends
 *   with exit code 0, as a sidecar that handles SIGTERM does;
 * - app containers start together once the init containers are done; each runs until its
 *   scripted exit, or until the instance is stopped;
 * - a stop (deletePod with a grace period) sends SIGTERM: the containers take `stopSeconds`
 *   (funclet.io/mock-stop-seconds, default 0) to exit, with code 0, unless the grace period
 *   runs out first, when they are killed (exit code 137).
 */
import type { ContainerState } from '../types.ts';

/** One container as an instance row keeps it (JSON); absent fields: runs until stopped. */
export interface MockContainer {
  name: string;
  image: string;
  exitCode?: number;
  exitAfterMs?: number;
  /** An init container with restartPolicy Always. */
  sidecar?: boolean;
}

/** What the timeline needs of an instance row. */
export interface MockTimelineInput {
  createdAtMs: number;
  containers: MockContainer[];
  initContainers: MockContainer[];
  stopSeconds?: number;
  stopRequestedAtMs?: number;
  stopGraceMs?: number;
}

export interface MockRun {
  name: string;
  /** Undefined: never starts (an init container before it failed). */
  startMs?: number;
  /** Infinity: runs until stopped. */
  endMs: number;
  exitCode: number;
}

export interface MockTimeline {
  /** When the instance's containers can first run (its sandbox is up). */
  sandboxAtMs: number;
  /** When the app containers start; undefined when an init container failed. */
  appsStartMs?: number;
  /** When the last container ended (Infinity while any runs). */
  endMs: number;
  initContainers: MockRun[];
  containers: MockRun[];
}

/** Exit code of a container the grace period ran out on (SIGKILL). */
export const killedExitCode = 137;

export function mockTimeline(instance: MockTimelineInput, startDelayMs: number): MockTimeline {
  const sandboxAtMs = instance.createdAtMs + startDelayMs;
  const stopMs = instance.stopSeconds === undefined ? 0 : instance.stopSeconds * 1000;
  const stop =
    instance.stopRequestedAtMs === undefined
      ? undefined
      : {
          atMs: instance.stopRequestedAtMs + Math.min(stopMs, instance.stopGraceMs ?? 0),
          exitCode: stopMs <= (instance.stopGraceMs ?? 0) ? 0 : killedExitCode,
        };
  const stopped = (run: MockRun): MockRun =>
    stop !== undefined && run.startMs !== undefined && run.endMs > stop.atMs
      ? { ...run, endMs: Math.max(stop.atMs, run.startMs), exitCode: stop.exitCode }
      : run;

  let cursor: number | undefined = sandboxAtMs;
  const inits: MockRun[] = [];
  const sidecars: number[] = [];
  for (const c of instance.initContainers) {
    if (cursor === undefined) {
      inits.push({ name: c.name, endMs: Number.POSITIVE_INFINITY, exitCode: 0 });
      continue;
    }
    if (c.sidecar === true) {
      sidecars.push(inits.length);
      inits.push({ name: c.name, startMs: cursor, endMs: Number.POSITIVE_INFINITY, exitCode: 0 });
      continue;
    }
    const run = stopped({
      name: c.name,
      startMs: cursor,
      endMs: cursor + (c.exitAfterMs ?? 0),
      exitCode: c.exitCode ?? 0,
    });
    inits.push(run);
    cursor = run.exitCode === 0 && (stop === undefined || run.endMs < stop.atMs) ? run.endMs : undefined;
  }
  const appsStartMs = cursor;
  const containers = instance.containers.map((c) =>
    appsStartMs === undefined
      ? { name: c.name, endMs: Number.POSITIVE_INFINITY, exitCode: 0 }
      : stopped({
          name: c.name,
          startMs: appsStartMs,
          endMs: c.exitCode === undefined ? Number.POSITIVE_INFINITY : appsStartMs + (c.exitAfterMs ?? 0),
          exitCode: c.exitCode ?? 0,
        }),
  );
  // Sidecars end when the pod's work has: its app containers, or the last init container that ran.
  const workEndMs =
    appsStartMs === undefined
      ? Math.max(
          sandboxAtMs,
          ...inits.filter((r, i) => r.startMs !== undefined && !sidecars.includes(i)).map((r) => r.endMs),
        )
      : Math.max(...containers.map((r) => r.endMs));
  for (const i of sidecars) {
    const run = inits[i]!;
    inits[i] = stopped({ ...run, endMs: Math.max(workEndMs, run.startMs ?? workEndMs) });
  }
  const started = [...inits, ...containers].filter((r) => r.startMs !== undefined);
  const endMs = started.length === 0 ? Number.POSITIVE_INFINITY : Math.max(...started.map((r) => r.endMs));
  return {
    sandboxAtMs,
    ...(appsStartMs === undefined ? {} : { appsStartMs }),
    endMs,
    initContainers: inits,
    containers,
  };
}

/** A container's state at nowMs; `waitingReason` is what it waits with once the sandbox is up. */
export function runState(
  run: MockRun,
  nowMs: number,
  sandboxAtMs: number,
  waitingReason: string,
): ContainerState {
  if (run.startMs === undefined || nowMs < run.startMs) {
    return { waiting: { reason: nowMs < sandboxAtMs ? 'ContainerCreating' : waitingReason } };
  }
  if (nowMs < run.endMs) return { running: { startedAtMs: run.startMs } };
  return {
    terminated: {
      exitCode: run.exitCode,
      reason: run.exitCode === 0 ? 'Completed' : 'Error',
      startedAtMs: run.startMs,
      finishedAtMs: run.endMs,
    },
  };
}
