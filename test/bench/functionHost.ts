/**
 * The function app as the benchmarks run it: a process of its own, as a Functions host
 * instance is, so that its memory and CPU profile are its own (the relay, the benchmark's
 * watches and earlier benchmarks live elsewhere). Settings come from process.env. It serves
 * podEvents and kubeletApi on loopback and runs the timers named in BENCH_TIMERS on their real
 * schedules (leaseRenew and nodeStatus also once at start, as the local run does). The parent
 * talks to it over the IPC channel (functionProcess.ts): counters, memory, resync passes, stop.
 */
import { createWriteStream } from 'node:fs';
import { hostContext, timerPayload } from '../../cli/invocation.ts';
import { serveFunctions } from '../../cli/httpHost.ts';
import { startTimerLoop, type TimerLoop } from '../../cli/timerLoop.ts';
import { createLogger } from '../../core/log.ts';
import { resyncNode } from '../../core/pods/resync.ts';
import type { MockProvider } from '../../core/providers/mock/provider.ts';
import { kubeletApiHandler } from '../../functions/kubeletApi.ts';
import { leaseRenewHandler, leaseRenewSchedule } from '../../functions/leaseRenew.ts';
import { nodeStatusHandler, nodeStatusSchedule } from '../../functions/nodeStatus.ts';
import { podEventsHandler } from '../../functions/podEvents.ts';
import { podResyncHandler, podResyncSchedule } from '../../functions/podResync.ts';
import { createRuntime, podDeps } from '../../functions/runtime.ts';
import { RequestCounters } from './counters.ts';
import { RequestLatency } from './requestLatency.ts';
import type { HostReply, HostRequest } from './functionProcess.ts';

const counters = new RequestCounters();
const latency = new RequestLatency();
const runtime = createRuntime({
  env: process.env,
  observe: { kube: counters.observeKube, tables: counters.observeTable },
});
const runtimes = () => runtime;
const logFile = createWriteStream(process.env.BENCH_LOG_FILE ?? '/dev/null', { flags: 'a' });
const out = (line: string) => logFile.write(line + '\n');

const timers = {
  leaseRenew: { schedule: leaseRenewSchedule, handler: leaseRenewHandler, atStart: true },
  nodeStatus: { schedule: nodeStatusSchedule, handler: nodeStatusHandler, atStart: true },
  podResync: { schedule: podResyncSchedule, handler: podResyncHandler, atStart: false },
} as const;
const wanted = (process.env.BENCH_TIMERS ?? '')
  .split(',')
  .filter((t): t is keyof typeof timers => t in timers);

const http = await serveFunctions(
  { podEvents: podEventsHandler(runtimes), kubeletApi: kubeletApiHandler(runtimes) },
  (name) => hostContext(name, out),
);
const loops: TimerLoop[] = [];
for (const name of wanted) {
  const { schedule, handler, atStart } = timers[name];
  const fn = handler(runtimes);
  const run = (isPastDue: boolean) => fn(timerPayload(isPastDue), hostContext(name, out));
  const failed = (err: unknown) =>
    out(JSON.stringify({ level: 'error', message: `${name} failed`, error: String(err) }));
  if (atStart) await run(false).catch(failed);
  loops.push(startTimerLoop(schedule, run, failed));
}

// Resident memory of this process, sampled every 200 ms: the peak since the last reset.
let peakRss = process.memoryUsage.rss();
const sampler = setInterval(() => (peakRss = Math.max(peakRss, process.memoryUsage.rss())), 200);
sampler.unref();

const reply = (message: HostReply) => process.send!(message);

process.on('message', (message: HostRequest) => {
  void (async () => {
    try {
      switch (message.op) {
        case 'counters':
          reply({
            id: message.id,
            ok: true,
            value: {
              kube: { ...counters.kube },
              tables: { ...counters.tables },
              byKind: { ...counters.byKind },
              rssMiB: mib(process.memoryUsage.rss()),
              peakRssMiB: mib(Math.max(peakRss, process.memoryUsage.rss())),
              cpuMs: Math.round((process.cpuUsage().user + process.cpuUsage().system) / 1000),
              latency: latency.summary(),
            },
          });
          return;
        case 'reset':
          counters.reset();
          latency.reset();
          peakRss = process.memoryUsage.rss();
          reply({ id: message.id, ok: true, value: null });
          return;
        case 'resyncPass': {
          // Fresh deps for every pass, as every timer invocation builds them: nothing cached by one
          // pass (ConfigMaps, Secrets, Services) carries over into the next.
          const node = runtime.config.nodes[0]!;
          const deps = await podDeps(runtime, node, createLogger({ node: node.name }, { minLevel: 'warn' }));
          const provider = deps.provider as MockProvider;
          const before = { ...provider.calls };
          const summary = await resyncNode(deps, runtime.config.resync);
          const providerCalls = (Object.keys(before) as (keyof typeof before)[]).reduce(
            (n, k) => n + provider.calls[k] - before[k],
            0,
          );
          reply({ id: message.id, ok: true, value: { summary, providerCalls } });
          return;
        }
        case 'stop':
          await Promise.all(loops.map((l) => l.stop()));
          await http.close();
          reply({ id: message.id, ok: true, value: null });
          await new Promise<void>((resolve) => logFile.end(resolve));
          process.exit(0);
      }
    } catch (err) {
      reply({
        id: message.id,
        ok: false,
        error: err instanceof Error ? (err.stack ?? err.message) : String(err),
      });
    }
  })();
});

// A benchmark that ends without stopping it (a crash, Ctrl-C) takes this process with it.
process.on('disconnect', () => process.exit(0));
reply({ id: 0, ok: true, value: { url: http.url, pid: process.pid } });

function mib(bytes: number): number {
  return Math.round(bytes / 1024 / 1024);
}
