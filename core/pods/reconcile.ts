import type { V1Pod } from '@kubernetes/client-node';
import { ConflictError, InvalidInputError, NotFoundError } from '../errors.ts';
import { mergePatch, type KubeClients } from '../kube/clients.ts';
import { kubeError } from '../kube/errors.ts';
import type { Logger } from '../log.ts';
import { hasPodAddress, type Provider } from '../providers/provider.ts';
import type {
  ContainerState,
  CreatedInstance,
  ProviderPodView,
  ProviderRef,
  ResolvedPod,
} from '../providers/types.ts';
import type { PodRecord, PodRecords } from '../state/podRecords.ts';
import { decidePod, isTerminal, restartPolicyOf, type Decision } from './decide.ts';
import { recordPodEvent, type PodEvent } from './events.ts';
import {
  ContainerConfigError,
  needsPodAddress,
  resolvePodWithWarnings,
  type ResolverApi,
} from './resolve/index.ts';
import { podStatus, podStatusChanged, type StatusContext } from './status.ts';
import { recordBindToCreate } from '../telemetry/metrics.ts';
import { traceReconcile } from '../telemetry/podSpans.ts';

/** What reconciling a pod needs; built fresh per invocation. */
export interface PodDeps {
  kube: KubeClients;
  provider: Provider;
  records: PodRecords;
  resolver: ResolverApi;
  node: string;
  now: () => number;
  logger: Logger;
  backoffBaseMs: number;
}

/** The three views of one pod. Any may be missing. */
export interface PodViews {
  pod?: V1Pod;
  record?: PodRecord;
  view?: ProviderPodView;
}

export const PodOutcome = {
  created: 'created',
  restarted: 'restarted',
  statusPatched: 'statusPatched',
  deleted: 'deleted',
  collected: 'collected',
  stopped: 'stopped',
  failed: 'failed',
  refused: 'refused',
  configError: 'configError',
  waiting: 'waiting',
  forgotten: 'forgotten',
  unchanged: 'unchanged',
} as const;
export type PodOutcome = keyof typeof PodOutcome;

export interface Identity {
  namespace: string;
  name: string;
  uid: string;
}

/**
 * Decides from the three views and acts. A write that loses a race (ETag, resourceVersion)
 * reloads all three views and decides again; it never repeats an effect blindly.
 */
export function reconcilePod(deps: PodDeps, views: PodViews): Promise<PodOutcome[]> {
  const target = { node: deps.node, provider: deps.provider.name, ...identityOf(views) };
  return traceReconcile(target, () => reconcileViews(deps, views));
}

async function reconcileViews(deps: PodDeps, views: PodViews): Promise<PodOutcome[]> {
  const who = identityOf(views);
  const logger = deps.logger.child({ podNamespace: who.namespace, podName: who.name, podUid: who.uid });
  let current = views;
  for (let attempt = 1; ; attempt++) {
    const decision = decidePod({ ...current, nowMs: deps.now(), backoffBaseMs: deps.backoffBaseMs });
    try {
      const outcomes = await act(deps, logger, current, decision);
      if (outcomes.some((o) => o !== 'unchanged'))
        logger.info('pod reconciled', { action: decision.action, outcomes });
      return outcomes;
    } catch (err) {
      if (!(err instanceof ConflictError) || attempt >= 4) {
        logger.error('pod reconcile failed', { action: decision.action, error: err });
        throw err;
      }
      current = await reload(deps, who, current);
    }
  }
}

async function act(
  deps: PodDeps,
  logger: Logger,
  views: PodViews,
  decision: Decision,
): Promise<PodOutcome[]> {
  const { pod, record, view } = views;
  switch (decision.action) {
    case 'none':
      return ['unchanged'];
    case 'create':
      return startInstance(deps, logger, pod!, record, undefined);
    case 'restart':
      return startInstance(deps, logger, pod!, record, view);
    case 'update':
      return updateInstance(deps, logger, pod!, record, view!, decision.changed);
    case 'backoff':
      return [
        await postStatus(deps, pod!, view, {
          record,
          nowMs: deps.now(),
          phase: pod!.status?.phase === 'Running' ? 'Running' : 'Pending',
          waiting: {
            reason: 'CrashLoopBackOff',
            message: `back-off ${Math.ceil((decision.untilMs - deps.now()) / 1000)}s restarting the pod's ended instance`,
          },
          lastTerminations: view ? terminations(view) : undefined,
        }),
        'waiting',
      ];
    case 'status': {
      const adopted = await adopt(deps, pod!, record, view!);
      return [await postStatus(deps, pod!, view, { record: adopted, nowMs: deps.now() })];
    }
    case 'fail': {
      if (view) await deps.provider.deletePod(view.ref);
      const outcome = await postStatus(deps, pod!, undefined, {
        record,
        nowMs: deps.now(),
        verdict: { phase: 'Failed', reason: decision.reason, message: decision.message },
      });
      await event(deps, logger, pod!, {
        type: 'Warning',
        reason: decision.reason,
        message: decision.message,
      });
      return [outcome, 'failed'];
    }
    case 'deletePod':
      return deletePod(deps, logger, pod!, record, view);
    case 'stopInstance':
      await deps.provider.deletePod(view!.ref);
      return ['stopped'];
    case 'collect':
      await deps.provider.deletePod(view!.ref);
      if (record) await deps.records.delete(record);
      logger.info('deleted a provider instance no pod owns', { instance: view!.ref.id });
      return ['collected'];
    case 'forget':
      await deps.records.delete(record!);
      return ['forgotten'];
  }
}

/**
 * A running pod whose containers' images changed: as the kubelet kills a container whose
 * definition changed and starts it again with the new image (Killing, then Pulling), Funclet
 * stops the instance and starts the next attempt, which counts as a restart of its containers.
 */
async function updateInstance(
  deps: PodDeps,
  logger: Logger,
  pod: V1Pod,
  record: PodRecord | undefined,
  view: ProviderPodView,
  changed: { name: string; image: string; was: string }[],
): Promise<PodOutcome[]> {
  for (const c of changed) {
    await event(deps, logger, pod, {
      type: 'Normal',
      reason: 'Killing',
      message: `Container ${c.name} definition changed, will be restarted`,
    });
  }
  const outcomes = await startInstance(deps, logger, pod, record, view);
  if (outcomes.includes('restarted')) {
    for (const c of changed)
      await event(deps, logger, pod, {
        type: 'Normal',
        reason: 'Pulling',
        message: `Pulling image "${c.image}"`,
      });
  }
  return outcomes;
}

/** Creates the pod's instance (attempt + 1 when restarting), then records it, then reports it. */
async function startInstance(
  deps: PodDeps,
  logger: Logger,
  pod: V1Pod,
  record: PodRecord | undefined,
  ended: ProviderPodView | undefined,
): Promise<PodOutcome[]> {
  const restarting = record?.providerId !== undefined;
  const attempt = restarting ? record.attempt + 1 : (record?.attempt ?? 0);
  const nowMs = deps.now();

  let resolved: ResolvedPod;
  try {
    const podIP = await reservedPodIP(deps, pod, attempt);
    const result = await resolvePodWithWarnings(pod, deps.resolver, {
      node: deps.node,
      attempt,
      nowMs,
      ...(podIP !== undefined ? { podIP } : {}),
    });
    resolved = result.pod;
    for (const warning of result.warnings) {
      await event(deps, logger, pod, { type: 'Warning', reason: warning.reason, message: warning.message });
    }
  } catch (err) {
    if (err instanceof ContainerConfigError) {
      const outcome = await postStatus(deps, pod, undefined, {
        record,
        nowMs,
        waiting: { reason: 'CreateContainerConfigError', message: err.message },
      });
      await warnOnce(
        deps,
        logger,
        pod,
        record,
        { type: 'Warning', reason: 'Failed', message: `Error: ${err.message}` },
        'CreateContainerConfigError',
      );
      return [outcome, 'configError'];
    }
    if (err instanceof InvalidInputError)
      return refuse(deps, logger, pod, record, `the pod cannot run: ${err.message}`);
    throw err;
  }

  // Claim the start in the record first: of two invocations racing to start this pod, one wins
  // the ETag-guarded write; the other reloads, sees the claim and leaves the pod to the winner.
  const claim = await deps.records.save({
    ...(record ?? {
      ...recordKey(deps, pod),
      attempt,
    }),
    creatingSinceMs: nowMs,
  });
  if (restarting) await deps.provider.deletePod(refOf(deps, record));

  let created: CreatedInstance;
  try {
    created = await deps.provider.createPod(resolved);
    if (!restarting)
      recordBindToCreate(pod.status?.conditions, deps.now(), {
        node: deps.node,
        provider: deps.provider.name,
      });
  } catch (err) {
    // Release the claim so the next pass (or a retry of this one) need not wait for it to expire.
    const released = await deps.records.save({ ...claim, creatingSinceMs: undefined }).catch(() => undefined);
    if (err instanceof InvalidInputError) {
      // A release that failed leaves the claim as the record to build on (it expires on its own).
      return refuse(
        deps,
        logger,
        pod,
        released ?? claim,
        `${deps.provider.name} cannot run this pod: ${err.message}`,
      );
    }
    throw err;
  }

  const { view: answered, warnings: changes, ...ref } = created;
  // An instance that has already ended is left to the next decision (restart or final phase).
  const view = answered && !isTerminal(answered.phase) ? answered : undefined;
  const instanceRecord: PodRecord = {
    ...recordKey(deps, pod),
    providerId: ref.id,
    previousProviderId: restarting ? record.providerId : record?.previousProviderId,
    attempt,
    instanceCreatedAtMs: nowMs,
    startedAtMs: record?.startedAtMs ?? nowMs,
    lastTermination: ended ? JSON.stringify(terminations(ended)) : record?.lastTermination,
    lastResourceVersion: record?.lastResourceVersion,
    etag: claim.etag,
  };
  // What the provider said when it created the instance is posted at once (with the mock it may
  // already be Running); without it the pod is Pending until the provider is asked again.
  // The status goes before the record so that the record can name the resourceVersion the patch
  // made: the poke that version causes then costs one table read. A crash in between leaves the
  // claim and the instance, which the next pass adopts, as after a crash right after the create.
  const keepsRunning = restarting && pod.status?.phase === 'Running';
  const outcome = await postStatus(deps, pod, view, {
    record: instanceRecord,
    nowMs,
    startedFromSpec: true,
    ...(keepsRunning ? { phase: 'Running' } : view ? {} : { phase: 'Pending' }),
  });
  await deps.records.save({
    ...instanceRecord,
    ...(outcome === 'statusPatched' ? { lastResourceVersion: pod.metadata?.resourceVersion } : {}),
  });
  await event(deps, logger, pod, {
    type: 'Normal',
    reason: restarting ? 'Restarted' : 'Created',
    message: `${restarting ? `Restarted (attempt ${attempt}): created` : 'Created'} ${deps.provider.name} instance ${ref.id}`,
  });
  for (const change of changes ?? [])
    await event(deps, logger, pod, { type: 'Warning', reason: change.reason, message: change.message });
  return [restarting ? 'restarted' : 'created', outcome];
}

/**
 * A pod that cannot run as specified: Failed under restartPolicy Never, otherwise Pending with
 * the reason on its containers (retried each pass, in case the spec or the provider changes).
 */
async function refuse(
  deps: PodDeps,
  logger: Logger,
  pod: V1Pod,
  record: PodRecord | undefined,
  message: string,
): Promise<PodOutcome[]> {
  const never = restartPolicyOf(pod) === 'Never';
  const outcome = await postStatus(deps, pod, undefined, {
    record,
    nowMs: deps.now(),
    ...(never
      ? { verdict: { phase: 'Failed', reason: 'ProviderFailed', message } }
      : { waiting: { reason: 'ProviderFailed', message } }),
  });
  await warnOnce(
    deps,
    logger,
    pod,
    record,
    { type: 'Warning', reason: 'ProviderFailed', message },
    'ProviderFailed',
  );
  return [outcome, 'refused'];
}

/** Deletes the instance; once the provider no longer has it, removes the pod's record and then the pod. */
async function deletePod(
  deps: PodDeps,
  logger: Logger,
  pod: V1Pod,
  record: PodRecord | undefined,
  view: ProviderPodView | undefined,
): Promise<PodOutcome[]> {
  const ref = view?.ref ?? (record?.providerId !== undefined ? refOf(deps, record) : undefined);
  if (ref) {
    const gracePeriodSeconds = deletionGracePeriodSeconds(pod);
    if (view && !isTerminal(view.phase) && view.stopping !== true)
      await stoppingEvents(deps, logger, pod, view, gracePeriodSeconds);
    await deps.provider.deletePod(ref, { gracePeriodSeconds });
    const still = await deps.provider.getPod(ref);
    // An instance that has ended runs nothing any more, even if the provider still lists it.
    if (still && !isTerminal(still.phase)) {
      logger.info('waiting for the provider to finish deleting the instance', { instance: ref.id });
      return ['waiting'];
    }
  }
  // The record goes first: the DELETED event the pod's removal causes then finds no record and
  // costs one table read. A crash in between leaves a pod marked for deletion with no instance,
  // which the next pass removes.
  if (record) await deps.records.delete(record);
  const { namespace, name, uid } = identityOf({ pod });
  try {
    await deps.kube.core.deleteNamespacedPod({
      name,
      namespace,
      gracePeriodSeconds: 0,
      body: { gracePeriodSeconds: 0, preconditions: { uid } },
    });
  } catch (err) {
    const classified = kubeError(err, `delete pod ${namespace}/${name}`);
    // Gone already, or a new pod took the name (the UID precondition failed): nothing of ours left.
    if (!(classified instanceof NotFoundError) && !(classified instanceof ConflictError)) throw classified;
  }
  if (ref) logger.info('pod deleted', { instance: ref.id });
  return ['deleted'];
}

/**
 * The address the provider will give this attempt's instance, asked only of a pod whose env
 * needs it (status.podIP and the like) and only of a provider that knows it before the create.
 */
async function reservedPodIP(deps: PodDeps, pod: V1Pod, attempt: number): Promise<string | undefined> {
  if (!needsPodAddress(pod) || !hasPodAddress(deps.provider)) return undefined;
  return deps.provider.podAddress({ node: deps.node, uid: pod.metadata?.uid ?? '', attempt });
}

/**
 * The grace period a deleted pod's containers get, as the kubelet takes it: the delete's own
 * (the API server keeps it as deletionGracePeriodSeconds), else the pod's
 * terminationGracePeriodSeconds, else 30 s.
 */
export function deletionGracePeriodSeconds(pod: V1Pod): number {
  return Math.max(
    0,
    pod.metadata?.deletionGracePeriodSeconds ?? pod.spec?.terminationGracePeriodSeconds ?? 30,
  );
}

/** The kubelet's Killing Event per running container, and a Warning when the provider gives less grace. */
async function stoppingEvents(
  deps: PodDeps,
  logger: Logger,
  pod: V1Pod,
  view: ProviderPodView,
  gracePeriodSeconds: number,
): Promise<void> {
  for (const c of [...view.initContainers, ...view.containers]) {
    if ('running' in c.state)
      await event(deps, logger, pod, {
        type: 'Normal',
        reason: 'Killing',
        message: `Stopping container ${c.name}`,
      });
  }
  const limit = deps.provider.gracePeriodLimit;
  if (limit !== undefined && gracePeriodSeconds > limit.seconds)
    await event(deps, logger, pod, {
      type: 'Warning',
      reason: 'GracePeriodCut',
      message: `The pod's grace period is ${gracePeriodSeconds} s, but ${limit.why}`,
    });
}

/** Records an instance found in the provider but not (or not yet) in the record. */
async function adopt(
  deps: PodDeps,
  pod: V1Pod,
  record: PodRecord | undefined,
  view: ProviderPodView,
): Promise<PodRecord> {
  if (record?.providerId === view.ref.id) return record;
  return deps.records.save({
    ...recordKey(deps, pod),
    providerId: view.ref.id,
    previousProviderId: record?.previousProviderId,
    attempt: record?.attempt ?? 0,
    instanceCreatedAtMs: view.startedAtMs ?? deps.now(),
    startedAtMs: record?.startedAtMs ?? view.startedAtMs ?? deps.now(),
    lastTermination: record?.lastTermination,
    lastResourceVersion: record?.lastResourceVersion,
    etag: record?.etag,
  });
}

/**
 * Patches pods/status when what the kubelet would post differs from what the API server holds.
 * The patch carries the pod's resourceVersion: a merge patch replaces the conditions list whole,
 * so a condition another controller wrote since the pod was read (a readiness gate's, the taint
 * manager's DisruptionTarget) must not be overwritten with the older list. On a conflict the
 * pod is read again and the status computed again from it, up to four times.
 */
async function postStatus(
  deps: PodDeps,
  pod: V1Pod,
  view: ProviderPodView | undefined,
  ctx: StatusContext,
): Promise<PodOutcome> {
  const who = identityOf({ pod });
  let current = pod;
  for (let attempt = 1; ; attempt++) {
    const desired = podStatus(current, view, ctx);
    if (!podStatusChanged(current.status, desired)) return 'unchanged';
    const resourceVersion = current.metadata?.resourceVersion;
    try {
      // The UID in the patch makes the API server refuse it for a new pod that took the name.
      const patched = await deps.kube.core.patchNamespacedPodStatus(
        {
          name: who.name,
          namespace: who.namespace,
          body: {
            metadata: { uid: who.uid, ...(resourceVersion ? { resourceVersion } : {}) },
            status: desired,
          },
        },
        mergePatch,
      );
      pod.metadata = { ...current.metadata, resourceVersion: patched.metadata?.resourceVersion };
      pod.status = desired;
      return 'statusPatched';
    } catch (err) {
      const classified = kubeError(err, `patch status of pod ${who.namespace}/${who.name}`);
      if (classified instanceof NotFoundError) return 'unchanged';
      if (!(classified instanceof ConflictError) || attempt >= 4) throw classified;
      const fresh = await readOwnPod(deps, who);
      // Gone, or the name now belongs to another pod: nothing of this pod's left to report.
      if (!fresh) return 'unchanged';
      current = fresh;
      pod.metadata = fresh.metadata;
      pod.status = fresh.status;
    }
  }
}

async function warnOnce(
  deps: PodDeps,
  logger: Logger,
  pod: V1Pod,
  record: PodRecord | undefined,
  warning: PodEvent,
  reason: string,
): Promise<void> {
  if (record?.lastWarningReason === reason) return;
  await event(deps, logger, pod, warning);
  await deps.records.save({
    ...(record ?? { ...recordKey(deps, pod), attempt: 0 }),
    lastWarningReason: reason,
  });
}

function event(deps: PodDeps, logger: Logger, pod: V1Pod, e: PodEvent): Promise<void> {
  if (e.type === 'Warning') logger.warn(e.message, { reason: e.reason });
  return recordPodEvent(deps.kube, pod, e, { node: deps.node, nowMs: deps.now(), logger });
}

/**
 * The pod as the API server has it now, or undefined when it is gone, or when the name now
 * belongs to another pod (another UID) or to another node. Read as a list selected by node and
 * name, which is what the Node authorizer lets a node read whatever the pod's fate: a get of a
 * pod that is gone, or bound elsewhere, is refused (403) rather than answered 404.
 */
export async function readOwnPod(deps: PodDeps, who: Identity): Promise<V1Pod | undefined> {
  try {
    const listed = await deps.kube.core.listNamespacedPod({
      namespace: who.namespace,
      fieldSelector: `spec.nodeName=${deps.node},metadata.name=${who.name}`,
    });
    return listed.items.find((p) => p.metadata?.uid === who.uid);
  } catch (err) {
    throw kubeError(err, `read pod ${who.namespace}/${who.name}`);
  }
}

/** The three views of a pod read again: the pod, its record, and the instance the record (or `previous`) names. */
export async function reload(deps: PodDeps, who: Identity, previous: PodViews): Promise<PodViews> {
  const pod = await readOwnPod(deps, who);
  const record = await deps.records.get(deps.node, who.uid);
  const id = record?.providerId ?? previous.view?.ref.id;
  const view =
    id !== undefined
      ? await deps.provider.getPod({ provider: deps.provider.name, id, podUid: who.uid })
      : undefined;
  return { pod, record, view };
}

/** Which record a pod has: its node partition, UID, and the names that identify it in logs. */
function recordKey(deps: PodDeps, pod: V1Pod): Pick<PodRecord, 'node' | 'uid' | 'namespace' | 'name'> {
  const { namespace, name, uid } = identityOf({ pod });
  return { node: deps.node, uid, namespace, name };
}

function refOf(deps: PodDeps, record: PodRecord): ProviderRef {
  return { provider: deps.provider.name, id: record.providerId!, podUid: record.uid };
}

function terminations(view: ProviderPodView): Record<string, ContainerState> {
  return Object.fromEntries(
    [...view.initContainers, ...view.containers]
      .filter((c) => 'terminated' in c.state)
      .map((c) => [c.name, c.state]),
  );
}

export function identityOf(views: PodViews): Identity {
  const meta = views.pod?.metadata;
  return {
    namespace: meta?.namespace ?? views.record?.namespace ?? views.view?.namespace ?? '',
    name: meta?.name ?? views.record?.name ?? views.view?.name ?? '',
    uid: meta?.uid ?? views.record?.uid ?? views.view?.ref.podUid ?? '',
  };
}
