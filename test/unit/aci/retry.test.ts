import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  ConflictError,
  FuncletError,
  InvalidInputError,
  NotFoundError,
  ThrottledError,
} from '../../../core/errors.ts';
import { classifyArmError, parseRetryAfter } from '../../../core/providers/aci/errors.ts';
import { withArmRetry, type RetryOptions } from '../../../core/providers/aci/retry.ts';

/** An error shaped like the SDK's RestError (the provider tests use real ones, from the fake). */
function restError(
  statusCode: number | undefined,
  code?: string,
  headers: Record<string, string> = {},
): Error {
  return Object.assign(new Error(`${code ?? 'error'} happened`), {
    name: 'RestError',
    statusCode,
    code,
    response: { headers: { get: (name: string) => headers[name.toLowerCase()] } },
  });
}

function virtualTime(budgetMs = 30_000): RetryOptions & { waits: number[] } {
  let clock = 0;
  const waits: number[] = [];
  return {
    budgetMs,
    baseDelayMs: 500,
    maxDelayMs: 8_000,
    now: () => clock,
    random: () => 0.5,
    waits,
    sleep: (ms) => {
      waits.push(ms);
      clock += ms;
      return Promise.resolve();
    },
  };
}

describe('ARM retries', () => {
  it('waits as long as Retry-After says, then succeeds', async () => {
    const time = virtualTime();
    let calls = 0;
    const result = await withArmRetry(
      'reading group g',
      () =>
        ++calls === 1
          ? Promise.reject(restError(429, 'TooManyRequests', { 'retry-after': '7' }))
          : Promise.resolve('ok'),
      time,
    );
    assert.equal(result, 'ok');
    assert.deepEqual(time.waits, [7000]);
  });

  it('backs off exponentially on 5xx and network failures', async () => {
    const time = virtualTime();
    let calls = 0;
    const failures = [restError(503), restError(500), restError(undefined, 'ECONNRESET'), restError(502)];
    await withArmRetry(
      'x',
      () => (calls < failures.length ? Promise.reject(failures[calls++]!) : Promise.resolve()),
      time,
    );
    assert.deepEqual(time.waits, [375, 750, 1500, 3000]);
  });

  it('gives up with a ThrottledError carrying Retry-After once the budget would be exceeded', async () => {
    const time = virtualTime(10_000);
    let calls = 0;
    await assert.rejects(
      withArmRetry(
        'creating container group g',
        () => {
          calls++;
          return Promise.reject(restError(429, 'TooManyRequests', { 'retry-after': '4' }));
        },
        time,
      ),
      (err: unknown) => {
        assert.ok(err instanceof ThrottledError);
        assert.equal(err.retryAfterMs, 4000);
        assert.match(err.message, /creating container group g/);
        assert.equal((err.cause as Error).name, 'RestError');
        return true;
      },
    );
    assert.equal(calls, 3);
    assert.deepEqual(time.waits, [4000, 4000]);
  });

  it('does not retry what retrying cannot fix', async () => {
    for (const [status, type] of [
      [400, InvalidInputError],
      [404, NotFoundError],
      [409, ConflictError],
      [403, FuncletError],
    ] as const) {
      const time = virtualTime();
      let calls = 0;
      await assert.rejects(
        withArmRetry(
          'x',
          () => {
            calls++;
            return Promise.reject(restError(status, 'Code'));
          },
          time,
        ),
        type,
      );
      assert.equal(calls, 1, `status ${status}`);
    }
  });
});

describe('ARM error classification', () => {
  it('keeps ACI’s code and message for a rejected pod', () => {
    const err = classifyArmError(
      restError(400, 'ContainerLimitGreaterThanContainerGroupTotalRequest'),
      'creating g',
    );
    assert.ok(err instanceof InvalidInputError);
    assert.match(err.message, /ContainerLimitGreaterThanContainerGroupTotalRequest/);
  });

  it('does not take a missing resource group for a missing container group', () => {
    const err = classifyArmError(restError(404, 'ResourceGroupNotFound'), 'reading g');
    assert.ok(err instanceof FuncletError);
    assert.ok(!(err instanceof NotFoundError));
    assert.ok(classifyArmError(restError(404, 'ResourceNotFound'), 'reading g') instanceof NotFoundError);
  });

  it('passes Funclet’s own errors through untouched', () => {
    const own = new ConflictError('taken');
    assert.equal(classifyArmError(own, 'x'), own);
  });

  it('reads Retry-After as seconds, as an HTTP date, and retry-after-ms', () => {
    const headers = (h: Record<string, string>) => ({ get: (n: string) => h[n] });
    assert.equal(parseRetryAfter(headers({ 'retry-after': '12' }), 0), 12_000);
    const now = Date.parse('2025-01-01T00:00:00Z');
    assert.equal(parseRetryAfter(headers({ 'retry-after': 'Wed, 01 Jan 2025 00:00:30 GMT' }), now), 30_000);
    assert.equal(parseRetryAfter(headers({ 'retry-after-ms': '250', 'retry-after': '9' }), 0), 250);
    assert.equal(parseRetryAfter(headers({}), 0), undefined);
  });
});
