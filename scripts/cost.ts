/**
 * Funclet's cost model: what an idle virtual node costs a month, and what each 1,000 pod starts
 * cost in Funclet's own calls, against the Flex Consumption free grant; and the same two figures
 * for upstream virtual-kubelet running as a pod on a cluster node. The timers' schedules come from
 * the function files, the instance memory from the Bicep template's default, the per-invocation
 * calls and log lines from measurement (test/unit/telemetry/costCalls.test.ts measures them again
 * and fails when they differ), the prices from the pages cited beside each.
 *
 *   node scripts/cost.ts            prints the tables docs/cost.md holds
 *   node scripts/cost.ts --write    rewrites them in docs/cost.md (between the cost markers)
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { credentialRenewalSchedule } from '../functions/credentialRenewal.ts';
import { leaseRenewSchedule } from '../functions/leaseRenew.ts';
import { nodeStatusSchedule } from '../functions/nodeStatus.ts';
import { podResyncSchedule } from '../functions/podResync.ts';

const root = fileURLToPath(new URL('..', import.meta.url));

/** The month the model prices: 30 days, as the pricing pages' monthly grants are counted. */
export const secondsPerMonth = 30 * 24 * 3600;
export const hoursPerMonth = 730;

/** The day prices were read. */
export const pricesReadOn = '2026-12-02';

export interface Price {
  usd: number;
  per: string;
  source: string;
}

/** Pay-as-you-go list prices in USD (East US where a page is regional). */
export const prices = {
  flexExecutionTime: {
    usd: 0.000026,
    per: 'GB-s of on-demand execution time',
    source:
      'https://azure.microsoft.com/pricing/details/functions/ (Flex Consumption), as quoted by https://modal.com/blog/azure-function-pricing-guide',
  },
  flexExecutions: {
    usd: 0.4,
    per: 'million executions',
    source: 'https://azure.microsoft.com/pricing/details/functions/ (Flex Consumption)',
  },
  tableTransactions: {
    usd: 0.00036,
    per: '10,000 Table Storage transactions (Standard, LRS)',
    source: 'https://azure.microsoft.com/pricing/details/storage/tables/',
  },
  keyVaultOperations: {
    usd: 0.03,
    per: '10,000 Key Vault secret operations (Standard)',
    source:
      'https://learn.microsoft.com/en-us/answers/questions/5608202/how-to-correctly-estimate-azure-key-vault-cost',
  },
  logIngestion: {
    usd: 2.3,
    per: 'GB ingested into Analytics logs (workspace-based Application Insights)',
    source:
      'https://monitoringcost.com/azure-monitor-cost; billed size: https://learn.microsoft.com/azure/azure-monitor/logs/cost-logs',
  },
  nodeVm: {
    usd: 0.19,
    per: 'hour of a Standard_D4s_v5 node (4 vCPU, 16 GiB, Linux)',
    source:
      'https://learningbro.com/courses/azure-vms-and-compute/lessons/azure-pricing-pay-as-you-go-reserved-spot-vms (illustrative list price)',
  },
} as const satisfies Record<string, Price>;

/** Monthly free grants of the Flex Consumption on-demand meters (per subscription), and of log ingestion. */
export const freeGrants = {
  flexGbSeconds: 100_000,
  flexExecutions: 250_000,
  logGb: 5,
  source:
    'Flex Consumption: https://azure.microsoft.com/pricing/details/functions/ ; logs: https://monitoringcost.com/azure-monitor-cost (first 5 GB a month)',
} as const;

/**
 * Flex Consumption bills each execution at least this long (on-demand instances): a timer that
 * runs for 150 ms is billed 1 s of its instance's memory.
 * https://learn.microsoft.com/en-us/answers/a/12389275 (the 1,000 ms minimum execution charge).
 */
export const minimumBilledMs = 1_000;

export const nodeVm = { vcpu: 4, memoryGiB: 16 } as const;

/**
 * Upstream virtual-kubelet's Deployment (virtual-kubelet/azure-aci charts/virtual-kubelet) asks
 * for no resources; what it takes of a node is then what it uses. Assumed here, not measured:
 * a tenth of a vCPU and 128 MiB, a typical footprint of a Go controller of its kind.
 */
export const upstreamPodFootprint = { vcpu: 0.1, memoryGiB: 0.125 } as const;

/**
 * Application Insights rows the Functions host writes per execution besides Funclet's own lines:
 * one `requests` row (Host.Results), and the "Executing"/"Executed" `traces` rows of category
 * Function.<name> unless host.json lowers that category (it does for the timers, see hostJson()).
 * Billed sizes are estimates (the string form of the row's columns, ms docs cost-logs), not
 * measured here: there is no Application Insights on this machine.
 */
export const appInsightsRowBytes = { request: 700, hostTrace: 800, lineOverhead: 600 } as const;

export interface CallCounts {
  /** API server requests: free, but load on the user's control plane. */
  kube: number;
  /** Table Storage transactions (one per request). */
  tables: number;
  /** JSON lines Funclet writes at the level it ships (info and up). */
  logLines: number;
}

/**
 * Measured per invocation of a warm instance with one idle mock node (costCalls.test.ts):
 * leaseRenew reads the Node, reads and replaces the Lease, and merges the node's record;
 * nodeStatus reads the Node, reads the record, patches the status, merges the record; podResync
 * lists the node's pods and reads its partition; credentialRenewal reads the kubeconfig store
 * (Key Vault in Azure; none in the test, keyVaultReadsPerInvocation counts it).
 */
export const perInvocation: Record<TimerName, CallCounts> = {
  leaseRenew: { kube: 3, tables: 1, logLines: 0 },
  nodeStatus: { kube: 2, tables: 2, logLines: 1 },
  podResync: { kube: 1, tables: 1, logLines: 0 },
  credentialRenewal: { kube: 0, tables: 0, logLines: 0 },
};

/** Key Vault reads per invocation: credentialRenewal reads the kubeconfig secret once per node. */
export const keyVaultReadsPerInvocation: Record<TimerName, number> = {
  leaseRenew: 0,
  nodeStatus: 0,
  podResync: 0,
  credentialRenewal: 1,
};

/** Mean bytes of one of Funclet's JSON lines on an idle node (the test measures them). */
export const idleLineBytes = 240;

/**
 * Per pod started through the relay and podEvents (costCalls.test.ts, 10 pods on the mock
 * provider, one a second): podEvents executions (batches, and the rechecks until the pod is
 * Running), Table Storage transactions, API server requests and log lines; each execution billed
 * its minimum second.
 */
export const perPodStart = { executions: 1.6, tables: 8, kube: 9.4, logLines: 3.7, seconds: 1 };

export type TimerName = 'leaseRenew' | 'nodeStatus' | 'podResync' | 'credentialRenewal';

export const schedules: Record<TimerName, string> = {
  leaseRenew: leaseRenewSchedule,
  nodeStatus: nodeStatusSchedule,
  podResync: podResyncSchedule,
  credentialRenewal: credentialRenewalSchedule,
};

/** The instance memory the Bicep template deploys unless told otherwise (param instanceMemoryMB). */
export function instanceMemoryMB(): number {
  const bicep = readFileSync(`${root}infra/bicep/main.bicep`, 'utf8');
  const match = /param\s+instanceMemoryMB\s+int\s*=\s*(\d+)/.exec(bicep);
  if (!match) throw new Error('infra/bicep/main.bicep declares no default for instanceMemoryMB');
  return Number(match[1]);
}

/**
 * The seconds of a day a six-field NCRONTAB schedule (second minute hour day month weekday) fires
 * at. Day, month and weekday must be `*`: Funclet's timers fire every day.
 */
export function firingSecondsOfDay(schedule: string): number[] {
  const fields = schedule.trim().split(/\s+/);
  if (fields.length !== 6 || fields.slice(3).some((f) => f !== '*'))
    throw new Error(`schedule "${schedule}" is not a daily six-field NCRONTAB expression`);
  const [seconds, minutes, hours] = [values(fields[0]!, 60), values(fields[1]!, 60), values(fields[2]!, 24)];
  const out: number[] = [];
  for (const h of hours) for (const m of minutes) for (const s of seconds) out.push(h * 3600 + m * 60 + s);
  return out.sort((a, b) => a - b);
}

function values(field: string, range: number): number[] {
  const out = new Set<number>();
  for (const part of field.split(',')) {
    const [base, stepText] = part.split('/');
    const step = stepText === undefined ? 1 : Number(stepText);
    let [from, to] = [0, range - 1];
    if (base !== '*') {
      const [a, b] = base!.split('-').map(Number);
      from = a!;
      to = stepText === undefined && b === undefined ? a! : (b ?? range - 1);
    }
    if (!Number.isInteger(step) || step < 1 || !(from >= 0 && to < range && from <= to))
      throw new Error(`schedule field "${field}" is not understood`);
    for (let v = from; v <= to; v += step) out.add(v);
  }
  return [...out];
}

export interface Line {
  item: string;
  quantity: number;
  unit: string;
  usd: number;
}

export interface IdleModel {
  memoryGB: number;
  invocations: Record<TimerName, number>;
  executions: number;
  /** Billed if every execution is billed its own minimum second. */
  gbSecondsPerExecution: number;
  /** Billed if executions that start in the same second share it (instance active time). */
  gbSecondsSharedSeconds: number;
  tableTransactions: number;
  keyVaultReads: number;
  kubeRequests: number;
  logGB: number;
  lines: Line[];
  totalUsd: number;
  /** What one timer alone costs in executions and GB-s, for the schedule discussion. */
  byTimer: { timer: TimerName; schedule: string; invocations: number; shareOfExecutions: number }[];
}

const round = (n: number, digits: number) => Math.round(n * 10 ** digits) / 10 ** digits;

/** One idle node on an app of its own, for a 30-day month. */
export function idleNodeModel(
  memoryMB = instanceMemoryMB(),
  quietTimers = hostJson().quietTimers,
): IdleModel {
  const memoryGB = memoryMB / 1024;
  const days = secondsPerMonth / 86_400;
  const timers = Object.keys(schedules) as TimerName[];
  const invocations = Object.fromEntries(
    timers.map((t) => [t, firingSecondsOfDay(schedules[t]).length * days]),
  ) as Record<TimerName, number>;
  const executions = timers.reduce((n, t) => n + invocations[t], 0);
  const distinctSeconds = new Set(timers.flatMap((t) => firingSecondsOfDay(schedules[t]))).size * days;
  const billedSeconds = Math.max(1, minimumBilledMs / 1000);
  const gbSecondsPerExecution = executions * billedSeconds * memoryGB;
  const gbSecondsSharedSeconds = distinctSeconds * billedSeconds * memoryGB;
  const sum = (f: (t: TimerName) => number) => timers.reduce((n, t) => n + invocations[t] * f(t), 0);
  const tableTransactions = sum((t) => perInvocation[t].tables);
  const keyVaultReads = sum((t) => keyVaultReadsPerInvocation[t]);
  const kubeRequests = sum((t) => perInvocation[t].kube);
  const hostTraceRows = sum((t) => (quietTimers.has(t) ? 0 : 2));
  const logBytes =
    sum((t) => perInvocation[t].logLines) * (idleLineBytes + appInsightsRowBytes.lineOverhead) +
    executions * appInsightsRowBytes.request +
    hostTraceRows * appInsightsRowBytes.hostTrace;
  const logGB = logBytes / 1e9;

  const lines: Line[] = [
    {
      item: 'Executions',
      quantity: executions,
      unit: 'executions',
      usd: (Math.max(0, executions - freeGrants.flexExecutions) / 1e6) * prices.flexExecutions.usd,
    },
    {
      item: `Execution time (${memoryMB} MB instances, each execution billed ${billedSeconds} s)`,
      quantity: gbSecondsPerExecution,
      unit: 'GB-s',
      usd: Math.max(0, gbSecondsPerExecution - freeGrants.flexGbSeconds) * prices.flexExecutionTime.usd,
    },
    {
      item: 'Table Storage transactions',
      quantity: tableTransactions,
      unit: 'transactions',
      usd: (tableTransactions / 10_000) * prices.tableTransactions.usd,
    },
    {
      item: 'Key Vault reads',
      quantity: keyVaultReads,
      unit: 'operations',
      usd: (keyVaultReads / 10_000) * prices.keyVaultOperations.usd,
    },
    {
      item: 'Application Insights ingestion',
      quantity: logGB,
      unit: 'GB',
      usd: Math.max(0, logGB - freeGrants.logGb) * prices.logIngestion.usd,
    },
  ];
  return {
    memoryGB,
    invocations,
    executions,
    gbSecondsPerExecution,
    gbSecondsSharedSeconds,
    tableTransactions,
    keyVaultReads,
    kubeRequests,
    logGB,
    lines,
    totalUsd: lines.reduce((n, l) => n + l.usd, 0),
    byTimer: timers.map((t) => ({
      timer: t,
      schedule: schedules[t],
      invocations: invocations[t],
      shareOfExecutions: invocations[t] / executions,
    })),
  };
}

/** Funclet's own calls for 1,000 pod starts, beyond the free grants (which the idle node uses up). */
export function podStartsModel(
  memoryMB = instanceMemoryMB(),
  pods = 1_000,
): { lines: Line[]; totalUsd: number } {
  const memoryGB = memoryMB / 1024;
  const executions = perPodStart.executions * pods;
  const gbSeconds = perPodStart.seconds * perPodStart.executions * pods * memoryGB;
  const logGB =
    (pods * perPodStart.logLines * (idleLineBytes + appInsightsRowBytes.lineOverhead) +
      executions * (appInsightsRowBytes.request + 2 * appInsightsRowBytes.hostTrace)) /
    1e9;
  const lines: Line[] = [
    {
      item: 'podEvents executions',
      quantity: executions,
      unit: 'executions',
      usd: (executions / 1e6) * prices.flexExecutions.usd,
    },
    {
      item: 'Execution time',
      quantity: gbSeconds,
      unit: 'GB-s',
      usd: gbSeconds * prices.flexExecutionTime.usd,
    },
    {
      item: 'Table Storage transactions',
      quantity: perPodStart.tables * pods,
      unit: 'transactions',
      usd: ((perPodStart.tables * pods) / 10_000) * prices.tableTransactions.usd,
    },
    {
      item: 'Application Insights ingestion',
      quantity: logGB,
      unit: 'GB',
      usd: logGB * prices.logIngestion.usd,
    },
  ];
  return { lines, totalUsd: lines.reduce((n, l) => n + l.usd, 0) };
}

/** Upstream virtual-kubelet as a pod: its share of a node, and nothing per pod start. */
export function upstreamModel(): { monthlyUsd: number; share: number; perThousandStartsUsd: number } {
  const share = Math.max(
    upstreamPodFootprint.vcpu / nodeVm.vcpu,
    upstreamPodFootprint.memoryGiB / nodeVm.memoryGiB,
  );
  return { share, monthlyUsd: share * prices.nodeVm.usd * hoursPerMonth, perThousandStartsUsd: 0 };
}

/** The timers host.json keeps quiet: their host "Executing"/"Executed" lines are not sent. */
export function hostJson(): { quietTimers: Set<TimerName> } {
  const host = JSON.parse(readFileSync(`${root}host.json`, 'utf8')) as {
    logging?: { logLevel?: Record<string, string> };
  };
  const levels = host.logging?.logLevel ?? {};
  const quiet = new Set<TimerName>();
  for (const t of Object.keys(schedules) as TimerName[]) {
    const level = levels[`Function.${t}`] ?? levels.Function ?? levels.default ?? 'Information';
    if (!['Trace', 'Debug', 'Information'].includes(level)) quiet.add(t);
  }
  return { quietTimers: quiet };
}

const usd = (n: number) => (n === 0 ? '$0.00' : n < 0.01 ? `$${n.toFixed(4)}` : `$${n.toFixed(2)}`);
const num = (n: number) =>
  Number.isInteger(n) ? n.toLocaleString('en-US') : round(n, n < 10 ? 3 : 1).toLocaleString('en-US');

function table(lines: Line[], total: number): string {
  const rows = lines.map((l) => `| ${l.item} | ${num(l.quantity)} ${l.unit} | ${usd(l.usd)} |`);
  return [
    '| item | a month | cost |',
    '| --- | --- | --- |',
    ...rows,
    `| **total** | | **${usd(total)}** |`,
  ].join('\n');
}

/** The generated part of docs/cost.md. */
export function renderCostTables(): string {
  const memoryMB = instanceMemoryMB();
  const idle = idleNodeModel(memoryMB);
  const small = idleNodeModel(512);
  const loud = idleNodeModel(memoryMB, new Set());
  const starts = podStartsModel(memoryMB);
  const upstream = upstreamModel();
  const quiet = [...hostJson().quietTimers].join(', ') || 'none';
  const out: string[] = [];
  out.push(`Prices read on ${pricesReadOn}; instance memory ${memoryMB} MB (infra/bicep/main.bicep).`);
  out.push('');
  out.push('### The timers');
  out.push('');
  out.push(
    '| timer | schedule | invocations a month | share of executions | API requests each | Table transactions each | log lines each |',
  );
  out.push('| --- | --- | --- | --- | --- | --- | --- |');
  for (const t of idle.byTimer) {
    const c = perInvocation[t.timer];
    out.push(
      `| ${t.timer} | \`${t.schedule}\` | ${num(t.invocations)} | ${Math.round(t.shareOfExecutions * 100)}% | ${c.kube} | ${c.tables} | ${c.logLines} |`,
    );
  }
  out.push('');
  out.push(`Host "Executing"/"Executed" lines not sent for: ${quiet}.`);
  out.push('');
  out.push('### An idle node, a month');
  out.push('');
  out.push(table(idle.lines, idle.totalUsd));
  out.push('');
  out.push(
    `Free grants used: ${Math.round((idle.executions / freeGrants.flexExecutions) * 100)}% of the executions, ${Math.round((idle.gbSecondsPerExecution / freeGrants.flexGbSeconds) * 100)}% of the GB-s, ${Math.round((idle.logGB / freeGrants.logGb) * 100)}% of the log ingestion. ` +
      `If executions that start in the same second share their billed second (the plan bills an instance's active time), execution time is ${num(idle.gbSecondsSharedSeconds)} GB-s (${usd(Math.max(0, idle.gbSecondsSharedSeconds - freeGrants.flexGbSeconds) * prices.flexExecutionTime.usd)}). ` +
      `With 512 MB instances: ${num(small.gbSecondsPerExecution)} GB-s, ${usd(small.totalUsd)} in all. ` +
      `Were the host's "Executing"/"Executed" lines of every timer sent, ingestion would be ${num(loud.logGB)} GB. ` +
      `API server requests: ${num(idle.kubeRequests)} a month.`,
  );
  out.push('');
  out.push('### 1,000 pod starts');
  out.push('');
  out.push(table(starts.lines, starts.totalUsd));
  out.push('');
  out.push(
    `Per pod start: ${perPodStart.executions} podEvents executions, ${perPodStart.tables} Table transactions, ${perPodStart.kube} API server requests (measured, 10 pods). The provider's own charges (ACI or Fargate for the pod's containers) are the pod's, and the same with either kubelet.`,
  );
  out.push('');
  out.push('### Upstream virtual-kubelet as a pod');
  out.push('');
  out.push('| figure | cost |');
  out.push('| --- | --- |');
  out.push(
    `| an idle node, a month: ${Math.round(upstream.share * 1000) / 10}% of a Standard_D4s_v5 node | ${usd(upstream.monthlyUsd)} |`,
  );
  out.push(`| 1,000 pod starts | ${usd(upstream.perThousandStartsUsd)} |`);
  return out.join('\n');
}

export const beginMarker = '<!-- cost:begin (scripts/cost.ts --write) -->';
export const endMarker = '<!-- cost:end -->';

/** docs/cost.md's generated section as it stands. */
export function documentedTables(text: string): string {
  const from = text.indexOf(beginMarker);
  const to = text.indexOf(endMarker);
  if (from < 0 || to < from)
    throw new Error(`docs/cost.md lacks the markers ${beginMarker} ... ${endMarker}`);
  return text.slice(from + beginMarker.length, to).trim();
}

/** The generated section as docs/cost.md holds it: formatted as the repository's Prettier formats Markdown. */
export async function formattedCostTables(): Promise<string> {
  const prettier = await import('prettier');
  const options = (await prettier.resolveConfig(docPath)) ?? {};
  return (await prettier.format(renderCostTables(), { ...options, parser: 'markdown' })).trim();
}

const docPath = `${root}docs/cost.md`;

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const tables = await formattedCostTables();
  if (process.argv.includes('--write')) {
    const text = readFileSync(docPath, 'utf8');
    const from = text.indexOf(beginMarker);
    const to = text.indexOf(endMarker);
    if (from < 0 || to < from)
      throw new Error(`docs/cost.md lacks the markers ${beginMarker} ... ${endMarker}`);
    writeFileSync(docPath, `${text.slice(0, from + beginMarker.length)}\n\n${tables}\n\n${text.slice(to)}`);
  } else {
    process.stdout.write(`${tables}\n`);
  }
}
