import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { TokenCredential } from '@azure/identity';
import { keyVaultKubeconfigStore } from '../../../core/kube/kubeconfigStore.ts';

const secretUri = 'https://funclet-kv.vault.azure.net/secrets/funclet-kubeconfig';

/** Key Vault's secrets REST API as documented (7.4): GET and PUT /secrets/{name}, each write a new version. */
function fakeVault(options: { refuseWrites?: boolean } = {}) {
  const requests: { method: string; url: string; authorization: string | null; body: unknown }[] = [];
  const versions: string[] = [];
  const fetch = ((input: string | URL | Request, init?: RequestInit): Promise<Response> => {
    const url = new URL(input instanceof Request ? input.url : input.toString());
    const headers = new Headers(init?.headers);
    const body = typeof init?.body === 'string' ? (JSON.parse(init.body) as { value?: string }) : undefined;
    requests.push({
      method: init?.method ?? 'GET',
      url: url.toString(),
      authorization: headers.get('authorization'),
      body,
    });
    if (url.searchParams.get('api-version') !== '7.4' || url.pathname !== '/secrets/funclet-kubeconfig')
      return Promise.resolve(Response.json({ error: { code: 'BadParameter' } }, { status: 400 }));
    if (init?.method === 'PUT') {
      if (options.refuseWrites)
        return Promise.resolve(
          Response.json(
            { error: { code: 'Forbidden', message: `Caller may not set ${body?.value ?? ''}` } },
            { status: 403 },
          ),
        );
      versions.push(body?.value ?? '');
      return Promise.resolve(Response.json({ value: body?.value, id: `${secretUri}/v${versions.length}` }));
    }
    const latest = versions.at(-1);
    return Promise.resolve(
      latest === undefined
        ? Response.json({ error: { code: 'SecretNotFound' } }, { status: 404 })
        : Response.json({ value: latest, id: `${secretUri}/v${versions.length}` }),
    );
  }) as typeof globalThis.fetch;
  return { fetch, requests, versions };
}

const scopes: string[] = [];
const credential: TokenCredential = {
  getToken: (scope) => {
    scopes.push(...(Array.isArray(scope) ? scope : [scope]));
    return Promise.resolve({ token: 'vault-token', expiresOnTimestamp: Date.now() + 3600_000 });
  },
};

describe('the Key Vault kubeconfig store', () => {
  it('writes a new version of the one secret and reads the latest, with a token for the vault', async () => {
    const vault = fakeVault();
    const store = keyVaultKubeconfigStore(secretUri, { credential, fetch: vault.fetch });
    await store.write('{"kind":"Config","first":true}');
    await store.write('{"kind":"Config","renewed":true}');
    assert.equal(await store.read(), '{"kind":"Config","renewed":true}');
    assert.deepEqual(
      vault.requests.map((r) => [r.method, r.url, r.authorization]),
      [
        ['PUT', `${secretUri}?api-version=7.4`, 'Bearer vault-token'],
        ['PUT', `${secretUri}?api-version=7.4`, 'Bearer vault-token'],
        ['GET', `${secretUri}?api-version=7.4`, 'Bearer vault-token'],
      ],
    );
    assert.deepEqual(vault.requests[0]?.body, {
      value: '{"kind":"Config","first":true}',
      contentType: 'application/json',
    });
    assert.ok(scopes.every((s) => s === 'https://vault.azure.net/.default'));
    assert.equal(store.where, `Key Vault secret ${secretUri}`);
  });

  it('names the store and the vault error, never the value, when a write is refused', async () => {
    const store = keyVaultKubeconfigStore(secretUri, {
      credential,
      fetch: fakeVault({ refuseWrites: true }).fetch,
    });
    await assert.rejects(store.write('client-key-data: do-not-print'), (err: Error) => {
      assert.equal(err.message, `writing Key Vault secret ${secretUri}: Forbidden`);
      return true;
    });
  });

  it('refuses a URI that is not a versionless secret URI', () => {
    assert.throws(
      () => keyVaultKubeconfigStore(`${secretUri}/0123456789abcdef`),
      /not a Key Vault secret URI without a version/,
    );
  });
});
