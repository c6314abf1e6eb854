/**
 * Container logs from ACI's logs API, which offers only `tail` and `timestamps` and answers the
 * current run's output as one text. Funclet always asks with timestamps, so that each line has
 * a time, and does the rest here: since, tail, the byte limit and the timestamp prefix.
 *
 * The follow cursor is the position after the last line handed out, named by that line's stamp
 * and how many lines with the same stamp came up to it: `{"at": "<stamp>", "n": 2}` (`at` is
 * empty before the first line). A follow call first asks for the last lines only and asks for
 * the whole log when those do not reach back to the cursor. When ACI restarts a container in
 * place its API answers the new run only; the cursor, being a time, continues with that run.
 */
import {
  decodeCursor,
  encodeCursor,
  isCount,
  normalizeStamp,
  renderLines,
  requestStart,
  splitLines,
  type LogLine,
} from '../log-lines.ts';
import type { LogChunk, LogRequest } from '../types.ts';

export interface AciLogCursor {
  at: string;
  n: number;
}

/** Lines asked for by a follow call before the whole log. */
export const followTailLines = 1000;

/** Reads the container's log with timestamps; `tail` keeps only the newest lines. */
export type FetchAciLog = (tail?: number) => Promise<string>;

export async function readAciLogChunk(fetchLog: FetchAciLog, request: LogRequest): Promise<LogChunk> {
  const cursor = request.cursor === undefined ? undefined : decodeCursor(request.cursor, 'ACI', readCursor);
  // A follow reads the newest lines first; a request with tailLines reads only as many, since the
  // newest `tailLines` lines at or after `sinceMs` are among the newest `tailLines` lines.
  const tail =
    cursor !== undefined
      ? cursor.at === ''
        ? undefined
        : followTailLines
      : request.tailLines === undefined
        ? undefined
        : Math.max(1, request.tailLines);
  const window = parseAciLog(await fetchLog(tail));
  const chunk = chunkOf(window, cursor, request);
  // A window that may have cut off older lines is enough when it reaches back past the cursor
  // given, and past the first line with the time of the cursor handed out (which counts them).
  const cutOff = tail !== undefined && window.length >= tail;
  const first = window[0]?.stamp ?? '';
  if (!cutOff || ((cursor === undefined || first < cursor.at) && first < chunk.next.at)) return chunk.answer;
  return chunkOf(parseAciLog(await fetchLog()), cursor, request).answer;
}

function chunkOf(
  lines: readonly LogLine[],
  cursor: AciLogCursor | undefined,
  request: LogRequest,
): { answer: LogChunk; next: AciLogCursor } {
  const start = cursor === undefined ? requestStart(lines, request) : positionOf(lines, cursor);
  const { text, shown } = renderLines(lines.slice(start), request);
  const next = cursorAt(lines, start + shown);
  return { answer: { text, cursor: encodeCursor({ ...next }) }, next };
}

const epochStamp = '1970-01-01T00:00:00.000000000Z';

/**
 * ACI's timestamped output: `<RFC 3339 time> <text>` per line. A line without a time (none
 * should come) takes the time of the line before it.
 */
export function parseAciLog(content: string): LogLine[] {
  let previous = epochStamp;
  return splitLines(content).map((raw) => {
    const space = raw.indexOf(' ');
    const stamp = space > 0 ? normalizeStamp(raw.slice(0, space)) : normalizeStamp(raw);
    if (stamp === undefined) return { stamp: previous, text: raw };
    previous = stamp;
    return { stamp, text: space > 0 ? raw.slice(space + 1) : '' };
  });
}

/** The index in `lines` (oldest first) that the cursor points at. */
export function positionOf(lines: readonly LogLine[], cursor: AciLogCursor): number {
  if (cursor.at === '') return 0;
  const first = lines.findIndex((line) => line.stamp >= cursor.at);
  if (first < 0) return lines.length;
  if (lines[first]!.stamp !== cursor.at) return first;
  let run = 0;
  while (first + run < lines.length && lines[first + run]!.stamp === cursor.at) run++;
  return first + Math.min(cursor.n, run);
}

/** The cursor for the position before lines[position] (after the last line when at the end). */
export function cursorAt(lines: readonly LogLine[], position: number): AciLogCursor {
  const named = position < lines.length ? position : lines.length - 1;
  const line = lines[named];
  if (line === undefined) return { at: '', n: 0 };
  let n = 0;
  for (let i = named - 1; i >= 0 && lines[i]!.stamp === line.stamp; i--) n++;
  return { at: line.stamp, n: position < lines.length ? n : n + 1 };
}

function readCursor(value: Record<string, unknown>): AciLogCursor | undefined {
  const { at, n } = value;
  if (typeof at !== 'string' || !isCount(n)) return undefined;
  if (at !== '' && normalizeStamp(at) !== at) return undefined;
  return { at, n };
}
