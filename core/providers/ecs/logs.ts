/**
 * Container logs from the awslogs driver: CloudWatch Logs stream `<prefix>/<container>/<taskId>`,
 * where the prefix is the pod's namespace (container-definition.ts).
 */
import type { CloudWatchLogsClient, OutputLogEvent } from '@aws-sdk/client-cloudwatch-logs';
import { NotFoundError } from '../../errors.ts';
import type { LogOptions } from '../types.ts';
import type { AwsCall } from './retry.ts';

/** GetLogEvents returns at most 10,000 events per call. */
const maxEventsPerCall = 10_000;
/** Reading from the head stops after this many pages; ask with tailLines for the newest lines. */
const maxPages = 20;

export function logStreamName(namespace: string, ecsContainer: string, taskId: string): string {
  return `${namespace}/${ecsContainer}/${taskId}`;
}

/**
 * The stream's lines, oldest first. With tailLines only the newest that many (up to 10,000);
 * sinceMs skips older events; timestamps prefixes each line with its RFC 3339 time; limitBytes
 * truncates the result. A stream that does not exist yet (the container has written nothing) is empty.
 */
export async function readLogStream(
  logs: CloudWatchLogsClient,
  call: AwsCall,
  where: { group: string; stream: string },
  options: LogOptions,
): Promise<string> {
  const { GetLogEventsCommand } = await import('@aws-sdk/client-cloudwatch-logs');
  const doing = `reading CloudWatch Logs stream ${where.stream} in ${where.group}`;
  const base = { logGroupName: where.group, logStreamName: where.stream, startTime: options.sinceMs };
  const events: OutputLogEvent[] = [];
  try {
    if (options.tailLines !== undefined) {
      if (options.tailLines <= 0) return '';
      const limit = Math.min(options.tailLines, maxEventsPerCall);
      const out = await call(doing, () =>
        logs.send(new GetLogEventsCommand({ ...base, startFromHead: false, limit })),
      );
      events.push(...(out.events ?? []).slice(-limit));
    } else {
      let token: string | undefined;
      for (let page = 0; page < maxPages; page++) {
        const out = await call(doing, () =>
          logs.send(new GetLogEventsCommand({ ...base, startFromHead: true, nextToken: token })),
        );
        const got = out.events ?? [];
        events.push(...got);
        // At the end of the stream CloudWatch hands back the token it was given, with no events.
        if (got.length === 0 || out.nextForwardToken === undefined || out.nextForwardToken === token) break;
        if (options.limitBytes !== undefined && byteLength(events) >= options.limitBytes) break;
        token = out.nextForwardToken;
      }
    }
  } catch (err) {
    if (err instanceof NotFoundError) return '';
    throw err;
  }
  return formatLogEvents(events, options);
}

export function formatLogEvents(events: readonly OutputLogEvent[], options: LogOptions): string {
  let text = events
    .map((e) => {
      const line = (e.message ?? '').replace(/\n$/, '');
      return options.timestamps === true && e.timestamp !== undefined
        ? `${new Date(e.timestamp).toISOString()} ${line}\n`
        : `${line}\n`;
    })
    .join('');
  if (options.limitBytes !== undefined && Buffer.byteLength(text) > options.limitBytes) {
    const bytes = Buffer.from(text);
    let end = Math.max(0, options.limitBytes);
    // Never cut a UTF-8 character in two: back up to the start of the one that does not fit.
    while (end > 0 && ((bytes[end] ?? 0) & 0xc0) === 0x80) end--;
    text = bytes.subarray(0, end).toString('utf8');
  }
  return text;
}

function byteLength(events: readonly OutputLogEvent[]): number {
  return events.reduce((n, e) => n + Buffer.byteLength(e.message ?? '') + 1, 0);
}
