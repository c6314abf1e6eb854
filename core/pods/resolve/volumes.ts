/**
 * Pod volumes, resolved to what a provider can create:
 * - emptyDir -> emptyDir with its size limit in bytes and medium;
 * - configMap, secret, downwardAPI, projected -> files (see files.ts);
 * - azureFile -> the share, with account name and key read from its Secret;
 * - anything else -> unsupported, naming the type, for the provider to refuse.
 *
 * The `kube-api-access-*` volume the ServiceAccount admission plugin injects resolves like any
 * projected volume and is marked `automatic`, so a provider can tell the user's volumes from it.
 * A pod with `automountServiceAccountToken: false` gets no token: such a volume is left out,
 * with the mounts of it, and a warning says so.
 */
import type { V1Volume } from '@kubernetes/client-node';
import type { ResolvedVolume } from '../../providers/types.ts';
import { decodeSecretValue, missing, secretFor, type PodContext } from './context.ts';
import {
  configMapPayload,
  defaultFileMode,
  downwardPayload,
  payloadFiles,
  projectedPayload,
  secretPayload,
  unsupportedProjection,
  type Payload,
} from './files.ts';
import { byteCount } from './quantity.ts';

/** A files volume, with `automatic` on the one Kubernetes injected for API access. */
export type ResolvedFilesVolume = Extract<ResolvedVolume, { kind: 'files' }> & { automatic?: boolean };

export const kubeApiAccessPrefix = 'kube-api-access-';

export interface PodVolumes {
  volumes: ResolvedVolume[];
  /** Names of volumes deliberately left out; mounts of them are dropped too. */
  omitted: Set<string>;
}

export async function podVolumes(ctx: PodContext): Promise<PodVolumes> {
  const volumes: ResolvedVolume[] = [];
  const omitted = new Set<string>();
  for (const volume of ctx.pod.spec?.volumes ?? []) {
    const automatic = isKubeApiAccess(volume);
    if (automatic && ctx.pod.spec?.automountServiceAccountToken === false) {
      omitted.add(volume.name);
      ctx.warnings.push({
        reason: 'ServiceAccountTokenNotMounted',
        message: `Volume ${volume.name} was not mounted since the pod sets automountServiceAccountToken to false.`,
      });
      continue;
    }
    const resolved = await resolveVolume(ctx, volume);
    if (automatic && resolved.kind === 'files') {
      const marked: ResolvedFilesVolume = { ...resolved, automatic: true };
      volumes.push(marked);
    } else volumes.push(resolved);
  }
  return { volumes, omitted };
}

async function resolveVolume(ctx: PodContext, volume: V1Volume): Promise<ResolvedVolume> {
  const { name } = volume;
  const neededBy = `volume "${name}"`;
  const files = (source: ResolvedFilesVolume['source'], payload: Payload): ResolvedFilesVolume => ({
    name,
    kind: 'files',
    source,
    files: payloadFiles(payload),
  });

  if (volume.emptyDir) {
    const { medium = '', sizeLimit } = volume.emptyDir;
    if (medium !== '' && medium !== 'Memory')
      return { name, kind: 'unsupported', type: `emptyDir.${medium}` };
    return {
      name,
      kind: 'emptyDir',
      medium,
      ...(sizeLimit !== undefined ? { sizeLimitBytes: byteCount(sizeLimit) } : {}),
    };
  }
  if (volume.configMap) {
    const source = volume.configMap;
    const mode = source.defaultMode ?? defaultFileMode;
    return files('configMap', await configMapPayload(ctx, source, mode, neededBy));
  }
  if (volume.secret) {
    const source = volume.secret;
    const mode = source.defaultMode ?? defaultFileMode;
    const ref = { name: source.secretName, items: source.items, optional: source.optional };
    return files('secret', await secretPayload(ctx, ref, mode, neededBy));
  }
  if (volume.downwardAPI) {
    const mode = volume.downwardAPI.defaultMode ?? defaultFileMode;
    return files('downwardAPI', downwardPayload(ctx, volume.downwardAPI.items ?? [], mode));
  }
  if (volume.projected) {
    const sources = volume.projected.sources ?? [];
    const unsupported = unsupportedProjection(sources);
    if (unsupported) return { name, kind: 'unsupported', type: unsupported };
    const mode = volume.projected.defaultMode ?? defaultFileMode;
    return files('projected', await projectedPayload(ctx, sources, mode, neededBy));
  }
  if (volume.azureFile) {
    const { secretName, shareName, readOnly } = volume.azureFile;
    const secret = await secretFor(ctx, secretName, false, neededBy);
    const value = (key: string): string => {
      const encoded = secret?.data?.[key];
      if (encoded === undefined) {
        throw missing({ kind: 'Secret', namespace: ctx.namespace, name: secretName, key }, neededBy);
      }
      return decodeSecretValue(encoded);
    };
    return {
      name,
      kind: 'azureFile',
      shareName,
      storageAccountName: value('azurestorageaccountname'),
      storageAccountKey: value('azurestorageaccountkey'),
      readOnly: readOnly ?? false,
    };
  }
  return { name, kind: 'unsupported', type: volumeType(volume) };
}

/** The volume source's field name (hostPath, persistentVolumeClaim, csi...). */
function volumeType(volume: V1Volume): string {
  return (
    Object.keys(volume).find((key) => key !== 'name' && volume[key as keyof V1Volume] != null) ?? 'unknown'
  );
}

/**
 * The projected volume the ServiceAccount admission plugin injects: named kube-api-access-*, a
 * token at `token`, ca.crt from the kube-root-ca.crt ConfigMap, and the namespace.
 */
export function isKubeApiAccess(volume: V1Volume): boolean {
  const sources = volume.projected?.sources;
  if (!volume.name.startsWith(kubeApiAccessPrefix) || sources?.length !== 3) return false;
  return (
    sources.some((s) => s.serviceAccountToken?.path === 'token') &&
    sources.some((s) => s.configMap?.name === 'kube-root-ca.crt') &&
    sources.some((s) =>
      s.downwardAPI?.items?.some(
        (i) => i.path === 'namespace' && i.fieldRef?.fieldPath === 'metadata.namespace',
      ),
    )
  );
}
