/**
 * `kubectl exec -- true` through the virtual node's kubelet endpoint (the relay), the kubeletApi
 * function and the provider's terminal session: the time from starting kubectl to its exit, on a
 * mock node (its exec server) and on an ACI node (the ARM fake and its exec bridge).
 */
import { spawn } from 'node:child_process';
import { CoreV1Api, type KubeConfig } from '@kubernetes/client-node';
import { localWebhookSecret } from '../../cli/eventPath.ts';
import { Setting } from '../../core/config.ts';
import { startMockExecServer } from '../../core/providers/mock/execServer.ts';
import type { ProviderName } from '../../core/providers/types.ts';
import { podResyncHandler } from '../../functions/podResync.ts';
import { createRuntime } from '../../functions/runtime.ts';
import { aciUnderTest } from '../e2e/providers.ts';
import { azuriteConnectionString } from '../support/azurite.ts';
import { invocation, timer } from '../support/functions.ts';
import { createPodNamespace, functionKubeconfig } from '../support/kube.ts';
import { onVirtualNode } from '../support/virtualNode.ts';
import { percentile } from './counters.ts';
import { startKubeletBenchNode, waitUntil } from './kubeletNode.ts';
import { removeNamespace } from './services.ts';

export async function benchExec(
  admin: KubeConfig,
  adminKubeconfigPath: string,
  azuritePort: number,
  runs: number,
): Promise<Record<string, string | number>[]> {
  const rows: Record<string, string | number>[] = [];
  for (const provider of ['mock', 'aci'] as const) {
    rows.push(await benchProvider(admin, adminKubeconfigPath, azuritePort, runs, provider));
  }
  return rows;
}

async function benchProvider(
  admin: KubeConfig,
  adminKubeconfigPath: string,
  azuritePort: number,
  runs: number,
  provider: ProviderName,
): Promise<Record<string, string | number>> {
  const core = admin.makeApiClient(CoreV1Api);
  const node = `bench-exec-${provider}`;
  const namespace = `bench-exec-${provider}`;
  await createPodNamespace(core, namespace);
  const backend = provider === 'aci' ? await aciUnderTest() : undefined;
  const secret = localWebhookSecret();
  const mockExec = await startMockExecServer({ table: () => runtime.tables.table('mockInstances') });
  const runtime = createRuntime({
    env: {
      [Setting.nodes]: JSON.stringify([{ name: node, provider }]),
      [Setting.kubeconfig]: await functionKubeconfig(admin, [node]),
      [Setting.tableConnectionString]: azuriteConnectionString(azuritePort),
      [Setting.tablePrefix]: `benchexec${provider}`,
      [Setting.webhookSecret]: secret,
      [Setting.mockStartDelayMs]: '0',
      [Setting.mockExecUrl]: mockExec.url,
      ...backend?.settings,
    },
    providers: backend?.overrides,
  });
  const runtimes = () => runtime;
  const kubeletNode = await startKubeletBenchNode({ admin, core, runtime, node, secret });
  try {
    await core.createNamespacedPod({
      namespace,
      body: {
        metadata: { name: 'shell' },
        spec: {
          ...onVirtualNode(node),
          containers: [{ name: 'app', image: 'busybox', command: ['sleep', '3600'] }],
        },
      },
    });
    await waitUntil(async () => {
      await podResyncHandler(runtimes)(timer(), invocation('podResync').context);
      return (await core.readNamespacedPod({ name: 'shell', namespace })).status?.phase === 'Running';
    });

    const roundTrips: number[] = [];
    let failures = 0;
    for (let i = 0; i < runs; i++) {
      const started = performance.now();
      const code = await run(adminKubeconfigPath, ['exec', '-n', namespace, 'shell', '--', 'true']);
      if (code === 0) roundTrips.push(performance.now() - started);
      else failures++;
    }
    const sorted = [...roundTrips].sort((a, b) => a - b);
    return {
      measure: `kubectl exec -- true on ${provider === 'aci' ? 'ACI (fake)' : 'the mock'}: start -> exit (${runs} runs)`,
      'p50 ms': Math.round(percentile(sorted, 50)),
      'p90 ms': Math.round(percentile(sorted, 90)),
      'max ms': Math.round(sorted.at(-1) ?? NaN),
      failures,
    };
  } finally {
    await kubeletNode.stop();
    await mockExec.close();
    await backend?.stop();
    await removeNamespace(core, namespace);
    await core.deleteNode({ name: node }).catch(() => undefined);
  }
}

function run(kubeconfig: string, args: string[]): Promise<number | null> {
  return new Promise((resolve) => {
    const child = spawn('kubectl', [`--kubeconfig=${kubeconfig}`, ...args], { stdio: 'ignore' });
    child.on('close', resolve);
  });
}
