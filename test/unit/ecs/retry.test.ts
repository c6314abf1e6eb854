import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  ConflictError,
  FuncletError,
  InvalidInputError,
  NotFoundError,
  ThrottledError,
} from '../../../core/errors.ts';
import { classifyAwsError } from '../../../core/providers/ecs/aws-errors.ts';
import { callWithRetry, type RetryPolicy } from '../../../core/providers/ecs/retry.ts';

/** An error shaped like the AWS SDK's service exceptions. */
function awsError(name: string, httpStatusCode = 400): Error {
  return Object.assign(new Error(`${name} happened`), { name, $metadata: { httpStatusCode } });
}

function policy(overrides: Partial<RetryPolicy> = {}): RetryPolicy & { slept: number[] } {
  const slept: number[] = [];
  return {
    maxAttempts: 5,
    baseDelayMs: 100,
    maxDelayMs: 1000,
    budgetMs: 10_000,
    random: () => 0.5,
    sleep: (ms) => {
      slept.push(ms);
      return Promise.resolve();
    },
    slept,
    ...overrides,
  };
}

function failing(errors: Error[], result = 'ok'): { op: () => Promise<string>; calls: () => number } {
  let calls = 0;
  return {
    op: () => {
      const err = errors[calls++];
      return err === undefined ? Promise.resolve(result) : Promise.reject(err);
    },
    calls: () => calls,
  };
}

void describe('calling AWS with retries of throttling and server faults', () => {
  void it('retries a throttled call with growing, jittered waits and returns its result', async () => {
    const p = policy();
    const { op, calls } = failing([
      awsError('ThrottlingException'),
      awsError('TooManyRequestsException', 429),
      awsError('Other', 429),
    ]);
    assert.equal(await callWithRetry('listing tasks', op, p), 'ok');
    assert.equal(calls(), 4);
    // Equal jitter at random 0.5: three quarters of 100, 200, 400.
    assert.deepEqual(p.slept, [75, 150, 300]);
  });

  void it('gives up with a ThrottledError after the last attempt, keeping the cause', async () => {
    const p = policy({ maxAttempts: 3 });
    const throttled = awsError('ThrottlingException');
    const { op, calls } = failing(Array.from({ length: 10 }, () => throttled));
    await assert.rejects(callWithRetry('running the ECS task for pod a/b', op, p), (err: unknown) => {
      assert.ok(err instanceof ThrottledError);
      assert.match(
        err.message,
        /^running the ECS task for pod a\/b: AWS is throttling requests; gave up after 3 attempts$/,
      );
      assert.equal(err.cause, throttled);
      assert.equal(err.retryAfterMs, 400);
      return true;
    });
    assert.equal(calls(), 3);
    assert.equal(p.slept.length, 2);
  });

  void it('stops early rather than sleep past its budget', async () => {
    const p = policy({ budgetMs: 200, maxAttempts: 100 });
    const { op, calls } = failing(Array.from({ length: 100 }, () => awsError('ThrottlingException')));
    await assert.rejects(callWithRetry('x', op, p), ThrottledError);
    // 75 ms fits the 200 ms budget; the next 150 ms would not.
    assert.deepEqual(p.slept, [75]);
    assert.equal(calls(), 2);
  });

  void it('retries a call AWS failed on its side (500, 503) and returns its result', async () => {
    const p = policy();
    const { op, calls } = failing([
      awsError('InternalFailure', 500),
      awsError('ServiceUnavailableException', 503),
      awsError('Unnamed', 502),
    ]);
    assert.equal(await callWithRetry('listing RUNNING ECS tasks', op, p), 'ok');
    assert.equal(calls(), 4);
    assert.deepEqual(p.slept, [75, 150, 300]);
  });

  void it('gives up on server faults after the last attempt with the classified error, not a throttle', async () => {
    const p = policy({ maxAttempts: 2 });
    const fault = awsError('ServiceUnavailable', 503);
    const { op, calls } = failing([fault, fault, fault]);
    await assert.rejects(callWithRetry('stopping ECS task t', op, p), (err: unknown) => {
      assert.ok(err instanceof FuncletError && !(err instanceof ThrottledError));
      assert.equal(err.message, 'stopping ECS task t: ServiceUnavailable: ServiceUnavailable happened');
      assert.equal(err.cause, fault);
      return true;
    });
    assert.equal(calls(), 2);
  });

  void it('does not retry other errors: it classifies them at once', async () => {
    const p = policy();
    const { op, calls } = failing([awsError('ClusterNotFoundException')]);
    await assert.rejects(callWithRetry('describing ECS cluster pods', op, p), NotFoundError);
    assert.equal(calls(), 1);
    assert.deepEqual(p.slept, []);
  });
});

void describe('classifying AWS errors', () => {
  void it('sorts them by exception name, says what was attempted and keeps the cause', () => {
    const cases: [string, new (...args: never[]) => Error][] = [
      ['ThrottlingException', ThrottledError],
      ['ClusterNotFoundException', NotFoundError],
      ['ResourceNotFoundException', NotFoundError],
      ['ClientException', InvalidInputError],
      ['InvalidParameterException', InvalidInputError],
      ['PlatformTaskDefinitionIncompatibilityException', InvalidInputError],
      ['ConflictException', ConflictError],
      ['AccessDeniedException', FuncletError],
      ['ServerException', FuncletError],
    ];
    for (const [name, type] of cases) {
      const cause = awsError(name);
      const err = classifyAwsError(cause, 'stopping ECS task t');
      assert.ok(err instanceof type, `${name} -> ${type.name}, got ${err.name}`);
      assert.equal(err.cause, cause);
      assert.equal(err.message, `stopping ECS task t: ${name}: ${name} happened`);
    }
    assert.ok(!(classifyAwsError(awsError('AccessDeniedException'), 'x') instanceof InvalidInputError));
  });

  void it('passes Funclet errors through unchanged', () => {
    const err = new InvalidInputError('the pod has no containers');
    assert.equal(classifyAwsError(err, 'x'), err);
  });
});
