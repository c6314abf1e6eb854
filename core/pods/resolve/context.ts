/**
 * What every step of one resolution pass shares: the pod, the (per-pass memoised) api, the
 * options, and the warnings collected along the way. Also the one place that turns a missing
 * ConfigMap or Secret into "skip" (optional) or ContainerConfigError (required).
 */
import type { V1ConfigMap, V1Pod, V1Secret } from '@kubernetes/client-node';
import type { ResolverApi } from './api.ts';
import { ContainerConfigError, describeReference, type MissingReference } from './errors.ts';

export interface ResolveOptions {
  /** The virtual node the pod runs on. */
  node: string;
  /** Which try this is: 0 for the first instance. */
  attempt: number;
  /** Now, epoch ms; stands in for a pod without a creationTimestamp. */
  nowMs: number;
  /**
   * The node's allocatable resources as quantities (`{ cpu: '1k', memory: '4Ti' }`): what the
   * downward API reports as a container's limit when it sets none, as the kubelet does. Without
   * it, such a limit falls back to the container's request.
   */
  nodeAllocatable?: Readonly<Record<string, string>>;
  /**
   * The IP the pod's instance will have, when the provider reserved it before the create
   * (PodAddressProvider): what status.podIP, podIPs, hostIP and hostIPs resolve to. Without it,
   * a pod whose env asks for them is refused (an InvalidInputError).
   */
  podIP?: string;
}

/** Something the kubelet would report as a Warning Event without failing the pod. */
export interface ResolutionWarning {
  /** The kubelet's Event reason, e.g. FailedToRetrieveImagePullSecret. */
  reason: string;
  message: string;
}

export interface PodContext {
  readonly pod: V1Pod;
  readonly namespace: string;
  readonly name: string;
  readonly uid: string;
  readonly api: ResolverApi;
  readonly options: ResolveOptions;
  readonly warnings: ResolutionWarning[];
}

/**
 * The ConfigMap, or undefined when it is missing and `optional`; missing and required is a
 * ContainerConfigError saying what needed it.
 */
export async function configMapFor(
  ctx: PodContext,
  name: string,
  optional: boolean | undefined,
  neededBy: string,
): Promise<V1ConfigMap | undefined> {
  const configMap = await ctx.api.getConfigMap(ctx.namespace, name);
  if (!configMap && !optional) throw missing({ kind: 'ConfigMap', namespace: ctx.namespace, name }, neededBy);
  return configMap;
}

/** As configMapFor, for Secrets. */
export async function secretFor(
  ctx: PodContext,
  name: string,
  optional: boolean | undefined,
  neededBy: string,
): Promise<V1Secret | undefined> {
  const secret = await ctx.api.getSecret(ctx.namespace, name);
  if (!secret && !optional) throw missing({ kind: 'Secret', namespace: ctx.namespace, name }, neededBy);
  return secret;
}

/** A ContainerConfigError for a reference the API server does not have. */
export function missing(ref: MissingReference, neededBy: string): ContainerConfigError {
  return new ContainerConfigError(`${describeReference(ref)} not found (needed by ${neededBy})`, {
    missing: ref,
  });
}

/** The UTF-8 text of a base64 Secret value, as the kubelet's string([]byte) gives it. */
export function decodeSecretValue(base64: string): string {
  return Buffer.from(base64, 'base64').toString('utf8');
}
