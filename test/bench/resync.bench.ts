/**
 * podResync over N pods bound to one mock node on the local control plane: a first pass (every
 * pod new), the passes until all are Running, and a steady-state pass over unchanged pods.
 * Figures: wall time, API requests, status patches, table reads/writes, provider calls, peak RSS.
 * Targets: a steady-state pass over 5,000 pods makes no writes and takes under 5 s; 1,000 new
 * pods are all Running within 3 passes.
 */
import { CoreV1Api, type KubeConfig } from '@kubernetes/client-node';
import { Setting } from '../../core/config.ts';
import { createLogger } from '../../core/log.ts';
import { resyncNode, listNodePods } from '../../core/pods/resync.ts';
import type { MockProvider } from '../../core/providers/mock/provider.ts';
import { createRuntime, podDeps } from '../../functions/runtime.ts';
import { functionKubeconfig, createPodNamespace } from '../support/kube.ts';
import { azuriteConnectionString } from '../support/azurite.ts';
import { leaseRenewHandler } from '../../functions/leaseRenew.ts';
import { invocation, timer } from '../support/functions.ts';
import { peakRssMiB, RequestCounters } from './counters.ts';
import { removeNamespace } from './services.ts';
import { runBounded } from '../../core/util/concurrency.ts';

export async function benchResync(
  admin: KubeConfig,
  azuritePort: number,
  size: number,
): Promise<Record<string, string | number>[]> {
  const core = admin.makeApiClient(CoreV1Api);
  const node = `bench-resync-${size}`;
  const namespace = `bench-resync-${size}`;
  await createPodNamespace(core, namespace);
  const counters = new RequestCounters();
  const runtime = createRuntime({
    env: {
      [Setting.nodes]: JSON.stringify([{ name: node, provider: 'mock' }]),
      [Setting.kubeconfig]: await functionKubeconfig(admin, [node]),
      [Setting.tableConnectionString]: azuriteConnectionString(azuritePort),
      [Setting.tablePrefix]: `bench${size}`,
      [Setting.mockStartDelayMs]: '1000',
      [Setting.resyncConcurrency]: '32',
      [Setting.resyncBudgetMs]: '600000',
    },
    observe: { kube: counters.observeKube, tables: counters.observeTable },
  });
  await leaseRenewHandler(() => runtime)(timer(), invocation('leaseRenew').context);

  const created = Date.now();
  await runBounded(
    Array.from({ length: size }, (_, i) => i),
    32,
    async (i) => {
      await core.createNamespacedPod({
        namespace,
        body: {
          metadata: { name: `p-${i}` },
          spec: { nodeName: node, containers: [{ name: 'c', image: 'busybox' }] },
        },
      });
    },
  );
  process.stderr.write(`[bench] ${size} pods created in ${((Date.now() - created) / 1000).toFixed(1)} s\n`);

  const logger = createLogger({ node, provider: 'mock' }, { minLevel: 'warn' });
  const deps = await podDeps(runtime, runtime.config.nodes[0]!, logger);
  const provider = deps.provider as MockProvider;
  const rows: Record<string, string | number>[] = [];
  const pass = async (label: string) => {
    counters.reset();
    const calls = { ...provider.calls };
    const started = performance.now();
    const summary = await resyncNode(deps, runtime.config.resync);
    const seconds = (performance.now() - started) / 1000;
    const running = (await listNodePods(runtime.kubeFor(node), node)).filter(
      (p) => p.status?.phase === 'Running',
    ).length;
    counters.kube.reads--; // the list above is the benchmark's own
    rows.push({
      pods: size,
      pass: label,
      'wall s': seconds.toFixed(2),
      'api reads': counters.kube.reads,
      'api writes': counters.kube.writes,
      'status patches': counters.kube.statusPatches,
      'table reads': counters.tables.reads,
      'table writes': counters.tables.writes,
      'provider calls': (Object.keys(calls) as (keyof typeof calls)[]).reduce(
        (n, k) => n + provider.calls[k] - calls[k],
        0,
      ),
      created: summary.created,
      running,
      'peak RSS MiB': peakRssMiB(),
    });
    return running;
  };

  let passes = 0;
  let running = 0;
  while (running < size && passes < 6) {
    passes++;
    running = await pass(passes === 1 ? 'first' : `#${passes}`);
    if (running < size) await new Promise((r) => setTimeout(r, 1000));
  }
  await pass('steady');
  process.stderr.write(`[bench] ${size} pods: all Running after ${passes} passes\n`);
  await removeNamespace(core, namespace);
  return rows;
}
