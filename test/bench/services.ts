import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startCluster, type Cluster } from '../cluster/cluster.ts';
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
