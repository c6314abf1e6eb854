/**
 * A short, seeded run of the fault suite (test/faults): the workload of Deployments and Jobs on
 * an ACI and an ECS virtual node goes through an API server restart, then unwanted pokes
 * (duplicated, reordered, replayed, forged), then everything npm test can inflict at once: the API
 * server restarting while podEvents never answers, the relay is killed, Table Storage is cut off,
 * ARM and AWS fail half their calls and podResync fires twice at once. After each, once the faults
 * stop, every pod ends as it should, with one instance, nothing left behind and no forgery
 * accepted. Runs alone, after the other tests, because it restarts the shared API server.
 * `npm run faults` runs the whole suite, longer and each fault alone too, on a control plane of
 * its own.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { testEnv } from '../support/env.ts';
import { runFaultSuite } from '../faults/suite.ts';
import { formatTable, rowFailed } from '../faults/table.ts';

describe('the fault suite, short and seeded', () => {
  it('ends every fault with no duplicate, orphan, lost pod, stale record or accepted forgery', async (t) => {
    const lines: string[] = [];
    const rows = await runFaultSuite({
      seed: 15,
      // Two alone, then every fault npm test can cause at once (it cannot restart etcd).
      faults: ['apiServer', 'pokes'],
      together: [
        'apiServer',
        'webhookSilent',
        'relay',
        'azurite',
        'arm429',
        'arm5xx',
        'moto5xx',
        'doubleResync',
        'pokes',
      ],
      windowMs: 6000,
      windows: { together: 12_000 },
      settleLimitMs: 150_000,
      resyncPeriodMs: 10_000,
      stepEveryMs: 1500,
      restartApiServer: async () => {
        const res = await fetch(`${testEnv().control}/restart-apiserver`, { method: 'POST' });
        if (res.status !== 200) throw new Error(`restarting the API server answered ${res.status}`);
      },
      log: (line) => lines.push(line),
      // The functions' and the relay's log lines, when asked for.
      logFile: process.env.FUNCLET_FAULTS_LOG,
    });
    const table = formatTable(rows);
    t.diagnostic(`\n${table}`);
    const failed = rows.filter(rowFailed);
    assert.deepEqual(
      failed.map((r) => r.fault),
      [],
      `${table}\n${failed.map((r) => `${r.fault}: ${r.unsettled.join('; ')}`).join('\n')}\n${lines.join('\n')}`,
    );
    // The faults were felt: pods went through each, and forgeries were sent (and refused).
    assert.ok(
      rows.every((r) => r.podsTouched > 0),
      table,
    );
    const pokes = rows.filter((r) => /forged|together/.test(r.fault));
    assert.equal(pokes.length, 2, table);
    assert.ok(
      pokes.every((r) => r.forgedSent > 0),
      table,
    );
  });
});
