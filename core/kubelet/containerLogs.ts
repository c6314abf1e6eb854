/**
 * `kubectl logs` on the function side: find the pod's instance for this node, ask the provider
 * for one chunk of the container's output, and say whether the run has ended. Following is the
 * relay's loop of such calls, each continuing from the last answer's cursor; the cursor carries
 * everything, so any function instance can serve the next call.
 */
import type { V1Pod } from '@kubernetes/client-node';
import { InvalidInputError, NotFoundError } from '../errors.ts';
import { kubeError } from '../kube/errors.ts';
import { hasLogs } from '../providers/provider.ts';
import type { ContainerView, ProviderRef } from '../providers/types.ts';
import { KubeletApiRefusal, type KubeletDeps } from './deps.ts';
import type { ContainerLogsAnswer, ContainerLogsRequest } from './protocol.ts';

/** What a cursor handed to the relay holds: the instance and run it belongs to, and the provider's own. */
interface FollowCursor {
  /** Provider instance id. */
  i: string;
  /** The container's restart count when the read began: an in-place restart ends the follow. */
  r: number;
  /** The provider's cursor. */
  c: string;
}

export async function containerLogs(
  deps: KubeletDeps,
  request: ContainerLogsRequest,
): Promise<ContainerLogsAnswer> {
  const { provider } = deps;
  if (!hasLogs(provider))
    throw new KubeletApiRefusal(501, `the ${provider.name} provider cannot read container logs`);
  const pod = await readPodOnNode(deps, request.namespace, request.pod);
  const uid = pod.metadata?.uid ?? '';
  if (!containerNames(pod).includes(request.container))
    throw new KubeletApiRefusal(404, `container "${request.container}" not found in pod "${request.pod}"`);

  const record = await deps.pods.get(deps.node.name, uid);
  const instanceId = request.previous ? record?.previousProviderId : record?.providerId;
  if (request.previous && instanceId === undefined && record?.providerId !== undefined) {
    // A provider that restarts containers in place (ACI) keeps the current run's output only.
    const current = await containerView(
      deps,
      { provider: provider.name, id: record.providerId, podUid: uid },
      request.container,
    );
    if ((current?.restartCount ?? 0) > 0)
      throw new KubeletApiRefusal(
        400,
        `previous terminated container "${request.container}" in pod "${request.pod}" is not available: ${provider.name} restarted it in place and keeps the output of its current run only`,
      );
  }
  if (instanceId === undefined) {
    throw new KubeletApiRefusal(
      400,
      request.previous
        ? `previous terminated container "${request.container}" in pod "${request.pod}" not found`
        : `container "${request.container}" in pod "${request.pod}" is waiting to start: ContainerCreating`,
    );
  }
  const ref: ProviderRef = { provider: provider.name, id: instanceId, podUid: uid };
  const previous = request.cursor === undefined ? undefined : decodeCursor(request.cursor);
  if (previous !== undefined && previous.i !== instanceId) {
    // The pod was restarted into a new instance since the follow began: that run is over.
    return { text: '', cursor: request.cursor ?? '', ended: true };
  }

  // The state is read before the output: a run that had ended by then has written everything
  // the read below returns, so once such a read comes back empty the follower may stop.
  const container = request.previous ? undefined : await containerView(deps, ref, request.container);
  const runEnded = request.previous === true || container === undefined || 'terminated' in container.state;
  const restartCount = container?.restartCount ?? previous?.r ?? 0;
  if (previous !== undefined && restartCount !== previous.r) {
    return { text: '', cursor: request.cursor ?? '', ended: true };
  }

  let chunk;
  try {
    chunk = await provider.containerLogs(
      ref,
      request.container,
      previous !== undefined
        ? { cursor: previous.c, timestamps: request.timestamps }
        : {
            tailLines: request.tailLines,
            sinceMs: request.sinceMs,
            timestamps: request.timestamps,
            limitBytes: request.limitBytes,
          },
    );
  } catch (err) {
    if (err instanceof NotFoundError) {
      if (previous !== undefined) return { text: '', cursor: request.cursor ?? '', ended: true };
      throw new KubeletApiRefusal(
        404,
        `the ${request.previous ? 'previous ' : ''}instance of pod "${request.pod}" is gone from ${provider.name}`,
      );
    }
    if (err instanceof InvalidInputError) throw new KubeletApiRefusal(400, err.message);
    throw err;
  }
  const cursor = encodeCursor({ i: instanceId, r: restartCount, c: chunk.cursor });
  // Ended once a read that began after the run ended comes back with nothing new: one more
  // read after the last lines also takes what a provider ingests late (CloudWatch Logs).
  return { text: chunk.text, cursor, ended: runEnded && chunk.text === '' };
}

/** The pod, if it exists and is bound to this node; the kubelet knows no other pods. */
export async function readPodOnNode(deps: KubeletDeps, namespace: string, name: string): Promise<V1Pod> {
  let pod: V1Pod;
  try {
    pod = await deps.kube.core.readNamespacedPod({ namespace, name });
  } catch (err) {
    const classified = kubeError(err, `read pod ${namespace}/${name}`);
    if (classified instanceof NotFoundError) throw new KubeletApiRefusal(404, `pod "${name}" does not exist`);
    throw classified;
  }
  if (pod.spec?.nodeName !== deps.node.name) throw new KubeletApiRefusal(404, `pod "${name}" does not exist`);
  return pod;
}

function containerNames(pod: V1Pod): string[] {
  return [...(pod.spec?.containers ?? []), ...(pod.spec?.initContainers ?? [])].map((c) => c.name);
}

async function containerView(
  deps: KubeletDeps,
  ref: ProviderRef,
  name: string,
): Promise<ContainerView | undefined> {
  const view = await deps.provider.getPod(ref);
  return [...(view?.containers ?? []), ...(view?.initContainers ?? [])].find((c) => c.name === name);
}

function encodeCursor(cursor: FollowCursor): string {
  return Buffer.from(JSON.stringify(cursor)).toString('base64url');
}

function decodeCursor(text: string): FollowCursor {
  try {
    const parsed = JSON.parse(Buffer.from(text, 'base64url').toString('utf8')) as Partial<FollowCursor>;
    if (typeof parsed.i === 'string' && typeof parsed.r === 'number' && typeof parsed.c === 'string')
      return parsed as FollowCursor;
  } catch {
    // fall through
  }
  throw new KubeletApiRefusal(400, 'the log cursor is not one this node handed out');
}
