import { ApiException } from '@kubernetes/client-node';
import { ConflictError, FuncletError, InvalidInputError, NotFoundError, ThrottledError } from '../errors.ts';

/** The HTTP status of a failed API server call, or undefined for anything else. */
export function apiStatus(err: unknown): number | undefined {
  return err instanceof ApiException ? err.code : undefined;
}

/** The API server's own message, from the Status body, when it sent one. */
function apiMessage(err: ApiException<unknown>): string {
  const body = err.body;
  if (typeof body === 'string') {
    try {
      const parsed = JSON.parse(body) as { message?: unknown };
      if (typeof parsed.message === 'string') return parsed.message;
    } catch {
      return body.slice(0, 300);
    }
  }
  if (
    typeof body === 'object' &&
    body !== null &&
    typeof (body as { message?: unknown }).message === 'string'
  ) {
    return (body as { message: string }).message;
  }
  return `HTTP ${err.code}`;
}

/** Wraps an API server failure as the error class that says how to react, keeping the cause. */
export function kubeError(err: unknown, attempted: string): Error {
  if (!(err instanceof ApiException)) {
    return new FuncletError(`${attempted}: ${err instanceof Error ? err.message : String(err)}`, {
      cause: err,
    });
  }
  const message = `${attempted}: ${apiMessage(err)}`;
  switch (err.code) {
    case 404:
      return new NotFoundError(message, { cause: err });
    case 409:
      return new ConflictError(message, { cause: err });
    case 429: {
      const retryAfter = Number(err.headers['retry-after']);
      return new ThrottledError(message, {
        cause: err,
        retryAfterMs: Number.isFinite(retryAfter) ? retryAfter * 1000 : undefined,
      });
    }
    case 400:
    case 422:
      return new InvalidInputError(message, { cause: err });
    default:
      return new FuncletError(message, { cause: err });
  }
}
