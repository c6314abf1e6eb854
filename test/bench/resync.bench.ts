/**
 * podResync over N pods bound to one mock node on the local control plane, each pass run inside
 * the function process (its own deps, as a timer invocation builds them): a first pass (every
 * pod new), the passes until all are Running, and a steady-state pass over unchanged pods. The
 * node's leaseRenew timer runs on its schedule throughout, so the node stays Ready.
 * Figures: wall time, API requests, status patches, table reads/writes, provider calls, and the
 * function process's resident memory. Targets: a steady-state pass over 5,000 pods makes no
 * writes and takes <= 2 s; 1,000 new pods are all Running within 3 passes.
 */
import { CoreV1Api } from '@kubernetes/client-node';
import { Setting } from '../../core/config.ts';
import { listNodePods } from '../../core/pods/resync.ts';
import { kubeClients } from '../../core/kube/clients.ts';
import { runBounded } from '../../core/util/concurrency.ts';
import { createPodNamespace } from '../support/kube.ts';
import { startFuncletNode } from './funcletNode.ts';
import { removeNamespace, type BenchServices } from './services.ts';

export async function benchResync(
  services: BenchServices,
  size: number,
): Promise<Record<string, string | number>[]> {
  const core = services.admin.makeApiClient(CoreV1Api);
  const node = `bench-resync-${size}`;
  const namespace = `bench-resync-${size}`;
  await createPodNamespace(core, namespace);
  const funclet = await startFuncletNode(services, {
    node,
    tablePrefix: `bench${size}`,
    timers: ['leaseRenew'],
    relay: false,
    settings: {
      [Setting.mockStartDelayMs]: '1000',
      [Setting.resyncConcurrency]: '32',
      [Setting.resyncBudgetMs]: '600000',
    },
  });
  const rows: Record<string, string | number>[] = [];
  try {
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

    // The bench's own reads go through its own (admin) client, uncounted.
    const admin = kubeClients(services.admin);
    const pass = async (label: string) => {
      await funclet.functions.reset();
      const started = performance.now();
      const { summary, providerCalls } = await funclet.functions.resyncPass();
      const seconds = (performance.now() - started) / 1000;
      const c = await funclet.functions.counters();
      const running = (await listNodePods(admin, node)).filter((p) => p.status?.phase === 'Running').length;
      rows.push({
        pods: size,
        pass: label,
        'wall s': seconds.toFixed(2),
        'api reads': c.kube.reads,
        'api writes': c.kube.writes,
        'status patches': c.kube.statusPatches,
        'table reads': c.tables.reads,
        'table writes': c.tables.writes,
        'provider calls': providerCalls,
        created: summary.created,
        running,
        'function process peak RSS MiB': c.peakRssMiB,
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
  } finally {
    await funclet.stop();
    await removeNamespace(core, namespace);
  }
  return rows;
}
