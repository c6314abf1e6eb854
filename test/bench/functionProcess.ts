/**
 * Starts functionHost.ts as a child process and talks to it: the function app's own request
 * counts, resident memory and CPU time, resync passes run inside it, and a stop that lets a
 * CPU profile (`--cpu-prof`) be written.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { ResyncSummary } from '../../core/pods/resync.ts';

export type HostRequest = { id: number } & (
  { op: 'counters' } | { op: 'reset' } | { op: 'resyncPass' } | { op: 'stop' }
);
export type HostReply = { id: number } & ({ ok: true; value: unknown } | { ok: false; error: string });

export interface HostCounters {
  kube: { reads: number; writes: number; statusPatches: number };
  tables: { reads: number; writes: number };
  /** Requests by kind (counters.ts). */
  byKind: Record<string, number>;
  rssMiB: number;
  /** The highest resident memory sampled since the last reset. */
  peakRssMiB: number;
  /** User and system CPU time of the process since it started. */
  cpuMs: number;
  /** Time to the response headers by host since the last reset (requestLatency.ts). */
  latency: Record<string, { requests: number; p50: number; p90: number; p99: number }>;
}

export interface FunctionProcess {
  url: string;
  webhookUrl: string;
  pid: number;
  counters(): Promise<HostCounters>;
  reset(): Promise<void>;
  resyncPass(): Promise<{ summary: ResyncSummary; providerCalls: number }>;
  stop(): Promise<void>;
}

const entry = fileURLToPath(new URL('./functionHost.ts', import.meta.url));

export async function startFunctionProcess(options: {
  /** Funclet's settings (FUNCLET_*), as the host's app settings would carry them. */
  settings: Record<string, string>;
  /** leaseRenew, nodeStatus, podResync: which timers run on their schedules. */
  timers: string[];
  logFile: string;
  /** A directory for a CPU profile of the process (`node --cpu-prof`); none when absent. */
  cpuProfileDir?: string;
}): Promise<FunctionProcess> {
  const child: ChildProcess = fork(entry, [], {
    env: {
      PATH: process.env.PATH,
      HOME: process.env.HOME,
      ...options.settings,
      BENCH_TIMERS: options.timers.join(','),
      BENCH_LOG_FILE: options.logFile,
    },
    execArgv: options.cpuProfileDir ? ['--cpu-prof', `--cpu-prof-dir=${options.cpuProfileDir}`] : [],
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const pending = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();
  let nextId = 1;
  let exited: Error | undefined;
  const ready = new Promise<{ url: string; pid: number }>((resolve, reject) => {
    pending.set(0, { resolve: (v) => resolve(v as { url: string; pid: number }), reject });
  });
  child.on('message', (message: HostReply) => {
    const waiter = pending.get(message.id);
    if (!waiter) return;
    pending.delete(message.id);
    if (message.ok) waiter.resolve(message.value);
    else waiter.reject(new Error(`function process: ${message.error}`));
  });
  child.on('exit', (code, signal) => {
    exited = new Error(`the function process exited (${signal ?? code})`);
    for (const waiter of pending.values()) waiter.reject(exited);
    pending.clear();
  });
  const ask = <T>(op: HostRequest['op']): Promise<T> => {
    if (exited) return Promise.reject(exited);
    const id = nextId++;
    return new Promise<T>((resolve, reject) => {
      pending.set(id, { resolve: (v) => resolve(v as T), reject });
      child.send({ id, op } satisfies HostRequest);
    });
  };
  const { url, pid } = await ready;
  return {
    url,
    webhookUrl: `${url}/api/podEvents`,
    pid,
    counters: () => ask<HostCounters>('counters'),
    reset: () => ask<null>('reset').then(() => undefined),
    resyncPass: () => ask('resyncPass'),
    async stop() {
      if (exited) return;
      const gone = new Promise((resolve) => child.once('exit', resolve));
      await ask('stop').catch(() => undefined);
      await gone;
    },
  };
}
