import type { CoreV1Api } from '@kubernetes/client-node';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startCluster, type Cluster } from '../../dev/cluster/cluster.ts';
import { startAzurite, type Azurite } from '../support/azurite.ts';

export interface BenchServices {
  cluster: Cluster;
  azurite: Azurite;
  stop(): Promise<void>;
}

/** The local control plane and Azurite, as the tests start them. */
export async function startBenchServices(log: (line: string) => void): Promise<BenchServices> {
  const dir = mkdtempSync(join(tmpdir(), 'funclet-bench-'));
  const [cluster, azurite] = await Promise.all([
    startCluster({ dir: join(dir, 'cluster'), log }),
    startAzurite(),
  ]);
  return {
    cluster,
    azurite,
    async stop() {
      await Promise.allSettled([cluster.stop(), azurite.stop()]);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/**
 * Removes a benchmark's namespace and waits until it is gone. Its pods are bound to a virtual
 * node whose functions no longer run, so nothing would finish their graceful deletion: they
 * are deleted with grace 0 first, or the namespace controller would keep the API server busy
 * under the next benchmark.
 */
export async function removeNamespace(core: CoreV1Api, namespace: string): Promise<void> {
  await core.deleteCollectionNamespacedPod({ namespace, gracePeriodSeconds: 0 });
  await core.deleteNamespace({ name: namespace });
  for (const until = Date.now() + 120_000; Date.now() < until;) {
    try {
      await core.readNamespace({ name: namespace });
    } catch (err) {
      if ((err as { code?: number }).code === 404) return;
      throw err;
    }
    await new Promise((r) => setTimeout(r, 500));
  }
  throw new Error(`namespace ${namespace} was still there 2 minutes after its deletion`);
}
