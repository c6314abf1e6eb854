import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseLogOptions } from '../../../core/kubelet/logOptions.ts';

const parse = (q: string) => parseLogOptions(new URLSearchParams(q), 1_000_000);

describe('kubelet log options', () => {
  it('reads what kubectl logs sends', () => {
    assert.deepEqual(parse('follow=true&tailLines=5&timestamps=true&limitBytes=100&previous=false'), {
      ok: true,
      options: { follow: true, previous: false, timestamps: true, tailLines: 5, limitBytes: 100 },
    });
    assert.deepEqual(parse('sinceSeconds=10'), {
      ok: true,
      options: { follow: false, previous: false, timestamps: false, sinceMs: 990_000 },
    });
    const since = parse('sinceTime=2026-12-01T00:00:00Z');
    assert.equal(since.ok && since.options.sinceMs, Date.parse('2026-12-01T00:00:00Z'));
  });

  it('takes the old tail parameter, with "all" for no limit', () => {
    const tail = parse('tail=3');
    assert.equal(tail.ok && tail.options.tailLines, 3);
    const all = parse('tail=all');
    assert.equal(all.ok && all.options.tailLines, undefined);
  });

  it('refuses a query that does not decode with 400 and an invalid one with 422', () => {
    assert.deepEqual(parse('tailLines=x'), {
      ok: false,
      status: 400,
      message: 'Unable to decode query: tailLines',
    });
    assert.deepEqual(parse('follow=maybe'), {
      ok: false,
      status: 400,
      message: 'Unable to decode query: follow',
    });
    assert.equal((parse('sinceSeconds=5&sinceTime=2026-12-01T00:00:00Z') as { status: number }).status, 422);
    assert.equal((parse('sinceSeconds=0') as { status: number }).status, 422);
    assert.equal((parse('limitBytes=0') as { status: number }).status, 422);
    assert.equal((parse('tailLines=-1') as { status: number }).status, 422);
    assert.equal((parse('stream=Stderr') as { status: number }).status, 422);
  });
});
