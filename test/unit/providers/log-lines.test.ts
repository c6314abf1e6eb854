import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { InvalidInputError } from '../../../core/errors.ts';
import {
  decodeCursor,
  encodeCursor,
  isCount,
  logStamp,
  normalizeStamp,
  renderLines,
  requestStart,
  stampMs,
  type LogLine,
} from '../../../core/providers/log-lines.ts';

const t0 = Date.UTC(2026, 11, 1, 20, 51, 7, 123);
const lines: LogLine[] = [0, 1, 2, 3, 4].map((i) => ({ stamp: logStamp(t0 + i * 1000), text: `line ${i}` }));

void describe('log lines as the kubelet prints them', () => {
  void it('stamps lines in RFC 3339 with exactly nine fraction digits, in UTC', () => {
    assert.equal(logStamp(t0), '2026-12-01T20:51:07.123000000Z');
    assert.equal(logStamp(t0, 456789), '2026-12-01T20:51:07.123456789Z');
    assert.equal(normalizeStamp('2026-12-01T20:51:07.1234567Z'), '2026-12-01T20:51:07.123456700Z');
    assert.equal(normalizeStamp('2026-12-01T21:51:07+01:00'), '2026-12-01T20:51:07.000000000Z');
    assert.equal(normalizeStamp('yesterday'), undefined);
    assert.equal(stampMs('2026-12-01T20:51:07.123456789Z'), t0);
  });

  void it('starts at sinceMs first and then keeps the newest tailLines of what is left', () => {
    assert.equal(requestStart(lines, {}), 0);
    assert.equal(requestStart(lines, { tailLines: 2 }), 3);
    assert.equal(requestStart(lines, { tailLines: 0 }), 5);
    assert.equal(requestStart(lines, { sinceMs: t0 + 1000 }), 1, 'a line written at sinceMs is kept');
    assert.equal(
      requestStart(lines, { sinceMs: t0 + 3500, tailLines: 4 }),
      4,
      'since wins over a longer tail',
    );
    assert.equal(requestStart(lines, { sinceMs: t0 + 1000, tailLines: 2 }), 3);
    assert.equal(requestStart(lines, { sinceMs: t0 + 10_000 }), 5);
  });

  void it('prints whole lines ending in a newline, with their stamps when asked', () => {
    assert.deepEqual(renderLines(lines.slice(0, 2), {}), { text: 'line 0\nline 1\n', shown: 2 });
    assert.deepEqual(renderLines(lines.slice(0, 1), { timestamps: true }), {
      text: '2026-12-01T20:51:07.123000000Z line 0\n',
      shown: 1,
    });
    assert.deepEqual(renderLines([], { timestamps: true }), { text: '', shown: 0 });
  });

  void it('cuts at limitBytes on a character boundary, counting a line cut short as shown', () => {
    const utf8: LogLine[] = [
      { stamp: logStamp(t0), text: 'hello' },
      { stamp: logStamp(t0), text: 'wörld' },
    ];
    assert.deepEqual(renderLines(utf8, { limitBytes: 6 }), { text: 'hello\n', shown: 1 });
    assert.deepEqual(renderLines(utf8, { limitBytes: 7 }), { text: 'hello\nw', shown: 2 });
    // "ö" is two bytes (7 and 8): a limit of 8 must not keep half of it.
    assert.deepEqual(renderLines(utf8, { limitBytes: 8 }), { text: 'hello\nw', shown: 2 });
    assert.deepEqual(renderLines(utf8, { limitBytes: 9 }), { text: 'hello\nwö', shown: 2 });
    assert.deepEqual(renderLines(utf8, { limitBytes: 0 }), { text: '', shown: 0 });
  });

  void it('packs a cursor into base64url and refuses one that is malformed or not its own', () => {
    const read = (v: Record<string, unknown>) => (isCount(v.line) ? v.line : undefined);
    const cursor = encodeCursor({ line: 42 });
    assert.match(cursor, /^[A-Za-z0-9_-]+$/);
    assert.equal(decodeCursor(cursor, 'mock', read), 42);
    for (const bad of ['', 'not a cursor!', encodeCursor({ line: -1 }), encodeCursor({ at: 'x' }), 'W10']) {
      assert.throws(
        () => decodeCursor(bad, 'mock', read),
        (err: unknown) => {
          assert.ok(err instanceof InvalidInputError);
          assert.match(err.message, /log cursor is malformed/);
          return true;
        },
      );
    }
  });
});
