import { readdirSync, readFileSync } from 'node:fs';

/** CPU seconds (user + system) by part of the system: what a benchmark's wall time was spent on. */
export type CpuByPart = Record<string, number>;

/**
 * The parts a benchmark's descendants are counted under, by the program their command line
 * runs (the control plane is one executable, dev/cluster, its first argument naming the server).
 * The guard shells in between match too and add next to nothing.
 */
const parts: [string, RegExp][] = [
  ['kube-apiserver', /\/controlplane kube-apiserver( |$)/],
  ['kube-scheduler', /\/controlplane kube-scheduler( |$)/],
  ['kube-controller-manager', /\/controlplane kube-controller-manager( |$)/],
  ['etcd', /\/controlplane etcd( |$)/],
  ['azurite', /\/azurite-table( |$)/],
  ['function process', /\/functionHost\.ts( |$)/],
  ['upstream virtual-kubelet', /\/virtual-kubelet( |$)/],
];

const ticksPerSecond = 100;

interface Proc {
  pid: number;
  ppid: number;
  ticks: number;
  cmdline: string;
}

function readProc(pid: number): Proc | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name is in parentheses and may hold spaces: the fields follow the last ')'.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const cmdline = readFileSync(`/proc/${pid}/cmdline`, 'utf8').replace(/\0/g, ' ');
    return {
      pid,
      ppid: Number(fields[1]),
      // utime and stime: fields 14 and 15 of stat, 12 and 13 after the name.
      ticks: Number(fields[11]) + Number(fields[12]),
      cmdline,
    };
  } catch {
    return undefined; // gone meanwhile
  }
}

/**
 * CPU seconds used so far by this process ("bench process": the relay, the bench's watches)
 * and each of its descendants, summed by part. Linux only (/proc); elsewhere, this process only.
 */
export function cpuByPart(): CpuByPart {
  const totals: CpuByPart = {};
  const own = process.cpuUsage();
  totals['bench process'] = (own.user + own.system) / 1e6;
  let pids: number[];
  try {
    pids = readdirSync('/proc')
      .filter((d) => /^\d+$/.test(d))
      .map(Number);
  } catch {
    return totals;
  }
  const procs = new Map<number, Proc>();
  for (const pid of pids) {
    const p = readProc(pid);
    if (p) procs.set(pid, p);
  }
  const descends = (p: Proc): boolean => {
    for (let at: Proc | undefined = p, hops = 0; at && hops < 64; at = procs.get(at.ppid), hops++)
      if (at.ppid === process.pid) return true;
    return false;
  };
  for (const p of procs.values()) {
    if (p.pid === process.pid || !descends(p)) continue;
    const part = parts.find(([, pattern]) => pattern.test(p.cmdline))?.[0];
    // The shells and guards between the bench and its servers use next to nothing.
    if (part === undefined) continue;
    totals[part] = (totals[part] ?? 0) + p.ticks / ticksPerSecond;
  }
  return totals;
}

/** What each part used between two readings, in seconds. */
export function cpuSince(before: CpuByPart, after: CpuByPart = cpuByPart()): CpuByPart {
  const used: CpuByPart = {};
  for (const [part, s] of Object.entries(after)) used[part] = Math.max(0, s - (before[part] ?? 0));
  return used;
}
