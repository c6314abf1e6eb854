/**
 * The relay's queue depth as a gauge: pods whose poke waits in the relay while podEvents is
 * slow to answer, per node, read whenever metrics are collected.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { memoryLogger } from '../../../core/log.ts';
import { MetricName } from '../../../core/telemetry/metrics.ts';
import { startRelay } from '../../../core/relay/watcher.ts';
import { FakeClock, FakePodSource, fakeWebhook, pod, settleUntil } from '../relay/fakes.ts';
import { installTelemetry, type Telemetry } from './inMemory.ts';

describe('the relay queue depth metric', () => {
  let telemetry: Telemetry;
  before(() => {
    telemetry = installTelemetry();
  });
  after(() => telemetry.uninstall());

  const depth = async (node: string) =>
    (await telemetry.points(MetricName.relayQueueDepth)).find((p) => p.attributes.node === node)?.value;

  it('reports the pods waiting per node while a batch is held, and none once it is delivered', async () => {
    const clock = new FakeClock();
    const source = new FakePodSource();
    source.pods.set(
      'vk-a',
      Array.from({ length: 5 }, (_, i) => pod(`web-${i}`, String(i + 1))),
    );
    source.pods.set('vk-b', []);
    let release: (status: number) => void = () => undefined;
    const held = new Promise<number>((resolve) => (release = resolve));
    const webhook = fakeWebhook(clock, () => held);
    const relay = startRelay({
      podSource: source,
      nodes: ['vk-a', 'vk-b'],
      webhookUrl: 'https://funclet.example/api/podEvents',
      secret: 'relay-unit-test-secret-0123456789abcdef',
      logger: memoryLogger().logger,
      clock,
      random: () => 0.5,
      fetch: webhook.fetch,
      batchMaxEvents: 2,
      batchMaxInFlight: 1,
    });
    try {
      await settleUntil('the first batch sent', () => webhook.requests.length === 1);
      assert.equal(webhook.requests[0]?.batch.events.length, 2);
      assert.equal(await depth('vk-a'), 3, 'three pods wait behind the batch in flight');
      assert.equal(await depth('vk-b'), 0);

      release(200);
      const sent = () => webhook.requests.flatMap((r) => r.batch.events).length;
      for (let i = 0; i < 10 && sent() < 5; i++) await clock.advance(300);
      assert.equal(sent(), 5, 'every poke sent');
      assert.equal(await depth('vk-a'), 0);
    } finally {
      release(200);
      await relay.stop();
    }
    // Once stopped the relay no longer reports: no point for its nodes in a fresh collection.
    await telemetry.reset();
    assert.equal(await depth('vk-a'), undefined);
  });
});
