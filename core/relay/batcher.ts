import type { Logger } from '../log.ts';
import type { Clock } from './clock.ts';
import type { Poke, PokeBatch } from './protocol.ts';

export interface PokeBatcherOptions {
  node: string;
  /** A batch is sent as soon as this many distinct pods are ready to go. */
  maxEvents: number;
  /** ...or this long after the oldest of them arrived, whichever comes first. */
  maxDelayMs: number;
  /**
   * At most this many batches in flight at once. A pod is never in two of them: a poke for a
   * pod whose batch is in flight waits for that batch to return.
   */
  maxInFlight: number;
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
 * it is a stale replay and the deletion is what podEvents must hear). Several batches may be
 * in flight, but a pod's pokes are delivered one after the other, in order: a pod whose poke is
 * in flight stays pending until that batch returns.
 */
export class PokeBatcher {
  readonly #o: PokeBatcherOptions;
  /** Insertion-ordered, so the first entry is the one that has waited longest. */
  readonly #pending = new Map<string, Pending>();
  /** UIDs in the batches in flight. */
  readonly #busy = new Set<string>();
  /** How many pending pods are also in a batch in flight (and so cannot go yet). */
  #pendingBusy = 0;
  readonly #inFlight = new Set<Promise<void>>();
  #timer: unknown;
  #timerDueMs = 0;
  #draining = false;
  #evicted = 0;

  constructor(options: PokeBatcherOptions) {
    if (options.maxEvents < 1) throw new RangeError('PokeBatcher: maxEvents must be at least 1');
    if (options.maxInFlight < 1) throw new RangeError('PokeBatcher: maxInFlight must be at least 1');
    if (options.maxPending < options.maxEvents)
      throw new RangeError('PokeBatcher: maxPending must be at least maxEvents');
    this.#o = options;
  }

  /** Pods with a poke waiting to be sent (not counting the batches in flight). */
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
      if (this.#busy.has(poke.uid)) this.#pendingBusy++;
    }
    this.#pump();
  }

  /**
   * Puts back a poke that was sent but not acted on. A poke for the pod that arrived since is
   * newer and stays, unless this one is a DELETED, which always wins.
   */
  putBack(poke: Poke): void {
    const existing = this.#pending.get(poke.uid);
    if (existing) {
      if (poke.type === 'DELETED') existing.poke = poke;
      return;
    }
    this.add(poke);
  }

  /**
   * Sends everything pending without waiting for the delay, and resolves once nothing is
   * pending or in flight. Pokes added meanwhile are sent too.
   */
  async drain(): Promise<void> {
    this.#draining = true;
    this.#pump();
    while (this.#inFlight.size > 0) {
      await Promise.race(this.#inFlight);
      this.#pump();
    }
  }

  /** Forgets the timer; pending pokes stay where they are (drain first to send them). */
  close(): void {
    this.#clearTimer();
  }

  #pump(): void {
    while (this.#inFlight.size < this.#o.maxInFlight) {
      const ready = this.#pending.size - this.#pendingBusy;
      if (ready === 0) return;
      const now = this.#o.clock.now();
      const dueAtMs = this.#oldestReady()!.sinceMs + this.#o.maxDelayMs;
      if (!this.#draining && ready < this.#o.maxEvents && now < dueAtMs) {
        this.#wakeAt(dueAtMs, now);
        return;
      }
      this.#clearTimer();
      this.#send(this.#takeReady());
    }
  }

  #oldestReady(): Pending | undefined {
    for (const [uid, entry] of this.#pending) if (!this.#busy.has(uid)) return entry;
    return undefined;
  }

  #takeReady(): Poke[] {
    const events: Poke[] = [];
    for (const [uid, entry] of this.#pending) {
      if (events.length === this.#o.maxEvents) break;
      if (this.#busy.has(uid)) continue;
      events.push(entry.poke);
      this.#pending.delete(uid);
    }
    return events;
  }

  #send(events: Poke[]): void {
    for (const e of events) this.#busy.add(e.uid);
    const flight: Promise<void> = this.#o
      .deliver({ node: this.#o.node, events })
      .catch((err: unknown) => {
        // deliver() promises never to reject; if it does, losing one batch is what the resync covers.
        this.#o.logger.error('delivering a batch of pokes failed unexpectedly', {
          err,
          events: events.length,
        });
      })
      .finally(() => {
        this.#inFlight.delete(flight);
        for (const e of events) {
          this.#busy.delete(e.uid);
          if (this.#pending.has(e.uid)) this.#pendingBusy--;
        }
        this.#pump();
      });
    this.#inFlight.add(flight);
  }

  /** Pumps again at `dueAtMs` (or sooner, if a timer for an earlier moment is already set). */
  #wakeAt(dueAtMs: number, now: number): void {
    if (this.#timer !== undefined && this.#timerDueMs <= dueAtMs) return;
    this.#clearTimer();
    this.#timerDueMs = dueAtMs;
    this.#timer = this.#o.clock.setTimeout(() => {
      this.#timer = undefined;
      this.#pump();
    }, dueAtMs - now);
  }

  #evictOldest(): void {
    const oldestUid = this.#pending.keys().next().value!;
    this.#pending.delete(oldestUid);
    if (this.#busy.has(oldestUid)) this.#pendingBusy--;
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
