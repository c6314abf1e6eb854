/**
 * A pod's Secret values on ECS: never in a task definition, where DescribeTaskDefinition,
 * CloudTrail and every INACTIVE revision keep them, but in AWS Secrets Manager, which the task
 * reads at start with its execution role:
 * - environment values from Secrets: one secret per instance, `<prefix>env`, a JSON object the
 *   containers' `secrets[].valueFrom` name a key of;
 * - image pull secrets: one secret per registry, `<prefix>registry-<n>`, holding the username and
 *   password `repositoryCredentials` expects.
 * Every name starts with `funclet/<cluster>/<pod UID>/<attempt>/`, so the execution role reads
 * `funclet/<cluster>/*` only (infra/terraform/modules/aws-ecs), and deleting an instance deletes
 * what it was given.
 */
import { InvalidInputError } from '../../errors.ts';
import type { RegistryCredential, ResolvedPod } from '../types.ts';
import { ecsContainerName, initKind } from './naming.ts';
import type { SecretsManager } from './secrets-manager.ts';

/** What the task definition references instead of the values. */
export interface PodSecretRefs {
  /** ECS container name -> env var name -> valueFrom. */
  env: ReadonlyMap<string, ReadonlyMap<string, string>>;
  /** ECS container name -> the ARN of its registry's credentials. */
  repositoryCredentials: ReadonlyMap<string, string>;
}

/** Every secret of one pod starts with this: what the execution role and deletion are scoped to. */
export function podSecretPrefix(clusterName: string, podUid: string): string {
  return `funclet/${clusterName}/${podUid}/`;
}

function instancePrefix(clusterName: string, podUid: string, attempt: number): string {
  return `${podSecretPrefix(clusterName, podUid)}${attempt}/`;
}

/** Whether the pod has anything for Secrets Manager at all. */
export function needsSecrets(pod: ResolvedPod): boolean {
  return (
    pod.imagePullCredentials.length > 0 ||
    [...pod.containers, ...pod.initContainers].some((c) => c.env.some((e) => e.secret))
  );
}

/**
 * Writes the instance's secrets (creating them, or putting the current values into those a
 * previous try created) and answers what the task definition refers to.
 */
export async function storePodSecrets(
  sm: SecretsManager,
  pod: ResolvedPod,
  clusterName: string,
): Promise<PodSecretRefs> {
  const prefix = instancePrefix(clusterName, pod.uid, pod.attempt);
  const tags = {
    'funclet-cluster': clusterName,
    'funclet-pod-uid': pod.uid,
    'funclet-attempt': String(pod.attempt),
  };
  const containers = [
    ...pod.containers.map((c) => ({ c, ecsName: ecsContainerName(c.name, 'app') })),
    ...pod.initContainers.map((c) => ({ c, ecsName: ecsContainerName(c.name, initKind(c)) })),
  ];

  const values: Record<string, string> = {};
  for (const { c, ecsName } of containers) {
    for (const e of c.env.filter((v) => v.secret)) {
      if (e.name.includes(':'))
        throw new InvalidInputError(
          `container ${c.name} takes ${e.name} from a Secret; ECS cannot reference a Secrets Manager key whose name holds a colon`,
        );
      values[`${ecsName}/${e.name}`] = e.value;
    }
  }
  const env = new Map<string, Map<string, string>>();
  if (Object.keys(values).length > 0) {
    const arn = await sm.putSecret(`${prefix}env`, JSON.stringify(values), tags);
    for (const key of Object.keys(values)) {
      const [ecsName, name] = splitKey(key);
      if (!env.has(ecsName)) env.set(ecsName, new Map());
      env.get(ecsName)!.set(name, `${arn}:${key}::`);
    }
  }

  const registries = new Map<string, string>();
  for (const [i, credential] of pod.imagePullCredentials.entries()) {
    const host = credential.server.toLowerCase();
    if (registries.has(host)) continue;
    const value = JSON.stringify({ username: credential.username, password: credential.password });
    registries.set(host, await sm.putSecret(`${prefix}registry-${i}`, value, tags));
  }
  const repositoryCredentials = new Map<string, string>();
  for (const { c, ecsName } of containers) {
    const arn = registryCredentialFor(c.image, pod.imagePullCredentials, registries);
    if (arn !== undefined) repositoryCredentials.set(ecsName, arn);
  }
  return { env, repositoryCredentials };
}

/**
 * Deletes the secrets of this instance of the pod and of any earlier one (left by a try that
 * failed before its task ran); later instances keep theirs. Returns how many were deleted.
 */
export async function deletePodSecrets(
  sm: SecretsManager,
  clusterName: string,
  podUid: string,
  attempt: number,
): Promise<number> {
  const prefix = podSecretPrefix(clusterName, podUid);
  const names = (await sm.listSecretNames(prefix)).filter((n) => {
    const of = Number(n.slice(prefix.length).split('/')[0]);
    return Number.isInteger(of) && of <= attempt;
  });
  for (const name of names) await sm.deleteSecret(name);
  return names.length;
}

function splitKey(key: string): [string, string] {
  const slash = key.indexOf('/');
  return [key.slice(0, slash), key.slice(slash + 1)];
}

const dockerHub = new Set(['docker.io', 'index.docker.io', 'registry-1.docker.io']);

/** The registry an image is pulled from: its first path part when that names a host, else Docker Hub. */
export function imageRegistry(image: string): string {
  const first = image.split('/')[0] ?? '';
  const isHost = image.includes('/') && (first.includes('.') || first.includes(':') || first === 'localhost');
  return isHost ? first.toLowerCase() : 'docker.io';
}

function registryCredentialFor(
  image: string,
  credentials: readonly RegistryCredential[],
  arns: ReadonlyMap<string, string>,
): string | undefined {
  const registry = imageRegistry(image);
  const match = credentials.find((c) => {
    const server = c.server.toLowerCase();
    return server === registry || (dockerHub.has(server) && dockerHub.has(registry));
  });
  return match === undefined ? undefined : arns.get(match.server.toLowerCase());
}

/** Stores nothing and answers a placeholder ARN: for checking a task definition before any AWS call. */
export const placeholderSecrets: SecretsManager = {
  putSecret: (name) => Promise.resolve(`arn:aws:secretsmanager:-:000000000000:secret:${name}`),
  listSecretNames: () => Promise.resolve([]),
  deleteSecret: () => Promise.resolve(),
};
