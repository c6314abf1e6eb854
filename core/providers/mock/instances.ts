import { createHash } from 'node:crypto';
import type { ContainerView, PodPhase, ProviderPodView, ResolvedContainer, ResolvedPod } from '../types.ts';
import type { MockScript } from './script.ts';
import { mockTimeline, runState, type MockContainer, type MockRun } from './timeline.ts';

/** Pod annotations that script a mock instance, so tests can drive every pod outcome. */
export const MockAnnotation = {
  /**
   * Exit code every app container ends with, once exit-after has passed. With `.<container>`
   * after it (funclet.io/mock-exit-code.web), for that container alone, init containers included.
   */
  exitCode: 'funclet.io/mock-exit-code',
  /**
   * Seconds after the app containers started that they exit; with `.<container>`, that
   * container's (for an init container: how long it runs, default 0).
   */
  exitAfterSeconds: 'funclet.io/mock-exit-after-seconds',
  /** Seconds the containers take to exit after SIGTERM when the pod is deleted (default 0). */
  stopSeconds: 'funclet.io/mock-stop-seconds',
  /** createPod fails with this message, as a provider refusing the pod would. */
  createError: 'funclet.io/mock-create-error',
  /**
   * Text every container writes when it starts, one line per line of the value (a final newline
   * is ignored); each line is stamped with the container's start time.
   */
  log: 'funclet.io/mock-log',
  /** Seconds between the lines `<container> tick <n>` (n from 1) each container writes while it runs. */
  logEverySeconds: 'funclet.io/mock-log-every-seconds',
  /** Each container's steady CPU use, a quantity such as `250m` (default 5m). */
  cpu: 'funclet.io/mock-cpu',
  /** Each container's working set, a quantity such as `64Mi` (default 16Mi). */
  memory: 'funclet.io/mock-memory',
} as const;

/** One mock instance as stored in its table row, with what its annotations script (script.ts). */
export interface MockInstance extends MockScript {
  node: string;
  /** The row key: pod UID and attempt. */
  id: string;
  namespace: string;
  name: string;
  podUid: string;
  attempt: number;
  createdAtMs: number;
  /** JSON of the app containers, each with its scripted exit (timeline.ts MockContainer). */
  containers: string;
  /** JSON of the init containers, likewise; absent in rows written before init containers ran. */
  initContainers?: string;
  /** Seconds the containers take to exit after SIGTERM. */
  stopSeconds?: number;
  /** When deletePod sent SIGTERM, and the grace period it gave (timeline.ts). */
  stopRequestedAtMs?: number;
  stopGraceMs?: number;
  /** JSON of the env each container received, for tests to see what reached the provider. */
  env: string;
  exitCode?: number;
  exitAfterMs?: number;
  /** Set on the copy deletePod keeps of a deleted instance (logs.ts): its output ends here. */
  deletedAtMs?: number;
}

/** The row key of an instance: one per pod UID and attempt. */
export function instanceRowKey(podUid: string, attempt: number): string {
  return `${podUid}-${attempt}`;
}

/** The instance id in a ProviderRef names the node too, so the row is found with one point read. */
export function instanceId(node: string, rowKey: string): string {
  return `${node}:${rowKey}`;
}

export function parseInstanceId(id: string): { node: string; rowKey: string } {
  const at = id.lastIndexOf(':');
  return { node: id.slice(0, at), rowKey: id.slice(at + 1) };
}

export function newInstance(pod: ResolvedPod, nowMs: number): MockInstance {
  const exit = pod.annotations[MockAnnotation.exitCode];
  const after = pod.annotations[MockAnnotation.exitAfterSeconds];
  const stop = Number(pod.annotations[MockAnnotation.stopSeconds]);
  const scripted = (c: ResolvedContainer, init: boolean): MockContainer => {
    const code =
      integer(pod.annotations[`${MockAnnotation.exitCode}.${c.name}`]) ?? (init ? undefined : integer(exit));
    const seconds =
      secondsOf(pod.annotations[`${MockAnnotation.exitAfterSeconds}.${c.name}`]) ??
      (init ? undefined : secondsOf(after));
    return {
      name: c.name,
      image: c.image,
      ...(code === undefined ? {} : { exitCode: code }),
      ...(seconds === undefined ? {} : { exitAfterMs: seconds * 1000 }),
      ...(init && c.restartPolicy === 'Always' ? { sidecar: true } : {}),
    };
  };
  return {
    node: pod.node,
    id: instanceRowKey(pod.uid, pod.attempt),
    namespace: pod.namespace,
    name: pod.name,
    podUid: pod.uid,
    attempt: pod.attempt,
    createdAtMs: nowMs,
    containers: JSON.stringify(pod.containers.map((c) => scripted(c, false))),
    initContainers: JSON.stringify(pod.initContainers.map((c) => scripted(c, true))),
    ...(Number.isFinite(stop) && stop >= 0 ? { stopSeconds: stop } : {}),
    env: JSON.stringify(
      Object.fromEntries(
        pod.containers.map((c) => [c.name, Object.fromEntries(c.env.map((e) => [e.name, e.value]))]),
      ),
    ),
    ...(exit !== undefined && Number.isInteger(Number(exit)) ? { exitCode: Number(exit) } : {}),
    ...(after !== undefined && Number.isFinite(Number(after)) ? { exitAfterMs: Number(after) * 1000 } : {}),
  };
}

/** A stable, plausible pod IP for an instance. */
export function mockPodIP(podUid: string): string {
  const h = createHash('sha256').update(podUid).digest();
  return `10.${200 + (h[0]! % 50)}.${h[1]!}.${1 + (h[2]! % 254)}`;
}

/** The instance's containers and init containers as its row keeps them. */
export function mockContainers(instance: MockInstance): {
  containers: MockContainer[];
  initContainers: MockContainer[];
} {
  const containers = (JSON.parse(instance.containers) as MockContainer[]).map((c) => ({
    // Rows written before containers carried their own script take the instance's.
    ...(instance.exitCode === undefined ? {} : { exitCode: instance.exitCode }),
    ...(instance.exitAfterMs === undefined ? {} : { exitAfterMs: instance.exitAfterMs }),
    ...c,
  }));
  const initContainers =
    instance.initContainers === undefined ? [] : (JSON.parse(instance.initContainers) as MockContainer[]);
  return { containers, initContainers };
}

function timelineOf(instance: MockInstance, startDelayMs: number) {
  return mockTimeline({ ...instance, ...mockContainers(instance) }, startDelayMs);
}

/**
 * When the instance's app containers start (startDelayMs after creation, once its init containers
 * are done) and when the last of them ends; without a scripted exit they run until stopped.
 */
export function mockRunTimes(
  instance: MockInstance,
  startDelayMs: number,
): { startedAtMs: number; finishedAtMs: number } {
  const timeline = timelineOf(instance, startDelayMs);
  const startedAtMs = timeline.appsStartMs ?? Number.POSITIVE_INFINITY;
  const finishedAtMs = Math.max(...timeline.containers.map((r) => r.endMs));
  return { startedAtMs, finishedAtMs };
}

/** The names of the instance's app containers. */
export function mockContainerNames(instance: MockInstance): string[] {
  return (JSON.parse(instance.containers) as { name: string }[]).map((c) => c.name);
}

/**
 * The instance's state at `nowMs` (timeline.ts): Pending until its app containers start, Running
 * while any of them runs, then Succeeded when each exited 0 and Failed otherwise; Failed as soon
 * as an init container exits non-zero.
 */
export function mockPodView(instance: MockInstance, startDelayMs: number, nowMs: number): ProviderPodView {
  const { containers, initContainers } = mockContainers(instance);
  const timeline = timelineOf(instance, startDelayMs);
  const ref = {
    provider: 'mock' as const,
    id: instanceId(instance.node, instance.id),
    podUid: instance.podUid,
  };
  const appsWait = initContainers.length > 0 ? 'PodInitializing' : 'ContainerCreating';
  const views = (specs: MockContainer[], runs: MockRun[], waiting: string): ContainerView[] =>
    specs.map((c, i) => view(c, runs[i]!, nowMs, timeline.sandboxAtMs, waiting, instance));
  const appViews = views(containers, timeline.containers, appsWait);
  const initViews = views(initContainers, timeline.initContainers, 'PodInitializing');
  const failedInit = timeline.initContainers.find(
    (r) => r.startMs !== undefined && nowMs >= r.endMs && r.exitCode !== 0,
  );
  const appsEnded = timeline.containers.every((r) => r.startMs !== undefined && nowMs >= r.endMs);
  let phase: PodPhase;
  if (failedInit !== undefined) phase = 'Failed';
  else if (timeline.appsStartMs === undefined || nowMs < timeline.appsStartMs) phase = 'Pending';
  else if (appsEnded) phase = timeline.containers.every((r) => r.exitCode === 0) ? 'Succeeded' : 'Failed';
  else phase = 'Running';
  const up = nowMs >= timeline.sandboxAtMs;
  return {
    ref,
    namespace: instance.namespace,
    name: instance.name,
    node: instance.node,
    phase,
    ...(up ? { podIP: mockPodIP(instance.podUid), startedAtMs: timeline.sandboxAtMs } : {}),
    ...(instance.stopRequestedAtMs === undefined ? {} : { stopping: true }),
    containers: appViews,
    initContainers: initViews,
  };
}

function view(
  c: MockContainer,
  run: MockRun,
  nowMs: number,
  sandboxAtMs: number,
  waitingReason: string,
  instance: MockInstance,
): ContainerView {
  const state = runState(run, nowMs, sandboxAtMs, waitingReason);
  return {
    name: c.name,
    image: c.image,
    ...(c.sidecar === true ? { sidecar: true } : {}),
    state,
    ready: 'running' in state,
    restartCount: 0,
    containerId: `mock://${instance.id}/${c.name}`,
  };
}

function integer(text: string | undefined): number | undefined {
  return text !== undefined && text.trim() !== '' && Number.isInteger(Number(text))
    ? Number(text)
    : undefined;
}

function secondsOf(text: string | undefined): number | undefined {
  const n = Number(text);
  return text !== undefined && text.trim() !== '' && Number.isFinite(n) && n >= 0 ? n : undefined;
}
