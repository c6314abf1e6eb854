/**
 * `npm run bench`: starts the local control plane and Azurite, runs each benchmark, prints its
 * figures, and stops everything. It never fails on a figure; targets are printed beside them.
 *
 *   node test/bench/run.ts [resync] [events] [logs] [exec] [coldstart] [sizes=1000,5000] [steady=200] [burst=1000] [runs=10] [follow=20]
 */
import { benchColdStart } from './coldstart.bench.ts';
import { benchEvents } from './events.bench.ts';
import { benchExec } from './exec.bench.ts';
import { benchLogs } from './logs.bench.ts';
import { benchResync } from './resync.bench.ts';
import { printTable } from './counters.ts';
import { startBenchServices } from './services.ts';
import { kubeConfigFrom } from '../support/kube.ts';

const args = process.argv.slice(2);
const which = new Set(args.filter((a) => !a.includes('=')));
const sizes = (args.find((a) => a.startsWith('sizes='))?.slice(6) ?? '1000,5000').split(',').map(Number);
const number = (key: string, fallback: number) =>
  Number(args.find((a) => a.startsWith(`${key}=`))?.split('=')[1] ?? fallback);
const log = (line: string) => process.stderr.write(`[bench] ${line}\n`);

const wants = (name: string) => which.size === 0 || which.has(name);

if (wants('coldstart')) {
  printTable(
    'cold start: a new process importing the function app (the host loads the bundle, package.json "main")',
    await benchColdStart(number('runs', 10)),
  );
}
if (!wants('resync') && !wants('events') && !wants('logs') && !wants('exec')) process.exit(0);

const services = await startBenchServices(log);
let code = 0;
try {
  const admin = kubeConfigFrom(services.cluster.adminKubeconfig);
  if (wants('resync')) {
    const rows = [];
    for (const size of sizes) rows.push(...(await benchResync(admin, services.azurite.port, size)));
    printTable(
      'podResync (targets: steady pass over 5,000 pods: 0 writes, < 5 s; 1,000 new pods Running within 3 passes)',
      rows,
    );
  }
  if (wants('events')) {
    const rows = await benchEvents(
      admin,
      services.azurite.port,
      number('steady', 200),
      number('burst', 1000),
    );
    printTable(
      'event path, resync timer off (targets: p99 bind -> provider create < 500 ms; burst of 1,000 all Running < 30 s)',
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
