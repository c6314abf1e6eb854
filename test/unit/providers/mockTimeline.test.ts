import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { killedExitCode, mockTimeline, runState } from '../../../core/providers/mock/timeline.ts';

const t0 = 1_800_000_000_000;
const app = { name: 'app', image: 'i' };

describe("the mock's container timeline", () => {
  it('runs init containers one after another, then the app containers', () => {
    const t = mockTimeline(
      {
        createdAtMs: t0,
        initContainers: [
          { name: 'a', image: 'i', exitAfterMs: 1000 },
          { name: 'b', image: 'i', exitAfterMs: 2000 },
        ],
        containers: [app],
      },
      500,
    );
    assert.deepEqual(
      t.initContainers.map((r) => [r.startMs, r.endMs]),
      [
        [t0 + 500, t0 + 1500],
        [t0 + 1500, t0 + 3500],
      ],
    );
    assert.equal(t.appsStartMs, t0 + 3500);
    assert.equal(t.containers[0]?.endMs, Number.POSITIVE_INFINITY);
    assert.deepEqual(runState(t.containers[0], t0 + 2000, t.sandboxAtMs, 'PodInitializing'), {
      waiting: { reason: 'PodInitializing' },
    });
  });

  it('starts nothing after an init container that failed', () => {
    const t = mockTimeline(
      {
        createdAtMs: t0,
        initContainers: [
          { name: 'a', image: 'i', exitCode: 1, exitAfterMs: 1000 },
          { name: 'b', image: 'i' },
        ],
        containers: [app],
      },
      0,
    );
    assert.equal(t.appsStartMs, undefined);
    assert.equal(t.initContainers[1]?.startMs, undefined);
    assert.equal(t.containers[0]?.startMs, undefined);
  });

  it('keeps a sidecar running beside the next containers until the app containers have ended', () => {
    const t = mockTimeline(
      {
        createdAtMs: t0,
        initContainers: [
          { name: 'proxy', image: 'i', sidecar: true },
          { name: 'setup', image: 'i', exitAfterMs: 1000 },
        ],
        containers: [{ ...app, exitCode: 0, exitAfterMs: 5000 }],
      },
      0,
    );
    assert.equal(t.initContainers[0]?.startMs, t0, 'the sidecar starts first');
    assert.equal(t.initContainers[1]?.startMs, t0, 'the next one starts beside it');
    assert.equal(t.appsStartMs, t0 + 1000);
    assert.equal(t.initContainers[0]?.endMs, t0 + 6000, 'it ends with the app container');
    assert.equal(t.initContainers[0]?.exitCode, 0);
  });

  it('lets containers exit on SIGTERM within the grace period, and kills them when it runs out', () => {
    const base = { createdAtMs: t0, initContainers: [], containers: [app], stopRequestedAtMs: t0 + 10_000 };
    const quick = mockTimeline({ ...base, stopSeconds: 3, stopGraceMs: 30_000 }, 0);
    assert.deepEqual([quick.containers[0]?.endMs, quick.containers[0]?.exitCode], [t0 + 13_000, 0]);
    const deaf = mockTimeline({ ...base, stopSeconds: 600, stopGraceMs: 2000 }, 0);
    assert.deepEqual(
      [deaf.containers[0]?.endMs, deaf.containers[0]?.exitCode],
      [t0 + 12_000, killedExitCode],
    );
  });
});
