/**
 * Retrying throttled AWS calls, and those AWS failed on its side (5xx), inside a time budget. The SDK's own retries are switched off for
 * the ECS and Logs clients so that this is the only retry loop, its sleep injectable for tests and
 * its budget bounded so that a function invocation never waits out a long throttle: past the
 * budget the caller gets a ThrottledError and the reconcile engine tries again later.
 */
import { ThrottledError } from '../../errors.ts';
import type { Logger } from '../../log.ts';
import { recordProviderThrottle } from '../../telemetry/metrics.ts';
import { classifyAwsError, isServerFault, isThrottle } from './aws-errors.ts';

export interface RetryPolicy {
  /** Calls in all, the first included. */
  maxAttempts: number;
  baseDelayMs: number;
  maxDelayMs: number;
  /** The most this call may sleep in total before giving up. */
  budgetMs: number;
  sleep: (ms: number) => Promise<void>;
  /** In [0, 1); Math.random in production. */
  random: () => number;
}

export const defaultRetryPolicy: RetryPolicy = {
  maxAttempts: 6,
  baseDelayMs: 200,
  maxDelayMs: 3000,
  budgetMs: 5000,
  sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
  random: Math.random,
};

/** Runs one AWS call; `doing` names what it attempts (and for which pod) in every error it throws. */
export type AwsCall = <T>(doing: string, op: () => Promise<T>) => Promise<T>;

export function awsCaller(policy: RetryPolicy = defaultRetryPolicy, logger?: Logger): AwsCall {
  return (doing, op) => callWithRetry(doing, op, policy, logger);
}

/**
 * Exponential backoff with "equal jitter": the n-th wait is between half and all of
 * min(maxDelay, base * 2^(n-1)). Throttling and server faults (5xx) are retried; other errors are
 * classified and thrown at once.
 */
export async function callWithRetry<T>(
  doing: string,
  op: () => Promise<T>,
  policy: RetryPolicy,
  logger?: Logger,
): Promise<T> {
  let slept = 0;
  for (let attempt = 1; ; attempt++) {
    try {
      return await op();
    } catch (err) {
      const throttled = isThrottle(err);
      // A 5xx is retried as the SDK would; every call Funclet makes is safe to repeat (RunTask
      // carries a client token).
      if (!throttled && !isServerFault(err)) throw classifyAwsError(err, doing);
      if (throttled) recordProviderThrottle('ecs', doing);
      const ceiling = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** (attempt - 1));
      const delay = Math.round(ceiling / 2 + policy.random() * (ceiling / 2));
      if (attempt >= policy.maxAttempts || slept + delay > policy.budgetMs) {
        if (!throttled) throw classifyAwsError(err, doing);
        throw new ThrottledError(`${doing}: AWS is throttling requests; gave up after ${attempt} attempts`, {
          cause: err,
          retryAfterMs: ceiling,
        });
      }
      logger?.info(throttled ? 'retrying a throttled AWS call' : 'retrying an AWS server error', {
        action: doing,
        attempt,
        waitMs: delay,
      });
      await policy.sleep(delay);
      slept += delay;
    }
  }
}
