/**
 * The fault suite: the workload runs while each fault is on, one after another and then all
 * together; after each, the faults stop and the suite waits for the state to settle (the
 * workload converged and podInvariantViolations empty on both nodes), then counts what did not.
 * Everything is drawn from one seed: the workload's steps, the share of calls that fail, the
 * pokes sent.
 */
import { Invariant, podInvariantViolations, type Violation } from '../support/podInvariants.ts';
import { faults, together, type Fault, type FaultContext } from './injectors.ts';
import { emptyTally } from './pokes.ts';
import { seededRandom } from '../support/random.ts';
import type { FaultRow } from './table.ts';
import { startWorkload, type Workload } from './workload.ts';
import { startWorld, type World } from './world.ts';

export interface SuiteOptions {
  seed: number;
  /** Keys of `faults`, run one after another. */
  faults: (keyof typeof faults)[];
  /** Then these all at once (podEvents cannot both refuse and stay silent: it stays silent). */
  together: (keyof typeof faults)[];
  /** How long each fault lasts (a restart: how long the workload runs from its start). */
  windowMs: number;
  /** Longer or shorter windows for some faults (the issue stops Azurite for 30 s). */
  windows?: Partial<Record<keyof typeof faults | 'together', number>>;
  /** How long the state may take to settle once a fault stops before its row says so. */
  settleLimitMs: number;
  /** podResync's period (the host runs it every minute; the suite, faster, to fit its time). */
  resyncPeriodMs: number;
  /** The workload takes a step this often while a fault is on. */
  stepEveryMs: number;
  restartApiServer: () => Promise<void>;
  restartEtcd?: () => Promise<void>;
  logFile?: string;
  log?: (line: string) => void;
}

export async function runFaultSuite(options: SuiteOptions): Promise<FaultRow[]> {
  const log = options.log ?? (() => undefined);
  const random = seededRandom(options.seed);
  const world = await startWorld({ logFile: options.logFile, seed: options.seed });
  let workload: Workload | undefined;
  try {
    workload = await startWorkload(world);
    world.resyncEvery(options.resyncPeriodMs);
    const tally = emptyTally();
    const ctx: FaultContext = {
      world,
      restartApiServer: options.restartApiServer,
      restartEtcd: options.restartEtcd,
      random,
      seed: options.seed,
      tally,
      landed: { restarts: 0, relayKills: 0, doubledResyncs: 0 },
    };
    // Every fault that landed, of every kind: failed calls, dropped requests, restarts, pokes sent.
    const injected = () =>
      [429, 500, 503].reduce((n, status) => n + world.aci.countRequests({ status }), 0) +
      world.moto.counts.failed +
      world.tables.counts.dropped +
      world.counts.webhookRefused +
      ctx.landed.restarts +
      ctx.landed.relayKills +
      ctx.landed.doubledResyncs +
      tally.forged +
      tally.repeated +
      tally.lying;
    const plan: { fault: Fault; windowMs: number }[] = options.faults.map((key) => ({
      fault: faults[key],
      windowMs: options.windows?.[key] ?? options.windowMs,
    }));
    const members = options.together.filter((key) => key !== 'webhook503').map((key) => faults[key]);
    if (members.length > 0)
      plan.push({ fault: together(members), windowMs: options.windows?.together ?? options.windowMs });

    const rows: FaultRow[] = [];
    // A quiet start: the first pods Running before anything breaks.
    rows.push(await phase(undefined, options.windowMs));
    for (const { fault, windowMs } of plan) rows.push(await phase(fault, windowMs));
    return rows;

    async function phase(fault: Fault | undefined, windowMs: number): Promise<FaultRow> {
      const w = workload!;
      const name =
        fault === undefined
          ? 'none (baseline)'
          : fault.instant
            ? fault.name
            : `${fault.name}, ${Math.round(windowMs / 1000)} s`;
      log(`${name}: on`);
      const startedAtMs = Date.now();
      const forgedBefore = tally.forgedAccepted;
      const sentBefore = tally.forged;
      const injectedBefore = injected();
      let stepping = true;
      const steps = (async () => {
        while (stepping) {
          await w.step(random);
          await new Promise((r) => setTimeout(r, options.stepEveryMs));
        }
      })();
      await fault?.start(ctx);
      await new Promise((r) => setTimeout(r, Math.max(0, startedAtMs + windowMs - Date.now())));
      stepping = false;
      await steps;
      await fault?.stop(ctx);
      const stoppedAtMs = Date.now();
      log(`${name}: off; settling`);

      let violations: Violation[] = [];
      let unsettled: string[] = [];
      let settledAtMs: number | undefined;
      let lastReportMs = Date.now();
      while (Date.now() - stoppedAtMs < options.settleLimitMs) {
        try {
          unsettled = await w.unsettled();
          violations = await check(world, w, startedAtMs);
          if (unsettled.length === 0 && violations.length === 0) {
            settledAtMs = Date.now();
            break;
          }
        } catch (err) {
          unsettled = [`checking failed: ${String(err)}`];
        }
        if (Date.now() - lastReportMs >= 10_000) {
          lastReportMs = Date.now();
          const now = [...unsettled, ...violations.map((v) => `${v.pod}: ${v.invariant}: ${v.detail}`)];
          log(`  ${Math.round((Date.now() - stoppedAtMs) / 1000)} s: ${now.slice(0, 4).join('; ')}`);
        }
        await new Promise((r) => setTimeout(r, 2000));
      }
      if (settledAtMs === undefined) {
        for (const line of [...unsettled, ...violations.map((v) => `${v.pod}: ${v.invariant}: ${v.detail}`)])
          log(`  ${line}`);
      }
      const pods = (...which: string[]) =>
        new Set(violations.filter((v) => which.includes(v.invariant)).map((v) => v.pod)).size;
      const row: FaultRow = {
        fault: name,
        podsTouched: w.touched(startedAtMs, settledAtMs ?? Date.now()),
        duplicates: pods(Invariant.oneLiveInstance),
        orphans: pods(Invariant.noOrphanInstance, Invariant.noLiveInstanceOfTerminalPod),
        lostPods: pods(
          Invariant.instanceForRunningPod,
          Invariant.expectedPhase,
          Invariant.deletedPodGone,
          Invariant.notStuckTerminating,
        ),
        staleRecords: pods(Invariant.recordMatchesProvider, Invariant.noOrphanRecord),
        forgedAccepted: tally.forgedAccepted - forgedBefore,
        forgedSent: tally.forged - sentBefore,
        injected: injected() - injectedBefore,
        settleMs: settledAtMs === undefined ? undefined : settledAtMs - stoppedAtMs,
        unsettled: settledAtMs === undefined ? unsettled : [],
      };
      log(`${name}: ${settledAtMs === undefined ? 'NOT settled' : `settled in ${row.settleMs} ms`}`);
      return row;
    }
  } finally {
    await workload?.stop();
    await world.stop();
  }
}

/**
 * An ended instance whose pod is gone, which the provider keeps listing for a while after it
 * stopped (ECS shows a STOPPED task for about an hour, and offers no way to remove it): it runs
 * nothing, so it is not left behind. podInvariantViolations names the instance's phase in its
 * detail; a live one is an orphan.
 */
function endedInstanceOfGonePod(v: Violation): boolean {
  return v.invariant === Invariant.noOrphanInstance && /\((Succeeded|Failed)\) belongs to/.test(v.detail);
}

/** The invariants on both nodes, each pod held to what the workload expects of it. */
async function check(world: World, workload: Workload, sinceMs: number): Promise<Violation[]> {
  const all: Violation[] = [];
  for (const node of [world.nodes.aci, world.nodes.ecs]) {
    const { runtime, provider, records } = await world.views(node);
    all.push(
      ...(await podInvariantViolations({
        kube: runtime.kubeFor(node),
        provider,
        records,
        node,
        expect: await workload.expected(node, sinceMs),
      })),
    );
  }
  return all.filter((v) => !endedInstanceOfGonePod(v));
}
