import { errorMessage } from '../errors.ts';
import type { Logger } from '../log.ts';
import { backoffDelayMs, type Backoff } from './backoff.ts';
import { sleep, type Clock } from './clock.ts';
import { relayRequestHeaders, type RelayCredentials } from './outgoing.ts';
import type { PokeBatch } from './protocol.ts';

/** What became of one batch. */
export const Delivery = {
  /** The webhook answered 2xx. */
  delivered: 'delivered',
  /** The webhook refused it for good (4xx other than 429, or a redirect): retrying cannot help. */
  refused: 'refused',
  /** The relay stopped before the batch got through. */
  abandoned: 'abandoned',
} as const;
export type Delivery = keyof typeof Delivery;

export interface WebhookSenderOptions extends RelayCredentials {
  url: string;
  fetch: typeof fetch;
  clock: Clock;
  random: () => number;
  backoff: Backoff;
  /** One POST may take this long before it counts as a network failure and is retried. */
  attemptTimeoutMs: number;
  logger: Logger;
  /** Sees the body of every accepted batch's answer (it may ask for rechecks). */
  onAccepted?: (batch: PokeBatch, responseText: string) => void;
}

export type WebhookSender = (batch: PokeBatch, signal: AbortSignal) => Promise<Delivery>;

/**
 * POSTs a batch to podEvents until it is accepted, refused for good, or `signal` aborts.
 * Network failures, timeouts, 5xx and 429 are retried with backoff (a Retry-After the
 * webhook sends is honoured up to the backoff cap); each attempt is signed afresh, so a
 * batch that waited out a long outage is not refused as a replay. Never rejects.
 */
export function webhookSender(o: WebhookSenderOptions): WebhookSender {
  return async (batch, signal) => {
    const body = JSON.stringify(batch);
    const log = o.logger.child({ node: batch.node });
    const stopped = (): boolean => signal.aborted;
    for (let attempt = 0; ; attempt++) {
      if (stopped()) return Delivery.abandoned;
      let problem: string;
      let retryAfterMs = 0;
      try {
        const response = await o.fetch(o.url, {
          method: 'POST',
          headers: relayRequestHeaders(o, body, o.clock.now()),
          body,
          redirect: 'manual',
          signal: AbortSignal.any([signal, AbortSignal.timeout(o.attemptTimeoutMs)]),
        });
        const text = await response.text().catch(() => '');
        if (response.status >= 200 && response.status < 300) {
          o.onAccepted?.(batch, text);
          if (attempt > 0) log.info('webhook accepted a batch after retrying', { attempts: attempt + 1 });
          return Delivery.delivered;
        }
        if (response.status !== 429 && response.status < 500) {
          log.error('webhook refused a batch of pokes; dropping it (podResync will catch up)', {
            status: response.status,
            response: text.slice(0, 500),
            events: batch.events.length,
          });
          return Delivery.refused;
        }
        problem = `HTTP ${response.status}`;
        retryAfterMs = retryAfterHeaderMs(response.headers.get('retry-after'), o.clock.now());
      } catch (err) {
        if (stopped()) return Delivery.abandoned;
        problem = errorMessage(err);
      }
      const delayMs = Math.min(
        o.backoff.capMs,
        Math.max(backoffDelayMs(attempt, o.backoff, o.random), retryAfterMs),
      );
      log.warn('webhook did not take a batch of pokes; retrying', {
        problem,
        attempt: attempt + 1,
        retryInMs: delayMs,
        events: batch.events.length,
      });
      await sleep(o.clock, delayMs, signal);
    }
  };
}

/** Retry-After as seconds or an HTTP date; 0 when absent or unreadable. */
export function retryAfterHeaderMs(value: string | null, nowMs: number): number {
  if (value === null || value.trim() === '') return 0;
  const seconds = Number(value);
  if (Number.isFinite(seconds)) return Math.max(0, seconds * 1000);
  const at = Date.parse(value);
  return Number.isNaN(at) ? 0 : Math.max(0, at - nowMs);
}
