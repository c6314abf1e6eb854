/**
 * Pod resolution against the real API server, read with the function's ServiceAccount (never the
 * admin), so that a permission missing from infra/k8s fails here. The admin only sets the scene:
 * a namespace with a ConfigMap, Secrets, a Service, and a Pod (created so that the ServiceAccount
 * admission plugin injects its kube-api-access volume and tokens can be bound to it).
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { CoreV1Api, type KubeConfig, type V1Pod } from '@kubernetes/client-node';
import { kubeClients } from '../../core/kube/clients.ts';
import {
  ContainerConfigError,
  kubeResolverApi,
  resolvePod,
  resolvePodWithWarnings,
  type ResolvedFilesVolume,
  type ResolverApi,
} from '../../core/pods/resolve/index.ts';
import type { ResolvedVolume } from '../../core/providers/types.ts';
import { uniqueName } from '../support/env.ts';
import { functionKubeconfig, kubeConfigFrom, testAdmin } from '../support/kube.ts';
import { waitFor } from '../support/process.ts';

const text = (base64: string) => Buffer.from(base64, 'base64').toString('utf8');

interface Claims {
  aud: string[];
  sub: string;
  'kubernetes.io': { namespace: string; pod?: { name: string; uid: string } };
}

/** The claims of a JWT, after checking it has the three dot-separated parts of one. */
function jwtClaims(token: string): Claims {
  const parts = token.split('.');
  assert.equal(parts.length, 3, `not a JWT: ${token.slice(0, 20)}...`);
  assert.ok(parts.every((p) => /^[A-Za-z0-9_-]+$/.test(p)));
  return JSON.parse(Buffer.from(parts[1]!, 'base64url').toString('utf8')) as Claims;
}

function filesOf(volume: ResolvedVolume | undefined): Record<string, string> {
  assert.equal(volume?.kind, 'files');
  return Object.fromEntries(
    (volume as ResolvedFilesVolume).files.map((f) => [f.path, text(f.contentBase64)]),
  );
}

describe("pod resolution against the API server, as the pod's node", () => {
  let core: CoreV1Api;
  let api: ResolverApi;
  const namespace = uniqueName('resolve');
  // The pods are bound to this node: the Node authorizer lets it read what they use.
  const node = uniqueName('vk-resolve');
  const options = () => ({ node, attempt: 0, nowMs: Date.now() });

  before(async () => {
    const admin: KubeConfig = testAdmin();
    core = admin.makeApiClient(CoreV1Api);
    api = kubeResolverApi(kubeClients(kubeConfigFrom(await functionKubeconfig(admin, [node]))));
    await core.createNamespace({ body: { metadata: { name: namespace } } });
    // The controller-manager gives every namespace its default ServiceAccount and the
    // kube-root-ca.crt ConfigMap; pods cannot be admitted before the first exists.
    await waitFor(
      'the default ServiceAccount and kube-root-ca.crt of the test namespace',
      async () => {
        await core.readNamespacedServiceAccount({ name: 'default', namespace });
        await core.readNamespacedConfigMap({ name: 'kube-root-ca.crt', namespace });
        return true;
      },
      { timeoutMs: 60_000, intervalMs: 250 },
    );
    await core.createNamespacedConfigMap({
      namespace,
      body: {
        metadata: { name: 'app' },
        data: { GREETING: 'hello', 'app.conf': 'listen=8080\n' },
        binaryData: { 'blob.bin': Buffer.from([0, 1, 2, 255]).toString('base64') },
      },
    });
    await core.createNamespacedSecret({
      namespace,
      body: { metadata: { name: 'db' }, stringData: { password: 's3cr3t', user: 'admin' } },
    });
    await core.createNamespacedSecret({
      namespace,
      body: {
        metadata: { name: 'regcred' },
        type: 'kubernetes.io/dockerconfigjson',
        stringData: {
          '.dockerconfigjson': JSON.stringify({
            auths: { 'registry.example.com': { auth: Buffer.from('robot:pull-token').toString('base64') } },
          }),
        },
      },
    });
    await core.createNamespacedService({
      namespace,
      body: {
        metadata: { name: 'backend-api' },
        spec: { selector: { app: 'backend' }, ports: [{ name: 'http', port: 8080, protocol: 'TCP' }] },
      },
    });
  });

  after(async () => {
    await core?.deleteNamespace({ name: namespace }).catch(() => undefined);
  });

  it('resolves env, files, the injected API access volume and a bound token as the kubelet would', async () => {
    const created = await core.createNamespacedPod({
      namespace,
      body: {
        metadata: { name: 'web', labels: { app: 'web' } },
        spec: {
          nodeName: node,
          imagePullSecrets: [{ name: 'regcred' }, { name: 'not-there' }],
          containers: [
            {
              name: 'app',
              image: 'registry.example.com/web:1',
              command: ['/bin/sh', '-c', 'echo $(GREETING) at $(BACKEND_API_SERVICE_HOST)'],
              envFrom: [{ prefix: 'CFG_', configMapRef: { name: 'app' } }],
              env: [
                { name: 'GREETING', valueFrom: { configMapKeyRef: { name: 'app', key: 'GREETING' } } },
                { name: 'DB_PASSWORD', valueFrom: { secretKeyRef: { name: 'db', key: 'password' } } },
                { name: 'DSN', value: '$(DB_USER):$(DB_PASSWORD)@$(BACKEND_API_SERVICE_HOST)' },
                { name: 'POD_NAME', valueFrom: { fieldRef: { fieldPath: 'metadata.name' } } },
                { name: 'POD_UID', valueFrom: { fieldRef: { fieldPath: 'metadata.uid' } } },
                {
                  name: 'OPTIONAL',
                  valueFrom: { secretKeyRef: { name: 'db', key: 'nope', optional: true } },
                },
              ],
              volumeMounts: [
                { name: 'config', mountPath: '/etc/app' },
                { name: 'vault', mountPath: '/var/run/vault' },
              ],
            },
          ],
          volumes: [
            {
              name: 'config',
              configMap: {
                name: 'app',
                items: [
                  { key: 'app.conf', path: 'conf/app.conf', mode: 0o600 },
                  { key: 'blob.bin', path: 'blob.bin' },
                ],
              },
            },
            {
              name: 'vault',
              projected: {
                sources: [
                  { serviceAccountToken: { path: 'token', audience: 'vault', expirationSeconds: 600 } },
                  { secret: { name: 'db', items: [{ key: 'user', path: 'user' }] } },
                ],
              },
            },
          ],
        },
      },
    });
    const { pod: resolved, warnings } = await resolvePodWithWarnings(created, api, options());

    const kubernetes = await core.readNamespacedService({ name: 'kubernetes', namespace: 'default' });
    const backend = await core.readNamespacedService({ name: 'backend-api', namespace });
    const backendIP = backend.spec?.clusterIP ?? '';
    assert.match(backendIP, /^10\.0\.0\.\d+$/);

    const app = resolved.containers[0]!;
    const env = Object.fromEntries(app.env.map((v) => [v.name, v]));
    assert.equal(env.KUBERNETES_SERVICE_HOST?.value, kubernetes.spec?.clusterIP);
    assert.equal(env.KUBERNETES_SERVICE_PORT?.value, '443');
    assert.equal(env.BACKEND_API_SERVICE_HOST?.value, backendIP);
    assert.equal(env.BACKEND_API_SERVICE_PORT_HTTP?.value, '8080');
    assert.equal(env.BACKEND_API_PORT_8080_TCP?.value, `tcp://${backendIP}:8080`);
    assert.equal(env.CFG_GREETING?.value, 'hello');
    assert.equal(env['CFG_app.conf']?.value, 'listen=8080\n');
    assert.equal(env.GREETING?.value, 'hello');
    assert.deepEqual(env.DB_PASSWORD, { name: 'DB_PASSWORD', value: 's3cr3t', secret: true });
    assert.deepEqual(env.DSN, { name: 'DSN', value: `$(DB_USER):s3cr3t@${backendIP}`, secret: true });
    assert.equal(env.POD_NAME?.value, 'web');
    assert.equal(env.POD_UID?.value, created.metadata?.uid);
    assert.equal(env.OPTIONAL, undefined);
    assert.deepEqual(app.command, ['/bin/sh', '-c', `echo hello at ${backendIP}`]);

    const byName = new Map(resolved.volumes.map((v) => [v.name, v]));
    const config = byName.get('config');
    assert.deepEqual(filesOf(config), {
      'blob.bin': text(Buffer.from([0, 1, 2, 255]).toString('base64')),
      'conf/app.conf': 'listen=8080\n',
    });
    assert.deepEqual(
      (config as ResolvedFilesVolume).files.map((f) => [f.path, f.mode.toString(8)]),
      [
        ['blob.bin', '644'],
        ['conf/app.conf', '600'],
      ],
    );
    assert.equal(
      (config as ResolvedFilesVolume).files[0]?.contentBase64,
      Buffer.from([0, 1, 2, 255]).toString('base64'),
    );

    const vault = filesOf(byName.get('vault'));
    assert.equal(vault.user, 'admin');
    const vaultClaims = jwtClaims(vault.token ?? '');
    assert.deepEqual(vaultClaims.aud, ['vault']);
    assert.equal(vaultClaims.sub, `system:serviceaccount:${namespace}:default`);
    assert.deepEqual(vaultClaims['kubernetes.io'].pod, { name: 'web', uid: created.metadata?.uid });

    // The volume the ServiceAccount admission plugin injected.
    const injected = resolved.volumes.find((v) =>
      v.name.startsWith('kube-api-access-'),
    ) as ResolvedFilesVolume;
    assert.equal(injected.automatic, true);
    const access = filesOf(injected);
    const rootCA = await core.readNamespacedConfigMap({ name: 'kube-root-ca.crt', namespace });
    assert.equal(access['ca.crt'], rootCA.data?.['ca.crt']);
    assert.equal(access.namespace, namespace);
    const accessClaims = jwtClaims(access.token ?? '');
    assert.equal(accessClaims.sub, `system:serviceaccount:${namespace}:default`);
    assert.equal(accessClaims['kubernetes.io'].pod?.uid, created.metadata?.uid);
    assert.ok(app.volumeMounts.some((m) => m.name === injected.name && m.readOnly));

    assert.deepEqual(resolved.imagePullCredentials, [
      { server: 'registry.example.com', username: 'robot', password: 'pull-token' },
    ]);
    assert.deepEqual(
      warnings.map((w) => w.reason),
      ['FailedToRetrieveImagePullSecret'],
    );
  });

  it('fails with CreateContainerConfigError naming a Secret the namespace does not have', async () => {
    const pod = await core.createNamespacedPod({
      namespace,
      body: {
        metadata: { name: 'needs-secret' },
        spec: {
          nodeName: node,
          containers: [
            {
              name: 'app',
              image: 'busybox',
              env: [{ name: 'TOKEN', valueFrom: { secretKeyRef: { name: 'api-token', key: 'token' } } }],
            },
          ],
        },
      },
    });
    await assert.rejects(resolvePod(pod, api, options()), (err: unknown) => {
      assert.ok(err instanceof ContainerConfigError, `expected ContainerConfigError, got ${String(err)}`);
      assert.match(err.message, new RegExp(`Secret "${namespace}/api-token" not found`));
      assert.deepEqual(err.missing, { kind: 'Secret', namespace, name: 'api-token' });
      return true;
    });
  });

  it('mints no token for a pod the API server does not have: tokens are bound to the pod', async () => {
    const pod: V1Pod = {
      metadata: { namespace, name: 'ghost', uid: randomUUID() },
      spec: {
        containers: [{ name: 'app', image: 'busybox' }],
        volumes: [{ name: 't', projected: { sources: [{ serviceAccountToken: { path: 'token' } }] } }],
      },
    };
    await assert.rejects(resolvePod(pod, api, options()), (err: unknown) => {
      // The node may mint tokens only for pods bound to it: the API server refuses.
      assert.match(String(err), new RegExp(`token of ServiceAccount ${namespace}/default for pod ghost`));
      return true;
    });
  });
});
