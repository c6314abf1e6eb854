/**
 * Cumulative CPU from a metrics service that reports average use per fixed grain (Azure Monitor
 * and CloudWatch both answer one average per minute, or per hour). The kubelet reports CPU as a
 * counter that only grows for one container run; metrics-server takes the rate between two
 * scrapes. Summing average x duration over the complete grains since the run started gives that
 * counter: a later read sees the same grains plus newer ones (or ones that arrived late).
 *
 * A long run is read in two parts so that no read grows without bound (nor reaches past
 * CloudWatch's 15 days of one-minute data): hourly averages up to the hour `minuteLookbackMs`
 * before now, minute averages after it. When an hour moves from the minute part to the hourly
 * part its figure is the same (its average over the same samples, times its length), so the
 * counter still does not go back; a minute with no sample at all makes the hour count a little
 * more once it is read as an hour.
 */

export const minuteMs = 60_000;
export const hourMs = 3_600_000;
/** How far back minute averages are read; before that, hourly ones. */
export const minuteLookbackMs = 6 * hourMs;

/** One grain's average: `cores` in use (0.25 = a quarter of a core) over [startMs, startMs + grain). */
export interface CpuGrain {
  startMs: number;
  cores: number;
}

/** A time span [fromMs, untilMs) read at one grain. */
export interface GrainSpan {
  grainMs: number;
  fromMs: number;
  untilMs: number;
}

/**
 * What to read for a run that started at `startedAtMs`, at `nowMs`: complete grains only. The
 * hourly span is absent for runs younger than the lookback; the minute span is absent (and so
 * is everything) until one minute of the run is complete.
 */
export function cpuSpans(startedAtMs: number, nowMs: number): { hourly?: GrainSpan; minutely?: GrainSpan } {
  const untilMs = grainFloor(nowMs, minuteMs);
  const boundaryMs = Math.max(
    grainFloor(startedAtMs, minuteMs),
    grainFloor(nowMs - minuteLookbackMs, hourMs),
  );
  const spans: { hourly?: GrainSpan; minutely?: GrainSpan } = {};
  const hourlyFromMs = grainFloor(startedAtMs, hourMs);
  if (boundaryMs > grainFloor(startedAtMs, minuteMs)) {
    spans.hourly = { grainMs: hourMs, fromMs: hourlyFromMs, untilMs: boundaryMs };
  }
  if (untilMs > boundaryMs) spans.minutely = { grainMs: minuteMs, fromMs: boundaryMs, untilMs };
  return spans;
}

export interface CpuIntegral {
  /** Core-nanoseconds used from `startedAtMs` up to the end of `last`. */
  coreNanoSeconds: number;
  /** The latest minute with a figure: its average is the current use, its end the time described. */
  last?: CpuGrain;
}

/**
 * The run's cumulative CPU from the grains read for `cpuSpans` (hourly ones for the hourly span,
 * minute ones for the minute span), counted up to `untilMs` at most. Each grain is weighted by
 * the minutes of it that lie in the run, the minute the run started in counted whole: so an hour
 * weighs exactly what its minutes did (its average is over them). Grains without a number,
 * negative ones and those not complete by `untilMs` are left out.
 */
export function cumulativeCpu(
  spans: { hourly?: GrainSpan; minutely?: GrainSpan },
  grains: { hourly: readonly CpuGrain[]; minutely: readonly CpuGrain[] },
  startedAtMs: number,
  untilMs: number,
): CpuIntegral {
  let nanos = 0;
  let last: CpuGrain | undefined;
  const countedFromMs = grainFloor(startedAtMs, minuteMs);
  const add = (span: GrainSpan | undefined, list: readonly CpuGrain[], keepLast: boolean) => {
    if (span === undefined) return;
    const endOfSpan = Math.min(span.untilMs, untilMs);
    for (const grain of [...list].sort((a, b) => a.startMs - b.startMs)) {
      const endMs = grain.startMs + span.grainMs;
      if (
        !Number.isFinite(grain.cores) ||
        grain.cores < 0 ||
        grain.startMs < span.fromMs ||
        endMs > endOfSpan
      ) {
        continue;
      }
      const overlapMs = endMs - Math.max(grain.startMs, countedFromMs);
      if (overlapMs <= 0) continue;
      nanos += grain.cores * overlapMs * 1e6;
      if (keepLast) last = grain;
    }
  };
  add(spans.hourly, grains.hourly, false);
  add(spans.minutely, grains.minutely, true);
  return { coreNanoSeconds: Math.round(nanos), ...(last === undefined ? {} : { last }) };
}

/** The start of the grain `ms` falls in. */
export function grainFloor(ms: number, grainMs: number): number {
  return Math.floor(ms / grainMs) * grainMs;
}
