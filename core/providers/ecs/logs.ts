/**
 * Container logs from the awslogs driver: CloudWatch Logs stream `<prefix>/<container>/<taskId>`,
 * where the prefix is the pod's namespace (container-definition.ts), read with GetLogEvents.
 *
 * The follow cursor is where to read next: the GetLogEvents token of a page (absent: the head of
 * the stream) and how many of that page's events were already handed out, with the `sinceMs` of
 * the first request (kept so that every read of the stream filters alike) and the stream's
 * namespace and ECS container name (so that following needs no DescribeTasks):
 * `{"t": "f/...", "k": 0, "s": 1764600000000, "n": "shop", "c": "app"}`. A chunk ends where the
 * stream does: CloudWatch answers the token it was given, with no events, at its end (or an empty
 * page, after which the next call goes on from the same token).
 */
import type {
  CloudWatchLogsClient,
  GetLogEventsCommandInput,
  OutputLogEvent,
} from '@aws-sdk/client-cloudwatch-logs';
import { NotFoundError } from '../../errors.ts';
import { decodeCursor, encodeCursor, isCount, logStamp, renderLines, type LogLine } from '../log-lines.ts';
import type { LogChunk, LogRequest } from '../types.ts';
import type { AwsCall } from './retry.ts';

/** GetLogEvents returns at most 10,000 events per call. */
const maxEventsPerCall = 10_000;
/** Pages one chunk reads at most; the cursor goes on from there. */
const maxPages = 20;

export function logStreamName(namespace: string, ecsContainer: string, taskId: string): string {
  return `${namespace}/${ecsContainer}/${taskId}`;
}

export interface EcsLogCursor {
  /** The token of the page to read; absent for the head of the stream. */
  token?: string;
  /** Events of that page already handed out. */
  skip: number;
  sinceMs?: number;
  namespace: string;
  ecsContainer: string;
}

/** Where a stream is, and how to read it. */
export interface EcsLogStream {
  group: string;
  namespace: string;
  ecsContainer: string;
  taskId: string;
}

export function decodeEcsLogCursor(cursor: string): EcsLogCursor {
  return decodeCursor(cursor, 'ECS', (v) => {
    const { t, k, s, n, c } = v;
    if (t !== undefined && (typeof t !== 'string' || t === '')) return undefined;
    if (!isCount(k) || (s !== undefined && !isCount(s))) return undefined;
    if (typeof n !== 'string' || !/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/.test(n)) return undefined;
    if (typeof c !== 'string' || !/^[A-Za-z0-9_-]{1,255}$/.test(c)) return undefined;
    return {
      ...(t === undefined ? {} : { token: t }),
      skip: k,
      ...(s === undefined ? {} : { sinceMs: s }),
      namespace: n,
      ecsContainer: c,
    };
  });
}

function encodeEcsLogCursor(c: EcsLogCursor): string {
  return encodeCursor({
    ...(c.token === undefined ? {} : { t: c.token }),
    k: c.skip,
    ...(c.sinceMs === undefined ? {} : { s: c.sinceMs }),
    n: c.namespace,
    c: c.ecsContainer,
  });
}

interface Page {
  /** The newest events, read backwards from the end of the stream. */
  tail: boolean;
  /** The token it was read with; absent for the head of the stream (or a tail). */
  token?: string;
  events: OutputLogEvent[];
  forward?: string;
  backward?: string;
}

/** One chunk of the stream, as LogsProvider.containerLogs describes it. A stream not created yet is empty. */
export async function readLogChunk(
  logs: CloudWatchLogsClient,
  call: AwsCall,
  stream: EcsLogStream,
  request: LogRequest,
): Promise<LogChunk> {
  const { GetLogEventsCommand } = await import('@aws-sdk/client-cloudwatch-logs');
  const name = logStreamName(stream.namespace, stream.ecsContainer, stream.taskId);
  const doing = `reading CloudWatch Logs stream ${name} in ${stream.group}`;
  const given = request.cursor === undefined ? undefined : decodeEcsLogCursor(request.cursor);
  const sinceMs = given === undefined ? request.sinceMs : given.sinceMs;
  const at = (token: string | undefined, skip: number): EcsLogCursor => ({
    ...(token === undefined ? {} : { token }),
    skip,
    ...(sinceMs === undefined ? {} : { sinceMs }),
    namespace: stream.namespace,
    ecsContainer: stream.ecsContainer,
  });
  const read = async (input: Partial<GetLogEventsCommandInput>) => {
    const out = await call(doing, () =>
      logs.send(
        new GetLogEventsCommand({
          logGroupName: stream.group,
          logStreamName: name,
          ...(sinceMs === undefined ? {} : { startTime: sinceMs }),
          ...input,
        }),
      ),
    );
    return { events: out.events ?? [], forward: out.nextForwardToken, backward: out.nextBackwardToken };
  };

  const pages: Page[] = [];
  /** The events to hand out, each with the page and place it came from. */
  const picked: { event: OutputLogEvent; page: number; offset: number }[] = [];
  let pendingSkip = 0;
  try {
    if (given === undefined && request.tailLines !== undefined) {
      const tail = Math.min(Math.max(0, request.tailLines), maxEventsPerCall);
      const page = await read({ startFromHead: false, limit: Math.max(1, tail) });
      const events = tail === 0 ? [] : page.events.slice(-tail);
      pages.push({ tail: true, ...page, events });
      events.forEach((event, offset) => picked.push({ event, page: 0, offset }));
    } else {
      let token = given?.token;
      pendingSkip = given?.skip ?? 0;
      let bytes = 0;
      for (let p = 0; p < maxPages; p++) {
        const page = await read(
          token === undefined ? { startFromHead: true } : { startFromHead: true, nextToken: token },
        );
        pages.push({ tail: false, ...(token === undefined ? {} : { token }), ...page });
        page.events.forEach((event, offset) => {
          if (pendingSkip > 0) {
            pendingSkip--;
            return;
          }
          picked.push({ event, page: p, offset });
          bytes += Buffer.byteLength(event.message ?? '') + 32;
        });
        if (page.events.length === 0 || page.forward === undefined || page.forward === token) break;
        if (request.limitBytes !== undefined && bytes >= request.limitBytes) break;
        token = page.forward;
      }
    }
  } catch (err) {
    // No stream yet: the container has written nothing. Following goes on from the same place.
    if (err instanceof NotFoundError)
      return { text: '', cursor: encodeEcsLogCursor(given ?? at(undefined, 0)) };
    throw err;
  }

  const { text, shown } = renderLines(picked.map(lineOf), request);
  let next: EcsLogCursor;
  if (pendingSkip > 0 && given !== undefined) {
    next = given; // the stream had fewer events than the cursor had handed out: wait for more
  } else if (shown < picked.length) {
    const { page, offset } = picked[shown]!;
    const from = pages[page]!;
    next = from.tail ? await beforeTail(from, offset) : at(from.token, offset);
  } else {
    const last = pages.at(-1);
    next = last?.forward !== undefined ? at(last.forward, 0) : at(undefined, 0);
  }
  return { text, cursor: encodeEcsLogCursor(next) };

  /**
   * The cursor for event `offset` of a page read backwards from the end: the page before it,
   * read backwards by one event, hands out the forward token of the place just before it.
   */
  async function beforeTail(page: Page, offset: number): Promise<EcsLogCursor> {
    const before =
      page.backward === undefined
        ? undefined
        : await read({ startFromHead: false, limit: 1, nextToken: page.backward });
    if (before === undefined || before.events.length === 0 || before.forward === undefined)
      return at(undefined, offset);
    return at(before.forward, offset);
  }
}

function lineOf({ event }: { event: OutputLogEvent }): LogLine {
  const text = (event.message ?? '').replace(/\r?\n$/, '');
  return { stamp: logStamp(event.timestamp ?? 0), text };
}
