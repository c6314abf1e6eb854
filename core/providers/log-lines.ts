/**
 * What every provider's containerLogs does the same way, as the kubelet does it: pick the lines a
 * request asks for (since first, then tail), print them (RFC 3339 timestamps with nanoseconds,
 * a byte limit that never splits a UTF-8 character), and pack the follow cursor each provider
 * defines into a short opaque string that it validates when it comes back.
 */
import { InvalidInputError } from '../errors.ts';
import type { LogRequest } from './types.ts';

/** One line of a container's output, without its newline. */
export interface LogLine {
  /** When it was written: RFC 3339 in UTC with exactly nine fraction digits (logStamp). */
  stamp: string;
  text: string;
}

/**
 * The kubelet's timestamp format (RFC3339NanoFixed): UTC, nine fraction digits, so that stamps
 * also compare as strings. `extraNanos` adds the part of the time below a millisecond.
 */
export function logStamp(ms: number, extraNanos = 0): string {
  const iso = new Date(ms).toISOString(); // 2026-12-01T20:51:07.123Z
  const nanos = String(Math.trunc(extraNanos)).padStart(6, '0').slice(0, 6);
  return `${iso.slice(0, 23)}${nanos}Z`;
}

const rfc3339 = /^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(?:\.(\d+))?(Z|[+-]\d\d:\d\d)$/i;

/** Any RFC 3339 time as logStamp writes it, or undefined when it is not one. */
export function normalizeStamp(text: string): string | undefined {
  const match = rfc3339.exec(text);
  if (!match) return undefined;
  const [, seconds = '', fraction = '', zone = 'Z'] = match;
  const ms = Date.parse(`${seconds}${zone.toUpperCase() === 'Z' ? 'Z' : zone}`);
  if (Number.isNaN(ms)) return undefined;
  const digits = fraction.padEnd(9, '0').slice(0, 9);
  return logStamp(ms + Number(digits.slice(0, 3)), Number(digits.slice(3)));
}

/** The millisecond a stamp falls in. */
export function stampMs(stamp: string): number {
  return Date.parse(`${stamp.slice(0, 23)}Z`);
}

/**
 * Where a request without a cursor starts in `lines` (oldest first): the first line at or after
 * `sinceMs`, then no earlier than the newest `tailLines` of what is left.
 */
export function requestStart(lines: readonly LogLine[], request: LogRequest): number {
  let start = 0;
  if (request.sinceMs !== undefined) {
    const since = request.sinceMs;
    start = lines.findIndex((line) => stampMs(line.stamp) >= since);
    if (start < 0) start = lines.length;
  }
  if (request.tailLines !== undefined) start = Math.max(start, lines.length - Math.max(0, request.tailLines));
  return start;
}

/**
 * The text of `lines`, each ending in a newline and prefixed with its stamp when asked, cut at
 * `limitBytes` on a character boundary. `shown` counts the lines that appear, wholly or in part:
 * a cursor handed out with this text continues after the last of them.
 */
export function renderLines(
  lines: readonly LogLine[],
  options: Pick<LogRequest, 'timestamps' | 'limitBytes'>,
): { text: string; shown: number } {
  const limit = options.limitBytes === undefined ? Number.POSITIVE_INFINITY : Math.max(0, options.limitBytes);
  const parts: string[] = [];
  let bytes = 0;
  let shown = 0;
  for (const line of lines) {
    const rendered = `${options.timestamps === true ? `${line.stamp} ` : ''}${line.text}\n`;
    const size = Buffer.byteLength(rendered);
    if (bytes + size <= limit) {
      parts.push(rendered);
      bytes += size;
      shown++;
      continue;
    }
    const head = firstBytes(rendered, limit - bytes);
    if (head !== '') {
      parts.push(head);
      shown++;
    }
    break;
  }
  return { text: parts.join(''), shown };
}

/** The longest prefix of `text` that fits in `limit` bytes of UTF-8 without splitting a character. */
export function firstBytes(text: string, limit: number): string {
  const bytes = Buffer.from(text, 'utf8');
  if (bytes.length <= limit) return text;
  let end = Math.max(0, limit);
  while (end > 0 && ((bytes[end] ?? 0) & 0xc0) === 0x80) end--; // back off a cut multi-byte character
  return bytes.subarray(0, end).toString('utf8');
}

/** Splits output into lines; a final newline does not start another line. */
export function splitLines(content: string): string[] {
  if (content === '') return [];
  const lines = content.split('\n');
  if (lines.at(-1) === '') lines.pop();
  return lines;
}

/** A cursor as handed out: base64url of the JSON of the provider's own position. */
export function encodeCursor(position: Record<string, unknown>): string {
  return Buffer.from(JSON.stringify(position), 'utf8').toString('base64url');
}

/**
 * The position inside a cursor. `read` checks its shape and returns undefined when the cursor is
 * not one this provider handed out; anything malformed is an InvalidInputError.
 */
export function decodeCursor<T>(
  cursor: string,
  provider: string,
  read: (value: Record<string, unknown>) => T | undefined,
): T {
  let value: unknown;
  try {
    if (!/^[A-Za-z0-9_-]*$/.test(cursor)) throw new Error('not base64url');
    value = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
  } catch (err) {
    throw new InvalidInputError(
      `the log cursor is malformed: it is not one the ${provider} provider handed out`,
      {
        cause: err,
      },
    );
  }
  const position =
    typeof value === 'object' && value !== null && !Array.isArray(value)
      ? read(value as Record<string, unknown>)
      : undefined;
  if (position === undefined) {
    throw new InvalidInputError(
      `the log cursor is malformed: it is not one the ${provider} provider handed out`,
    );
  }
  return position;
}

/** A whole number >= 0, the only kind of count a cursor carries. */
export function isCount(value: unknown): value is number {
  return typeof value === 'number' && Number.isSafeInteger(value) && value >= 0;
}
