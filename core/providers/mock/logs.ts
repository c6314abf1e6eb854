/**
 * A mock container's output, computed from its instance row alone: the scripted lines at the
 * moment it starts, then one tick line every `logEverySeconds` while it runs, up to the time it
 * exits or is deleted. Any invocation computes the same lines, so the follow cursor is simply the
 * index of the next line: `{"line": n}`.
 */
import { NotFoundError } from '../../errors.ts';
import { decodeCursor, encodeCursor, isCount, logStamp, renderLines, type LogLine } from '../log-lines.ts';
import type { LogChunk, LogRequest } from '../types.ts';
import { mockContainerNames, mockRunTimes, type MockInstance } from './instances.ts';
import { scriptedLines } from './script.ts';

/** The lines one container has written by `nowMs`, addressable by index without building them all. */
export interface MockLog {
  count: number;
  line(index: number): LogLine;
  /** The index of the first line written at or after `ms` (count when there is none). */
  firstAtOrAfter(ms: number): number;
}

export function mockLog(
  instance: MockInstance,
  container: string,
  startDelayMs: number,
  nowMs: number,
): MockLog {
  const { startedAtMs, finishedAtMs } = mockRunTimes(instance, startDelayMs);
  const endMs = Math.min(nowMs, finishedAtMs, instance.deletedAtMs ?? Number.POSITIVE_INFINITY);
  const script = scriptedLines(instance);
  const periodMs = instance.logEverySeconds === undefined ? undefined : instance.logEverySeconds * 1000;
  if (endMs < startedAtMs) return { count: 0, line: outOfRange, firstAtOrAfter: () => 0 };
  const ticks = periodMs === undefined ? 0 : Math.floor((endMs - startedAtMs) / periodMs);
  const count = script.length + ticks;
  return {
    count,
    line(index) {
      if (index < 0 || index >= count) return outOfRange(index);
      if (index < script.length) return { stamp: logStamp(startedAtMs), text: script[index]! };
      const n = index - script.length + 1;
      return { stamp: logStamp(startedAtMs + n * periodMs!), text: `${container} tick ${n}` };
    },
    firstAtOrAfter(ms) {
      if (ms <= startedAtMs) return 0;
      if (periodMs === undefined) return count;
      return Math.min(count, script.length + Math.ceil((ms - startedAtMs) / periodMs) - 1);
    },
  };
}

/** One chunk of a container's output, as LogsProvider.containerLogs describes it. */
export function mockLogChunk(
  instance: MockInstance,
  container: string,
  request: LogRequest,
  startDelayMs: number,
  nowMs: number,
): LogChunk {
  if (!mockContainerNames(instance).includes(container)) {
    throw new NotFoundError(`container ${container} is not in pod ${instance.namespace}/${instance.name}`);
  }
  const log = mockLog(instance, container, startDelayMs, nowMs);
  let start: number;
  if (request.cursor !== undefined) {
    start = decodeCursor(request.cursor, 'mock', (v) => (isCount(v.line) ? v.line : undefined));
  } else {
    start = request.sinceMs === undefined ? 0 : log.firstAtOrAfter(request.sinceMs);
    if (request.tailLines !== undefined) start = Math.max(start, log.count - Math.max(0, request.tailLines));
  }
  const lines: LogLine[] = [];
  for (let i = start; i < log.count; i++) lines.push(log.line(i));
  const { text, shown } = renderLines(lines, request);
  return { text, cursor: encodeCursor({ line: start + shown }) };
}

function outOfRange(index: number): never {
  throw new RangeError(`no mock log line ${index}`);
}
