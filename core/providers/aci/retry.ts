/**
 * Retries transient ARM failures (429, 408, 5xx, network) inside a time budget, so one throttled
 * call does not fail a reconcile, and no call outlives the function that makes it. The wait is the
 * service's Retry-After when it sent one, else exponential backoff with jitter; when the next wait
 * would cross the budget, the failure surfaces as a ThrottledError for the caller's next pass.
 * Non-transient failures are classified and thrown at once. Sleep, clock and randomness are
 * injected so tests run in no time.
 *
 * The SDK's own retry policy is switched off (provider.ts) so that this is the only one.
 */
import type { Logger } from '../../log.ts';
import { recordProviderThrottle } from '../../telemetry/metrics.ts';
import { armFailure, classifyArmError } from './errors.ts';

export interface RetryOptions {
  /** Total time the retries of one call may take, waits included. */
  budgetMs: number;
  baseDelayMs: number;
  maxDelayMs: number;
  sleep: (ms: number) => Promise<void>;
  now: () => number;
  /** In [0, 1). */
  random: () => number;
}

export const defaultRetryOptions: RetryOptions = {
  budgetMs: 20_000,
  baseDelayMs: 500,
  maxDelayMs: 8_000,
  sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
  now: Date.now,
  random: Math.random,
};

export async function withArmRetry<T>(
  action: string,
  call: () => Promise<T>,
  options: RetryOptions,
  logger?: Logger,
): Promise<T> {
  const deadline = options.now() + options.budgetMs;
  for (let attempt = 0; ; attempt++) {
    try {
      return await call();
    } catch (err) {
      const failure = armFailure(err);
      if (failure?.transient !== true) throw classifyArmError(err, action);
      if (failure.statusCode === 429) recordProviderThrottle('aci', action);
      const wait = Math.max(failure.retryAfterMs ?? 0, backoff(attempt, options));
      if (options.now() + wait > deadline) throw classifyArmError(err, action);
      logger?.info('retrying a transient ARM failure', {
        action,
        attempt: attempt + 1,
        waitMs: wait,
        statusCode: failure.statusCode,
        code: failure.code,
      });
      await options.sleep(wait);
    }
  }
}

/** Equal jitter: half the exponential delay, plus up to that again at random. */
function backoff(attempt: number, options: RetryOptions): number {
  const ceiling = Math.min(options.maxDelayMs, options.baseDelayMs * 2 ** attempt);
  return Math.round(ceiling / 2 + (ceiling / 2) * options.random());
}
