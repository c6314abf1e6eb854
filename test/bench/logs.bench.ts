/**
 * `kubectl logs` through the virtual node's kubelet endpoint (the relay) and the kubeletApi
 * function, on a mock node: the time from starting `kubectl logs` to its first byte, and, for
 * `kubectl logs -f`, the time from a line's write (its timestamp) to kubectl printing it.
 */
import { CoreV1Api, type KubeConfig } from '@kubernetes/client-node';
import { localWebhookSecret } from '../../cli/eventPath.ts';
import { Setting } from '../../core/config.ts';
import { createRuntime } from '../../functions/runtime.ts';
import { azuriteConnectionString } from '../support/azurite.ts';
import { createPodNamespace, functionKubeconfig } from '../support/kube.ts';
import { kubectlStream } from '../support/kubectl.ts';
import { onVirtualNode } from '../support/virtualNode.ts';
import { percentile } from './counters.ts';
import { startKubeletBenchNode, waitUntil } from './kubeletNode.ts';
import { removeNamespace } from './services.ts';

export async function benchLogs(
  admin: KubeConfig,
  adminKubeconfigPath: string,
  azuritePort: number,
  runs: number,
  followSeconds: number,
): Promise<Record<string, string | number>[]> {
  const core = admin.makeApiClient(CoreV1Api);
  const node = 'bench-logs';
  const namespace = 'bench-logs';
  await createPodNamespace(core, namespace);
  const secret = localWebhookSecret();
  const runtime = createRuntime({
    env: {
      [Setting.nodes]: JSON.stringify([{ name: node, provider: 'mock' }]),
      [Setting.kubeconfig]: await functionKubeconfig(admin, [node]),
      [Setting.tableConnectionString]: azuriteConnectionString(azuritePort),
      [Setting.tablePrefix]: 'benchlogs',
      [Setting.webhookSecret]: secret,
      [Setting.mockStartDelayMs]: '0',
    },
  });
  const kubeletNode = await startKubeletBenchNode({ admin, core, runtime, node, secret });
  try {
    await core.createNamespacedPod({
      namespace,
      body: {
        metadata: {
          name: 'ticker',
          annotations: { 'funclet.io/mock-log': 'ready', 'funclet.io/mock-log-every-seconds': '0.5' },
        },
        spec: { ...onVirtualNode(node), containers: [{ name: 'app', image: 'busybox' }] },
      },
    });
    await waitUntil(
      async () => (await core.readNamespacedPod({ name: 'ticker', namespace })).status?.phase === 'Running',
    );

    const firstByte: number[] = [];
    for (let i = 0; i < runs; i++) {
      const started = performance.now();
      const logs = kubectlStream(['logs', '-n', namespace, 'ticker', '--tail=1'], adminKubeconfigPath);
      await waitUntil(() => Promise.resolve(logs.lines.length > 0), 30_000, 5);
      firstByte.push(performance.now() - started);
      await logs.exited;
    }

    const follow = kubectlStream(
      ['logs', '-f', '--timestamps', '--tail=0', '-n', namespace, 'ticker'],
      adminKubeconfigPath,
    );
    await new Promise((r) => setTimeout(r, followSeconds * 1000));
    follow.kill();
    const latency = follow.lines
      .map((l) => l.seenAtMs - Date.parse(l.text.split(' ')[0] ?? ''))
      .filter((ms) => Number.isFinite(ms));
    const texts = follow.lines.map((l) => l.text.slice(l.text.indexOf(' ') + 1));
    const duplicates = texts.length - new Set(texts).size;

    const sortedFirst = [...firstByte].sort((a, b) => a - b);
    const sortedLatency = [...latency].sort((a, b) => a - b);
    return [
      {
        measure: `kubectl logs --tail=1: start -> first byte (${runs} runs)`,
        'p50 ms': Math.round(percentile(sortedFirst, 50)),
        'p90 ms': Math.round(percentile(sortedFirst, 90)),
        'max ms': Math.round(sortedFirst.at(-1) ?? NaN),
        lines: '',
        duplicates: '',
      },
      {
        measure: `kubectl logs -f: line written -> printed (${followSeconds} s, a line every 0.5 s)`,
        'p50 ms': Math.round(percentile(sortedLatency, 50)),
        'p90 ms': Math.round(percentile(sortedLatency, 90)),
        'max ms': Math.round(sortedLatency.at(-1) ?? NaN),
        lines: latency.length,
        duplicates,
      },
    ];
  } finally {
    await kubeletNode.stop();
    await removeNamespace(core, namespace);
    await core.deleteNode({ name: node }).catch(() => undefined);
  }
}
