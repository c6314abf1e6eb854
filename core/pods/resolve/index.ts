/**
 * Pod resolution: everything a kubelet resolves about a pod before it runs it, producing the
 * ResolvedPod providers receive. One call is one pass: ConfigMaps, Secrets and Services are read
 * once per pass and never kept beyond it.
 *
 * Failures, by what the caller should do:
 * - ContainerConfigError (an InvalidInputError): a required ConfigMap, Secret, key or
 *   ServiceAccount is missing. Leave the pod Pending with reason CreateContainerConfigError, emit
 *   an Event, and resolve again on the next pass.
 * - other InvalidInputError: the spec asks for something that cannot be resolved (an unknown
 *   downward API field, an SCTP port, a malformed quantity); retrying will not help.
 * - anything else (ThrottledError, FuncletError from the API server): transient; retry.
 */
import type { V1Pod } from '@kubernetes/client-node';
import { InvalidInputError } from '../../errors.ts';
import type { ResolvedContainer, ResolvedPod, RestartPolicy } from '../../providers/types.ts';
import { perPass, type ResolverApi } from './api.ts';
import { resolveContainer } from './containers.ts';
import type { PodContext, ResolutionWarning, ResolveOptions } from './context.ts';
import { imagePullCredentials } from './pullSecrets.ts';
import { podSecurity } from './security.ts';
import { serviceLinkEnv } from './serviceLinks.ts';
import { podVolumes } from './volumes.ts';

export { kubeResolverApi, perPass, type ResolverApi, type TokenRequest } from './api.ts';
export type { ResolutionWarning, ResolveOptions } from './context.ts';
export { ContainerConfigError, type MissingReference } from './errors.ts';
export { needsPodAddress } from './downward.ts';
export { isKubeApiAccess, type ResolvedFilesVolume } from './volumes.ts';

export interface ResolvedPodWithWarnings {
  pod: ResolvedPod;
  /** What the kubelet would report as Warning Events: skipped env keys, missing pull secrets. */
  warnings: ResolutionWarning[];
}

export async function resolvePod(
  pod: V1Pod,
  api: ResolverApi,
  options: ResolveOptions,
): Promise<ResolvedPod> {
  return (await resolvePodWithWarnings(pod, api, options)).pod;
}

export async function resolvePodWithWarnings(
  pod: V1Pod,
  api: ResolverApi,
  options: ResolveOptions,
): Promise<ResolvedPodWithWarnings> {
  const { namespace, name, uid } = pod.metadata ?? {};
  if (!namespace || !name || !uid) {
    throw new InvalidInputError('a pod to resolve needs metadata.namespace, metadata.name and metadata.uid');
  }
  const spec = pod.spec;
  if (!spec) throw new InvalidInputError(`pod ${namespace}/${name} has no spec`);
  const os = podOS(pod);
  const ctx: PodContext = { pod, namespace, name, uid, api: perPass(api), options, warnings: [] };

  // Service links, volumes and pull secrets read independent things: they are read at once, and
  // their failures and warnings taken in the order the kubelet meets them (services, volumes,
  // containers, pull secrets), so the reason a pod reports does not depend on timing.
  const part = (): PodContext => ({ ...ctx, warnings: [] });
  const [vols, pulls] = [part(), part()];
  const [serviceEnvResult, volumesResult, pullsResult] = await Promise.allSettled([
    serviceLinkEnv(ctx.api, namespace, spec.enableServiceLinks !== false),
    podVolumes(vols),
    imagePullCredentials(pulls),
  ]);
  const serviceEnv = valueOf(serviceEnvResult);
  const { volumes, omitted } = valueOf(volumesResult);
  const initContainers: ResolvedContainer[] = [];
  for (const c of spec.initContainers ?? [])
    initContainers.push(await resolveContainer(ctx, c, serviceEnv, omitted));
  const containers: ResolvedContainer[] = [];
  for (const c of spec.containers) containers.push(await resolveContainer(ctx, c, serviceEnv, omitted));
  const imagePullCredentialsList = valueOf(pullsResult);
  ctx.warnings.unshift(...vols.warnings);
  ctx.warnings.push(...pulls.warnings);

  const resolved: ResolvedPod = {
    namespace,
    name,
    uid,
    node: options.node,
    labels: { ...pod.metadata?.labels },
    annotations: { ...pod.metadata?.annotations },
    os,
    restartPolicy: (spec.restartPolicy ?? 'Always') as RestartPolicy,
    containers,
    initContainers,
    volumes,
    imagePullCredentials: imagePullCredentialsList,
    nodeSelector: { ...spec.nodeSelector },
    attempt: options.attempt,
    createdAtMs: createdAtMs(pod, options.nowMs),
  };
  resolved.serviceAccountName = spec.serviceAccountName || 'default';
  if (spec.terminationGracePeriodSeconds !== undefined)
    resolved.terminationGracePeriodSeconds = spec.terminationGracePeriodSeconds;
  const security = podSecurity(pod);
  if (security) resolved.security = security;
  if (spec.dnsConfig) {
    resolved.dnsConfig = {
      nameservers: [...(spec.dnsConfig.nameservers ?? [])],
      searches: [...(spec.dnsConfig.searches ?? [])],
      options: (spec.dnsConfig.options ?? []).map((o) =>
        o.value === undefined ? { name: o.name ?? '' } : { name: o.name ?? '', value: o.value },
      ),
    };
  }
  return { pod: resolved, warnings: ctx.warnings };
}

function valueOf<T>(result: PromiseSettledResult<T>): T {
  if (result.status === 'rejected') throw result.reason;
  return result.value;
}

/** spec.os.name, else the kubernetes.io/os node selector, else linux. */
function podOS(pod: V1Pod): 'linux' | 'windows' {
  const os = pod.spec?.os?.name ?? pod.spec?.nodeSelector?.['kubernetes.io/os'] ?? 'linux';
  if (os !== 'linux' && os !== 'windows') {
    throw new InvalidInputError(
      `pod ${pod.metadata?.name ?? ''} asks for operating system ${os}; only linux and windows exist here`,
    );
  }
  return os;
}

function createdAtMs(pod: V1Pod, nowMs: number): number {
  const created = pod.metadata?.creationTimestamp as Date | string | undefined;
  if (created === undefined) return nowMs;
  const ms = created instanceof Date ? created.getTime() : Date.parse(created);
  return Number.isFinite(ms) ? ms : nowMs;
}
