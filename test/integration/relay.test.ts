import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import { after, before, describe, it } from 'node:test';
import {
  CoreV1Api,
  KubernetesObjectApi,
  type KubeConfig,
  type KubernetesObject,
  type V1Deployment,
} from '@kubernetes/client-node';
import { applyManifests, k8sManifestDir, readManifests } from '../../cli/manifests.ts';
import { relayServiceAccount, serviceAccountKubeconfig } from '../../cli/serviceAccount.ts';
import { mergePatch } from '../../core/kube/clients.ts';
import { parseBatch, verify, type PokeBatch } from '../../core/relay/protocol.ts';
import { uniqueName } from '../support/env.ts';
import { testAdmin, createPodNamespace } from '../support/kube.ts';
import { waitFor } from '../support/process.ts';

const secret = `relay-integration-${'0123456789abcdef'.repeat(2)}`;
const guard = fileURLToPath(new URL('../support/exit-with-parent.sh', import.meta.url));
const relayModule = fileURLToPath(new URL('../../cli/relay.ts', import.meta.url));

/** podEvents' side of the webhook: refuses (and records) anything whose signature does not verify. */
async function startReceiver() {
  const batches: PokeBatch[] = [];
  const refusals: string[] = [];
  const server: Server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (c: Buffer) => chunks.push(c));
    request.on('end', () => {
      const body = Buffer.concat(chunks).toString('utf8');
      const verified = verify(
        [secret],
        body,
        request.headers['x-funclet-signature'] as string | undefined,
        Date.now(),
      );
      const parsed = parseBatch(body);
      if (!verified.ok || !parsed.ok || request.headers['content-type'] !== 'application/json') {
        refusals.push(verified.ok ? (parsed.ok ? 'content-type' : parsed.problem) : verified.problem);
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
    refusals,
    pokesFor: (node: string) => batches.filter((b) => b.node === node).flatMap((b) => b.events),
    close: async () => {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}

/**
 * `funclet relay` as its own process, configured from the environment exactly as the
 * Deployment configures it. It stops the way the kubelet stops it (SIGTERM, from the guard
 * when its stdin closes) and must then exit on its own: a handle left open would keep it
 * alive until the guard's SIGKILL.
 */
function startRelayProcess(env: Record<string, string>) {
  const script = [
    `import { relayOptionsFromEnv, runRelay } from ${JSON.stringify(relayModule)};`,
    'const relay = await runRelay({ ...relayOptionsFromEnv(process.env), kubeconfigText: process.env.RELAY_TEST_KUBECONFIG });',
    "process.once('SIGTERM', () => void relay.stop());",
  ].join('\n');
  const child: ChildProcess = spawn(guard, [process.execPath, '--input-type=module', '-e', script], {
    env: { ...process.env, ...env },
    stdio: ['pipe', 'pipe', 'pipe'],
    detached: true,
  });
  const logLines: Record<string, unknown>[] = [];
  let stderr = '';
  let buffered = '';
  child.stdout!.setEncoding('utf8').on('data', (chunk: string) => {
    buffered += chunk;
    for (let i; (i = buffered.indexOf('\n')) >= 0; buffered = buffered.slice(i + 1)) {
      try {
        logLines.push(JSON.parse(buffered.slice(0, i)) as Record<string, unknown>);
      } catch {
        stderr += buffered.slice(0, i) + '\n';
      }
    }
  });
  child.stderr!.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return {
    logLines,
    stderr: () => stderr,
    exited,
    port: () =>
      (logLines.find((l) => l.message === 'relay probes listening')?.data as { port?: number } | undefined)
        ?.port,
    /** SIGTERM; resolves with the exit code and how long the process took to go. */
    stop: async () => {
      const started = Date.now();
      child.stdin!.end();
      const code = await exited;
      return { code, ms: Date.now() - started };
    },
  };
}

/** waitFor's check for a condition that needs no I/O. */
const holds = (condition: () => boolean) => () => Promise.resolve(condition());

describe('the relay against a real API server', () => {
  let admin: KubeConfig;
  let core: CoreV1Api;
  let receiver: Awaited<ReturnType<typeof startReceiver>>;
  let relay: ReturnType<typeof startRelayProcess>;
  let relayStopped = false;
  const namespace = uniqueName('relay');
  const [nodeA, nodeB, unwatched] = [
    uniqueName('vk-relay-a'),
    uniqueName('vk-relay-b'),
    uniqueName('vk-relay-x'),
  ];

  const createPod = async (name: string, nodeName: string) =>
    core.createNamespacedPod({
      namespace,
      body: {
        metadata: { name, labels: { test: 'relay' } },
        // Bound directly: no scheduler, no Node object, no kubelet.
        spec: { nodeName, containers: [{ name: 'c', image: 'busybox' }], terminationGracePeriodSeconds: 0 },
      },
    });
  const probe = async (path: string) => (await fetch(`http://127.0.0.1:${relay.port()}${path}`)).status;

  before(async () => {
    admin = testAdmin();
    core = admin.makeApiClient(CoreV1Api);
    // The RBAC the relay runs with; the Deployment itself is only dry-run below.
    await applyManifests(
      admin,
      readManifests().filter((o) => o.kind !== 'Deployment'),
    );
    await createPodNamespace(core, namespace);
    receiver = await startReceiver();
  });

  after(async () => {
    if (!relayStopped) await relay?.stop();
    await receiver?.close();
    await core.deleteNamespace({ name: namespace }).catch(() => undefined);
  });

  it('pokes pods already on its nodes from the initial list, then every ADDED, label change and DELETED but no status-only change, each batch only for its node, and exits cleanly on SIGTERM', async () => {
    const before = await createPod('before', nodeA);

    relay = startRelayProcess({
      FUNCLET_RELAY_NODES: `${nodeA},${nodeB}`,
      FUNCLET_WEBHOOK_URL: receiver.url,
      FUNCLET_WEBHOOK_SECRET: secret,
      FUNCLET_RELAY_PORT: '0',
      RELAY_TEST_KUBECONFIG: await serviceAccountKubeconfig(admin, relayServiceAccount, {
        expirationSeconds: 3600,
      }),
    });
    await waitFor(
      'the relay to listen',
      holds(() => relay.port() !== undefined),
      {
        timeoutMs: 20_000,
        intervalMs: 50,
      },
    );
    await waitFor('/readyz 200', async () => (await probe('/readyz')) === 200, {
      timeoutMs: 20_000,
      intervalMs: 100,
    });
    assert.equal(await probe('/healthz'), 200);

    await waitFor(
      'the pod that existed before the relay started',
      holds(() =>
        receiver.pokesFor(nodeA).some((p) => p.uid === before.metadata!.uid && p.type === 'MODIFIED'),
      ),
      { timeoutMs: 10_000, intervalMs: 50 },
    );

    const created = await createPod('created', nodeA);
    const onB = await createPod('on-b', nodeB);
    const elsewhere = await createPod('elsewhere', unwatched);
    await waitFor(
      'an ADDED poke for the new pod on node A',
      holds(() =>
        receiver
          .pokesFor(nodeA)
          .some(
            (p) =>
              p.type === 'ADDED' &&
              p.uid === created.metadata!.uid &&
              p.namespace === namespace &&
              p.name === 'created' &&
              p.resourceVersion === created.metadata!.resourceVersion,
          ),
      ),
      { timeoutMs: 10_000, intervalMs: 50 },
    );
    await waitFor(
      'a poke for the pod on node B, in a batch for node B',
      holds(() => receiver.pokesFor(nodeB).some((p) => p.uid === onB.metadata!.uid)),
      { timeoutMs: 10_000, intervalMs: 50 },
    );

    // A change to the status alone is not poked; a change to the labels is. The barrier pod's
    // ADDED comes after the status change in the watch, so once it is heard, a poke for the
    // status change would have been heard too.
    const statusPatched = await core.patchNamespacedPodStatus(
      {
        namespace,
        name: 'created',
        body: { status: { conditions: [{ type: 'example.com/gate', status: 'True' }] } },
      },
      mergePatch,
    );
    const barrier = await createPod('barrier', nodeA);
    await waitFor(
      'the barrier pod',
      holds(() => receiver.pokesFor(nodeA).some((p) => p.uid === barrier.metadata!.uid)),
      { timeoutMs: 10_000, intervalMs: 50 },
    );
    assert.ok(
      !receiver.pokesFor(nodeA).some((p) => p.resourceVersion === statusPatched.metadata!.resourceVersion),
      'no poke for a status-only change',
    );
    const labelled = await core.patchNamespacedPod(
      { namespace, name: 'created', body: { metadata: { labels: { tier: 'web' } } } },
      mergePatch,
    );
    await waitFor(
      'a MODIFIED poke for the label change',
      holds(() =>
        receiver
          .pokesFor(nodeA)
          .some((p) => p.type === 'MODIFIED' && p.resourceVersion === labelled.metadata!.resourceVersion),
      ),
      { timeoutMs: 10_000, intervalMs: 50 },
    );

    await core.deleteNamespacedPod({ namespace, name: 'created', gracePeriodSeconds: 0 });
    await waitFor(
      'a DELETED poke for the deleted pod',
      holds(() =>
        receiver.pokesFor(nodeA).some((p) => p.type === 'DELETED' && p.uid === created.metadata!.uid),
      ),
      { timeoutMs: 10_000, intervalMs: 50 },
    );

    const uidsOnA = new Set(receiver.pokesFor(nodeA).map((p) => p.uid));
    assert.deepEqual(
      uidsOnA,
      new Set([before.metadata!.uid, created.metadata!.uid, barrier.metadata!.uid]),
      'node A heard only of its own pods',
    );
    assert.ok(
      receiver.batches.every((b) => !b.events.some((p) => p.uid === elsewhere.metadata!.uid)),
      'a pod on a node the relay does not serve is never poked',
    );
    assert.ok(receiver.batches.every((b) => b.node === nodeA || b.node === nodeB));
    assert.deepEqual(receiver.refusals, [], 'every request was correctly signed');
    assert.equal(await probe('/healthz'), 200);

    const { code, ms } = await relay.stop();
    relayStopped = true;
    assert.equal(
      code,
      0,
      `the relay exited by itself after SIGTERM (code ${code}); stderr:\n${relay.stderr()}`,
    );
    assert.ok(ms < 4_000, `it took ${ms} ms to exit`);
    assert.ok(relay.logLines.some((l) => l.message === 'relay stopped'));
    assert.ok(
      !relay.logLines.some((l) => l.level === 'error'),
      JSON.stringify(relay.logLines.filter((l) => l.level === 'error')),
    );
  });

  it('ships a Deployment the API server accepts (server-side dry run) with the relay ServiceAccount and a locked-down container', async () => {
    const [deployment] = readManifests(k8sManifestDir, ['relay-deployment.yaml']).filter(
      (o): o is KubernetesObject => o.kind === 'Deployment',
    );
    assert.ok(deployment, 'infra/k8s holds the relay Deployment');
    const accepted = (await KubernetesObjectApi.makeApiClient(admin).create(
      deployment,
      undefined,
      'All',
    )) as V1Deployment;
    assert.equal(accepted.metadata?.name, 'funclet-relay');
    assert.equal(accepted.metadata?.namespace, 'funclet-system');
    const pod = accepted.spec?.template.spec;
    assert.equal(pod?.serviceAccountName, relayServiceAccount.name);
    const container = pod?.containers[0];
    assert.deepEqual(container?.args, ['relay']);
    assert.equal(container?.securityContext?.readOnlyRootFilesystem, true);
    assert.equal(container?.securityContext?.allowPrivilegeEscalation, false);
    assert.deepEqual(container?.securityContext?.capabilities?.drop, ['ALL']);
    assert.equal(container?.livenessProbe?.httpGet?.path, '/healthz');
    assert.equal(container?.readinessProbe?.httpGet?.path, '/readyz');
  });
});
