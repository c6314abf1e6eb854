/**
 * Pod figures from Azure Monitor for ACI container groups, through the real @azure/arm-monitor
 * client against the fake ARM server, with per-minute figures the containers script in their env.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { MonitorClient } from '@azure/arm-monitor';
import { hourMs, minuteMs } from '../../../core/providers/cpu-grains.ts';
import type { EnvVar, ProviderRef } from '../../../core/providers/types.ts';
import { startFakeAci, type FakeAci } from '../../fakes/aci/server.ts';
import { aciConfig, container, pod, providerFor, testCredential } from './support.ts';

const env = (vars: Record<string, string>): EnvVar[] =>
  Object.entries(vars).map(([name, value]) => ({ name, value, secret: false }));

describe('ACI pod stats from Azure Monitor', () => {
  let fake: FakeAci;
  // Containers start on a minute here, so each minute counts whole.
  let nowMs = Date.UTC(2026, 11, 1, 20, 0, 0);
  const provider = () => providerFor(fake, { now: () => nowMs }).provider;

  before(async () => {
    fake = await startFakeAci({ now: () => nowMs });
  });
  after(() => fake.close());

  /** Moves the clock on to the next whole minute, where the next container starts. */
  const onAMinute = () => {
    nowMs = Math.ceil(nowMs / minuteMs) * minuteMs;
  };
  const create = async (
    vars: Record<string, string>,
    sidecar: Record<string, string> = {},
  ): Promise<ProviderRef> =>
    provider().createPod(
      pod({
        uid: crypto.randomUUID(),
        containers: [
          container({ name: 'app', env: env(vars) }),
          container({ name: 'sidecar', env: env(sidecar) }),
        ],
      }),
    );

  it('serves Metrics_List as the REST spec describes it, to the real monitor client', async () => {
    const ref = await create({ FAKE_ACI_CPU_MILLICORES: '250' });
    const startMs = nowMs;
    nowMs += 3 * minuteMs + 20_000;
    const { subscriptionId, resourceGroup } = aciConfig(fake);
    const monitor = new MonitorClient(testCredential, subscriptionId, {
      endpoint: fake.url,
      retryOptions: { maxRetries: 0 },
      tlsOptions: { ca: fake.caPem },
    });
    const answer = await monitor.metrics.list(
      `subscriptions/${subscriptionId}/resourceGroups/${resourceGroup}/providers/Microsoft.ContainerInstance/containerGroups/${ref.id}`,
      {
        metricnames: 'CpuUsage',
        aggregation: 'Average',
        interval: 'PT1M',
        timespan: `${new Date(startMs).toISOString()}/${new Date(nowMs).toISOString()}`,
        filter: "containerName eq '*'",
      },
    );
    assert.equal(answer.value[0]?.name.value, 'CpuUsage');
    assert.equal(answer.value[0]?.unit, 'Count');
    const app = answer.value[0]?.timeseries.find((ts) => ts.metadatavalues?.[0]?.value === 'app');
    assert.equal(app?.metadatavalues?.[0]?.name?.value, 'containername');
    // Four grains in the timespan; the last is not over, so it has no average yet.
    assert.deepEqual(
      app?.data?.map((d) => [d.timeStamp.getTime() - startMs, d.average]),
      [
        [0, 250],
        [minuteMs, 250],
        [2 * minuteMs, 250],
        [3 * minuteMs, undefined],
      ],
    );
  });

  it('reports cumulative CPU over complete minutes, current use and memory, at the end of the last minute', async () => {
    onAMinute();
    const startMs = nowMs;
    const ref = await create(
      { FAKE_ACI_CPU_MILLICORES: '100,300', FAKE_ACI_MEMORY_BYTES: '1000,2000' },
      { FAKE_ACI_CPU_MILLICORES: '50' },
    );
    nowMs += 30_000;
    assert.deepEqual(await provider().podStats([ref]), [], 'no minute is complete yet');

    nowMs = startMs + 4 * minuteMs + 10_000;
    const [stats] = await provider().podStats([ref]);
    assert.ok(stats);
    assert.equal(stats.atMs, startMs + 4 * minuteMs);
    const app = stats.containers.find((c) => c.name === 'app');
    const odd = (startMs / minuteMs) % 2; // which of 100 and 300 the first minute has
    const minutes = [0, 1, 2, 3].map((m) => ((m + odd) % 2 === 0 ? 100 : 300));
    assert.deepEqual(app, {
      name: 'app',
      startedAtMs: startMs,
      cpuUsageCoreNanoSeconds: minutes.reduce((a, b) => a + b, 0) * 60e6,
      cpuUsageNanoCores: minutes[3]! * 1e6,
      memoryWorkingSetBytes: minutes[3] === 100 ? 1000 : 2000,
    });
    const sidecar = stats.containers.find((c) => c.name === 'sidecar');
    assert.equal(sidecar?.cpuUsageCoreNanoSeconds, 50 * 4 * 60e6);
  });

  it('never decreases for one run, read by new provider objects as time goes by, hours of it included', async () => {
    onAMinute();
    const startMs = nowMs;
    const ref = await create({ FAKE_ACI_CPU_MILLICORES: '120,80,400,10,0,77' });
    let previous = 0;
    let reads = 0;
    for (nowMs = startMs + minuteMs; nowMs < startMs + 8 * hourMs; nowMs += 23 * minuteMs) {
      const [stats] = await provider().podStats([ref]);
      const app = stats?.containers.find((c) => c.name === 'app');
      assert.ok(app && app.startedAtMs === startMs);
      assert.ok(app.cpuUsageCoreNanoSeconds >= previous, `at +${(nowMs - startMs) / minuteMs} min`);
      previous = app.cpuUsageCoreNanoSeconds;
      reads++;
    }
    assert.ok(reads > 15);
    const asked = fake.requests.filter((r) => r.path.endsWith('/metrics')).map((r) => r.query.interval);
    assert.ok(asked.includes('PT1H') && asked.includes('PT1M'), 'a long run is read in hours, then minutes');
  });

  it('counts a run from its own start after ACI restarts the container in place', async () => {
    onAMinute();
    const startMs = nowMs;
    const ref = await create({
      FAKE_ACI_CPU_MILLICORES: '500',
      FAKE_ACI_EXIT_CODE: '1',
      FAKE_ACI_EXIT_AFTER_SECONDS: '600',
    });
    nowMs = startMs + 12 * minuteMs + 5_000;
    const [stats] = await provider().podStats([ref]);
    const app = stats?.containers.find((c) => c.name === 'app');
    assert.equal(app?.startedAtMs, startMs + 10 * minuteMs);
    assert.equal(app?.cpuUsageCoreNanoSeconds, 500 * 2 * 60e6, 'the two minutes of this run');
  });

  it('leaves out groups that are gone, belong to another pod, or have ended', async () => {
    const ended = await provider().createPod(
      pod({
        uid: crypto.randomUUID(),
        restartPolicy: 'Never',
        containers: [container({ env: env({ FAKE_ACI_EXIT_CODE: '0', FAKE_ACI_EXIT_AFTER_SECONDS: '30' }) })],
      }),
    );
    const running = await create({});
    nowMs += 5 * minuteMs;
    const stats = await provider().podStats([
      ended,
      running,
      { ...running, podUid: 'someone-else' },
      { provider: 'aci', id: 'gone-1234abcd', podUid: 'u' },
    ]);
    assert.deepEqual(
      stats.map((s) => s.ref.id),
      [running.id],
    );
  });
});
