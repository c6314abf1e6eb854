import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ContainerConfigError, resolvePodWithWarnings } from '../../../core/pods/resolve/index.ts';
import { registryHost } from '../../../core/pods/resolve/pullSecrets.ts';
import { b64, FakeResolverApi, options, pod } from './support.ts';

const dockerconfigjson = JSON.stringify({
  auths: {
    'myregistry.azurecr.io': { username: 'sp-id', password: 'sp-secret' },
    'https://index.docker.io/v1/': { auth: b64('hubuser:hub:pass:with:colons') },
    'ghcr.io': { username: 'ignored', password: 'ignored', auth: b64('octo:ghp_token').replace(/=+$/, '') },
  },
});
const dockercfg = JSON.stringify({ 'quay.io:443': { auth: b64('robot:quaypass'), email: 'x@y.z' } });

function api(): FakeResolverApi {
  return (
    new FakeResolverApi()
      .secret('team', 'regcred', { '.dockerconfigjson': dockerconfigjson }, 'kubernetes.io/dockerconfigjson')
      .secret('team', 'legacy', { '.dockercfg': dockercfg }, 'kubernetes.io/dockercfg')
      .secret('team', 'opaque', { '.dockerconfigjson': dockerconfigjson }, 'Opaque')
      .secret('team', 'broken', { '.dockerconfigjson': '{not json' }, 'kubernetes.io/dockerconfigjson')
      // A password pasted where the whole docker config belongs.
      .secret(
        'team',
        'pasted',
        { '.dockerconfigjson': 'hunter2-registry-password' },
        'kubernetes.io/dockerconfigjson',
      )
      .secret(
        'team',
        'badauth',
        { '.dockerconfigjson': JSON.stringify({ auths: { r: { auth: b64('nocolon') } } }) },
        'kubernetes.io/dockerconfigjson',
      )
  );
}

async function credentialsOf(names: string[]) {
  return resolvePodWithWarnings(pod({ imagePullSecrets: names.map((name) => ({ name })) }), api(), options);
}

describe('image pull secrets', () => {
  it('decode dockerconfigjson: username/password, or auth (padded or not) split at the first colon', async () => {
    const { pod: resolved, warnings } = await credentialsOf(['regcred']);
    assert.deepEqual(resolved.imagePullCredentials, [
      { server: 'myregistry.azurecr.io', username: 'sp-id', password: 'sp-secret' },
      { server: 'index.docker.io', username: 'hubuser', password: 'hub:pass:with:colons' },
      { server: 'ghcr.io', username: 'octo', password: 'ghp_token' },
    ]);
    assert.deepEqual(warnings, []);
  });

  it('decode the legacy dockercfg format', async () => {
    const { pod: resolved } = await credentialsOf(['legacy']);
    assert.deepEqual(resolved.imagePullCredentials, [
      { server: 'quay.io:443', username: 'robot', password: 'quaypass' },
    ]);
  });

  it('skip a missing pull secret with the kubelet warning, and ignore Secrets of other types', async () => {
    const { pod: resolved, warnings } = await credentialsOf(['absent', 'opaque', '', 'legacy', 'legacy']);
    assert.deepEqual(resolved.imagePullCredentials, [
      { server: 'quay.io:443', username: 'robot', password: 'quaypass' },
    ]);
    assert.deepEqual(warnings, [
      {
        reason: 'FailedToRetrieveImagePullSecret',
        message:
          'Unable to retrieve some image pull secrets (absent); attempting to pull the image may not succeed.',
      },
    ]);
  });

  it('fail with CreateContainerConfigError on a pull secret that cannot be parsed', async () => {
    await assert.rejects(
      credentialsOf(['broken']),
      (err: unknown) => err instanceof ContainerConfigError && /team\/broken/.test(err.message),
    );
    await assert.rejects(
      credentialsOf(['badauth']),
      (err: unknown) =>
        err instanceof ContainerConfigError && /base64\(username:password\)/.test(err.message),
    );
  });

  it('never quote the Secret in the error a pod status, an Event and the log receive', async () => {
    await assert.rejects(credentialsOf(['pasted']), (err: unknown) => {
      assert.ok(err instanceof ContainerConfigError);
      assert.match(err.message, /team\/pasted is not a valid docker config: not valid JSON/);
      assert.doesNotMatch(err.message, /hunter/);
      assert.equal(err.cause, undefined, 'no cause carries the parser message along');
      return true;
    });
  });

  it('reduce registry keys to host and port', () => {
    assert.equal(registryHost('https://index.docker.io/v1/'), 'index.docker.io');
    assert.equal(registryHost('http://registry.local:5000/team/app'), 'registry.local:5000');
    assert.equal(registryHost('myregistry.azurecr.io'), 'myregistry.azurecr.io');
  });
});
