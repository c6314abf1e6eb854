/**
 * What the fault suite runs and breaks: two virtual nodes, one on ACI (the ARM fake, driven
 * through the real SDK) and one on ECS (moto, behind a fault proxy), their pod records in
 * Azurite (behind another), podEvents served on loopback behind a switch that can refuse or
 * stall it, the relay (which can be killed and started again), the lease timer, and podResync
 * on a short period. Every part is the one the event path tests use; only the switches are new.
 */
import { createWriteStream, type WriteStream } from 'node:fs';
import { AppsV1Api, BatchV1Api, CoreV1Api, type KubeConfig } from '@kubernetes/client-node';
import { localWebhookSecret } from '../../cli/eventPath.ts';
import { serveFunctions, type HttpFunction } from '../../cli/httpHost.ts';
import { hostContext } from '../../cli/invocation.ts';
import { runRelay } from '../../cli/relay.ts';
import { relayServiceAccount, serviceAccountKubeconfig } from '../../cli/serviceAccount.ts';
import { Setting } from '../../core/config.ts';
import { createLogger } from '../../core/log.ts';
import type { Provider } from '../../core/providers/provider.ts';
import { defaultBatchMaxInFlight } from '../../core/relay/watcher.ts';
import { PodRecords } from '../../core/state/podRecords.ts';
import { HttpRequest } from '../../functions/azure.ts';
import { podEventsHandler } from '../../functions/podEvents.ts';
import { podResyncHandler } from '../../functions/podResync.ts';
import type { Runtime } from '../../functions/runtime.ts';
import { aciUnderTest, providerUnderTest } from '../e2e/providers.ts';
import type { FakeAci } from '../fakes/aci/server.ts';
import { azuriteConnectionString } from '../support/azurite.ts';
import { testEnv, uniqueName } from '../support/env.ts';
import { freshRuntimes, functionSettings, timer } from '../support/functions.ts';
import { createPodNamespace, functionKubeconfig, testAdmin } from '../support/kube.ts';
import { keepNodeReady } from '../support/virtualNode.ts';
import { startFaultProxy, type FaultProxy } from './proxy.ts';

/** How podEvents answers: as it should, 503 at once, or not at all (until the fault ends). */
export type WebhookMode = 'serve' | 'unavailable' | 'silent';

/** A request the relay sent, kept so that it can be replayed byte for byte. */
export interface SentRequest {
  body: string;
  signature: string;
}

export interface World {
  admin: KubeConfig;
  core: CoreV1Api;
  apps: AppsV1Api;
  batch: BatchV1Api;
  namespace: string;
  nodes: { aci: string; ecs: string };
  aci: FakeAci;
  moto: FaultProxy;
  tables: FaultProxy;
  webhookUrl: string;
  secret: string;
  setWebhook(mode: WebhookMode): void;
  /** podEvents requests refused or left unanswered so far. */
  readonly counts: { webhookRefused: number };
  /** The relay's latest requests that podEvents served, oldest first. */
  sent(): readonly SentRequest[];
  killRelay(): Promise<void>;
  startRelay(): Promise<void>;
  /** One podResync invocation, as the timer fires it; resolves when it ends, failed or not. */
  resync(): Promise<void>;
  /** podResync every `periodMs` from now on, one at a time (as the host runs a timer). */
  resyncEvery(periodMs: number): void;
  /** What the invariants read: each node's provider, records and clients. */
  views(node: string): Promise<{ provider: Provider; records: PodRecords; runtime: Runtime }>;
  stop(): Promise<void>;
}

export async function startWorld(options: { logFile?: string; seed: number }): Promise<World> {
  const out: WriteStream | undefined = options.logFile
    ? createWriteStream(options.logFile, { flags: 'a' })
    : undefined;
  const write = (line: string) => out?.write(line.endsWith('\n') ? line : `${line}\n`);
  const logger = createLogger({ functionName: 'relay' }, { sink: (_level, line) => write(line) });
  const stops: (() => Promise<unknown>)[] = [];
  const stop = async () => {
    for (const s of stops.reverse()) await s().catch(() => undefined);
    stops.length = 0;
    out?.end();
  };
  try {
    const admin = testAdmin();
    const core = admin.makeApiClient(CoreV1Api);
    const namespace = uniqueName('faults');
    await createPodNamespace(core, namespace);
    stops.push(() => removeNamespace(core, namespace));
    const nodes = { aci: uniqueName('vk-faults-aci'), ecs: uniqueName('vk-faults-ecs') };

    const aci = await aciUnderTest({ provisioningDelayMs: 1000 });
    stops.push(() => aci.stop());
    const ecs = await providerUnderTest('ecs');
    const moto = await startFaultProxy(testEnv().moto.endpoint);
    stops.push(() => moto.close());
    const azuritePort = Number(
      /TableEndpoint=http:\/\/127\.0\.0\.1:(\d+)\//.exec(testEnv().azurite.connectionString)?.[1],
    );
    const tables = await startFaultProxy(`http://127.0.0.1:${azuritePort}`);
    stops.push(() => tables.close());

    const secret = localWebhookSecret();
    const runtimes = freshRuntimes(
      functionSettings({
        kubeconfig: await functionKubeconfig(admin, [nodes.aci, nodes.ecs]),
        tablePrefix: `faults${Math.random().toString(36).slice(2, 8)}`,
        nodes: [
          { name: nodes.aci, provider: 'aci' },
          { name: nodes.ecs, provider: 'ecs' },
        ],
        extra: {
          ...aci.settings,
          ...ecs.settings,
          [Setting.ecsEndpoint]: moto.url,
          [Setting.tableConnectionString]: azuriteConnectionString(tables.port),
          [Setting.webhookSecret]: secret,
        },
      }),
      undefined,
      { ...aci.overrides, ...ecs.overrides },
    );
    // Stopped before the nodes are deleted (stops run last first), or it would register them again.
    for (const name of [nodes.aci, nodes.ecs]) stops.push(() => core.deleteNode({ name }));
    const lease = await keepNodeReady(runtimes);
    stops.push(() => lease.stop());

    let mode: WebhookMode = 'serve';
    let modeChanged: () => void = () => undefined;
    let changed = new Promise<void>((resolve) => (modeChanged = resolve));
    const sent: SentRequest[] = [];
    const handler = podEventsHandler(runtimes);
    const counts = { webhookRefused: 0 };
    const switched: HttpFunction = async (request, context) => {
      if (mode !== 'serve') counts.webhookRefused++;
      if (mode === 'unavailable') return { status: 503, jsonBody: { error: 'podEvents unavailable' } };
      if (mode === 'silent') {
        // Never answers while the fault lasts; the caller has long given up by then.
        while (mode === 'silent') await changed;
        return { status: 503, jsonBody: { error: 'podEvents unavailable' } };
      }
      const body = await request.text();
      const headers: Record<string, string> = {};
      request.headers.forEach((value, key) => (headers[key] = value));
      const signature = headers['x-funclet-signature'] ?? '';
      sent.push({ body, signature });
      if (sent.length > 200) sent.shift();
      return handler(
        new HttpRequest({
          method: request.method,
          url: request.url,
          headers,
          body: { string: body },
        }),
        context,
      );
    };
    const http = await serveFunctions({ podEvents: switched }, (name) => hostContext(name, write));
    stops.push(() => http.close());
    const webhookUrl = `${http.url}/api/podEvents`;
    const relayKubeconfig = await serviceAccountKubeconfig(admin, relayServiceAccount, {
      expirationSeconds: 24 * 3600,
    });
    let relay: Awaited<ReturnType<typeof runRelay>> | undefined;
    const startRelay = async () => {
      relay ??= await runRelay({
        nodes: [nodes.aci, nodes.ecs],
        webhookUrl,
        secret,
        port: 0,
        maxInFlight: defaultBatchMaxInFlight,
        kubeconfigText: relayKubeconfig,
        logger,
      });
    };
    await startRelay();
    stops.push(async () => relay?.stop());

    const resync = podResyncHandler(runtimes);
    const resyncOnce = () =>
      resync(timer(), hostContext('podResync', write)).catch((err: unknown) => {
        write(JSON.stringify({ level: 'warn', message: 'podResync failed', error: String(err) }));
      });
    let resyncLoop: NodeJS.Timeout | undefined;
    let resyncRunning: Promise<void> = Promise.resolve();
    stops.push(async () => {
      clearTimeout(resyncLoop);
      await resyncRunning;
    });

    return {
      admin,
      core,
      apps: admin.makeApiClient(AppsV1Api),
      batch: admin.makeApiClient(BatchV1Api),
      namespace,
      nodes,
      aci: aci.fake,
      moto,
      tables,
      webhookUrl,
      secret,
      counts,
      setWebhook(next) {
        mode = next;
        modeChanged();
        changed = new Promise<void>((resolve) => (modeChanged = resolve));
      },
      sent: () => sent,
      async killRelay() {
        // A killed relay delivers nothing more: what it still held is lost, as in a crash.
        const running = relay;
        relay = undefined;
        if (!running) return;
        const previous = mode;
        mode = 'unavailable';
        await running.stop();
        mode = previous;
      },
      startRelay,
      resync: resyncOnce,
      resyncEvery(periodMs) {
        clearTimeout(resyncLoop);
        const tick = () => {
          resyncRunning = resyncOnce().finally(() => {
            resyncLoop = setTimeout(tick, periodMs);
          });
        };
        resyncLoop = setTimeout(tick, periodMs);
      },
      async views(node) {
        const runtime = runtimes();
        const name = runtime.config.nodes.find((n) => n.name === node)?.provider ?? 'aci';
        return {
          runtime,
          provider: await runtime.provider(name, logger),
          records: new PodRecords(await runtime.tables.table('pods')),
        };
      },
      stop,
    };
  } catch (err) {
    await stop();
    throw err;
  }
}

/** Deletes the namespace's pods with grace 0 (their node is gone), then the namespace. */
async function removeNamespace(core: CoreV1Api, namespace: string): Promise<void> {
  await core.deleteCollectionNamespacedPod({ namespace, gracePeriodSeconds: 0 }).catch(() => undefined);
  await core.deleteNamespace({ name: namespace });
}
