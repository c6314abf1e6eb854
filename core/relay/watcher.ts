/**
 * The in-cluster relay: one list+watch per virtual node, each node's pod changes batched and
 * POSTed, signed, to the podEvents function. It is an accelerator: everything it could lose
 * (a batch the webhook refused, pokes evicted during a long outage, pokes pending at a crash)
 * is repaired by podResync within a minute, so it holds nothing that must survive a restart.
 */
import type { KubeConfig } from '@kubernetes/client-node';
import { ConfigError } from '../errors.ts';
import type { Logger } from '../log.ts';
import { defaultBackoff, type Backoff } from './backoff.ts';
import { PokeBatcher } from './batcher.ts';
import { observeRelayQueueDepth } from '../telemetry/metrics.ts';
import { sleep, systemClock, type Clock } from './clock.ts';
import { kubePodSource } from './kubePodSource.ts';
import { startNodeWatch, type NodeWatch } from './nodeWatch.ts';
import { functionUrlProblem } from './outgoing.ts';
import type { PodSource } from './podSource.ts';
import {
  maxEventsPerBatch,
  maxRecheckDelayMs,
  parseAnswer,
  replayWindowMs,
  type Recheck,
} from './protocol.ts';
import { webhookSender, Delivery, type WebhookSender } from './webhook.ts';

export interface RelayOptions {
  /** Credentials to list and watch pods (the funclet-relay ServiceAccount). Required unless `podSource` is given. */
  kubeConfig?: KubeConfig;
  /** Where pods come from; built from `kubeConfig` by default. Tests pass a fake. */
  podSource?: PodSource;
  /** The virtual nodes whose pods are relayed. */
  nodes: readonly string[];
  /** The podEvents function URL: https (http only to loopback), without its key. */
  webhookUrl: string;
  /** The HMAC secret shared with podEvents. */
  secret: string;
  /** The function key, sent as x-functions-key. */
  functionKey?: string;
  logger: Logger;
  /** At most this many pokes per request (the protocol caps it at 100). */
  batchMaxEvents?: number;
  /** A poke waits at most this long for others to share its request. */
  batchMaxDelayMs?: number;
  /** Requests in flight at once per node (a pod is never in two at once). */
  batchMaxInFlight?: number;
  /** Pods waiting per node beyond this evict the oldest (see PokeBatcher). */
  maxPendingPerNode?: number;
  /** healthy() turns false once a node's list/watch has failed continuously for this long. */
  unhealthyAfterMs?: number;
  /** stop() waits this long for pending pokes to be delivered. */
  stopFlushTimeoutMs?: number;
  backoff?: Backoff;
  webhookAttemptTimeoutMs?: number;
  fetch?: typeof fetch;
  /** Epoch ms; for signatures and health. Defaults to the clock's. */
  now?: () => number;
  /** Timers for batching and backoff; tests inject a fake one. */
  clock?: Clock;
  random?: () => number;
}

export interface Relay {
  /** True once every node's first list has succeeded (its pods have been handed to the batcher). */
  ready(): boolean;
  /** False while some node's list/watch has been failing for longer than unhealthyAfterMs. */
  healthy(): boolean;
  /** Ends the watches, delivers what is pending (bounded by stopFlushTimeoutMs), and resolves. */
  stop(): Promise<void>;
}

/** Requests in flight per node by default: enough to keep podEvents busy, few enough not to swamp it. */
export const defaultBatchMaxInFlight = 4;

const dns1123Subdomain = /^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$/;

export function startRelay(options: RelayOptions): Relay {
  const baseClock = options.clock ?? systemClock;
  const clock: Clock = options.now ? { ...baseClock, now: options.now } : baseClock;
  const random = options.random ?? Math.random;
  const backoff = options.backoff ?? defaultBackoff;
  const batchMaxEvents = options.batchMaxEvents ?? maxEventsPerBatch;
  const batchMaxDelayMs = options.batchMaxDelayMs ?? 250;
  const batchMaxInFlight = options.batchMaxInFlight ?? defaultBatchMaxInFlight;
  const unhealthyAfterMs = options.unhealthyAfterMs ?? 2 * 60_000;
  const stopFlushTimeoutMs = options.stopFlushTimeoutMs ?? 5_000;
  checkOptions(options, batchMaxEvents, batchMaxInFlight);
  const source = options.podSource ?? kubePodSource(options.kubeConfig!, clock);
  const log = options.logger;

  const watchSignal = new AbortController();
  const deliverySignal = new AbortController();
  const send: WebhookSender = webhookSender({
    url: options.webhookUrl,
    secret: options.secret,
    functionKey: options.functionKey,
    fetch: options.fetch ?? fetch,
    clock,
    random,
    // A wait longer than the replay window would be pointless: the signature is renewed per attempt anyway.
    backoff: { baseMs: backoff.baseMs, capMs: Math.min(backoff.capMs, replayWindowMs) },
    attemptTimeoutMs: options.webhookAttemptTimeoutMs ?? 10_000,
    logger: log,
    onAccepted: (batch, text) => {
      // Only what this batch poked, and only pods this node's watch still has: the relay signs
      // every recheck it sends, so an answer must not be able to make it poke anything else.
      const answer = parseAnswer(text);
      const poked = new Set(batch.events.map((e) => `${e.uid}/${e.namespace}/${e.name}`));
      for (const recheck of answer.recheck) {
        if (poked.has(`${recheck.uid}/${recheck.namespace}/${recheck.name}`))
          scheduleRecheck(batch.node, recheck);
      }
      // Pokes podEvents had no time to start go out again as they were, in the next batch (a
      // newer poke for the pod that arrived meanwhile goes instead).
      const resend = new Set(answer.resend);
      if (resend.size > 0) {
        const batcher = batchers.get(batch.node);
        for (const poke of batch.events) if (resend.has(poke.uid)) batcher?.putBack(poke);
      }
    },
  });
  // Pods podEvents asked about again: poked once more after the delay it chose (bounded). One
  // pending recheck per pod, the earliest asked for: every unsettled answer asks again, and
  // keeping each would start a new chain of rechecks per answer.
  const rechecks = new Map<string, { handle: unknown; atMs: number }>();
  const scheduleRecheck = (node: string, r: Recheck) => {
    if (watchSignal.signal.aborted) return;
    const delayMs = Math.max(0, Math.min(r.afterMs, maxRecheckDelayMs));
    const atMs = clock.now() + delayMs;
    const pending = rechecks.get(r.uid);
    if (pending && pending.atMs <= atMs) return;
    if (pending) clock.clearTimeout(pending.handle);
    if (watches.get(node)?.watching(r) !== true) return;
    const handle = clock.setTimeout(() => {
      rechecks.delete(r.uid);
      if (watchSignal.signal.aborted || watches.get(node)?.watching(r) !== true) return;
      batchers.get(node)?.add({
        type: 'RECHECK',
        namespace: r.namespace,
        name: r.name,
        uid: r.uid,
        resourceVersion: r.resourceVersion,
      });
    }, delayMs);
    rechecks.set(r.uid, { handle, atMs });
  };
  let abandoned = 0;

  const batchers = new Map<string, PokeBatcher>();
  const watches = new Map<string, NodeWatch>();
  for (const node of new Set(options.nodes)) {
    const batcher = new PokeBatcher({
      node,
      maxEvents: batchMaxEvents,
      maxDelayMs: batchMaxDelayMs,
      maxInFlight: batchMaxInFlight,
      maxPending: Math.max(options.maxPendingPerNode ?? 10_000, batchMaxEvents),
      clock,
      logger: log.child({ node }),
      deliver: async (batch) => {
        if ((await send(batch, deliverySignal.signal)) === Delivery.abandoned)
          abandoned += batch.events.length;
      },
    });
    batchers.set(node, batcher);
    watches.set(
      node,
      startNodeWatch(
        {
          node,
          source,
          onPoke: (poke) => batcher.add(poke),
          clock,
          random,
          backoff,
          logger: log,
          listPageSize: 500,
          // client-go's reflector does the same: a 5-minute watch, stretched by up to a fifth at random.
          watchTimeoutSeconds: () => Math.round(300 * (1 + 0.2 * random())),
        },
        watchSignal.signal,
      ),
    );
  }
  const stopQueueDepth = observeRelayQueueDepth(() =>
    [...batchers].map(([node, b]) => ({ node, pending: b.pendingCount })),
  );
  log.info('relay started', {
    nodes: [...batchers.keys()],
    batchMaxEvents,
    batchMaxDelayMs,
    batchMaxInFlight,
  });

  let stopping: Promise<void> | undefined;
  return {
    ready: () => [...watches.values()].every((w) => w.listed()),
    healthy: () => {
      const now = clock.now();
      return [...watches.values()].every((w) => {
        const since = w.failingSinceMs();
        return since === undefined || now - since <= unhealthyAfterMs;
      });
    },
    stop: () =>
      (stopping ??= (async () => {
        watchSignal.abort();
        stopQueueDepth();
        for (const { handle } of rechecks.values()) clock.clearTimeout(handle);
        rechecks.clear();
        await Promise.all([...watches.values()].map((w) => w.done));
        const drained = Promise.all([...batchers.values()].map((b) => b.drain()));
        const bound = new AbortController();
        await Promise.race([drained, sleep(clock, stopFlushTimeoutMs, bound.signal)]);
        bound.abort();
        // Whatever is still in flight or pending now is abandoned: podResync will see to it.
        deliverySignal.abort();
        await drained;
        for (const b of batchers.values()) b.close();
        if (abandoned > 0) log.warn('relay stopped with undelivered pokes', { pokes: abandoned });
        log.info('relay stopped');
      })()),
  };
}

function checkOptions(o: RelayOptions, batchMaxEvents: number, batchMaxInFlight: number): void {
  const problems: { setting: string; problem: string }[] = [];
  if (!o.kubeConfig && !o.podSource) problems.push({ setting: 'kubeConfig', problem: 'is required' });
  if (o.nodes.length === 0) problems.push({ setting: 'nodes', problem: 'must name at least one node' });
  for (const node of o.nodes) {
    if (!dns1123Subdomain.test(node))
      problems.push({ setting: 'nodes', problem: `"${node}" is not a node name` });
  }
  const urlProblem = functionUrlProblem(o.webhookUrl);
  if (urlProblem !== undefined) problems.push({ setting: 'webhookUrl', problem: urlProblem });
  if (o.secret.length === 0) problems.push({ setting: 'secret', problem: 'is required' });
  if (!Number.isInteger(batchMaxEvents) || batchMaxEvents < 1 || batchMaxEvents > maxEventsPerBatch)
    problems.push({ setting: 'batchMaxEvents', problem: `must be between 1 and ${maxEventsPerBatch}` });
  if (!Number.isInteger(batchMaxInFlight) || batchMaxInFlight < 1)
    problems.push({ setting: 'batchMaxInFlight', problem: 'must be a whole number of at least 1' });
  if (problems.length > 0) throw new ConfigError(problems);
}
