/**
 * Exponential backoff with full jitter: attempt n (from 0) waits a uniformly random time in
 * [0, min(cap, base * 2^n)). Full jitter spreads retries of many relays (or many nodes of one
 * relay) hitting the same recovering endpoint, instead of retrying in lockstep.
 */
export interface Backoff {
  baseMs: number;
  capMs: number;
}

export const defaultBackoff: Backoff = { baseMs: 250, capMs: 30_000 };

export function backoffDelayMs(
  attempt: number,
  backoff: Backoff,
  random: () => number = Math.random,
): number {
  const ceiling = Math.min(backoff.capMs, backoff.baseMs * 2 ** Math.min(attempt, 30));
  return Math.floor(random() * ceiling);
}
