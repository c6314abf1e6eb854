/**
 * `funclet local`: Funclet's main job on one machine. Starts a local control plane (or uses
 * $KUBECONFIG), Azurite and the mock provider, registers one virtual node, and runs the timer
 * functions on their real schedules in this process, until Ctrl-C stops everything.
 */
import { readFileSync } from 'node:fs';
import { CoreV1Api, KubeConfig } from '@kubernetes/client-node';
import { Setting } from '../core/config.ts';
import { leaseRenewHandler, leaseRenewSchedule } from '../functions/leaseRenew.ts';
import { nodeStatusHandler, nodeStatusSchedule } from '../functions/nodeStatus.ts';
import { podResyncHandler, podResyncSchedule } from '../functions/podResync.ts';
import { createRuntime, type Runtime } from '../functions/runtime.ts';
import type { Timer, InvocationContext } from '../functions/azure.ts';
import { startCluster, type Cluster } from '../test/cluster/cluster.ts';
import { startAzurite, type Azurite } from '../test/support/azurite.ts';
import { hostContext, timerPayload } from './invocation.ts';
import { functionServiceAccountKubeconfig } from './serviceAccount.ts';
import { startTimerLoop, type TimerLoop } from './timerLoop.ts';

type TimerFunction = {
  name: string;
  schedule: string;
  handler: (source: () => Runtime) => (timer: Timer, context: InvocationContext) => Promise<void>;
};

const timerFunctions: TimerFunction[] = [
  { name: 'leaseRenew', schedule: leaseRenewSchedule, handler: leaseRenewHandler },
  { name: 'nodeStatus', schedule: nodeStatusSchedule, handler: nodeStatusHandler },
  { name: 'podResync', schedule: podResyncSchedule, handler: podResyncHandler },
];

export interface LocalOptions {
  nodeName: string;
  /** An existing cluster's admin kubeconfig; without it a local control plane starts. */
  kubeconfigPath?: string;
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
  let azurite: Azurite | undefined;
  const loops: TimerLoop[] = [];
  const stop = async () => {
    await Promise.all(loops.map((l) => l.stop()));
    await Promise.allSettled([azurite?.stop(), cluster?.stop()].filter((p) => p !== undefined));
  };

  try {
    const admin = new KubeConfig();
    if (options.kubeconfigPath) {
      admin.loadFromString(readFileSync(options.kubeconfigPath, 'utf8'));
      say(`using the cluster of ${options.kubeconfigPath}`);
    } else {
      say(
        'starting a local control plane (the first run builds it from Go modules and takes several minutes)',
      );
      cluster = await startCluster({ log: say });
      admin.loadFromString(cluster.adminKubeconfig);
      say(
        `control plane ready at ${cluster.server} in ${cluster.startSeconds.toFixed(1)} s; admin kubeconfig: ${cluster.adminKubeconfigPath}`,
      );
    }
    azurite = await startAzurite();
    say(`Azurite table service on port ${azurite.port}`);

    const kubeconfig = await functionServiceAccountKubeconfig(admin, { expirationSeconds: 24 * 3600 });
    const env = {
      [Setting.nodes]: JSON.stringify([{ name: options.nodeName, provider: 'mock' }]),
      [Setting.kubeconfig]: kubeconfig,
      [Setting.tableConnectionString]: azurite.connectionString,
    };
    // One composition root, as one Functions host instance would have.
    const runtime = createRuntime({ env });
    for (const fn of timerFunctions) {
      const handler = fn.handler(() => runtime);
      const run = async (isPastDue: boolean) => handler(timerPayload(isPastDue), hostContext(fn.name, out));
      await run(false).catch((err: unknown) => say(`${fn.name} failed: ${String(err)}`));
      loops.push(startTimerLoop(fn.schedule, run, (err) => say(`${fn.name} failed: ${String(err)}`)));
    }
    const node = await admin.makeApiClient(CoreV1Api).readNode({ name: options.nodeName });
    const ready = node.status?.conditions?.find((c) => c.type === 'Ready');
    say(
      `node ${options.nodeName}: Ready=${ready?.status ?? 'unknown'} (${ready?.reason ?? ''}); kubectl --kubeconfig ${cluster?.adminKubeconfigPath ?? options.kubeconfigPath ?? ''} get nodes`,
    );
    return stop;
  } catch (err) {
    await stop();
    throw err;
  }
}
