import type { Logger } from '../log.ts';
import type { Clock } from './clock.ts';
import type { Poke, PokeBatch } from './protocol.ts';

export interface PokeBatcherOptions {
  node: string;
  /** A batch is sent as soon as this many distinct pods are pending. */
  maxEvents: number;
  /** ...or this long after the oldest pending poke arrived, whichever comes first. */
  maxDelayMs: number;
  /**
   * Pending pods beyond this many (the webhook has been down for a while and pods keep
   * churning) evict the oldest: the podResync timer repairs whatever a lost poke would have.
   */
  maxPending: number;
  clock: Clock;
  logger: Logger;
  /** Sends one batch, retrying as it sees fit; resolves once it is delivered or given up. Never rejects. */
  deliver(batch: PokeBatch): Promise<void>;
}

interface Pending {
  poke: Poke;
  /** When this pod's first still-pending poke arrived. */
  sinceMs: number;
}

/**
 * The outbox of one node. Pokes are kept by pod UID, so a pod that changes many times while
 * a batch waits (or while the webhook is down) costs one entry: the latest poke wins, except
 * that a DELETED is never replaced (a UID has no life after deletion, so anything later for
 * it is a stale replay and the deletion is what podEvents must hear). One batch is in flight
 * at a time, which keeps delivery ordered for the node.
 */
export class PokeBatcher {
  readonly #o: PokeBatcherOptions;
  /** Insertion-ordered, so the first entry is the one that has waited longest. */
  readonly #pending = new Map<string, Pending>();
  #timer: unknown;
  #inFlight: Promise<void> | undefined;
  #draining = false;
  #evicted = 0;

  constructor(options: PokeBatcherOptions) {
    if (options.maxEvents < 1) throw new RangeError('PokeBatcher: maxEvents must be at least 1');
    if (options.maxPending < options.maxEvents)
      throw new RangeError('PokeBatcher: maxPending must be at least maxEvents');
    this.#o = options;
  }

  /** Pods with a poke waiting to be sent (not counting the batch in flight). */
  get pendingCount(): number {
    return this.#pending.size;
  }

  add(poke: Poke): void {
    const existing = this.#pending.get(poke.uid);
    if (existing) {
      if (existing.poke.type !== 'DELETED') existing.poke = poke;
    } else {
      if (this.#pending.size >= this.#o.maxPending) this.#evictOldest();
      this.#pending.set(poke.uid, { poke, sinceMs: this.#o.clock.now() });
    }
    this.#pump();
  }

  /**
   * Sends everything pending without waiting for the delay, one batch after another, and
   * resolves once nothing is pending or in flight. Pokes added meanwhile are sent too.
   */
  async drain(): Promise<void> {
    this.#draining = true;
    this.#pump();
    while (this.#inFlight) {
      await this.#inFlight;
      this.#pump();
    }
  }

  /** Forgets the timer; pending pokes stay where they are (drain first to send them). */
  close(): void {
    this.#clearTimer();
  }

  #pump(): void {
    if (this.#inFlight || this.#pending.size === 0) return;
    const oldest = this.#pending.values().next().value!;
    const dueAtMs = oldest.sinceMs + this.#o.maxDelayMs;
    const now = this.#o.clock.now();
    if (!this.#draining && this.#pending.size < this.#o.maxEvents && now < dueAtMs) {
      this.#timer ??= this.#o.clock.setTimeout(() => {
        this.#timer = undefined;
        this.#pump();
      }, dueAtMs - now);
      return;
    }
    this.#clearTimer();
    const events: Poke[] = [];
    for (const [uid, entry] of this.#pending) {
      if (events.length === this.#o.maxEvents) break;
      events.push(entry.poke);
      this.#pending.delete(uid);
    }
    this.#inFlight = this.#o
      .deliver({ node: this.#o.node, events })
      .catch((err: unknown) => {
        // deliver() promises never to reject; if it does, losing one batch is what the resync covers.
        this.#o.logger.error('delivering a batch of pokes failed unexpectedly', {
          err,
          events: events.length,
        });
      })
      .finally(() => {
        this.#inFlight = undefined;
        this.#pump();
      });
  }

  #evictOldest(): void {
    const oldestUid = this.#pending.keys().next().value!;
    this.#pending.delete(oldestUid);
    this.#evicted++;
    // One line per thousand, not per poke: during an outage this can happen for every event.
    if (this.#evicted % 1000 === 1) {
      this.#o.logger.warn('too many pods waiting for the webhook: dropping the oldest pokes', {
        maxPending: this.#o.maxPending,
        droppedSoFar: this.#evicted,
      });
    }
  }

  #clearTimer(): void {
    if (this.#timer !== undefined) {
      this.#o.clock.clearTimeout(this.#timer);
      this.#timer = undefined;
    }
  }
}
