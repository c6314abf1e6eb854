/**
 * imagePullSecrets as registry credentials, as the kubelet's credentialprovider/secrets reads
 * them:
 * - `kubernetes.io/dockerconfigjson`: `.dockerconfigjson` -> `auths` -> registry -> entry;
 * - `kubernetes.io/dockercfg`: `.dockercfg` -> registry -> entry;
 * - an entry's `auth` (base64 "user:password", padded or not) wins over username/password.
 * A pull secret that does not exist is skipped with the kubelet's warning (the image may be
 * public); a Secret of another type is ignored, as the kubelet ignores it. A pull secret that
 * exists but cannot be parsed is a ContainerConfigError: the kubelet fails the pull on it, and
 * fixing the Secret fixes the pod.
 *
 * Registry keys are reduced to the host (and port) providers ask for: "https://index.docker.io/v1/"
 * becomes "index.docker.io".
 */
import type { V1Secret } from '@kubernetes/client-node';
import { parseProblem } from '../../errors.ts';
import type { RegistryCredential } from '../../providers/types.ts';
import { decodeSecretValue, type PodContext } from './context.ts';
import { ContainerConfigError } from './errors.ts';

export async function imagePullCredentials(ctx: PodContext): Promise<RegistryCredential[]> {
  const credentials: RegistryCredential[] = [];
  const seen = new Set<string>();
  for (const ref of ctx.pod.spec?.imagePullSecrets ?? []) {
    if (!ref.name) continue;
    const secret = await ctx.api.getSecret(ctx.namespace, ref.name);
    if (!secret) {
      ctx.warnings.push({
        reason: 'FailedToRetrieveImagePullSecret',
        message: `Unable to retrieve some image pull secrets (${ref.name}); attempting to pull the image may not succeed.`,
      });
      continue;
    }
    for (const credential of secretCredentials(secret, `${ctx.namespace}/${ref.name}`)) {
      const key = JSON.stringify([credential.server, credential.username, credential.password]);
      if (seen.has(key)) continue;
      seen.add(key);
      credentials.push(credential);
    }
  }
  return credentials;
}

interface DockerConfigEntry {
  username?: unknown;
  password?: unknown;
  auth?: unknown;
}

/** The credentials of one pull Secret; none for a Secret of another type. */
export function secretCredentials(secret: V1Secret, what: string): RegistryCredential[] {
  let entries: Record<string, DockerConfigEntry>;
  const json =
    secret.type === 'kubernetes.io/dockerconfigjson' ? secret.data?.['.dockerconfigjson'] : undefined;
  const cfg = secret.type === 'kubernetes.io/dockercfg' ? secret.data?.['.dockercfg'] : undefined;
  try {
    if (json) entries = objectOf((parse(json) as { auths?: unknown }).auths);
    else if (cfg) entries = objectOf(parse(cfg));
    else return [];
  } catch (err) {
    // The cause is left out on purpose: a parser's own message quotes the secret's content.
    throw new ContainerConfigError(
      `image pull secret ${what} is not a valid docker config: ${parseProblem(err)}`,
    );
  }
  return Object.entries(entries).map(([registry, entry]) => {
    try {
      return { server: registryHost(registry), ...entryCredentials(entry) };
    } catch (err) {
      throw new ContainerConfigError(`image pull secret ${what}, registry ${registry}: ${parseProblem(err)}`);
    }
  });
}

function parse(base64: string): unknown {
  return JSON.parse(decodeSecretValue(base64));
}

function objectOf(value: unknown): Record<string, DockerConfigEntry> {
  if (value === undefined || value === null) return {};
  if (typeof value !== 'object' || Array.isArray(value)) throw new Error('expected an object of registries');
  return value as Record<string, DockerConfigEntry>;
}

/** DockerConfigEntry.UnmarshalJSON. */
function entryCredentials(entry: DockerConfigEntry): { username: string; password: string } {
  const text = (v: unknown) => (typeof v === 'string' ? v : '');
  const auth = text(entry.auth);
  if (!auth) return { username: text(entry.username), password: text(entry.password) };
  const decoded = decodeAuth(auth);
  const colon = decoded.indexOf(':');
  if (colon === -1) throw new Error('auth must be formatted as base64(username:password)');
  return { username: decoded.slice(0, colon), password: decoded.slice(colon + 1) };
}

/** Strict base64, padded or unpadded (Go's StdEncoding / RawStdEncoding). */
function decodeAuth(auth: string): string {
  const body = auth.trim().endsWith('=') ? auth : auth + '='.repeat((4 - (auth.length % 4)) % 4);
  if (!/^[A-Za-z0-9+/]*={0,2}$/.test(body) || body.length % 4 !== 0)
    throw new Error('auth is not valid base64');
  return Buffer.from(body, 'base64').toString('utf8');
}

/** The host[:port] of a docker config key, which may carry a scheme and a path. */
export function registryHost(key: string): string {
  const withoutScheme = key.replace(/^[a-z][a-z0-9+.-]*:\/\//i, '');
  return withoutScheme.split('/')[0] ?? withoutScheme;
}
