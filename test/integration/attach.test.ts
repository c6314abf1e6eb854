import assert from 'node:assert/strict';
import { generateKeyPairSync, X509Certificate } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import {
  AppsV1Api,
  ApiException,
  CoreV1Api,
  KubeConfig,
  NetworkingV1Api,
  RbacAuthorizationV1Api,
  loadYaml,
  dumpYaml,
} from '@kubernetes/client-node';
import { relaySecret, runAttach } from '../../cli/attach.ts';
import { applyManifests, readManifests } from '../../cli/manifests.ts';
import { openRules } from '../../cli/relayNetworkPolicy.ts';
import { mergePatch } from '../../core/kube/clients.ts';
import { fileKubeconfigStore, memoryKubeconfigStore } from '../../core/kube/kubeconfigStore.ts';
import { leaseRenewHandler } from '../../functions/leaseRenew.ts';
import { testEnv, uniqueName } from '../support/env.ts';
import { freshRuntimes, functionSettings, invocation, timer } from '../support/functions.ts';
import { kubeConfigFrom, testAdmin } from '../support/kube.ts';

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

function assertHoldsNone(output: string, secrets: string[], what: string): void {
  // Compared as booleans: a failure must not print credentials into the test log.
  for (const secret of secrets) assert.ok(!output.includes(secret), `the ${what} holds a credential`);
}

/** The private keys and certificates of a node kubeconfig, as text and as the base64 it stores. */
function nodeSecrets(kubeconfig: string): string[] {
  const doc = JSON.parse(kubeconfig) as KubeconfigDoc;
  return doc.users.flatMap((u) => {
    const key = Buffer.from(u.user['client-key-data'] ?? '', 'base64').toString('utf8');
    return [u.user['client-key-data'] ?? '', key.split('\n')[1] ?? ''].filter((s) => s !== '');
  });
}

const status = async (call: () => Promise<unknown>): Promise<number> => {
  try {
    await call();
    return 200;
  } catch (err) {
    return err instanceof ApiException ? err.code : -1;
  }
};

describe('funclet attach', () => {
  let admin: KubeConfig;
  let core: CoreV1Api;
  let adminText: string;
  let adminSecrets: string[];
  const nodes: string[] = [];
  const dir = mkdtempSync(join(tmpdir(), 'funclet-attach-'));
  const tablePrefix = `attach${Math.random().toString(36).slice(2, 8)}`;
  const newNodes = (n: number) => {
    const names = Array.from({ length: n }, () => uniqueName('vk-attach'));
    nodes.push(...names);
    return names;
  };

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
    rmSync(dir, { recursive: true, force: true });
  });

  it('issues each node its own system:node: certificate, stores the kubeconfig, and prints and logs none of it', async () => {
    const [a, b] = newNodes(2) as [string, string];
    // A node that is not one of Funclet's, for attach's NodeRestriction check to try.
    const real = uniqueName('real-node');
    nodes.push(real);
    await core.createNode({ body: { metadata: { name: real } } });
    const store = memoryKubeconfigStore('');
    const printed: string[] = [];
    const logged: string[] = [];
    const result = await runAttach({
      adminKubeconfigText: adminText,
      nodes: [a, b],
      store,
      out: (t) => printed.push(t),
      log: (l) => logged.push(l),
    });
    assert.ok((await store.read()) === result.kubeconfig, 'the store holds the kubeconfig');
    assert.match(printed.join(''), /wrote the functions' kubeconfig \(node identity\) to memory/);
    const secrets = nodeSecrets(result.kubeconfig);
    assert.equal(secrets.length, 4, 'two private keys');
    for (const [what, text] of [
      ['output', printed.join('')],
      ['log', logged.join('\n')],
    ] as const) {
      assertHoldsNone(text, secrets, what);
      assertHoldsNone(text, adminSecrets, what);
    }
    assertHoldsNone(result.kubeconfig, adminSecrets, 'kubeconfig');

    const doc = JSON.parse(result.kubeconfig) as KubeconfigDoc;
    assert.deepEqual(
      doc.contexts.map((c) => [c.name, c.context.user]),
      [
        [a, `system:node:${a}`],
        [b, `system:node:${b}`],
      ],
    );
    for (const user of doc.users) {
      const cert = new X509Certificate(Buffer.from(user.user['client-certificate-data']!, 'base64'));
      assert.match(cert.subject, new RegExp(`CN=${user.name}`));
      assert.match(cert.subject, /O=system:nodes/);
      assert.ok(
        cert.checkIssued(new X509Certificate(testEnv().cluster.clientCaPem)),
        'issued by the cluster CA',
      );
    }
    assert.deepEqual(
      result.credential.kind === 'node' ? result.credential.nodeRestriction : undefined,
      'enforced',
      'the test cluster runs NodeRestriction, and attach can tell',
    );
    assert.equal((await core.readNode({ name: real })).metadata?.labels?.['funclet.io/probe'], undefined);

    // The functions run with it: the lease timer registers both nodes, each as itself.
    const env = functionSettings({
      kubeconfig: result.kubeconfig,
      tablePrefix,
      nodes: [
        { name: a, provider: 'mock' },
        { name: b, provider: 'mock' },
      ],
    });
    await leaseRenewHandler(freshRuntimes(env))(timer(), invocation('leaseRenew').context);
    for (const name of [a, b]) {
      const node = await core.readNode({ name });
      assert.equal(node.status?.conditions?.find((c) => c.type === 'Ready')?.status, 'True');
    }
    // ...and can do no more than a node: no listing of Secrets, no reading another node.
    const asA = kubeConfigFrom(result.kubeconfig);
    asA.setCurrentContext(a);
    const aCore = asA.makeApiClient(CoreV1Api);
    assert.equal(await status(() => aCore.listSecretForAllNamespaces()), 403);
    assert.equal(await status(() => aCore.readNode({ name: b })), 403);
    assert.equal(await status(() => aCore.readNode({ name: a })), 200);

    // Renewal is approved for these nodes by name: the one grant beyond the Node authorizer.
    const binding = await admin
      .makeApiClient(RbacAuthorizationV1Api)
      .readClusterRoleBinding({ name: 'funclet-node-client-renewal' });
    assert.equal(
      binding.roleRef.name,
      'system:certificates.k8s.io:certificatesigningrequests:selfnodeclient',
    );
    const users = (binding.subjects ?? []).map((s) => `${s.kind}/${s.name}`);
    for (const name of [a, b]) assert.ok(users.includes(`User/system:node:${name}`), name);
  });

  it('writes the kubeconfig to a file only its owner can read', async () => {
    const file = join(dir, 'funclet.kubeconfig');
    writeFileSync(file, 'an older file, world-readable', { mode: 0o644 });
    const printed: string[] = [];
    const result = await runAttach({
      adminKubeconfigText: adminText,
      nodes: newNodes(1),
      store: fileKubeconfigStore(file),
      out: (t) => printed.push(t),
    });
    assert.equal(statSync(file).mode & 0o777, 0o600);
    assert.ok(readFileSync(file, 'utf8') === result.kubeconfig, 'the file holds the kubeconfig');
    assert.match(printed.join(''), new RegExp(`to file ${file.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}`));
    assertHoldsNone(printed.join(''), nodeSecrets(result.kubeconfig), 'output');
  });

  it('as the ServiceAccount fallback: an expiring token, allowed its own nodes only', async () => {
    const [mine] = newNodes(1) as [string];
    const other = uniqueName('vk-not-attached');
    const store = memoryKubeconfigStore('');
    const result = await runAttach({
      adminKubeconfigText: adminText,
      nodes: [mine],
      identity: 'service-account',
      tokenExpirationSeconds: 3600,
      store,
      out: () => undefined,
    });
    try {
      assert.equal(result.credential.kind, 'service-account');
      const expiresAt =
        result.credential.kind === 'service-account' ? result.credential.expiresAt : undefined;
      const inMs = Date.parse(expiresAt ?? '') - Date.now();
      assert.ok(inMs > 3500_000 && inMs <= 3600_000, `expires in ${inMs} ms`);
      assertHoldsNone(result.kubeconfig, adminSecrets, 'kubeconfig');
      const doc = JSON.parse(result.kubeconfig) as KubeconfigDoc;
      assert.deepEqual(Object.keys(doc.users[0]!.user), ['token'], 'a bearer token and nothing else');

      const fn = kubeConfigFrom(result.kubeconfig).makeApiClient(CoreV1Api);
      for (const name of [mine, other])
        await core.createNode({ body: { metadata: { name } } }).catch(() => undefined);
      nodes.push(other);
      const patchLabel = (name: string) =>
        fn.patchNode({ name, body: { metadata: { labels: { touched: 'yes' } } } }, mergePatch);
      assert.equal(await status(() => fn.readNode({ name: mine })), 200);
      assert.equal(
        await status(() => fn.readNode({ name: other })),
        403,
        'resourceNames: its own nodes only',
      );
      assert.equal(await status(() => fn.listSecretForAllNamespaces()), 403);
      assert.equal(await status(() => patchLabel(other)), 403);
    } finally {
      // Give the cluster's other tests their node identity objects back.
      await runAttach({ adminKubeconfigText: adminText, nodes: newNodes(1), store, out: () => undefined });
    }
  });

  it('installs the relay with its Secret (the function key out of the URL), image and nodes, and rolls it when the secret changes', async () => {
    const relay = {
      webhookUrl: 'https://funclet-abc.azurewebsites.net/api/podEvents?code=function-key',
      webhookSecret: 's'.repeat(48),
      nodes: newNodes(2),
      relayImage: 'registry.example/funclet-relay@sha256:' + 'a'.repeat(64),
    };
    const logged: string[] = [];
    const result = await runAttach({
      adminKubeconfigText: adminText,
      store: memoryKubeconfigStore(''),
      out: () => undefined,
      log: (line) => logged.push(line),
      ...relay,
    });
    assert.deepEqual(result.relay, { nodes: relay.nodes, image: relay.relayImage });
    assertHoldsNone(logged.join('\n'), [...adminSecrets, relay.webhookSecret, 'function-key'], 'log');

    const secret = await core.readNamespacedSecret(relaySecret);
    const data = (k: string) => Buffer.from(secret.data?.[k] ?? '', 'base64').toString('utf8');
    assert.equal(data('FUNCLET_WEBHOOK_URL'), 'https://funclet-abc.azurewebsites.net/api/podEvents');
    assert.equal(data('FUNCLET_FUNCTION_KEY'), 'function-key');
    assert.equal(data('FUNCLET_WEBHOOK_SECRET'), relay.webhookSecret);

    const apps = admin.makeApiClient(AppsV1Api);
    const deployment = await apps.readNamespacedDeployment({
      namespace: 'funclet-system',
      name: 'funclet-relay',
    });
    const container = deployment.spec?.template.spec?.containers.find((c) => c.name === 'relay');
    assert.equal(container?.image, relay.relayImage);
    assert.equal(container?.env?.find((e) => e.name === 'FUNCLET_RELAY_NODES')?.value, relay.nodes.join(','));
    assert.equal(
      container?.env?.find((e) => e.name === 'FUNCLET_FUNCTION_KEY')?.valueFrom?.secretKeyRef?.key,
      'FUNCLET_FUNCTION_KEY',
    );
    const hash = deployment.spec?.template.metadata?.annotations?.['funclet.io/relay-secret-sha256'];
    assert.match(hash ?? '', /^[0-9a-f]{64}$/);

    await runAttach({
      adminKubeconfigText: adminText,
      store: memoryKubeconfigStore(''),
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

  it("narrows the relay's egress to the API server's endpoints, DNS pods and public HTTPS", async () => {
    await runAttach({
      adminKubeconfigText: adminText,
      nodes: newNodes(1),
      store: memoryKubeconfigStore(''),
      out: () => undefined,
    });
    const policy = await admin
      .makeApiClient(NetworkingV1Api)
      .readNamespacedNetworkPolicy({ namespace: 'funclet-system', name: 'funclet-relay' });
    const apiServer = new URL(testEnv().cluster.server);
    const egress = policy.spec?.egress ?? [];
    assert.deepEqual(
      egress
        .find((r) => r.ports?.some((p) => p.port === Number(apiServer.port)))
        ?.to?.map((t) => t.ipBlock?.cidr),
      [`${apiServer.hostname}/32`],
      'the API server rule names its endpoint only',
    );
    assert.equal(
      egress.some((r) => r.ports?.some((p) => p.port === 6443)),
      false,
      'no 6443 to anywhere',
    );
    assert.deepEqual(openRules(policy), [], 'no rule opens a port to every address without exceptions');
    const dns = egress.find((r) => r.ports?.some((p) => p.port === 53));
    assert.deepEqual(dns?.to?.[0]?.podSelector?.matchLabels, { 'k8s-app': 'kube-dns' });
  });

  it('applies the manifests from several callers at once, each replacing what the others wrote', async () => {
    const objects = readManifests();
    const results = await Promise.allSettled(Array.from({ length: 4 }, () => applyManifests(admin, objects)));
    assert.deepEqual(
      results.filter((r) => r.status === 'rejected').map((r) => String(r.reason)),
      [],
    );
  });

  it('refuses half a relay configuration, plain http and bad node names before touching the cluster', async () => {
    const version = () =>
      core.readNamespacedSecret(relaySecret).then(
        (s) => s.metadata?.resourceVersion,
        () => undefined,
      );
    const before = await version();
    const attach = (options: Partial<Parameters<typeof runAttach>[0]>) =>
      runAttach({
        adminKubeconfigText: adminText,
        nodes: ['vk-1'],
        store: memoryKubeconfigStore(''),
        out: () => undefined,
        ...options,
      });
    await assert.rejects(
      attach({
        webhookUrl: 'https://funclet-abc.azurewebsites.net/api/podEvents',
        relayImage: 'registry.example/funclet-relay:1',
      }),
      /missing webhookSecret/,
    );
    await assert.rejects(
      attach({ webhookUrl: 'https://funclet-abc.azurewebsites.net/api/podEvents', webhookSecret: 'short' }),
      (err: Error) =>
        /at least 32 characters/.test(err.message) && /relayImage is required/.test(err.message),
    );
    await assert.rejects(
      attach({
        webhookUrl: 'http://funclet-abc.azurewebsites.net/api/podEvents',
        webhookSecret: 's'.repeat(40),
        relayImage: 'r/i:1',
      }),
      /plain http:\/\/ is accepted only to a loopback address/,
    );
    await assert.rejects(attach({ nodes: [] }), /name the virtual nodes/);
    await assert.rejects(attach({ nodes: ['Not_A_Node'] }), /is not a valid node name/);
    assert.equal(await version(), before);
  });
});
