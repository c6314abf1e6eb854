import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  KubernetesObjectApi,
  loadAllYaml,
  type KubeConfig,
  type KubernetesObject,
} from '@kubernetes/client-node';
import { apiStatus } from '../core/kube/errors.ts';

/**
 * infra/k8s: the namespace, ServiceAccounts and least-privilege RBAC Funclet needs in a cluster,
 * the relay and its NetworkPolicy, as the Helm chart infra/helm/funclet renders them
 * (cli/chart.ts; test/infra/helm.test.ts checks they are current).
 */
export const k8sManifestDir = fileURLToPath(new URL('../infra/k8s/', import.meta.url));

/**
 * Every object in the YAML files of `dir`, in file order: the namespace, ServiceAccounts and
 * RBAC. The relay Deployment is left out: it needs an image and settings, and is installed by
 * `funclet attach` (or `kubectl apply -k infra/k8s`) once both exist.
 */
export function readManifests(dir = k8sManifestDir, files?: readonly string[]): KubernetesObject[] {
  const names =
    files ??
    readdirSync(dir)
      .filter((f) => f.endsWith('.yaml') && f !== 'kustomization.yaml' && f !== 'relay-deployment.yaml')
      .sort();
  return names.flatMap((f) => loadAllYaml(readFileSync(join(dir, f), 'utf8')) as KubernetesObject[]);
}

/** Creates each object, replacing it when it already exists. Namespaces go first. */
export async function applyManifests(kc: KubeConfig, objects: readonly KubernetesObject[]): Promise<void> {
  const api = KubernetesObjectApi.makeApiClient(kc);
  const ordered = [...objects].sort(
    (a, b) => Number(b.kind === 'Namespace') - Number(a.kind === 'Namespace'),
  );
  for (const object of ordered) await applyOne(api, object);
}

/** Attempts at replacing an object that others keep replacing at the same moment. */
const replaceAttempts = 5;

async function applyOne(api: KubernetesObjectApi, object: KubernetesObject): Promise<void> {
  try {
    await api.create(object);
    return;
  } catch (err) {
    if (!isConflict(err)) throw err;
  }
  // It exists: replace it at the version just read. Another apply (a second attach, a CI job)
  // replacing it in between makes that version stale: read it again and retry.
  for (let attempt = 1; ; attempt++) {
    const current = await api.read(object as Parameters<typeof api.read>[0]);
    try {
      await api.replace({
        ...object,
        metadata: { ...object.metadata, resourceVersion: current.metadata?.resourceVersion },
      });
      return;
    } catch (err) {
      if (!isConflict(err) || attempt >= replaceAttempts) throw err;
    }
  }
}

/** 409: already exists (on create) or a stale resourceVersion (on replace). */
function isConflict(err: unknown): boolean {
  return apiStatus(err) === 409;
}
