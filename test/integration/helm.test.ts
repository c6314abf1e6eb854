/**
 * The chart installed with the real Helm CLI into a control plane of its own (its objects have
 * fixed names in funclet-system, which the other tests' attaches share, and uninstall removes
 * them all): `helm upgrade --install`, the relay started as its Deployment configures it, with
 * the ServiceAccount token and the Secret the chart made, poking the webhook for a pod on its
 * node; `helm upgrade` with a new secret and the other credential kind; `helm uninstall`.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { after, before, describe, it } from 'node:test';
import {
  AppsV1Api,
  CoreV1Api,
  NetworkingV1Api,
  RbacAuthorizationV1Api,
  type V1Deployment,
} from '@kubernetes/client-node';
import { chartValues, runAttach } from '../../cli/attach.ts';
import { chartDir, withValuesFile, type ChartValues } from '../../cli/chart.ts';
import { relayOptionsFromEnv, runRelay } from '../../cli/relay.ts';
import { relayServiceAccount, serviceAccountKubeconfig } from '../../cli/serviceAccount.ts';
import { apiStatus } from '../../core/kube/errors.ts';
import { fileKubeconfigStore } from '../../core/kube/kubeconfigStore.ts';
import { createLogger } from '../../core/log.ts';
import { parseBatch, verify, type PokeBatch } from '../../core/relay/protocol.ts';
import { startCluster, type Cluster } from '../../dev/cluster/cluster.ts';
import { helmBinary } from '../../dev/goTools.ts';
import { kubeConfigFrom } from '../support/kube.ts';
import { waitFor } from '../support/process.ts';

const run = promisify(execFile);
const funclet = fileURLToPath(new URL('../../cli/funclet.ts', import.meta.url));
const node = 'vk-helm';
const firstSecret = 'first-secret-'.padEnd(40, '0');
const secondSecret = 'second-secret-'.padEnd(40, '1');

/** podEvents' side: records the batches whose signature verifies with the secrets it knows. */
async function startReceiver(secrets: string[]) {
  const batches: PokeBatch[] = [];
  const server: Server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (c: Buffer) => chunks.push(c));
    request.on('end', () => {
      const body = Buffer.concat(chunks).toString('utf8');
      const verified = verify(secrets, body, request.headers['x-funclet-signature'] as string, Date.now());
      const parsed = parseBatch(body);
      if (!verified.ok || !parsed.ok) {
        response.writeHead(401).end();
        return;
      }
      batches.push(parsed.batch);
      response.writeHead(200, { 'content-type': 'application/json' }).end('{"accepted":true}');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/api/podEvents`,
    batches,
    close: async () => {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}

describe('helm install, upgrade and uninstall of the chart', { timeout: 600_000 }, () => {
  let cluster: Cluster;
  let helmPath: string;
  let receiver: Awaited<ReturnType<typeof startReceiver>>;
  const helmHome = mkdtempSync(join(tmpdir(), 'funclet-helm-home-'));

  before(async () => {
    [helmPath, cluster, receiver] = await Promise.all([
      helmBinary(),
      startCluster({ dir: join(helmHome, 'cluster') }),
      startReceiver([firstSecret]),
    ]);
  });
  after(async () => {
    await receiver?.close();
    await cluster?.stop();
    rmSync(helmHome, { recursive: true, force: true });
  });

  /** helm against this test's cluster only, with its own config, cache and data directories. */
  async function helm(args: string[], values?: ChartValues): Promise<string> {
    const env = {
      ...process.env,
      HELM_CONFIG_HOME: join(helmHome, 'config'),
      HELM_CACHE_HOME: join(helmHome, 'cache'),
      HELM_DATA_HOME: join(helmHome, 'data'),
      KUBECONFIG: cluster.adminKubeconfigPath,
    };
    const call = async (extra: string[]) => {
      try {
        return (await run(helmPath, [...args, ...extra], { env })).stdout;
      } catch (err) {
        throw new Error(`helm ${args.join(' ')}: ${(err as { stderr?: string }).stderr ?? String(err)}`);
      }
    };
    return values ? withValuesFile(values, (file) => call(['--values', file])) : call([]);
  }
  const install = (values: ChartValues) =>
    helm(['upgrade', '--install', 'funclet', chartDir, '--namespace', 'default'], values);

  const values = (secret: string, credential: 'node' | 'service-account'): ChartValues => ({
    nodes: [node],
    credential,
    relay: { image: 'example.azurecr.io/funclet-relay:test', webhook: { url: receiver.url, secret } },
  });

  it('installs the cluster side, and the relay it configures pokes podEvents for a pod on its node', async () => {
    assert.match(await install(values(firstSecret, 'node')), /STATUS: deployed/);
    const admin = kubeConfigFrom(cluster.adminKubeconfig);
    const core = admin.makeApiClient(CoreV1Api);
    const deployment = await admin
      .makeApiClient(AppsV1Api)
      .readNamespacedDeployment({ namespace: 'funclet-system', name: 'funclet-relay' });
    const secret = await core.readNamespacedSecret({ namespace: 'funclet-system', name: 'funclet-relay' });
    await admin
      .makeApiClient(NetworkingV1Api)
      .readNamespacedNetworkPolicy({ namespace: 'funclet-system', name: 'funclet-relay' });
    const binding = await admin
      .makeApiClient(RbacAuthorizationV1Api)
      .readClusterRoleBinding({ name: 'funclet-node-client-renewal' });
    assert.deepEqual(
      binding.subjects?.map((s) => s.name),
      [`system:node:${node}`],
    );

    // The relay as the Deployment runs it: its environment, its Secret, its ServiceAccount's
    // token; the pod IP is loopback, and the ports are free ones.
    const env = relayEnvironment(deployment, secret.data ?? {});
    assert.equal(env.FUNCLET_RELAY_NODES, node);
    assert.equal(env.FUNCLET_WEBHOOK_URL, receiver.url);
    const kubeconfigText = await serviceAccountKubeconfig(admin, relayServiceAccount, {
      expirationSeconds: 3600,
    });
    const logs: string[] = [];
    const relay = await runRelay({
      ...relayOptionsFromEnv({ ...env, FUNCLET_RELAY_PORT: '0', FUNCLET_KUBELET_PORT: '0' }),
      kubeconfigText,
      logger: createLogger({ functionName: 'relay' }, { sink: (_level, line) => logs.push(line) }),
    });
    try {
      assert.equal((await fetch(`http://127.0.0.1:${relay.port}/healthz`)).status, 200);
      await core.createNamespacedPod({
        namespace: 'default',
        body: {
          metadata: { name: 'poked' },
          spec: { nodeName: node, containers: [{ name: 'c', image: 'busybox' }] },
        },
      });
      await waitFor(
        'a signed poke for default/poked',
        () =>
          Promise.resolve(
            receiver.batches.some((b) => b.node === node && b.events.some((e) => e.name === 'poked')),
          ),
        { timeoutMs: 60_000 },
      );
      assert.ok(!logs.some((l) => l.includes('"level":"error"')), logs.join('\n'));
    } finally {
      await relay.stop();
    }
  });

  it('installs the values funclet attach renders for the cluster: the NetworkPolicy narrowed to its API server', async () => {
    const rendered = await chartValues({
      adminKubeconfigText: cluster.adminKubeconfig,
      nodes: [node],
      webhookUrl: receiver.url,
      webhookSecret: firstSecret,
      relayImage: 'example.azurecr.io/funclet-relay:test',
    });
    assert.match(await install(rendered), /STATUS: deployed/);
    const policy = await kubeConfigFrom(cluster.adminKubeconfig)
      .makeApiClient(NetworkingV1Api)
      .readNamespacedNetworkPolicy({ namespace: 'funclet-system', name: 'funclet-relay' });
    const port = Number(new URL(cluster.server).port);
    const apiRule = policy.spec?.egress?.find((r) => r.ports?.some((p) => p.port === port));
    assert.deepEqual(
      apiRule?.to?.map((peer) => peer.ipBlock?.cidr),
      ['127.0.0.1/32'],
      JSON.stringify(policy.spec?.egress),
    );
  });

  it('funclet attach --helm-values writes those values to a file only its owner can read, and prints no secret', async () => {
    const file = join(helmHome, 'attach-values.json');
    const { stdout } = await run(
      process.execPath,
      [
        funclet,
        'attach',
        '--kubeconfig',
        cluster.adminKubeconfigPath,
        '--node',
        node,
        '--webhook-url',
        receiver.url,
        '--relay-image',
        'example.azurecr.io/funclet-relay:test',
        '--helm-values',
        file,
      ],
      { env: { ...process.env, FUNCLET_WEBHOOK_SECRET: firstSecret } },
    );
    assert.match(stdout, /helm upgrade --install funclet infra\/helm\/funclet --namespace default --values /);
    assert.ok(!stdout.includes(firstSecret), 'the secret is not printed');
    assert.equal(statSync(file).mode & 0o777, 0o600);
    const written = JSON.parse(readFileSync(file, 'utf8')) as ChartValues;
    assert.deepEqual(written.nodes, [node]);
    assert.equal(written.relay?.webhook?.secret, firstSecret);
    assert.deepEqual(written.networkPolicy?.apiServer?.cidrs, ['127.0.0.1/32']);
  });

  it('takes funclet attach issuing the node credential over the install, and upgrades after it', async () => {
    const out = join(helmHome, 'functions.kubeconfig');
    const result = await runAttach({
      adminKubeconfigText: cluster.adminKubeconfig,
      nodes: [node],
      store: fileKubeconfigStore(out),
      out: () => undefined,
    });
    assert.equal(result.credential.kind, 'node');
    assert.match(await install(values(firstSecret, 'node')), /STATUS: deployed/);
    const binding = await kubeConfigFrom(cluster.adminKubeconfig)
      .makeApiClient(RbacAuthorizationV1Api)
      .readClusterRoleBinding({ name: 'funclet-node-client-renewal' });
    assert.equal(binding.metadata?.labels?.['app.kubernetes.io/managed-by'], 'Helm');
  });

  it('upgrades: a new webhook secret rolls the relay, and the other credential kind replaces the first', async () => {
    const admin = kubeConfigFrom(cluster.adminKubeconfig);
    const apps = admin.makeApiClient(AppsV1Api);
    const rbac = admin.makeApiClient(RbacAuthorizationV1Api);
    const read = () => apps.readNamespacedDeployment({ namespace: 'funclet-system', name: 'funclet-relay' });
    const before = (await read()).spec?.template.metadata?.annotations?.['funclet.io/relay-secret-sha256'];
    assert.match(await install(values(secondSecret, 'service-account')), /STATUS: deployed/);
    const after = (await read()).spec?.template.metadata?.annotations?.['funclet.io/relay-secret-sha256'];
    assert.ok(before && after && before !== after, 'the pod template changed with the secret');
    const secret = await admin
      .makeApiClient(CoreV1Api)
      .readNamespacedSecret({ namespace: 'funclet-system', name: 'funclet-relay' });
    assert.equal(Buffer.from(secret.data!.FUNCLET_WEBHOOK_SECRET!, 'base64').toString(), secondSecret);
    const role = await rbac.readClusterRole({ name: 'funclet' });
    assert.ok(role.rules?.some((r) => r.resourceNames?.includes(node)));
    await assert.rejects(
      rbac.readClusterRoleBinding({ name: 'funclet-node-client-renewal' }),
      (err) => apiStatus(err) === 404,
    );
    assert.match(
      await helm(['history', 'funclet', '--namespace', 'default']),
      /4\s+.*deployed\s+funclet-0\.1\.0/,
    );
  });

  it('uninstalls: the namespace, the RBAC and the relay are gone', async () => {
    await helm(['uninstall', 'funclet', '--namespace', 'default', '--wait', '--timeout', '3m']);
    const admin = kubeConfigFrom(cluster.adminKubeconfig);
    const rbac = admin.makeApiClient(RbacAuthorizationV1Api);
    for (const name of ['funclet', 'funclet-relay'])
      await assert.rejects(rbac.readClusterRole({ name }), (err) => apiStatus(err) === 404, name);
    await waitFor(
      'funclet-system deleted',
      async () => {
        try {
          await admin.makeApiClient(CoreV1Api).readNamespace({ name: 'funclet-system' });
          return false;
        } catch (err) {
          return apiStatus(err) === 404;
        }
      },
      { timeoutMs: 120_000, intervalMs: 1000 },
    );
    assert.doesNotMatch(await helm(['list', '--namespace', 'default', '--all']), /funclet/);
  });
});

/** The container's environment as the kubelet would make it, the pod's IP being loopback. */
function relayEnvironment(
  deployment: V1Deployment,
  secretData: Record<string, string>,
): Record<string, string> {
  const container = deployment.spec?.template.spec?.containers.find((c) => c.name === 'relay');
  assert.ok(container, 'the Deployment runs a container named relay');
  const env: Record<string, string> = {};
  for (const e of container.env ?? []) {
    if (e.value !== undefined) env[e.name] = e.value;
    else if (e.valueFrom?.secretKeyRef) {
      const value = secretData[e.valueFrom.secretKeyRef.key];
      if (value !== undefined) env[e.name] = Buffer.from(value, 'base64').toString('utf8');
      else
        assert.ok(
          e.valueFrom.secretKeyRef.optional,
          `${e.name}: the Secret has no ${e.valueFrom.secretKeyRef.key}`,
        );
    } else if (e.valueFrom?.fieldRef?.fieldPath === 'status.podIP') env[e.name] = '127.0.0.1';
    else assert.fail(`${e.name}: an environment source the test does not model`);
  }
  return env;
}
