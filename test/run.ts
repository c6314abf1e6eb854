/**
 * The test command. Starts one real control plane, one Azurite and one moto server for the
 * whole run, hands their coordinates to the test files through FUNCLET_TEST_ENV, runs node's
 * test runner over test/unit and test/integration (or the files given), and stops everything
 * afterwards, whatever happens.
 *
 *   node test/run.ts [test files...]
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { controlPlaneBinary } from './cluster/build.ts';
import { startCluster, type Cluster } from './cluster/cluster.ts';
import { startAzurite, type Azurite } from './support/azurite.ts';
import { startMoto, type Moto } from './support/moto.ts';
import type { TestEnv } from './support/env.ts';

const log = (line: string) => process.stderr.write(`[test/run] ${line}\n`);
const graceSeconds = Number(process.env.FUNCLET_TEST_NODE_MONITOR_GRACE_SECONDS ?? 20);

let cluster: Cluster | undefined;
let azurite: Azurite | undefined;
let moto: Moto | undefined;
const runDir = mkdtempSync(join(tmpdir(), 'funclet-test-run-'));

async function teardown(keepLogs = false): Promise<void> {
  const running = [cluster, azurite, moto].filter((s) => s !== undefined);
  cluster = azurite = moto = undefined;
  await Promise.allSettled(running.map((s) => s.stop()));
  if (keepLogs) log(`component logs kept in ${runDir}`);
  else rmSync(runDir, { recursive: true, force: true });
}

for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    log(`${signal}: stopping test services`);
    void teardown().finally(() => process.exit(130));
  });
}

async function main(): Promise<number> {
  const files = process.argv.slice(2);
  // Build (or find cached) the control plane before starting anything that would need stopping.
  await controlPlaneBinary(log);
  const startedAt = Date.now();
  [cluster, azurite, moto] = await Promise.all([
    startCluster({ nodeMonitorGracePeriodSeconds: graceSeconds, dir: join(runDir, 'cluster'), log }),
    startAzurite(),
    startMoto(),
  ]);
  log(
    `control plane ready in ${cluster.startSeconds.toFixed(1)} s at ${cluster.server}; ` +
      `all services in ${((Date.now() - startedAt) / 1000).toFixed(1)} s`,
  );

  const env: TestEnv = {
    cluster: {
      server: cluster.server,
      caPem: cluster.caPem,
      adminKubeconfigPath: cluster.adminKubeconfigPath,
      nodeMonitorGracePeriodSeconds: graceSeconds,
    },
    azurite: { connectionString: azurite.connectionString },
    moto: { endpoint: moto.endpoint },
  };
  const envFile = join(runDir, 'env.json');
  writeFileSync(envFile, JSON.stringify(env), { mode: 0o600 });

  const patterns =
    files.length > 0
      ? files
      : ['test/unit/**/*.test.ts', 'test/integration/**/*.test.ts', 'test/e2e/**/*.test.ts'];
  const child = spawn(
    process.execPath,
    [
      '--test',
      '--test-reporter=spec',
      `--test-concurrency=${process.env.FUNCLET_TEST_CONCURRENCY ?? 2}`,
      ...patterns,
    ],
    { stdio: 'inherit', env: { ...process.env, FUNCLET_TEST_ENV: envFile } },
  );
  return new Promise((resolve) => child.once('exit', (code) => resolve(code ?? 1)));
}

let code = 1;
try {
  code = await main();
} catch (err) {
  log(`failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
} finally {
  await teardown(code !== 0);
}
process.exit(code);
