import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  cpuSpans,
  cumulativeCpu,
  hourMs,
  minuteLookbackMs,
  minuteMs,
  type CpuGrain,
  type GrainSpan,
} from '../../../core/providers/cpu-grains.ts';

const day = Date.UTC(2026, 11, 1);

/** What a metrics service would answer for a container using `coresAt(minute start)`. */
function grainsOver(
  span: GrainSpan | undefined,
  startedAtMs: number,
  coresAt: (ms: number) => number,
): CpuGrain[] {
  if (span === undefined) return [];
  const grains: CpuGrain[] = [];
  for (let t = span.fromMs; t < span.untilMs; t += span.grainMs) {
    // A grain's average is over the minutes in it the container ran in.
    const minutes: number[] = [];
    for (let m = t; m < t + span.grainMs; m += minuteMs) {
      if (m + minuteMs > startedAtMs && m + minuteMs <= span.untilMs) minutes.push(coresAt(m));
    }
    if (minutes.length > 0)
      grains.push({ startMs: t, cores: minutes.reduce((a, b) => a + b, 0) / minutes.length });
  }
  return grains;
}

function readAt(startedAtMs: number, nowMs: number, coresAt: (ms: number) => number) {
  const spans = cpuSpans(startedAtMs, nowMs);
  return cumulativeCpu(
    spans,
    {
      hourly: grainsOver(spans.hourly, startedAtMs, coresAt),
      minutely: grainsOver(spans.minutely, startedAtMs, coresAt),
    },
    startedAtMs,
    Number.POSITIVE_INFINITY,
  );
}

void describe('cumulative CPU from per-minute averages', () => {
  void it('sums average x 60 s over the complete minutes of the run, the minute it started in whole', () => {
    const startedAtMs = day + 30_000; // half way into the first minute
    const at = readAt(startedAtMs, day + 3 * minuteMs + 10_000, () => 0.5);
    // Three minutes at half a core; the minute in progress is not counted.
    assert.equal(at.coreNanoSeconds, 0.5 * 180 * 1e9);
    assert.deepEqual(at.last, { startMs: day + 2 * minuteMs, cores: 0.5 });
  });

  void it('has nothing before the first minute of the run is complete', () => {
    assert.deepEqual(cpuSpans(day + 10_000, day + 50_000), {});
    assert.equal(readAt(day + 10_000, day + 50_000, () => 1).last, undefined);
  });

  void it('leaves out minutes that are not complete by the time asked, and minutes without a figure', () => {
    const span: GrainSpan = { grainMs: minuteMs, fromMs: day, untilMs: day + 3 * minuteMs };
    const grains = [
      { startMs: day, cores: 1 },
      { startMs: day + minuteMs, cores: Number.NaN },
      { startMs: day + 2 * minuteMs, cores: 2 },
    ];
    const upToTwo = cumulativeCpu(
      { minutely: span },
      { hourly: [], minutely: grains },
      day,
      day + 2 * minuteMs,
    );
    assert.equal(upToTwo.coreNanoSeconds, 60e9);
    assert.equal(upToTwo.last?.startMs, day);
  });

  void it('never decreases as a long run is read minute after minute, across the hourly lookback', () => {
    const startedAtMs = day + 17 * minuteMs + 12_000;
    const coresAt = (ms: number) => 0.1 + ((ms / minuteMs) % 7) * 0.05; // varies minute to minute
    let previous = -1;
    let sawHourly = false;
    for (let now = startedAtMs; now < startedAtMs + minuteLookbackMs + 3 * hourMs; now += 7 * minuteMs) {
      const spans = cpuSpans(startedAtMs, now);
      sawHourly ||= spans.hourly !== undefined;
      const at = readAt(startedAtMs, now, coresAt);
      assert.ok(
        at.coreNanoSeconds >= previous,
        `at ${new Date(now).toISOString()}: ${at.coreNanoSeconds} < ${previous}`,
      );
      previous = at.coreNanoSeconds;
    }
    assert.ok(sawHourly, 'the run outlived the minute lookback');
  });

  void it('reads hours before the lookback and minutes after it, meeting on an hour', () => {
    const startedAtMs = day + 10 * minuteMs;
    const nowMs = day + 9 * hourMs + 25 * minuteMs + 5_000;
    const spans = cpuSpans(startedAtMs, nowMs);
    assert.deepEqual(spans.hourly, { grainMs: hourMs, fromMs: day, untilMs: day + 3 * hourMs });
    assert.deepEqual(spans.minutely, {
      grainMs: minuteMs,
      fromMs: day + 3 * hourMs,
      untilMs: day + 9 * hourMs + 25 * minuteMs,
    });
    // Steady use: the two parts add up to the whole run (it started on a minute).
    const at = readAt(startedAtMs, nowMs, () => 0.25);
    assert.equal(at.coreNanoSeconds, Math.round(0.25 * (9 * hourMs + 15 * minuteMs) * 1e6));
  });
});
