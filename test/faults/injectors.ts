/**
 * The faults, each a start and a stop around a window in which the workload keeps running. A
 * restart is one event at the start of its window; the others last until stopped. "all together"
 * starts every fault at once (the restarts one after the other, as they share the store).
 */
import { sendUnwantedPokes, type PokeTally } from './pokes.ts';
import type { World } from './world.ts';

export interface FaultContext {
  world: World;
  restartApiServer: () => Promise<void>;
  /** Absent when the run cannot restart etcd (npm test's shared control plane). */
  restartEtcd?: () => Promise<void>;
  random: () => number;
  seed: number;
  tally: PokeTally;
  /** Faults of these kinds that happened: restarts, relay kills, podResync pairs fired. */
  landed: { restarts: number; relayKills: number; doubledResyncs: number };
}

export interface Fault {
  name: string;
  /** A single event at the start of its window (a restart), rather than a state that lasts. */
  instant?: boolean;
  start(ctx: FaultContext): Promise<void>;
  stop(ctx: FaultContext): Promise<void>;
}

/** Runs `work` again `periodMs` after each run ends, until the returned stop is called. */
function repeat(periodMs: number, work: () => Promise<unknown>): () => Promise<void> {
  let stopped = false;
  let timeout: NodeJS.Timeout | undefined;
  let running: Promise<unknown> = Promise.resolve();
  const tick = () => {
    running = work()
      .catch(() => undefined)
      .finally(() => {
        if (!stopped) timeout = setTimeout(tick, periodMs);
      });
  };
  tick();
  return async () => {
    stopped = true;
    clearTimeout(timeout);
    await running;
  };
}

const background = new WeakMap<Fault, () => Promise<void>>();

function looping(name: string, periodMs: number, work: (ctx: FaultContext) => Promise<unknown>): Fault {
  const fault: Fault = {
    name,
    start: (ctx) => {
      background.set(
        fault,
        repeat(periodMs, () => work(ctx)),
      );
      return Promise.resolve();
    },
    stop: async () => {
      await background.get(fault)?.();
      background.delete(fault);
    },
  };
  return fault;
}

const nothing = () => Promise.resolve();

export const faults = {
  apiServer: {
    name: 'API server restart',
    instant: true,
    start: async (ctx) => {
      await ctx.restartApiServer();
      ctx.landed.restarts++;
    },
    stop: nothing,
  },
  etcd: {
    name: 'etcd restart',
    instant: true,
    start: async (ctx) => {
      if (!ctx.restartEtcd) throw new Error('this run cannot restart etcd');
      await ctx.restartEtcd();
      ctx.landed.restarts++;
    },
    stop: nothing,
  },
  azurite: {
    name: 'Azurite stopped',
    start: (ctx) => Promise.resolve(ctx.world.tables.setDown(true)),
    stop: (ctx) => Promise.resolve(ctx.world.tables.setDown(false)),
  },
  relay: {
    name: 'relay killed, restarted later',
    start: async (ctx) => {
      await ctx.world.killRelay();
      ctx.landed.relayKills++;
    },
    stop: (ctx) => ctx.world.startRelay(),
  },
  webhook503: {
    name: 'podEvents answers 503',
    start: (ctx) => Promise.resolve(ctx.world.setWebhook('unavailable')),
    stop: (ctx) => Promise.resolve(ctx.world.setWebhook('serve')),
  },
  webhookSilent: {
    name: 'podEvents never answers',
    start: (ctx) => Promise.resolve(ctx.world.setWebhook('silent')),
    stop: (ctx) => Promise.resolve(ctx.world.setWebhook('serve')),
  },
  arm429: {
    name: 'ARM 429 + Retry-After, 50%',
    start: (ctx) =>
      Promise.resolve(
        ctx.world.aci.injectErrors({
          status: 429,
          code: 'TooManyRequests',
          retryAfterSeconds: 1,
          times: Infinity,
          probability: 0.5,
          seed: ctx.seed,
        }),
      ),
    stop: (ctx) => Promise.resolve(ctx.world.aci.clearErrors()),
  },
  arm5xx: {
    name: 'ARM 5xx, 50%',
    start: (ctx) => {
      // 500 on a quarter of calls, then 503 on a third of the rest: half in all.
      ctx.world.aci.injectErrors({ status: 500, times: Infinity, probability: 0.25, seed: ctx.seed });
      ctx.world.aci.injectErrors({ status: 503, times: Infinity, probability: 1 / 3, seed: ctx.seed + 1 });
      return Promise.resolve();
    },
    stop: (ctx) => Promise.resolve(ctx.world.aci.clearErrors()),
  },
  moto5xx: {
    name: 'moto 5xx, 50%',
    start: (ctx) => Promise.resolve(ctx.world.moto.failShare(0.5, ctx.seed)),
    stop: (ctx) => Promise.resolve(ctx.world.moto.failShare(0, ctx.seed)),
  },
  doubleResync: looping('podResync twice at once', 2000, async ({ world, landed }) => {
    landed.doubledResyncs++;
    await Promise.all([world.resync(), world.resync()]);
  }),
  pokes: looping('duplicated, reordered, replayed, forged pokes', 1500, (ctx) =>
    sendUnwantedPokes(ctx.world, ctx.random, ctx.tally),
  ),
} satisfies Record<string, Fault>;

/** Every fault at once; the restarts run one after the other once the rest are on. */
export function together(members: readonly Fault[]): Fault {
  const restarts = members.filter((f) => f.instant === true);
  const lasting = members.filter((f) => f.instant !== true);
  return {
    name: 'all together',
    async start(ctx) {
      for (const f of lasting) await f.start(ctx);
      for (const f of restarts) await f.start(ctx);
    },
    async stop(ctx) {
      for (const f of lasting) await f.stop(ctx);
    },
  };
}
