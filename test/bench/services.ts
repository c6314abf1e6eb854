import type { TableClient } from '@azure/data-tables';
import type { CoreV1Api, KubeConfig } from '@kubernetes/client-node';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Tables, type TableName } from '../../core/state/tables.ts';
import { startCluster, type Cluster } from '../../dev/cluster/cluster.ts';
import { azuriteConnectionString, startAzurite, type Azurite } from '../support/azurite.ts';
import { kubeConfigFrom } from '../support/kube.ts';

export interface BenchServices {
  cluster: Cluster;
  azurite: Azurite;
  admin: KubeConfig;
  /** The run's own directory: logs, profiles, certificates. */
  dir: string;
  /** A table of a function app's (its prefix), opened as the bench's own client. */
  tables(prefix: string, name: TableName): Promise<TableClient>;
  stop(): Promise<void>;
}

/**
 * The client rates the bench control plane gives its controller-manager and scheduler, as
 * large clusters run them: the controllers then create, bind and delete pods faster than any
 * node can run them, so a node's figures are its own and not the controllers'.
 */
export const benchKubeApiRates = { qps: 500, burst: 1000 };

/** The local control plane (with benchKubeApiRates) and Azurite, as the tests start them. */
export async function startBenchServices(log: (line: string) => void): Promise<BenchServices> {
  const dir = mkdtempSync(join(tmpdir(), 'funclet-bench-'));
  const [cluster, azurite] = await Promise.all([
    startCluster({ dir: join(dir, 'cluster'), log, kubeApiRates: benchKubeApiRates }),
    startAzurite(),
  ]);
  return {
    cluster,
    azurite,
    admin: kubeConfigFrom(cluster.adminKubeconfig),
    dir,
    tables: (prefix, name) =>
      new Tables({
        kind: 'connectionString',
        connectionString: azuriteConnectionString(azurite.port),
        tablePrefix: prefix,
      }).table(name),
    async stop() {
      await Promise.allSettled([cluster.stop(), azurite.stop()]);
      // FUNCLET_BENCH_KEEP=1 keeps the run's logs (the function process's among them) for reading.
      if (process.env.FUNCLET_BENCH_KEEP === '1') log(`kept the run's logs in ${dir}`);
      else rmSync(dir, { recursive: true, force: true });
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
