/**
 * AWS SDK errors (ECS, CloudWatch Logs) classified by behaviour into core/errors types, by the
 * exception name AWS returns, never by message text. Every wrap keeps the original as `cause`.
 */
import {
  ConflictError,
  errorMessage,
  FuncletError,
  InvalidInputError,
  NotFoundError,
  ThrottledError,
} from '../../errors.ts';

const throttleNames: ReadonlySet<string> = new Set([
  'ThrottlingException',
  'Throttling',
  'ThrottledException',
  'TooManyRequestsException',
  'RequestLimitExceeded',
  'RequestThrottled',
  'RequestThrottledException',
]);

const notFoundNames: ReadonlySet<string> = new Set([
  'ClusterNotFoundException',
  'ResourceNotFoundException',
  'ServiceNotFoundException',
  'TargetNotFoundException',
]);

/** The request as made cannot succeed; sending it again unchanged will not help. */
const invalidNames: ReadonlySet<string> = new Set([
  'ClientException',
  'InvalidParameterException',
  'ValidationException',
  'UnsupportedFeatureException',
  'PlatformUnknownException',
  'PlatformTaskDefinitionIncompatibilityException',
  'InvalidOperationException',
]);

const conflictNames: ReadonlySet<string> = new Set([
  'ConflictException',
  'ResourceInUseException',
  'UpdateInProgressException',
]);

interface AwsErrorShape {
  name?: unknown;
  $metadata?: { httpStatusCode?: number };
  $retryable?: { throttling?: boolean };
}

export function awsErrorName(err: unknown): string | undefined {
  const name = (err as AwsErrorShape | null)?.name;
  return typeof name === 'string' ? name : undefined;
}

export function isThrottle(err: unknown): boolean {
  if (typeof err !== 'object' || err === null || err instanceof FuncletError) return false;
  const e = err as AwsErrorShape;
  return (
    throttleNames.has(awsErrorName(err) ?? '') ||
    e.$metadata?.httpStatusCode === 429 ||
    e.$retryable?.throttling === true
  );
}

/**
 * Exception names AWS services use for a failure on their side (HTTP 500 or 503), which AWS asks
 * callers to retry: the SDK's own standard retry strategy, switched off here, retries them.
 */
const serverFaultNames: ReadonlySet<string> = new Set([
  'InternalFailure',
  'InternalServerError',
  'InternalServerException',
  'ServerException',
  'ServiceUnavailable',
  'ServiceUnavailableException',
]);

/** A transient failure on AWS's side (5xx): worth the same call again shortly. */
export function isServerFault(err: unknown): boolean {
  if (typeof err !== 'object' || err === null || err instanceof FuncletError) return false;
  const status = (err as AwsErrorShape).$metadata?.httpStatusCode;
  return (
    serverFaultNames.has(awsErrorName(err) ?? '') || (status !== undefined && status >= 500 && status <= 504)
  );
}

/** `doing` says what was being attempted, for which pod: "running the ECS task for pod ns/name". */
export function classifyAwsError(err: unknown, doing: string): Error {
  if (err instanceof FuncletError) return err;
  const name = awsErrorName(err) ?? 'Error';
  const message = `${doing}: ${name}: ${errorMessage(err)}`;
  if (isThrottle(err)) return new ThrottledError(message, { cause: err });
  if (notFoundNames.has(name)) return new NotFoundError(message, { cause: err });
  if (invalidNames.has(name)) return new InvalidInputError(message, { cause: err });
  if (conflictNames.has(name)) return new ConflictError(message, { cause: err });
  return new FuncletError(message, { cause: err });
}
