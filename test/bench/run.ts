/**
 * `npm run bench`: starts the local control plane (its controller-manager and scheduler at
 * high client rates, services.ts) and Azurite, runs each benchmark, prints its figures, and
 * stops everything. It never fails on a figure; targets are printed beside them.
 *
 *   node test/bench/run.ts [compare] [resync] [events] [logs] [exec] [coldstart] [options]
 *
 * With no names it runs all but compare. Options, as --name value, --name=value or name=value:
 *   --pods 200,1000   compare: the Deployment sizes          --rounds 3   compare: rounds per size
 *   --cpu-prof DIR    compare: a CPU profile of the function process, written into DIR
 *   --nodes upstream,funclet,least,floor   compare: which nodes run (all by default)
 *   --relay-timeout-ms 10000   compare: the relay's per-attempt webhook timeout (its default otherwise)
 *   --sizes 1000,5000 resync   --steady 200 --burst 1000 events   --runs 10 --follow 20 logs, exec, coldstart
 */
import { resolve } from 'node:path';
import { benchColdStart } from './coldstart.bench.ts';
import { benchCompare } from './compare.bench.ts';
import { benchEvents } from './events.bench.ts';
import { benchExec } from './exec.bench.ts';
import { benchLogs } from './logs.bench.ts';
import { benchResync } from './resync.bench.ts';
import { printTable } from './counters.ts';
import { startBenchServices } from './services.ts';

const names = ['compare', 'resync', 'events', 'logs', 'exec', 'coldstart'];
const which = new Set<string>();
const settings = new Map<string, string>();
const argv = process.argv.slice(2);
for (let i = 0; i < argv.length; i++) {
  const arg = argv[i]!;
  const option = /^(?:--)?([a-z-]+)=(.*)$/.exec(arg);
  if (option) settings.set(option[1]!, option[2]!);
  else if (arg.startsWith('--')) settings.set(arg.slice(2), argv[++i] ?? '');
  else if (names.includes(arg)) which.add(arg);
  else throw new Error(`unknown benchmark ${arg}: one of ${names.join(', ')}`);
}
const text = (key: string, fallback: string) => settings.get(key) ?? fallback;
const number = (key: string, fallback: number) => Number(text(key, String(fallback)));
const list = (key: string, fallback: string) => text(key, fallback).split(',').map(Number);
const log = (line: string) => process.stderr.write(`[bench] ${new Date().toISOString()} ${line}\n`);

const wants = (name: string) => (which.size === 0 ? name !== 'compare' : which.has(name));

process.stdout.write(
  `\nnpm run bench ${argv.join(' ')}: ${new Date().toISOString()}, ${(await import('node:os')).cpus().length} cores (${(await import('node:os')).cpus()[0]?.model ?? '?'}), Node ${process.version}\n`,
);
const services = await startBenchServices(log);
let code = 0;
try {
  const admin = services.admin;
  if (wants('coldstart')) {
    printTable(
      'cold start: a new node process imports the bundle (package.json "main") and serves its first timer invocation, against `node -e 0` (target: <= 2x)',
      await benchColdStart(services, number('runs', 10), log),
    );
  }
  if (wants('compare')) {
    const profile = settings.get('cpu-prof');
    const { rows, ratios, goals, requests, cpu, latency } = await benchCompare(services, {
      sizes: list('pods', '200,1000'),
      rounds: number('rounds', 3),
      relayAttemptTimeoutMs: settings.has('relay-timeout-ms')
        ? number('relay-timeout-ms', 10_000)
        : undefined,
      nodes: settings.has('nodes') ? text('nodes', '').split(',') : undefined,
      cpuProfileDir: profile === undefined ? undefined : resolve(profile || 'bench-profiles'),
      log,
    });
    printTable(
      'one Deployment per node, one node at a time (median of the rounds, min-max); controller-manager and scheduler at 500 QPS / 1000 burst',
      rows,
    );
    printTable('ratios of the medians', ratios);
    printTable(
      "Funclet's requests per pod, by kind (the function process's own, every timer included)",
      requests,
    );
    printTable(
      'CPU seconds by process over each phase of a round (2 cores: a phase of W s has 2W to share), median (min-max)',
      cpu,
    );
    printTable(
      "Funclet's function process: time to each response's headers, from the Deployment's creation to all Running",
      latency,
    );
    if (goals.length > 0) process.stdout.write(`\n${goals.join('\n')}\n`);
  }
  if (wants('resync')) {
    const rows = [];
    for (const size of list('sizes', '1000,5000')) rows.push(...(await benchResync(services, size)));
    printTable(
      'podResync, run inside the function process (targets: steady pass over 5,000 pods: 0 writes, <= 2 s; 1,000 new pods Running within 3 passes)',
      rows,
    );
  }
  if (wants('events')) {
    const rows = await benchEvents(services, number('steady', 200), number('burst', 1000));
    printTable(
      'event path through the scheduler, resync timer off (targets: bind -> provider create p50 <= 150 ms, p99 <= 500 ms; burst of 1,000 all Running < 30 s)',
      rows,
    );
  }
  if (wants('logs')) {
    printTable(
      'kubectl logs through the kubelet endpoint (relay -> kubeletApi -> mock provider); -f reads once a second',
      await benchLogs(
        admin,
        services.cluster.adminKubeconfigPath,
        services.azurite.port,
        number('runs', 10),
        number('follow', 20),
      ),
    );
  }
  if (wants('exec')) {
    printTable(
      'kubectl exec through the kubelet endpoint (relay -> kubeletApi -> provider terminal session -> /bin/sh)',
      await benchExec(admin, services.cluster.adminKubeconfigPath, services.azurite.port, number('runs', 10)),
    );
  }
} catch (err) {
  code = 1;
  log(`failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
} finally {
  await services.stop();
}
process.exit(code);
