import {
  wrapHttpLibrary,
  type HttpLibrary,
  type RequestContext,
  type ResponseContext,
} from '@kubernetes/client-node';

export interface ThrottleRetryOptions {
  /** Sends in all, the first included; the last 429 is returned to the caller as it came. */
  attempts: number;
  /** The wait when the answer names none (Retry-After), and the cap on any it names. */
  defaultWaitMs: number;
  maxWaitMs: number;
  random: () => number;
  sleep: (ms: number, signal?: AbortSignal) => Promise<void>;
  /** Told of every request sent again. */
  onRetry?: (request: RequestContext) => void;
}

/**
 * As client-go does for every kubelet: a request the API server turned away with 429 (its
 * in-flight limit, or API Priority and Fairness rejecting it before it was handled) is sent
 * again after the Retry-After the server asked for, plus up to half of it again as jitter so
 * that many callers do not come back together. A 429 means the request was not processed, so
 * this is safe for writes too. Other answers, and transport errors, pass through untouched.
 */
export function retryOnThrottle(
  inner: HttpLibrary,
  options: Partial<ThrottleRetryOptions> = {},
): HttpLibrary {
  const o: ThrottleRetryOptions = {
    attempts: 5,
    defaultWaitMs: 1_000,
    maxWaitMs: 5_000,
    random: Math.random,
    sleep: abortableSleep,
    ...options,
  };
  return wrapHttpLibrary({
    async send(request: RequestContext): Promise<ResponseContext> {
      for (let attempt = 1; ; attempt++) {
        const response = await inner.send(request).toPromise();
        if (response.httpStatusCode !== 429 || attempt >= o.attempts) return response;
        const signal = request.getSignal();
        if (signal?.aborted) return response;
        // Read the refusal to its end, so its connection can carry the next request.
        await response.body.text().catch(() => undefined);
        const asked = retryAfterMs(response.headers['retry-after']) ?? o.defaultWaitMs;
        const waitMs = Math.min(o.maxWaitMs, asked) * (1 + o.random() / 2);
        // Aborted meanwhile: the next send fails as an aborted request does (this answer's body is read).
        await o.sleep(waitMs, signal);
        o.onRetry?.(request);
      }
    },
  });
}

/** Retry-After in seconds (the API server's form); an HTTP date is not what it sends. */
function retryAfterMs(header: string | undefined): number | undefined {
  if (header === undefined) return undefined;
  const seconds = Number(header);
  return Number.isFinite(seconds) && seconds >= 0 ? seconds * 1000 : undefined;
}

function abortableSleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(done, ms);
    function done() {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    }
    signal?.addEventListener('abort', done, { once: true });
  });
}
