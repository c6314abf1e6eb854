/**
 * `kubectl logs` through the relay: one call to the function, or with `follow` a loop of them,
 * each continuing from the cursor of the one before, so every line is written once. A follow
 * ends when the function says the run has ended, when the caller goes away, or when
 * `limitBytes` have been written; it never ends just because nothing new was written yet.
 */
import type { Logger } from '../log.ts';
import type { KubeletApiAnswer, KubeletApiCall } from './client.ts';
import type { PodLogOptions } from './logOptions.ts';
import type { ContainerLogsAnswer, ContainerLogsRequest } from './protocol.ts';

export interface LogTarget {
  node: string;
  namespace: string;
  pod: string;
  container: string;
}

/** Where the output goes: an HTTP response, seen through what the loop needs of it. */
export interface LogSink {
  /** Called once, before any text: the status and, for an error, its message. */
  start(status: number, errorMessage?: string): void;
  write(text: string): void;
  end(): void;
  /** Aborted when the caller has gone away. */
  readonly signal: AbortSignal;
}

export interface FollowOptions {
  call: KubeletApiCall;
  logger: Logger;
  /** Pause between reads while following. */
  pollMs?: number;
  /** Reads in a row that may fail before a follow gives up. */
  maxFailures?: number;
  sleep?: (ms: number, signal: AbortSignal) => Promise<void>;
}

export async function serveContainerLogs(
  target: LogTarget,
  options: PodLogOptions,
  sink: LogSink,
  follow: FollowOptions,
): Promise<void> {
  const pollMs = follow.pollMs ?? 1000;
  const maxFailures = follow.maxFailures ?? 5;
  const sleep = follow.sleep ?? abortableSleep;
  let remaining = options.limitBytes ?? Number.POSITIVE_INFINITY;
  const base: ContainerLogsRequest = {
    op: 'containerLogs',
    ...target,
    previous: options.previous || undefined,
    timestamps: options.timestamps || undefined,
  };

  const first = await follow.call(
    { ...base, tailLines: options.tailLines, sinceMs: options.sinceMs, limitBytes: options.limitBytes },
    sink.signal,
  );
  if (first.status !== 200) {
    sink.start(first.status, errorOf(first));
    sink.end();
    return;
  }
  sink.start(200);
  let answer = first.body as ContainerLogsAnswer;
  remaining = emit(sink, answer.text, remaining);
  if (!options.follow) {
    sink.end();
    return;
  }

  let failures = 0;
  const gone = (): boolean => sink.signal.aborted;
  while (!answer.ended && remaining > 0 && !gone()) {
    await sleep(pollMs, sink.signal);
    if (gone()) break;
    let next: KubeletApiAnswer;
    try {
      next = await follow.call({ ...base, cursor: answer.cursor }, sink.signal);
    } catch (err) {
      if (gone()) break;
      next = { status: 503, body: { error: String(err) } };
    }
    if (next.status !== 200) {
      failures++;
      follow.logger.warn('log follow read failed', { status: next.status, problem: errorOf(next), failures });
      if (failures >= maxFailures) break;
      continue;
    }
    failures = 0;
    answer = next.body as ContainerLogsAnswer;
    remaining = emit(sink, answer.text, remaining);
  }
  sink.end();
}

/** Writes text up to `remaining` bytes (never splitting a character) and returns what is left. */
function emit(sink: LogSink, text: string, remaining: number): number {
  if (text === '' || remaining <= 0) return remaining;
  const bytes = Buffer.from(text, 'utf8');
  if (bytes.length <= remaining) {
    sink.write(text);
    return remaining - bytes.length;
  }
  let end = remaining;
  while (end > 0 && ((bytes[end] ?? 0) & 0xc0) === 0x80) end--;
  sink.write(bytes.subarray(0, end).toString('utf8'));
  return 0;
}

function errorOf(answer: KubeletApiAnswer): string {
  const body = answer.body as { error?: unknown } | undefined;
  return typeof body?.error === 'string' ? body.error : `HTTP ${answer.status}`;
}

function abortableSleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(done, ms);
    function done() {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    }
    signal.addEventListener('abort', done, { once: true });
  });
}
