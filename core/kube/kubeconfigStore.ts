/**
 * Where FUNCLET_KUBECONFIG comes from, for writing a renewed one back: the Key Vault secret the
 * app setting references in Azure, a file for a local run, anything injectable in tests. The
 * kubeconfig holds the nodes' private keys: a store never logs it, and errors name the store,
 * never its content.
 */
import { chmodSync, readFileSync, writeFileSync } from 'node:fs';
import type { TokenCredential } from '@azure/identity';
import { FuncletError } from '../errors.ts';

export interface KubeconfigStore {
  /** Names the store in logs and errors: a secret URI or a path, never a value. */
  readonly where: string;
  read(): Promise<string>;
  write(text: string): Promise<void>;
}

/** Key Vault's REST API version for secrets. */
const keyVaultApiVersion = '7.4';

/**
 * A Key Vault secret, by its URI without a version (https://<vault>.vault.azure.net/secrets/<name>):
 * each write is a new version, which an unversioned Key Vault reference picks up. The app's
 * identity needs get and set on this one secret (Key Vault Secrets Officer scoped to it).
 */
export function keyVaultKubeconfigStore(
  secretUri: string,
  options: { credential?: TokenCredential; fetch?: typeof fetch } = {},
): KubeconfigStore {
  const url = new URL(secretUri);
  if (!/^\/secrets\/[0-9A-Za-z-]+\/?$/.test(url.pathname))
    throw new FuncletError(`${secretUri} is not a Key Vault secret URI without a version`);
  url.pathname = url.pathname.replace(/\/$/, '');
  url.searchParams.set('api-version', keyVaultApiVersion);
  // The vault's own cloud: vault.azure.net -> https://vault.azure.net/.default, and so on.
  const scope = `https://${url.hostname.split('.').slice(1).join('.')}/.default`;
  const doFetch = options.fetch ?? fetch;
  let credential: Promise<TokenCredential> | undefined;
  const token = async (): Promise<string> => {
    credential ??= options.credential
      ? Promise.resolve(options.credential)
      : import('@azure/identity').then((m) => new m.DefaultAzureCredential());
    const access = await (await credential).getToken(scope);
    if (!access) throw new FuncletError(`no token for ${scope}`);
    return access.token;
  };
  const where = `Key Vault secret ${secretUri}`;
  const call = async (method: 'GET' | 'PUT', body?: object): Promise<{ value?: string }> => {
    const response = await doFetch(url, {
      method,
      headers: { authorization: `Bearer ${await token()}`, 'content-type': 'application/json' },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    const text = await response.text();
    if (!response.ok) {
      const code = /"code"\s*:\s*"([^"]+)"/.exec(text)?.[1] ?? `HTTP ${response.status}`;
      throw new FuncletError(`${method === 'GET' ? 'reading' : 'writing'} ${where}: ${code}`);
    }
    return JSON.parse(text) as { value?: string };
  };
  return {
    where,
    async read() {
      const { value } = await call('GET');
      if (typeof value !== 'string') throw new FuncletError(`${where} holds no value`);
      return value;
    },
    async write(text) {
      await call('PUT', { value: text, contentType: 'application/json' });
    },
  };
}

/** A file, written with mode 0600 (the local run, and `funclet attach --write-file`). */
export function fileKubeconfigStore(path: string): KubeconfigStore {
  return {
    where: `file ${path}`,
    read: () => Promise.resolve(readFileSync(path, 'utf8')),
    write(text) {
      // Truncate and restrict first: a mode given to writeFileSync applies only to a new file.
      writeFileSync(path, '', { mode: 0o600 });
      chmodSync(path, 0o600);
      writeFileSync(path, text);
      return Promise.resolve();
    },
  };
}

/** Holds the kubeconfig in memory; for tests and the local run. */
export function memoryKubeconfigStore(initial: string): KubeconfigStore & { readonly writes: number } {
  let text = initial;
  let writes = 0;
  return {
    where: 'memory',
    get writes() {
      return writes;
    },
    read: () => Promise.resolve(text),
    write(next) {
      text = next;
      writes++;
      return Promise.resolve();
    },
  };
}
