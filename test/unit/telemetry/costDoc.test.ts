/**
 * docs/cost.md's figures are the cost model's (scripts/cost.ts), which reads the timers'
 * schedules from the function files: a schedule, price or count changed without running
 * `node scripts/cost.ts --write` fails here.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { leaseDurationSeconds } from '../../../core/node/lease.ts';
import {
  documentedTables,
  firingSecondsOfDay,
  formattedCostTables,
  idleNodeModel,
  schedules,
} from '../../../scripts/cost.ts';

const doc = readFileSync(new URL('../../../docs/cost.md', import.meta.url), 'utf8');

describe('the cost model and docs/cost.md', () => {
  it('holds exactly the tables the script computes now', async () => {
    assert.equal(documentedTables(doc), await formattedCostTables());
  });

  it('counts a timer’s invocations from its NCRONTAB schedule: every 10 s is 259,200 a month', () => {
    assert.equal(firingSecondsOfDay('*/10 * * * * *').length * 30, 259_200);
    assert.equal(firingSecondsOfDay('0 */15 * * * *').length, 96);
    assert.deepEqual(firingSecondsOfDay('5,35 0 0 * * *'), [5, 35]);
    assert.deepEqual(firingSecondsOfDay('0-2 0 1 * * *'), [3600, 3601, 3602]);
    assert.throws(() => firingSecondsOfDay('0 0 0 1 * *'), /not a daily six-field/);
    assert.throws(() => firingSecondsOfDay('*/0 * * * * *'), /not understood/);
    assert.equal(idleNodeModel(2048).invocations.leaseRenew, 259_200);
  });

  it('keeps the lease renewed well inside its 40 s: two renewals in a row may fail', () => {
    const seconds = firingSecondsOfDay(schedules.leaseRenew);
    const gaps = seconds.map((s, i) => (seconds[(i + 1) % seconds.length]! - s + 86_400) % 86_400 || 86_400);
    const longest = Math.max(...gaps) * 1000;
    assert.ok(
      3 * longest < leaseDurationSeconds * 1000,
      `three renewal intervals (${3 * longest} ms) fit within the lease`,
    );
  });
});
