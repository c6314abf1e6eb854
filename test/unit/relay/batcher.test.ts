import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { memoryLogger } from '../../../core/log.ts';
import { PokeBatcher } from '../../../core/relay/batcher.ts';
import type { Poke, PokeBatch } from '../../../core/relay/protocol.ts';
import { FakeClock, pod, settle } from './fakes.ts';

const poke = (type: Poke['type'], name: string, resourceVersion: string): Poke => ({
  type,
  ...pod(name, resourceVersion),
});

/** A batcher whose deliveries stay in flight until the test releases them. */
function heldBatcher(options: { maxEvents?: number; maxPending?: number; maxInFlight?: number } = {}) {
  const clock = new FakeClock();
  const { logger, lines } = memoryLogger();
  const sent: PokeBatch[] = [];
  const releases: (() => void)[] = [];
  const batcher = new PokeBatcher({
    node: 'vk-a',
    maxEvents: options.maxEvents ?? 100,
    maxDelayMs: 250,
    maxInFlight: options.maxInFlight ?? 1,
    maxPending: options.maxPending ?? 10_000,
    clock,
    logger,
    deliver: (batch) => {
      sent.push(batch);
      return new Promise<void>((resolve) => releases.push(resolve));
    },
  });
  /** Lets the n-th batch sent (0-based) return. */
  const release = async (n: number) => {
    releases[n]!();
    await settle();
  };
  const releaseAll = async () => {
    for (let i = 0; i < releases.length; i++) {
      releases[i]!();
      await settle();
    }
  };
  return { batcher, clock, sent, lines, release, releaseAll };
}

describe('the per-node poke batcher', () => {
  it('holds at most maxPending pods while the webhook is down: repeats collapse by UID, and beyond the bound the oldest go', async () => {
    const { batcher, clock, sent, lines, releaseAll } = heldBatcher({ maxPending: 150 });
    for (let i = 0; i < 100; i++) batcher.add(poke('ADDED', `first-${i}`, '1'));
    assert.equal(sent.length, 1, 'the first 100 went out and are stuck in flight');

    for (let round = 0; round < 50; round++) {
      for (let i = 0; i < 100; i++) batcher.add(poke('MODIFIED', `busy-${i}`, String(round)));
    }
    assert.equal(batcher.pendingCount, 100, '5,000 changes to 100 pods are 100 pending pokes');

    for (let i = 0; i < 300; i++) batcher.add(poke('DELETED', `churn-${i}`, '9'));
    assert.equal(batcher.pendingCount, 150, 'never more than maxPending');
    assert.ok(lines.some((l) => l.level === 'warn' && /dropping the oldest pokes/.test(String(l.message))));

    await releaseAll();
    await clock.advance(250);
    await releaseAll();
    const names = sent.slice(1).flatMap((b) => b.events.map((e) => e.name));
    assert.deepEqual(
      names,
      Array.from({ length: 150 }, (_, i) => `churn-${150 + i}`),
      'the newest 150 pods survive',
    );
  });

  it('sends the latest poke of a pod that changed while it waited, and never replaces a DELETED', async () => {
    const { batcher, clock, sent } = heldBatcher();
    batcher.add(poke('ADDED', 'p', '1'));
    batcher.add(poke('MODIFIED', 'p', '2'));
    batcher.add(poke('MODIFIED', 'q', '3'));
    batcher.add(poke('DELETED', 'q', '4'));
    batcher.add(poke('ADDED', 'q', '5'));
    await clock.advance(250);
    assert.deepEqual(
      sent[0]?.events.map((e) => `${e.type} ${e.name} ${e.resourceVersion}`),
      ['MODIFIED p 2', 'DELETED q 4'],
    );
  });

  it('times a batch from its oldest poke, so pokes that queued behind a slow delivery go as soon as it returns', async () => {
    const { batcher, clock, sent, releaseAll } = heldBatcher();
    batcher.add(poke('ADDED', 'a', '1'));
    await clock.advance(250);
    batcher.add(poke('ADDED', 'b', '2'));
    await clock.advance(1_000);
    assert.equal(sent.length, 1);
    await releaseAll();
    assert.deepEqual(
      sent[1]?.events.map((e) => e.name),
      ['b'],
      'b had already waited 1 s: no further delay',
    );
  });

  it('keeps up to maxInFlight batches in flight, and never a pod in two: its next poke follows once its batch returns', async () => {
    const { batcher, clock, sent, release } = heldBatcher({ maxEvents: 2, maxInFlight: 2 });
    batcher.add(poke('ADDED', 'a', '1'));
    batcher.add(poke('ADDED', 'b', '1'));
    batcher.add(poke('MODIFIED', 'a', '2'));
    batcher.add(poke('ADDED', 'c', '1'));
    await clock.advance(250);
    assert.deepEqual(
      sent.map((b) => b.events.map((e) => `${e.name} ${e.resourceVersion}`)),
      [['a 1', 'b 1'], ['c 1']],
      'a 2 waits: a is in flight',
    );
    for (const name of ['d', 'e', 'f']) batcher.add(poke('ADDED', name, '1'));
    await clock.advance(1_000);
    assert.equal(sent.length, 2, 'two in flight: nothing more goes');

    await release(1);
    assert.deepEqual(
      sent[2]?.events.map((e) => `${e.name} ${e.resourceVersion}`),
      ['d 1', 'e 1'],
      'a slot freed: the oldest pods that are not in flight go, a 2 still waits for its batch',
    );
    await release(0);
    assert.deepEqual(
      sent[3]?.events.map((e) => `${e.name} ${e.resourceVersion}`),
      ['a 2', 'f 1'],
      'once its first batch returned, a 2 goes, oldest first',
    );
    assert.equal(batcher.pendingCount, 0);
  });

  it('drain() sends everything pending without waiting for the delay, one batch after another', async () => {
    const { batcher, sent, releaseAll } = heldBatcher({ maxEvents: 2 });
    for (const name of ['a', 'b', 'c', 'd', 'e']) batcher.add(poke('ADDED', name, '1'));
    const drained = batcher.drain();
    await settle();
    assert.equal(sent.length, 1, 'still one at a time');
    await releaseAll();
    await drained;
    assert.deepEqual(
      sent.map((b) => b.events.map((e) => e.name)),
      [['a', 'b'], ['c', 'd'], ['e']],
    );
    assert.equal(batcher.pendingCount, 0);
  });
});
