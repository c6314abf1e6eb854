import { createHash } from 'node:crypto';
import type { ContainerView, PodPhase, ProviderPodView, ResolvedPod } from '../types.ts';
import type { MockScript } from './script.ts';

/** Pod annotations that script a mock instance, so tests can drive every pod outcome. */
export const MockAnnotation = {
  /** Exit code every container ends with, once exit-after has passed. */
  exitCode: 'funclet.io/mock-exit-code',
  /** Seconds after the instance started running that its containers exit. */
  exitAfterSeconds: 'funclet.io/mock-exit-after-seconds',
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
  /** JSON of [{ name, image }] for the app containers. */
  containers: string;
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
  return {
    node: pod.node,
    id: instanceRowKey(pod.uid, pod.attempt),
    namespace: pod.namespace,
    name: pod.name,
    podUid: pod.uid,
    attempt: pod.attempt,
    createdAtMs: nowMs,
    containers: JSON.stringify(pod.containers.map((c) => ({ name: c.name, image: c.image }))),
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

/**
 * When the instance's containers start (startDelayMs after creation) and, with an exit code
 * scripted, when they end (exitAfterMs after that); without one they run until deleted.
 */
export function mockRunTimes(
  instance: MockInstance,
  startDelayMs: number,
): { startedAtMs: number; finishedAtMs: number } {
  const startedAtMs = instance.createdAtMs + startDelayMs;
  const finishedAtMs =
    instance.exitCode !== undefined ? startedAtMs + (instance.exitAfterMs ?? 0) : Number.POSITIVE_INFINITY;
  return { startedAtMs, finishedAtMs };
}

/** The names of the instance's app containers. */
export function mockContainerNames(instance: MockInstance): string[] {
  return (JSON.parse(instance.containers) as { name: string }[]).map((c) => c.name);
}

/**
 * The instance's state at `nowMs`: Pending for startDelayMs, then Running; with an exit code
 * scripted, terminated exitAfterMs after it started (Succeeded for 0, Failed otherwise).
 */
export function mockPodView(instance: MockInstance, startDelayMs: number, nowMs: number): ProviderPodView {
  const containers = JSON.parse(instance.containers) as { name: string; image: string }[];
  const { startedAtMs, finishedAtMs } = mockRunTimes(instance, startDelayMs);
  const ref = {
    provider: 'mock' as const,
    id: instanceId(instance.node, instance.id),
    podUid: instance.podUid,
  };
  const base = {
    ref,
    namespace: instance.namespace,
    name: instance.name,
    node: instance.node,
    initContainers: [],
  };
  if (nowMs < startedAtMs) {
    return {
      ...base,
      phase: 'Pending',
      containers: containers.map((c) =>
        view(c, { waiting: { reason: 'ContainerCreating' } }, false, instance),
      ),
    };
  }
  if (nowMs >= finishedAtMs) {
    const exitCode = instance.exitCode ?? 0;
    const phase: PodPhase = exitCode === 0 ? 'Succeeded' : 'Failed';
    const reason = exitCode === 0 ? 'Completed' : 'Error';
    return {
      ...base,
      phase,
      podIP: mockPodIP(instance.podUid),
      startedAtMs,
      containers: containers.map((c) =>
        view(c, { terminated: { exitCode, reason, startedAtMs, finishedAtMs } }, false, instance),
      ),
    };
  }
  return {
    ...base,
    phase: 'Running',
    podIP: mockPodIP(instance.podUid),
    startedAtMs,
    containers: containers.map((c) => view(c, { running: { startedAtMs } }, true, instance)),
  };
}

function view(
  c: { name: string; image: string },
  state: ContainerView['state'],
  ready: boolean,
  instance: MockInstance,
): ContainerView {
  return {
    name: c.name,
    image: c.image,
    state,
    ready,
    restartCount: 0,
    containerId: `mock://${instance.id}/${c.name}`,
  };
}
