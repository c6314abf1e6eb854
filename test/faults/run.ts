/**
 * `npm run faults`: starts its own control plane, Azurite and moto (all on loopback), runs the
 * fault suite (suite.ts) over a workload of Deployments and Jobs on an ACI and an ECS virtual
 * node, prints one table, and stops everything. Exits 1 when any row shows a duplicate, an
 * orphan, a lost pod, a stale record or an accepted forgery, or did not settle.
 *
 *   node test/faults/run.ts [seed=N] [window=SECONDS] [settle=SECONDS] [azurite=SECONDS] [resync=SECONDS] [only=key,key] [keep=1]
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { controlPlaneBinary } from '../../dev/cluster/build.ts';
import { startCluster, type Cluster } from '../../dev/cluster/cluster.ts';
import { startAzurite, type Azurite } from '../../dev/azurite.ts';
import { startMoto, type Moto } from '../../dev/moto.ts';
import type { TestEnv } from '../support/env.ts';
import { faults } from './injectors.ts';
import { runFaultSuite } from './suite.ts';
import { formatTable, rowFailed } from './table.ts';

const args = process.argv.slice(2);
const arg = (key: string) => args.find((a) => a.startsWith(`${key}=`))?.slice(key.length + 1);
const seconds = (key: string, fallback: number) => Number(arg(key) ?? fallback) * 1000;
const log = (line: string) => process.stderr.write(`[faults] ${new Date().toISOString()} ${line}\n`);

const all = Object.keys(faults) as (keyof typeof faults)[];
const only = arg('only')?.split(',') as (keyof typeof faults)[] | undefined;
for (const key of only ?? []) {
  if (!(key in faults)) throw new Error(`only=: no fault named ${key} (there are ${all.join(', ')})`);
}

const dir = mkdtempSync(join(tmpdir(), 'funclet-faults-'));
let cluster: Cluster | undefined;
let azurite: Azurite | undefined;
let moto: Moto | undefined;
const teardown = async () => {
  const running = [cluster, azurite, moto].filter((s) => s !== undefined);
  cluster = azurite = moto = undefined;
  await Promise.allSettled(running.map((s) => s.stop()));
};
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => void teardown().finally(() => process.exit(130)));
}

let code = 1;
try {
  await controlPlaneBinary(log);
  [cluster, azurite, moto] = await Promise.all([
    startCluster({ dir: join(dir, 'cluster'), log }),
    startAzurite(),
    startMoto(),
  ]);
  const env: TestEnv = {
    cluster: {
      server: cluster.server,
      caPem: cluster.caPem,
      clientCaPem: cluster.clientCaPem,
      adminKubeconfigPath: cluster.adminKubeconfigPath,
      nodeMonitorGracePeriodSeconds: 40,
    },
    metricsServer: { port: 0 },
    azurite: { connectionString: azurite.connectionString },
    moto: { endpoint: moto.endpoint },
    control: '',
  };
  const envFile = join(dir, 'env.json');
  writeFileSync(envFile, JSON.stringify(env), { mode: 0o600 });
  // The suite's parts are the tests' own, and find the services where the tests do.
  process.env.FUNCLET_TEST_ENV = envFile;

  const started = cluster;
  const logFile = join(dir, 'functions.log');
  const rows = await runFaultSuite({
    seed: Number(arg('seed') ?? 20261202),
    faults: only ?? all,
    together: only === undefined ? all : [],
    windowMs: seconds('window', 15),
    windows: { azurite: seconds('azurite', 30) },
    settleLimitMs: seconds('settle', 90),
    resyncPeriodMs: seconds('resync', 15),
    stepEveryMs: 1500,
    restartApiServer: () => started.restartApiServer(),
    restartEtcd: () => started.restartEtcd(),
    logFile,
    log,
  });
  process.stdout.write(`\n${formatTable(rows)}\n`);
  for (const row of rows.filter((r) => r.unsettled.length > 0))
    process.stdout.write(`\n${row.fault}, not settled:\n  ${row.unsettled.join('\n  ')}\n`);
  code = rows.some(rowFailed) ? 1 : 0;
} catch (err) {
  log(`failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
} finally {
  await teardown();
  if (code === 0 && arg('keep') === undefined) rmSync(dir, { recursive: true, force: true });
  else log(`logs kept in ${dir}`);
}
process.exit(code);
