import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import {
  AppsV1Api,
  ApiException,
  CoordinationV1Api,
  CoreV1Api,
  KubeConfig,
  loadYaml,
  dumpYaml,
} from '@kubernetes/client-node';
import { functionTokenSecret, relaySecret, runAttach } from '../../cli/attach.ts';
import { applyManifests, readManifests } from '../../cli/manifests.ts';
import { leaseRenewHandler } from '../../functions/leaseRenew.ts';
import { testEnv, uniqueName } from '../support/env.ts';
import { freshRuntimes, functionSettings, invocation, timer } from '../support/functions.ts';
import { kubeConfigFrom, testAdmin } from '../support/kube.ts';
import { waitFor } from '../support/process.ts';

interface KubeconfigDoc {
  users: { name: string; user: Record<string, string> }[];
  contexts: { name: string; context: { cluster: string; user: string } }[];
}

/**
 * The test cluster's admin kubeconfig (a system:masters bearer token), plus a second user
 * holding a client certificate and key, as an operator's kubeconfig often does: the attach
 * output must carry none of either.
 */
function adminKubeconfigWithClientKey(): { text: string; secrets: string[] } {
  const doc = loadYaml<KubeconfigDoc>(readFileSync(testEnv().cluster.adminKubeconfigPath, 'utf8'));
  const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const keyPem = privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
  const keyData = Buffer.from(keyPem).toString('base64');
  doc.users.push({
    name: 'operator-cert',
    user: {
      'client-certificate-data': Buffer.from('not a certificate').toString('base64'),
      'client-key-data': keyData,
    },
  });
  doc.contexts.push({
    name: 'operator-cert',
    context: { cluster: doc.contexts[0]!.context.cluster, user: 'operator-cert' },
  });
  const adminToken = doc.users[0]!.user.token!;
  const keyBody = keyPem.split('\n')[1]!; // a line of the PEM itself, not only its base64 wrapping
  return { text: dumpYaml(doc), secrets: [adminToken, keyData, keyBody] };
}

function assertHoldsNoAdminSecret(output: string, secrets: string[]): void {
  for (const secret of secrets) assert.ok(!output.includes(secret), 'the output holds an admin credential');
}

describe('funclet attach', () => {
  let admin: KubeConfig;
  let core: CoreV1Api;
  let adminText: string;
  let adminSecrets: string[];
  const nodes: string[] = [];
  const dir = mkdtempSync(join(tmpdir(), 'funclet-attach-'));
  const tablePrefix = `attach${Math.random().toString(36).slice(2, 8)}`;

  before(() => {
    ({ text: adminText, secrets: adminSecrets } = adminKubeconfigWithClientKey());
    admin = testAdmin();
    core = admin.makeApiClient(CoreV1Api);
  });

  after(async () => {
    for (const name of nodes) await core.deleteNode({ name }).catch(() => undefined);
    await admin
      .makeApiClient(AppsV1Api)
      .deleteNamespacedDeployment({ namespace: 'funclet-system', name: 'funclet-relay' })
      .catch(() => undefined);
    await core.deleteNamespacedSecret(relaySecret).catch(() => undefined);
    const tokens = await core.listNamespacedSecret({
      namespace: functionTokenSecret.namespace,
      labelSelector: `${functionTokenSecret.label}=${functionTokenSecret.labelValue}`,
    });
    for (const s of tokens.items)
      await core
        .deleteNamespacedSecret({ namespace: functionTokenSecret.namespace, name: s.metadata!.name! })
        .catch(() => undefined);
    rmSync(dir, { recursive: true, force: true });
  });

  it('prints a kubeconfig holding only the funclet token, which registers a node and cannot list secrets', async () => {
    const printed: string[] = [];
    const result = await runAttach({ adminKubeconfigText: adminText, out: (t) => printed.push(t) });

    assert.ok(printed.join('') === result.kubeconfig, 'the kubeconfig is what is printed');
    assertHoldsNoAdminSecret(printed.join(''), adminSecrets);
    const doc = JSON.parse(result.kubeconfig) as KubeconfigDoc & {
      clusters: { cluster: Record<string, string> }[];
    };
    assert.deepEqual(Object.keys(doc.users[0]!.user), ['token'], 'a bearer token and nothing else');
    assert.equal(doc.clusters[0]!.cluster.server, testEnv().cluster.server);
    assert.equal(result.credential.kind, 'serviceAccountTokenSecret');
    assert.match(
      result.credential.kind === 'serviceAccountTokenSecret' ? result.credential.secret : '',
      /^funclet-system\/funclet-token-[a-z0-9]+$/,
    );

    // (2) the functions run with it: the lease timer registers a node.
    const name = uniqueName('vk-attach');
    nodes.push(name);
    const env = functionSettings({
      kubeconfig: result.kubeconfig,
      tablePrefix,
      nodes: [{ name, provider: 'mock' }],
    });
    await leaseRenewHandler(freshRuntimes(env))(timer(), invocation('leaseRenew').context);
    const node = await core.readNode({ name });
    assert.equal(node.status?.conditions?.find((c) => c.type === 'Ready')?.status, 'True');
    const lease = await admin
      .makeApiClient(CoordinationV1Api)
      .readNamespacedLease({ name, namespace: 'kube-node-lease' });
    assert.equal(lease.spec?.holderIdentity, name);

    // (3) and nothing more: no reading every Secret in the cluster.
    const funclet = kubeConfigFrom(result.kubeconfig).makeApiClient(CoreV1Api);
    await assert.rejects(
      funclet.listSecretForAllNamespaces(),
      (err: unknown) => err instanceof ApiException && err.code === 403,
    );
  });

  it('reuses the token when run again; rotating makes a new one, and deleting the old Secret revokes it', async () => {
    const first = await runAttach({ adminKubeconfigText: adminText, out: () => undefined });
    const again = await runAttach({ adminKubeconfigText: adminText, out: () => undefined });
    // Compared as booleans: a failure must not print tokens into the test log.
    assert.ok(again.kubeconfig === first.kubeconfig, 'the same token on a second run');

    const rotated = await runAttach({
      adminKubeconfigText: adminText,
      out: () => undefined,
      rotateToken: true,
    });
    assert.ok(rotated.kubeconfig !== first.kubeconfig, 'rotating gives a different token');
    assert.ok(first.credential.kind === 'serviceAccountTokenSecret');
    assert.ok(rotated.credential.kind === 'serviceAccountTokenSecret');
    assert.ok(rotated.credential.previous.includes(first.credential.secret.split('/')[1]!));

    const status = async (kubeconfig: string) => {
      try {
        await kubeConfigFrom(kubeconfig).makeApiClient(CoreV1Api).listNode();
        return 200;
      } catch (err) {
        return err instanceof ApiException ? err.code : -1;
      }
    };
    assert.equal(await status(first.kubeconfig), 200, 'the old token works until its Secret is deleted');
    await core.deleteNamespacedSecret({
      namespace: functionTokenSecret.namespace,
      name: first.credential.secret.split('/')[1]!,
    });
    await waitFor('the old token to be refused', async () => (await status(first.kubeconfig)) === 401, {
      // The API server caches a token's authentication for a few seconds.
      timeoutMs: 30_000,
      intervalMs: 250,
    });
    assert.equal(await status(rotated.kubeconfig), 200);
  });

  it('writes the kubeconfig to a file only its owner can read, and says where', async () => {
    const file = join(dir, 'funclet.kubeconfig');
    writeFileSync(file, 'an older file, world-readable', { mode: 0o644 });
    const printed: string[] = [];
    const result = await runAttach({
      adminKubeconfigText: adminText,
      out: (t) => printed.push(t),
      writeFile: file,
    });
    assert.equal(statSync(file).mode & 0o777, 0o600);
    assert.ok(readFileSync(file, 'utf8') === result.kubeconfig, 'the file holds the kubeconfig');
    assert.match(printed.join(''), new RegExp(`wrote .* to ${file.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}`));
    assert.ok(!printed.join('').includes(result.kubeconfig), 'the token is not printed as well');
    assertHoldsNoAdminSecret(readFileSync(file, 'utf8'), adminSecrets);
  });

  it('mints an expiring TokenRequest token when asked, and reports its expiry', async () => {
    const result = await runAttach({
      adminKubeconfigText: adminText,
      out: () => undefined,
      tokenExpirationSeconds: 3600,
    });
    assert.equal(result.credential.kind, 'tokenRequest');
    const expiresAt = result.credential.kind === 'tokenRequest' ? result.credential.expiresAt : undefined;
    const inMs = Date.parse(expiresAt ?? '') - Date.now();
    assert.ok(inMs > 3500_000 && inMs <= 3600_000, `expires in ${inMs} ms`);
    assertHoldsNoAdminSecret(result.kubeconfig, adminSecrets);
    await kubeConfigFrom(result.kubeconfig).makeApiClient(CoreV1Api).listNode();
  });

  it('installs the relay with its Secret, image and nodes, and rolls it when the secret changes', async () => {
    const relay = {
      webhookUrl: 'https://funclet-abc.azurewebsites.net/api/podEvents?code=function-key',
      webhookSecret: 's'.repeat(48),
      nodes: ['vk-aci-1', 'vk-aci-2'],
      relayImage: 'registry.example/funclet-relay@sha256:' + 'a'.repeat(64),
    };
    const logged: string[] = [];
    const result = await runAttach({
      adminKubeconfigText: adminText,
      out: () => undefined,
      log: (line) => logged.push(line),
      ...relay,
    });
    assert.deepEqual(result.relay, { nodes: relay.nodes, image: relay.relayImage });
    assertHoldsNoAdminSecret(logged.join('\n'), adminSecrets);
    assert.ok(!logged.join('\n').includes(relay.webhookSecret), 'the webhook secret is never logged');

    const secret = await core.readNamespacedSecret(relaySecret);
    const data = (k: string) => Buffer.from(secret.data?.[k] ?? '', 'base64').toString('utf8');
    assert.equal(data('FUNCLET_WEBHOOK_URL'), relay.webhookUrl);
    assert.equal(data('FUNCLET_WEBHOOK_SECRET'), relay.webhookSecret);

    const apps = admin.makeApiClient(AppsV1Api);
    const deployment = await apps.readNamespacedDeployment({
      namespace: 'funclet-system',
      name: 'funclet-relay',
    });
    const container = deployment.spec?.template.spec?.containers.find((c) => c.name === 'relay');
    assert.equal(container?.image, relay.relayImage);
    assert.equal(container?.env?.find((e) => e.name === 'FUNCLET_RELAY_NODES')?.value, 'vk-aci-1,vk-aci-2');
    assert.equal(deployment.spec?.template.spec?.serviceAccountName, 'funclet-relay');
    const hash = deployment.spec?.template.metadata?.annotations?.['funclet.io/relay-secret-sha256'];
    assert.match(hash ?? '', /^[0-9a-f]{64}$/);

    await runAttach({
      adminKubeconfigText: adminText,
      out: () => undefined,
      ...relay,
      webhookSecret: 't'.repeat(48),
    });
    const rolled = await apps.readNamespacedDeployment({
      namespace: 'funclet-system',
      name: 'funclet-relay',
    });
    assert.notEqual(rolled.spec?.template.metadata?.annotations?.['funclet.io/relay-secret-sha256'], hash);
  });

  it('applies the manifests from several callers at once, each replacing what the others wrote', async () => {
    const objects = readManifests();
    const results = await Promise.allSettled(Array.from({ length: 4 }, () => applyManifests(admin, objects)));
    assert.deepEqual(
      results.filter((r) => r.status === 'rejected').map((r) => String(r.reason)),
      [],
    );
  });

  it('refuses half a relay configuration before touching the cluster', async () => {
    const before = await core.readNamespacedSecret(relaySecret);
    await assert.rejects(
      runAttach({
        adminKubeconfigText: adminText,
        out: () => undefined,
        webhookUrl: 'https://funclet-abc.azurewebsites.net/api/podEvents?code=k',
        nodes: ['vk-1'],
        relayImage: 'registry.example/funclet-relay:1',
      }),
      /missing webhookSecret/,
    );
    await assert.rejects(
      runAttach({
        adminKubeconfigText: adminText,
        out: () => undefined,
        webhookUrl: 'https://funclet-abc.azurewebsites.net/api/podEvents?code=k',
        webhookSecret: 'short',
        nodes: ['vk-1'],
      }),
      (err: Error) =>
        /at least 32 characters/.test(err.message) && /relayImage is required/.test(err.message),
    );
    const after = await core.readNamespacedSecret(relaySecret);
    assert.equal(after.metadata?.resourceVersion, before.metadata?.resourceVersion);
  });
});
