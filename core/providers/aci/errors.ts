/**
 * ARM failures (the SDK's RestError) classified by how callers must react:
 * - 404 -> NotFoundError, except a missing resource group or subscription, which is a setting
 *   problem: reporting it as "not found" would make every pod look vanished.
 * - 400/422 -> InvalidInputError carrying ACI's own code and message (a sentence for the pod).
 * - 409 -> ConflictError.
 * - 408/429/5xx and network failures -> transient: retried (retry.ts), then ThrottledError with
 *   the Retry-After the service sent.
 * - anything else (401/403, ...) -> FuncletError: it needs a person, not a retry.
 * RestError is recognised by shape, so this file does not import the SDK.
 */
import {
  ConflictError,
  FuncletError,
  InvalidInputError,
  NotFoundError,
  ThrottledError,
} from '../../errors.ts';

interface RestErrorLike {
  name: 'RestError';
  message: string;
  code?: string;
  statusCode?: number;
  response?: { headers: { get(name: string): string | undefined } };
}

export interface ArmFailure {
  statusCode?: number;
  code?: string;
  message: string;
  retryAfterMs?: number;
  transient: boolean;
}

const settingCodes = new Set(['resourcegroupnotfound', 'subscriptionnotfound']);

/** The ARM failure inside an error, or undefined when the error did not come from an HTTP exchange. */
export function armFailure(err: unknown): ArmFailure | undefined {
  if (!isRestError(err)) return undefined;
  const status = err.statusCode;
  const failure: ArmFailure = {
    message: err.message,
    transient: status === undefined || status === 408 || status === 429 || status >= 500,
  };
  if (status !== undefined) failure.statusCode = status;
  if (err.code !== undefined) failure.code = err.code;
  const retryAfterMs = parseRetryAfter(err.response?.headers, Date.now());
  if (retryAfterMs !== undefined) failure.retryAfterMs = retryAfterMs;
  return failure;
}

/** A classified error for a failed ARM call; `action` says what was being attempted, for whom. */
export function classifyArmError(err: unknown, action: string): Error {
  if (err instanceof FuncletError) return err;
  const failure = armFailure(err);
  if (failure === undefined) return new FuncletError(`${action} failed: ${errorText(err)}`, { cause: err });
  const status = failure.statusCode;
  const detail = failure.code === undefined ? failure.message : `${failure.code}: ${failure.message}`;
  if (failure.transient) {
    const what = status === undefined ? 'could not reach ARM' : `ARM answered ${status}`;
    return new ThrottledError(`${action}: ${what} (${detail})`, {
      cause: err,
      retryAfterMs: failure.retryAfterMs,
    });
  }
  if (status === 404 && !settingCodes.has(failure.code?.toLowerCase() ?? '')) {
    return new NotFoundError(`${action}: not found (${detail})`, { cause: err });
  }
  if (status === 400 || status === 422)
    return new InvalidInputError(`ACI rejected the pod: ${detail}`, { cause: err });
  if (status === 409) return new ConflictError(`${action}: conflict (${detail})`, { cause: err });
  return new FuncletError(`${action} failed with ${status}: ${detail}`, { cause: err });
}

/** A 404 for the thing itself (not for its resource group or subscription). */
export function isArmNotFound(err: unknown): boolean {
  const failure = armFailure(err);
  return failure?.statusCode === 404 && !settingCodes.has(failure.code?.toLowerCase() ?? '');
}

export function isRestError(err: unknown): err is RestErrorLike {
  return err instanceof Error && err.name === 'RestError';
}

/** Retry-After in seconds or as an HTTP date, or Azure's retry-after-ms headers, in milliseconds. */
export function parseRetryAfter(
  headers: { get(name: string): string | undefined } | undefined,
  nowMs: number,
): number | undefined {
  if (headers === undefined) return undefined;
  for (const name of ['retry-after-ms', 'x-ms-retry-after-ms']) {
    const ms = Number(headers.get(name));
    if (headers.get(name) !== undefined && Number.isFinite(ms) && ms >= 0) return ms;
  }
  const value = headers.get('retry-after');
  if (value === undefined) return undefined;
  if (/^\d+$/.test(value.trim())) return Number(value.trim()) * 1000;
  const at = Date.parse(value);
  return Number.isNaN(at) ? undefined : Math.max(0, at - nowMs);
}

function errorText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
