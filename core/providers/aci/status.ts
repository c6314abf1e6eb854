/**
 * What a container group (as GET returns it, with its instance view) says about the pod.
 *
 * Phase, following Kubernetes' rules over ACI's container states (of the app containers: a
 * sidecar still running does not hold a finished pod open):
 * - Failed when provisioning failed, or when every container has terminated, at least one with a
 *   non-zero exit code, and the restart policy will not restart it (Never), or an init container
 *   failed under Never.
 * - Succeeded when every container has terminated with exit code 0 and the policy will not
 *   restart them (Never, OnFailure).
 * - Running once a container runs, or has run and is being restarted.
 * - Pending otherwise: provisioning, pulling, init containers still running.
 * Times are epoch milliseconds; ACI's instance view events are surfaced as provider events.
 */
import type {
  ContainerGroup,
  ContainerState as AciContainerState,
  Event,
} from '@azure/arm-containerinstance';
import type { ContainerState, ContainerView, PodPhase, ProviderPodView } from '../types.ts';
import { taggedPod, taggedSidecars } from './tags.ts';

type ProviderEvent = NonNullable<ProviderPodView['events']>[number];

interface AciContainerLike {
  name: string;
  image?: string;
  instanceView?: {
    restartCount?: number;
    currentState?: AciContainerState;
    previousState?: AciContainerState;
    events?: Event[];
  };
}

/** The pod view of a Funclet container group, or undefined when the group lacks Funclet's tags. */
export function podViewFromContainerGroup(group: ContainerGroup): ProviderPodView | undefined {
  const pod = taggedPod(group.tags);
  if (pod === undefined || group.name === undefined) return undefined;
  // The pod's sidecars run as containers of the group (mapping.ts): reported as init containers.
  const sidecarNames = taggedSidecars(group.tags);
  const all = group.containers.map(containerView);
  const containers = all.filter((c) => !sidecarNames.has(c.name));
  const sidecars = all.filter((c) => sidecarNames.has(c.name)).map((c) => ({ ...c, sidecar: true }));
  const initContainers = [...(group.initContainers ?? []).map(containerView), ...sidecars];
  const { phase, reason, message } = podPhase(group, containers, initContainers);

  const view: ProviderPodView = {
    ref: { provider: 'aci', id: group.name, podUid: pod.uid },
    namespace: pod.namespace,
    name: pod.name,
    node: pod.node,
    phase,
    containers,
    initContainers,
    events: podEvents(group),
  };
  if (group.provisioningState?.toLowerCase() === 'deleting') view.stopping = true;
  if (reason !== undefined) view.reason = reason;
  if (message !== undefined) view.message = message;
  if (group.ipAddress?.ip !== undefined) view.podIP = group.ipAddress.ip;
  const startedAtMs = earliest([...initContainers, ...containers].map(startedAt));
  if (startedAtMs !== undefined) view.startedAtMs = startedAtMs;
  return view;
}

function podPhase(
  group: ContainerGroup,
  containers: ContainerView[],
  initContainers: ContainerView[],
): { phase: PodPhase; reason?: string; message?: string } {
  const restartPolicy = group.restartPolicy ?? 'Always';
  if (group.provisioningState?.toLowerCase() === 'failed') {
    const warning = podEvents(group)
      .filter((e) => e.type === 'Warning')
      .at(-1);
    return {
      phase: 'Failed',
      reason: 'ProviderFailed',
      message: warning?.message ?? 'ACI could not provision the container group.',
    };
  }
  const failedInit = initContainers.find((c) => c.sidecar !== true && (exitCode(c) ?? 0) !== 0);
  if (failedInit !== undefined && restartPolicy === 'Never') {
    return {
      phase: 'Failed',
      reason: 'InitContainerFailed',
      message: `Init container "${failedInit.name}" failed.`,
    };
  }
  if (containers.length > 0 && containers.every((c) => exitCode(c) !== undefined)) {
    const failed = containers.find((c) => exitCode(c) !== 0);
    // A stopped group (az container stop) restarts nothing, whatever its policy.
    const final = restartPolicy === 'Never' || group.instanceView?.state?.toLowerCase() === 'stopped';
    if (failed === undefined && (final || restartPolicy === 'OnFailure')) return { phase: 'Succeeded' };
    if (failed !== undefined && final) {
      const message = `Container "${failed.name}" exited with code ${exitCode(failed) ?? 0}.`;
      return { phase: 'Failed', reason: 'Error', message };
    }
  }
  const started = containers.some(
    (c) => 'running' in c.state || c.restartCount > 0 || 'terminated' in c.state,
  );
  return { phase: started ? 'Running' : 'Pending' };
}

function exitCode(container: ContainerView): number | undefined {
  return 'terminated' in container.state ? container.state.terminated.exitCode : undefined;
}

function containerView(container: AciContainerLike): ContainerView {
  const view = container.instanceView;
  const state = containerState(view?.currentState);
  const previous = view?.previousState ? containerState(view.previousState) : undefined;
  return {
    name: container.name,
    image: container.image ?? '',
    state,
    // ACI restarts containers itself (restartPolicy Always/OnFailure); the ended run is lastState.
    ...(previous && 'terminated' in previous ? { lastState: previous } : {}),
    restartCount: view?.restartCount ?? 0,
    // ACI does not report readiness probe results: a running container is the best it tells us.
    ready: 'running' in state,
  };
}

function containerState(current: AciContainerState | undefined): ContainerState {
  const detail = current?.detailStatus?.trim() ?? '';
  const startedAtMs = epochMs(current?.startTime);
  switch (current?.state?.toLowerCase()) {
    case 'running':
      return { running: startedAtMs === undefined ? {} : { startedAtMs } };
    case 'terminated': {
      const exitCode = current.exitCode ?? 0;
      const terminated: Extract<ContainerState, { terminated: unknown }>['terminated'] = {
        exitCode,
        reason: word(detail) ?? (exitCode === 0 ? 'Completed' : 'Error'),
      };
      if (detail !== '' && word(detail) === undefined) terminated.message = detail;
      if (startedAtMs !== undefined) terminated.startedAtMs = startedAtMs;
      const finishedAtMs = epochMs(current.finishTime);
      if (finishedAtMs !== undefined) terminated.finishedAtMs = finishedAtMs;
      return { terminated };
    }
    default: {
      // Waiting, or no state yet while the group provisions.
      const waiting: { reason: string; message?: string } = {
        reason: word(detail.split(':')[0] ?? '') ?? 'ContainerCreating',
      };
      if (detail !== '') waiting.message = detail;
      return { waiting };
    }
  }
}

/** ACI's detailStatus as a Kubernetes reason when it is one word (e.g. OOMKilled, CrashLoopBackOff). */
function word(text: string): string | undefined {
  const trimmed = text.trim();
  return /^[A-Za-z][A-Za-z0-9]*$/.test(trimmed) ? trimmed : undefined;
}

function epochMs(time: Date | string | undefined): number | undefined {
  const ms = time === undefined ? NaN : new Date(time).getTime();
  return Number.isNaN(ms) ? undefined : ms;
}

function startedAt(container: ContainerView): number | undefined {
  const state = container.state;
  if ('running' in state) return state.running.startedAtMs;
  if ('terminated' in state) return state.terminated.startedAtMs;
  return undefined;
}

function earliest(times: (number | undefined)[]): number | undefined {
  const known = times.filter((t): t is number => t !== undefined);
  return known.length === 0 ? undefined : Math.min(...known);
}

function podEvents(group: ContainerGroup): ProviderEvent[] {
  const events: ProviderEvent[] = [];
  const add = (event: Event, prefix: string): void => {
    events.push({
      reason: event.name ?? 'ACI',
      message: `${prefix}${event.message ?? ''}`,
      type: event.type?.toLowerCase() === 'warning' ? 'Warning' : 'Normal',
      atMs: epochMs(event.lastTimestamp ?? event.firstTimestamp) ?? 0,
    });
  };
  for (const event of group.instanceView?.events ?? []) add(event, '');
  for (const c of [...(group.initContainers ?? []), ...group.containers]) {
    for (const event of c.instanceView?.events ?? []) add(event, `container ${c.name}: `);
  }
  return events.sort((a, b) => a.atMs - b.atMs);
}
