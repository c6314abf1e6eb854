import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { backoffDelayMs, defaultBackoff } from '../../../core/relay/backoff.ts';
import { retryAfterHeaderMs } from '../../../core/relay/webhook.ts';

describe('backoff with full jitter', () => {
  it('draws each wait from zero up to 250 ms doubled per attempt, capped at 30 s', () => {
    const top = () => 0.999999;
    assert.deepEqual(
      [0, 1, 2, 3, 6, 7, 20, 1000].map((n) => backoffDelayMs(n, defaultBackoff, top)),
      [249, 499, 999, 1999, 15999, 29999, 29999, 29999],
    );
    assert.equal(
      backoffDelayMs(5, defaultBackoff, () => 0),
      0,
      'full jitter reaches down to zero',
    );
  });

  it('reads Retry-After as seconds or as an HTTP date, and ignores what it cannot read', () => {
    const now = Date.parse('2030-01-01T00:00:00Z');
    assert.equal(retryAfterHeaderMs('7', now), 7000);
    assert.equal(retryAfterHeaderMs('Tue, 01 Jan 2030 00:00:05 GMT', now), 5000);
    assert.equal(retryAfterHeaderMs('soon', now), 0);
    assert.equal(retryAfterHeaderMs(null, now), 0);
  });
});
