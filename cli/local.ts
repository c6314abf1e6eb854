/**
 * `funclet local`: Funclet's main job on one machine. Starts a local control plane (or uses the
 * cluster named with --kubeconfig, never $KUBECONFIG), Azurite and the mock provider (or ACI or
 * ECS, chosen with --provider, cli/localOptions.ts); prints what it will create before it
 * creates anything; runs the timer functions on their real schedules and podEvents on loopback,
 * with the relay watching the node and poking it; applies a small demo Deployment on the mock
 * and prints the node and pods as they change, until Ctrl-C stops everything.
 */
import { readFileSync } from 'node:fs';
import { AppsV1Api, CoreV1Api, KubeConfig } from '@kubernetes/client-node';
import { Setting } from '../core/config.ts';
import { withConnectionReuse } from '../core/kube/kubeconfig.ts';
import { createLogger } from '../core/log.ts';
import type { InvocationContext, Timer } from '../functions/azure.ts';
import { leaseRenewHandler, leaseRenewSchedule } from '../functions/leaseRenew.ts';
import { nodeStatusHandler, nodeStatusSchedule } from '../functions/nodeStatus.ts';
import { podResyncHandler, podResyncSchedule } from '../functions/podResync.ts';
import { createRuntime, type Runtime } from '../functions/runtime.ts';
import { startMockExecServer, type MockExecServer } from '../core/providers/mock/execServer.ts';
import { metricsServerBinary } from '../dev/goTools.ts';
import { startMetricsServer, type MetricsServer } from '../dev/metricsServer.ts';
import { startCluster, type Cluster } from '../dev/cluster/cluster.ts';
import { startAzurite, type Azurite } from '../dev/azurite.ts';
import { localWebhookSecret, startEventPath, type EventPath } from './eventPath.ts';
import { hostContext, timerPayload } from './invocation.ts';
import { nodeIdentityKubeconfig } from './identity.ts';
import { startTimerLoop, type TimerLoop } from './timerLoop.ts';
import {
  checkedProviderConfig,
  localPlan,
  providerSettingsFrom,
  type LocalProvider,
} from './localOptions.ts';
import type { ProviderOverrides } from '../core/providers/index.ts';

interface TimerFunction {
  name: string;
  schedule: string;
  handler: (source: () => Runtime) => (timer: Timer, context: InvocationContext) => Promise<void>;
}

const timerFunctions: TimerFunction[] = [
  { name: 'leaseRenew', schedule: leaseRenewSchedule, handler: leaseRenewHandler },
  { name: 'nodeStatus', schedule: nodeStatusSchedule, handler: nodeStatusHandler },
  { name: 'podResync', schedule: podResyncSchedule, handler: podResyncHandler },
];

export interface LocalOptions {
  nodeName: string;
  /** An existing cluster's admin kubeconfig, named by the user; without it a local control plane starts. */
  kubeconfigPath?: string;
  /** A context of that kubeconfig other than its current one. */
  context?: string;
  /** Where the node's pods run (default mock). */
  provider?: LocalProvider;
  /** Where the provider's settings are read (default process.env), named as core/config.ts names them. */
  settingsEnv?: Readonly<Record<string, string | undefined>>;
  /** Credentials and trust for the provider's clients; the cloud SDKs' default chains otherwise. */
  providerOverrides?: ProviderOverrides;
  /** Apply the demo Deployment (default: with the mock provider only). */
  demo?: boolean;
  out?: (line: string) => void;
}

export async function runLocal(options: LocalOptions): Promise<() => Promise<void>> {
  const out = options.out ?? ((line: string) => process.stdout.write(line + '\n'));
  const say = (line: string) =>
    out(
      JSON.stringify({
        level: 'info',
        message: line,
        timestamp: new Date().toISOString(),
        source: 'funclet local',
      }),
    );
  let cluster: Cluster | undefined;
  let metricsServer: MetricsServer | undefined;
  let azurite: Azurite | undefined;
  let eventPath: EventPath | undefined;
  let mockExec: MockExecServer | undefined;
  let watcher: NodeJS.Timeout | undefined;
  const loops: TimerLoop[] = [];
  const stop = async () => {
    clearInterval(watcher);
    await Promise.all(loops.map((l) => l.stop()));
    await eventPath?.stop();
    await mockExec?.close();
    await metricsServer?.stop();
    await Promise.allSettled([azurite?.stop(), cluster?.stop()].filter((p) => p !== undefined));
  };

  const provider = options.provider ?? 'mock';
  const demo = options.demo ?? provider === 'mock';
  // Everything is checked, and the plan printed, before anything starts or is created.
  const command = { ...options, provider };
  const providerSettings = providerSettingsFrom(provider, options.settingsEnv ?? process.env);
  const config = checkedProviderConfig(command, providerSettings);
  const admin = new KubeConfig();
  let named: { server: string; context: string } | undefined;
  if (options.kubeconfigPath !== undefined) {
    admin.loadFromString(readFileSync(options.kubeconfigPath, 'utf8'));
    if (options.context !== undefined) {
      if (!admin.getContextObject(options.context))
        throw new Error(
          `--context ${options.context}: ${options.kubeconfigPath} has no such context (it has ${admin.contexts.map((c) => c.name).join(', ') || 'none'})`,
        );
      admin.setCurrentContext(options.context);
    }
    const server = admin.getCurrentCluster()?.server;
    if (!server) throw new Error(`${options.kubeconfigPath} has no current cluster`);
    named = { server, context: admin.getCurrentContext() };
  }
  say(`funclet local will create: ${localPlan(command, config, named, demo).join('; ')}`);

  try {
    if (named) {
      say(
        `using the cluster at ${named.server} (context ${named.context} of ${options.kubeconfigPath ?? ''})`,
      );
    } else {
      say(
        'starting a local control plane (the first run builds it from Go modules and takes several minutes)',
      );
      // metrics-server builds (cold: minutes) while the control plane builds and starts.
      const metricsServerBuild = metricsServerBinary(say);
      void metricsServerBuild.catch(() => undefined); // awaited below, where a failure surfaces
      cluster = await startCluster({ log: say });
      admin.loadFromString(cluster.adminKubeconfig);
      say(`control plane ready at ${cluster.server} in ${cluster.startSeconds.toFixed(1)} s`);
      metricsServer = await startMetricsServer({
        adminKubeconfig: cluster.adminKubeconfig,
        binary: await metricsServerBuild,
        log: say,
      });
    }
    withConnectionReuse(admin);
    azurite = await startAzurite();
    say(`Azurite table service on port ${azurite.port}`);

    const secret = localWebhookSecret();
    // Where `kubectl exec` on the mock node runs: the mock's exec server (ACI's socket protocol).
    if (provider === 'mock')
      mockExec = await startMockExecServer({ table: () => runtime.tables.table('mockInstances') });
    const env = {
      ...providerSettings,
      [Setting.nodes]: JSON.stringify([{ name: options.nodeName, provider }]),
      // The node's own system:node: certificate, as `funclet attach` issues it. A named cluster
      // keeps whatever else it has (a deployment's ServiceAccount fallback, say).
      [Setting.kubeconfig]: (
        await nodeIdentityKubeconfig(admin, [options.nodeName], { revokeOthers: named === undefined })
      ).kubeconfig,
      [Setting.tableConnectionString]: azurite.connectionString,
      [Setting.webhookSecret]: secret,
      ...(mockExec ? { [Setting.mockExecUrl]: mockExec.url } : {}),
    };
    // One composition root, as one Functions host instance would have.
    const runtime = createRuntime({ env, providers: options.providerOverrides });
    const runtimes = () => runtime;
    for (const fn of timerFunctions) {
      const handler = fn.handler(runtimes);
      const run = (isPastDue: boolean) => handler(timerPayload(isPastDue), hostContext(fn.name, out));
      if (fn.name !== 'podResync')
        await run(false).catch((err: unknown) => say(`${fn.name} failed: ${String(err)}`));
      loops.push(startTimerLoop(fn.schedule, run, (err) => say(`${fn.name} failed: ${String(err)}`)));
    }
    eventPath = await startEventPath({
      admin,
      runtimes,
      nodes: [options.nodeName],
      secret,
      out,
      logger: createLogger({ functionName: 'relay' }, { sink: (_l, line) => out(line) }),
    });
    say(
      `podEvents at ${eventPath.webhookUrl}; the relay watches node ${options.nodeName} and serves its kubelet endpoint on 127.0.0.1:${eventPath.kubeletPorts.get(options.nodeName) ?? '?'}`,
    );

    if (demo) await applyDemo(admin, options.nodeName);
    else
      say(
        `schedule pods on ${options.nodeName} with nodeSelector kubernetes.io/hostname: ${options.nodeName} and a toleration of virtual-kubelet.io/provider`,
      );
    watcher = watchAndPrint(admin, options.nodeName, say);
    const kubectl =
      `kubectl --kubeconfig ${cluster?.adminKubeconfigPath ?? options.kubeconfigPath ?? ''}` +
      (options.context === undefined ? '' : ` --context ${options.context}`);
    say(`${kubectl} get nodes,pods -A -o wide`);
    if (demo) say(`${kubectl} logs -f deployment/funclet-demo`);
    if (metricsServer) say(`${kubectl} top pod   (metrics-server needs two scrapes, about 30 s)`);
    return stop;
  } catch (err) {
    await stop();
    throw err;
  }
}

/**
 * A Deployment of 3 pods that tolerate the virtual node's taint and select it. The mock
 * provider's annotations give them output for `kubectl logs` and figures for `kubectl top`.
 */
async function applyDemo(admin: KubeConfig, node: string): Promise<void> {
  const labels = { app: 'funclet-demo' };
  await admin
    .makeApiClient(AppsV1Api)
    .createNamespacedDeployment({
      namespace: 'default',
      body: {
        metadata: { name: 'funclet-demo' },
        spec: {
          replicas: 3,
          selector: { matchLabels: labels },
          template: {
            metadata: {
              labels,
              annotations: {
                'funclet.io/mock-log': 'web: started on the mock provider',
                'funclet.io/mock-log-every-seconds': '5',
                'funclet.io/mock-cpu': '20m',
                'funclet.io/mock-memory': '24Mi',
              },
            },
            spec: {
              nodeSelector: { 'kubernetes.io/hostname': node },
              tolerations: [{ key: 'virtual-kubelet.io/provider', operator: 'Exists', effect: 'NoSchedule' }],
              containers: [{ name: 'web', image: 'nginx:1.27', ports: [{ containerPort: 80 }] }],
            },
          },
        },
      },
    })
    .catch((err: unknown) => {
      if ((err as { code?: number }).code !== 409) throw err;
    });
}

/** Prints the node's Ready condition and each pod's phase whenever one of them changes. */
function watchAndPrint(admin: KubeConfig, node: string, say: (line: string) => void): NodeJS.Timeout {
  const core = admin.makeApiClient(CoreV1Api);
  let last = '';
  return setInterval(() => {
    void (async () => {
      const n = await core.readNode({ name: node });
      const ready = n.status?.conditions?.find((c) => c.type === 'Ready')?.status ?? 'Unknown';
      const pods = await core.listPodForAllNamespaces({ fieldSelector: `spec.nodeName=${node}` });
      const view =
        `node ${node} Ready=${ready}; pods: ` +
        (pods.items
          .map((p) => `${p.metadata?.namespace}/${p.metadata?.name} ${p.status?.phase ?? '?'}`)
          .join(', ') || 'none');
      if (view !== last) say((last = view));
    })().catch(() => undefined);
  }, 1000);
}
