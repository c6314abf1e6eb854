/**
 * The test command. Builds (or finds cached) the control plane and metrics-server from their Go
 * modules, and Helm when the chart's tests run; starts one real control plane (etcd,
 * kube-apiserver, kube-controller-manager, kube-scheduler, with metrics-server registered as its
 * metrics.k8s.io APIService), one Azurite and one moto server for the whole run; hands their
 * coordinates to the test files through FUNCLET_TEST_ENV; runs node's test runner over
 * test/unit, test/infra, test/integration and test/e2e two files at a time, then test/disruptive
 * alone (it restarts the API server), or over the files given; and stops everything afterwards,
 * whatever happens.
 *
 * Every test and suite has a time limit (FUNCLET_TEST_TIMEOUT_MS, 10 minutes by default), so one
 * that hangs fails instead of stalling the run. The last line counts passed, failed (cancelled
 * included) and skipped tests.
 *
 *   node test/run.ts [test files...]
 */
import { spawn } from 'node:child_process';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { helmBinary, metricsServerBinary } from '../dev/goTools.ts';
import { startMetricsServer, type MetricsServer } from '../dev/metricsServer.ts';
import { controlPlaneBinary } from '../dev/cluster/build.ts';
import { startCluster, type Cluster } from '../dev/cluster/cluster.ts';
import { startAzurite, type Azurite } from './support/azurite.ts';
import { startMoto, type Moto } from '../dev/moto.ts';
import type { TestEnv } from './support/env.ts';

/** The longest any one test or suite may take before it fails as hung. */
const testTimeoutMs = Number(process.env.FUNCLET_TEST_TIMEOUT_MS ?? 600_000);
const log = (line: string) => process.stderr.write(`[test/run] ${line}\n`);
const graceSeconds = Number(process.env.FUNCLET_TEST_NODE_MONITOR_GRACE_SECONDS ?? 20);

let cluster: Cluster | undefined;
let metricsServer: MetricsServer | undefined;
let azurite: Azurite | undefined;
let moto: Moto | undefined;
const runDir = mkdtempSync(join(tmpdir(), 'funclet-test-run-'));

async function teardown(keepLogs = false): Promise<void> {
  // metrics-server goes before the control plane it watches.
  await metricsServer?.stop();
  metricsServer = undefined;
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
  // Build (or find cached) the control plane and metrics-server, and Helm when the chart's tests
  // are in the run, all at once when they are cold, before starting anything that would need
  // stopping.
  const helmTests = files.length === 0 || files.some((f) => /(^|\/)helm[^/]*\.test\.ts$/.test(f));
  const [, metricsServerPath] = await Promise.all([
    controlPlaneBinary(log),
    metricsServerBinary(log),
    helmTests ? helmBinary(log) : undefined,
  ]);
  const startedAt = Date.now();
  // Each is kept as soon as it runs, so that teardown stops it even when another fails to start.
  const started = await Promise.all([
    startCluster({ nodeMonitorGracePeriodSeconds: graceSeconds, dir: join(runDir, 'cluster'), log }).then(
      async (c) => {
        cluster = c;
        metricsServer = await startMetricsServer({
          adminKubeconfig: c.adminKubeconfig,
          binary: metricsServerPath,
          dir: join(runDir, 'metrics-server'),
          log,
        });
        return { cluster: c, metricsServer };
      },
    ),
    startAzurite().then((a) => (azurite = a)),
    startMoto().then((m) => (moto = m)),
  ]);
  const [{ cluster: readyCluster, metricsServer: readyMetricsServer }, readyAzurite, readyMoto] = started;
  log(
    `control plane ready in ${readyCluster.startSeconds.toFixed(1)} s at ${readyCluster.server}; ` +
      `all services in ${((Date.now() - startedAt) / 1000).toFixed(1)} s`,
  );

  const control = await serveControl();
  const env: TestEnv = {
    cluster: {
      server: readyCluster.server,
      caPem: readyCluster.caPem,
      clientCaPem: readyCluster.clientCaPem,
      adminKubeconfigPath: readyCluster.adminKubeconfigPath,
      nodeMonitorGracePeriodSeconds: graceSeconds,
    },
    metricsServer: { port: readyMetricsServer.port },
    azurite: { connectionString: readyAzurite.connectionString },
    moto: { endpoint: readyMoto.endpoint },
    control: control.url,
  };
  const envFile = join(runDir, 'env.json');
  writeFileSync(envFile, JSON.stringify(env), { mode: 0o600 });

  try {
    // Disruptive tests (they restart the API server) run alone, after everything else.
    const phases: { patterns: string[]; concurrency: string }[] =
      files.length > 0
        ? [{ patterns: files, concurrency: '1' }]
        : [
            {
              patterns: [
                'test/unit/**/*.test.ts',
                'test/infra/**/*.test.ts',
                'test/integration/**/*.test.ts',
                'test/e2e/**/*.test.ts',
              ],
              concurrency: process.env.FUNCLET_TEST_CONCURRENCY ?? '2',
            },
            { patterns: ['test/disruptive/**/*.test.ts'], concurrency: '1' },
          ];
    const totals = { passed: 0, failed: 0, skipped: 0 };
    let exitCode = 0;
    for (const phase of phases) {
      const result = await runTests(phase.patterns, phase.concurrency, envFile);
      totals.passed += result.passed;
      totals.failed += result.failed;
      totals.skipped += result.skipped;
      if (result.code !== 0) exitCode = result.code;
    }
    process.stdout.write(`\n${totals.passed} passed, ${totals.failed} failed, ${totals.skipped} skipped\n`);
    return exitCode;
  } finally {
    await control.close();
  }
}

/** Runs node's test runner over `patterns`, echoing its output and reading its pass/fail counts. */
function runTests(
  patterns: string[],
  concurrency: string,
  envFile: string,
): Promise<{ code: number; passed: number; failed: number; skipped: number }> {
  const child = spawn(
    process.execPath,
    [
      '--test',
      '--test-reporter=spec',
      `--test-concurrency=${concurrency}`,
      `--test-timeout=${testTimeoutMs}`,
      ...patterns,
    ],
    { stdio: ['ignore', 'pipe', 'inherit'], env: { ...process.env, FUNCLET_TEST_ENV: envFile } },
  );
  // The summary lines come before the details of failed tests, which can be long: read them as they pass.
  const counts = { pass: 0, fail: 0, cancelled: 0, skipped: 0, todo: 0 };
  let partial = '';
  child.stdout.on('data', (chunk: Buffer) => {
    process.stdout.write(chunk);
    const lines = (partial + chunk.toString('utf8')).split('\n');
    partial = lines.pop() ?? '';
    for (const line of lines) {
      const m = /^ℹ (pass|fail|cancelled|skipped|todo) (\d+)$/.exec(line.trim());
      if (m) counts[m[1] as keyof typeof counts] = Number(m[2]);
    }
  });
  return new Promise((resolve) =>
    child.once('close', (code) => {
      // A test cancelled (its before hook failed, say) did not pass: it counts as failed.
      resolve({
        code: code ?? 1,
        passed: counts.pass,
        failed: counts.fail + counts.cancelled,
        skipped: counts.skipped + counts.todo,
      });
    }),
  );
}

/** Lets test files ask the run for what only it can do: restart the API server it started. */
async function serveControl(): Promise<{ url: string; close(): Promise<void> }> {
  const server = createServer((req, res) => {
    if (req.method === 'POST' && req.url === '/restart-apiserver' && cluster) {
      cluster.restartApiServer().then(
        () => res.writeHead(200).end('restarted\n'),
        (err: unknown) => res.writeHead(500).end(String(err)),
      );
      return;
    }
    res.writeHead(404).end();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
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
