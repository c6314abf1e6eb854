/**
 * The files of ConfigMap, Secret, downwardAPI and projected volumes, as the kubelet's volume
 * plugins write them (pkg/volume/{configmap,secret,downwardapi,projected}):
 * - without `items`, every key becomes a file of that name with the default mode (ConfigMap
 *   `binaryData` included); with `items`, only the listed keys, at their paths, with their modes;
 * - a missing optional object gives no files; a missing listed key of an optional object is
 *   skipped; anything else missing is a ContainerConfigError;
 * - projected sources are applied in order, a later file replacing an earlier one at the same
 *   path, all with the projected volume's default mode;
 * - the default mode is 0644 unless `defaultMode` says otherwise.
 * Modes that depend on fsGroup or runAsUser (the kubelet chowns and adds group bits) are not
 * applied: a VolumeFile carries no owner, so the permissive default is the one that keeps files
 * readable.
 */
import { posix } from 'node:path';
import type {
  V1ConfigMap,
  V1DownwardAPIVolumeFile,
  V1KeyToPath,
  V1Secret,
  V1ServiceAccountTokenProjection,
  V1VolumeProjection,
} from '@kubernetes/client-node';
import { InvalidInputError, NotFoundError } from '../../errors.ts';
import type { VolumeFile } from '../../providers/types.ts';
import { configMapFor, missing, secretFor, type PodContext } from './context.ts';
import { containerResourceValue, podContainer, podFieldValue } from './downward.ts';
import { ContainerConfigError } from './errors.ts';

export const defaultFileMode = 0o644;
export const defaultTokenExpirationSeconds = 3600;
export const minimumTokenExpirationSeconds = 600;

/** path -> file; Map so that a later source replaces an earlier file at the same path. */
export type Payload = Map<string, VolumeFile>;

export function payloadFiles(payload: Payload): VolumeFile[] {
  return [...payload.values()].sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
}

interface KeyedSource {
  name?: string;
  items?: V1KeyToPath[];
  optional?: boolean;
}

export async function configMapPayload(
  ctx: PodContext,
  source: KeyedSource,
  defaultMode: number,
  neededBy: string,
): Promise<Payload> {
  const configMap: V1ConfigMap | undefined = await configMapFor(
    ctx,
    source.name ?? '',
    source.optional,
    neededBy,
  );
  const text = configMap?.data ?? {};
  const binary = configMap?.binaryData ?? {};
  const contents = new Map<string, string>([
    ...Object.entries(text).map(([k, v]): [string, string] => [k, Buffer.from(v, 'utf8').toString('base64')]),
    ...Object.entries(binary),
  ]);
  return keyedPayload(contents, source, defaultMode, (key) =>
    missing({ kind: 'ConfigMap', namespace: ctx.namespace, name: source.name ?? '', key }, neededBy),
  );
}

export async function secretPayload(
  ctx: PodContext,
  source: KeyedSource,
  defaultMode: number,
  neededBy: string,
): Promise<Payload> {
  const secret: V1Secret | undefined = await secretFor(ctx, source.name ?? '', source.optional, neededBy);
  const contents = new Map(Object.entries(secret?.data ?? {}));
  return keyedPayload(contents, source, defaultMode, (key) =>
    missing({ kind: 'Secret', namespace: ctx.namespace, name: source.name ?? '', key }, neededBy),
  );
}

function keyedPayload(
  contents: ReadonlyMap<string, string>,
  source: KeyedSource,
  defaultMode: number,
  missingKey: (key: string) => Error,
): Payload {
  const payload: Payload = new Map();
  if (!source.items?.length) {
    for (const [path, contentBase64] of contents)
      payload.set(path, { path, contentBase64, mode: defaultMode });
    return payload;
  }
  for (const item of source.items) {
    const contentBase64 = contents.get(item.key);
    if (contentBase64 === undefined) {
      if (source.optional) continue;
      throw missingKey(item.key);
    }
    payload.set(item.path, { path: item.path, contentBase64, mode: item.mode ?? defaultMode });
  }
  return payload;
}

export function downwardPayload(
  ctx: PodContext,
  items: readonly V1DownwardAPIVolumeFile[],
  defaultMode: number,
): Payload {
  const payload: Payload = new Map();
  for (const item of items) {
    const path = posix.normalize(item.path);
    let value: string;
    if (item.fieldRef) value = podFieldValue(ctx.pod, item.fieldRef, ctx.options.podIP);
    else if (item.resourceFieldRef) {
      const containerName = item.resourceFieldRef.containerName;
      if (!containerName) {
        throw new InvalidInputError(`downward API file ${item.path}: resourceFieldRef needs a containerName`);
      }
      const container = podContainer(ctx.pod, containerName);
      value = containerResourceValue(container, item.resourceFieldRef, ctx.options.nodeAllocatable);
    } else value = '';
    payload.set(path, {
      path,
      contentBase64: Buffer.from(value, 'utf8').toString('base64'),
      mode: item.mode ?? defaultMode,
    });
  }
  return payload;
}

/** The projection kinds Funclet cannot produce; `undefined` when every source is supported. */
export function unsupportedProjection(sources: readonly V1VolumeProjection[]): string | undefined {
  for (const source of sources) {
    if (source.clusterTrustBundle) return 'projected.clusterTrustBundle';
    if (source.podCertificate) return 'projected.podCertificate';
  }
  return undefined;
}

export async function projectedPayload(
  ctx: PodContext,
  sources: readonly V1VolumeProjection[],
  defaultMode: number,
  neededBy: string,
): Promise<Payload> {
  const payload: Payload = new Map();
  const merge = (files: Payload) => {
    for (const [path, file] of files) payload.set(path, file);
  };
  for (const source of sources) {
    if (source.configMap) merge(await configMapPayload(ctx, source.configMap, defaultMode, neededBy));
    else if (source.secret) merge(await secretPayload(ctx, source.secret, defaultMode, neededBy));
    else if (source.downwardAPI) merge(downwardPayload(ctx, source.downwardAPI.items ?? [], defaultMode));
    else if (source.serviceAccountToken) {
      const file = await tokenFile(ctx, source.serviceAccountToken, defaultMode);
      payload.set(file.path, file);
    }
  }
  return payload;
}

/**
 * A TokenRequest for the pod's ServiceAccount, bound to the pod, as the kubelet's token manager
 * makes one: audience when given (else the API server's), expiry default 1 h, at least 10 min.
 */
async function tokenFile(
  ctx: PodContext,
  projection: V1ServiceAccountTokenProjection,
  mode: number,
): Promise<VolumeFile> {
  const expirationSeconds = projection.expirationSeconds ?? defaultTokenExpirationSeconds;
  if (expirationSeconds < minimumTokenExpirationSeconds) {
    throw new InvalidInputError(
      `serviceAccountToken ${projection.path}: expirationSeconds ${expirationSeconds} is below the minimum of ${minimumTokenExpirationSeconds}`,
    );
  }
  const serviceAccount = ctx.pod.spec?.serviceAccountName || 'default';
  let token: string;
  try {
    token = await ctx.api.serviceAccountToken(ctx.namespace, serviceAccount, {
      audience: projection.audience || undefined,
      expirationSeconds,
      podName: ctx.name,
      podUid: ctx.uid,
    });
  } catch (err) {
    if (!(err instanceof NotFoundError)) throw err;
    // The ServiceAccount (or, for a token bound to it, the pod) does not exist yet.
    throw new ContainerConfigError(
      `cannot get a token of ServiceAccount "${ctx.namespace}/${serviceAccount}" for pod ${ctx.name}: ${err.message}`,
      { cause: err, missing: { kind: 'ServiceAccount', namespace: ctx.namespace, name: serviceAccount } },
    );
  }
  return { path: projection.path, contentBase64: Buffer.from(token, 'utf8').toString('base64'), mode };
}
