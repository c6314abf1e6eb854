import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { memoryLogger } from '../../../core/log.ts';
import { ApiStatusError } from '../../../core/relay/podSource.ts';
import { verify, type Poke } from '../../../core/relay/protocol.ts';
import { startRelay, type RelayOptions } from '../../../core/relay/watcher.ts';
import {
  FakeClock,
  FakePodSource,
  fakeWebhook,
  pod,
  settle,
  settleUntil,
  type WebhookReply,
} from './fakes.ts';

const secret = 'relay-unit-test-secret-0123456789abcdef';
const webhookUrl = 'https://funclet.example/api/podEvents';

/** A relay over fakes; random() is 0.5, so backoff attempt n waits exactly 125 * 2^n ms (until the cap). */
function relayOverFakes(
  options: { nodes?: string[]; reply?: (n: number) => WebhookReply; relay?: Partial<RelayOptions> } = {},
) {
  const clock = new FakeClock();
  const source = new FakePodSource();
  let n = 0;
  const webhook = fakeWebhook(clock, () => (options.reply ?? (() => 200))(n++));
  const { logger, lines } = memoryLogger();
  const start = () =>
    startRelay({
      podSource: source,
      nodes: options.nodes ?? ['vk-a'],
      webhookUrl,
      secret,
      logger,
      clock,
      random: () => 0.5,
      fetch: webhook.fetch,
      ...options.relay,
    });
  return { clock, source, webhook, lines, start };
}

const pokesOf = (requests: { batch: { events: Poke[] } }[]) => requests.flatMap((r) => r.batch.events);
const short = (p: Poke) => `${p.type} ${p.name} ${p.resourceVersion}`;

describe('the relay', () => {
  it('pokes every pod already on the node as MODIFIED from a list paged 500 at a time, and is ready once every node has listed', async () => {
    const { clock, source, webhook, start } = relayOverFakes({ nodes: ['vk-a', 'vk-b'] });
    const existing = Array.from({ length: 1200 }, (_, i) => pod(`web-${i}`, String(i + 1)));
    source.pods.set('vk-a', existing);
    source.listFailures.set('vk-b', [new ApiStatusError('etcd is busy', { statusCode: 503 })]);
    const relay = start();
    assert.equal(relay.ready(), false);

    await settleUntil('1200 pods delivered', () => pokesOf(webhook.requests).length === 1200);
    assert.deepEqual(
      source.lists.filter((l) => l.node === 'vk-a').map((l) => [l.limit, l.continue]),
      [
        [500, undefined],
        [500, '500'],
        [500, '1000'],
      ],
    );
    assert.equal(webhook.requests.length, 12, 'twelve full batches of 100, sent without waiting');
    assert.ok(webhook.requests.every((r) => r.batch.node === 'vk-a' && r.batch.events.length === 100));
    assert.ok(pokesOf(webhook.requests).every((p) => p.type === 'MODIFIED'));
    assert.deepEqual(
      new Set(pokesOf(webhook.requests).map((p) => p.uid)),
      new Set(existing.map((p) => p.uid)),
    );
    assert.equal(relay.ready(), false, 'vk-b has not listed yet');

    await clock.advance(125);
    assert.equal(relay.ready(), true, 'vk-b listed on its retry');
    await relay.stop();
  });

  it('watches from the list resourceVersion with a jittered 5-minute timeout and sends ADDED, MODIFIED and DELETED as pokes batchMaxDelayMs after the first', async () => {
    const { clock, source, webhook, start } = relayOverFakes();
    const relay = start();
    await settle();
    const watch = source.watchOf('vk-a');
    assert.equal(watch.from.resourceVersion, '100');
    assert.ok(
      watch.from.timeoutSeconds >= 300 && watch.from.timeoutSeconds <= 360,
      String(watch.from.timeoutSeconds),
    );

    const [p1, p2, p3] = [pod('p1', '101'), pod('p2', '102'), pod('p3', '103')];
    watch.send({ type: 'ADDED', pod: p1 });
    await clock.advance(100);
    watch.send({ type: 'MODIFIED', pod: p2 });
    watch.send({ type: 'DELETED', pod: p3 });
    await clock.advance(149);
    assert.equal(webhook.requests.length, 0, 'nothing before 250 ms have passed since the first poke');

    await clock.advance(1);
    assert.equal(webhook.requests.length, 1);
    const [request] = webhook.requests;
    assert.equal(request?.url, webhookUrl);
    assert.equal(request?.contentType, 'application/json');
    assert.deepEqual(request?.batch, {
      node: 'vk-a',
      events: [
        { type: 'ADDED', ...p1 },
        { type: 'MODIFIED', ...p2 },
        { type: 'DELETED', ...p3 },
      ],
    });
    assert.deepEqual(verify([secret], request.body, request.signature, clock.now()), { ok: true });
    await relay.stop();
  });

  it('does not poke a change to a pod’s status alone, as upstream virtual-kubelet does not requeue one', async () => {
    const { clock, source, webhook, start } = relayOverFakes();
    const relay = start();
    await settle();
    const watch = source.watchOf('vk-a');
    const version = (rv: string, intent: string | undefined) => ({ ...pod('p', rv), intent });
    watch.send({ type: 'ADDED', pod: version('101', 'spec-1') });
    watch.send({ type: 'ADDED', pod: { ...pod('q', '102'), intent: 'q-1' } });
    await clock.advance(250);
    watch.send({ type: 'MODIFIED', pod: version('103', 'spec-1') });
    watch.send({ type: 'MODIFIED', pod: { ...pod('q', '104'), intent: 'q-1' } });
    await clock.advance(1_000);
    assert.deepEqual(
      pokesOf(webhook.requests).map(short),
      ['ADDED p 101', 'ADDED q 102'],
      'status-only: no poke',
    );

    watch.send({ type: 'MODIFIED', pod: version('105', 'spec-2') });
    watch.send({ type: 'MODIFIED', pod: { ...pod('q', '106'), intent: undefined } });
    watch.send({ type: 'DELETED', pod: { ...pod('q', '107'), intent: 'q-1' } });
    await clock.advance(250);
    assert.deepEqual(pokesOf(webhook.requests.slice(1)).map(short), ['MODIFIED p 105', 'DELETED q 107']);
    assert.equal(source.watchOf('vk-a'), watch, 'the watch went on');
    await relay.stop();
  });

  it('sends a batch as soon as 100 pokes are pending, without waiting for the delay', async () => {
    const { clock, source, webhook, start } = relayOverFakes();
    const relay = start();
    await settle();
    const watch = source.watchOf('vk-a');
    for (let i = 0; i < 101; i++) watch.send({ type: 'ADDED', pod: pod(`p${i}`, String(200 + i)) });
    await settle();
    assert.equal(webhook.requests.length, 1);
    assert.equal(webhook.requests[0]?.batch.events.length, 100);

    await clock.advance(249);
    assert.equal(webhook.requests.length, 1, 'the 101st waits for its delay');
    await clock.advance(1);
    assert.deepEqual(webhook.requests[1]?.batch.events.map(short), ['ADDED p100 300']);
    await relay.stop();
  });

  it('keeps only the latest poke per pod within a batch, and a DELETED over anything after it', async () => {
    const { clock, source, webhook, start } = relayOverFakes();
    const relay = start();
    await settle();
    const watch = source.watchOf('vk-a');
    watch.send({ type: 'ADDED', pod: pod('a', '201') });
    watch.send({ type: 'MODIFIED', pod: pod('b', '202') });
    watch.send({ type: 'MODIFIED', pod: pod('a', '203') });
    watch.send({ type: 'DELETED', pod: pod('b', '204') });
    watch.send({ type: 'MODIFIED', pod: pod('b', '205') });
    await clock.advance(250);
    assert.deepEqual(pokesOf(webhook.requests).map(short), ['MODIFIED a 203', 'DELETED b 204']);
    await relay.stop();
  });

  it('resumes each new watch from the last resourceVersion seen, bookmarks included, without listing again', async () => {
    const { clock, source, start } = relayOverFakes();
    const relay = start();
    await settle();
    source.watchOf('vk-a').send({ type: 'BOOKMARK', resourceVersion: '150' });
    source.watchOf('vk-a').end();
    await settle();
    assert.equal(source.watchOf('vk-a').from.resourceVersion, '150');

    source.watchOf('vk-a').send({ type: 'MODIFIED', pod: pod('p', '160') });
    source.watchOf('vk-a').send({ type: 'BOOKMARK', resourceVersion: '170' });
    source.watchOf('vk-a').end();
    await settle();
    assert.equal(source.watchOf('vk-a').from.resourceVersion, '170');
    assert.equal(source.lists.length, 1, 'a watch that ends normally is resumed, not relisted');
    assert.equal(clock.now() - 1_700_000_000_000, 0, 'and resumed at once');
    await relay.stop();
  });

  it('backs off instead of spinning when watches end at once without a single event', async () => {
    const { clock, source, start } = relayOverFakes();
    const relay = start();
    await settle();
    source.watchOf('vk-a').end();
    await settle();
    assert.equal(source.watchAttempts, 1, 'not reopened at once');
    await clock.advance(125);
    assert.equal(source.watchAttempts, 2);
    assert.equal(source.watchOf('vk-a').from.resourceVersion, '100');
    await relay.stop();
  });

  it('on 410 Gone lists the node again, pokes every pod, and pokes pods that vanished meanwhile as DELETED', async () => {
    const { clock, source, webhook, start } = relayOverFakes();
    const [kept, vanished, born] = [pod('kept', '10'), pod('vanished', '11'), pod('born', '190')];
    source.pods.set('vk-a', [kept, vanished]);
    const relay = start();
    await clock.advance(250);
    assert.deepEqual(pokesOf(webhook.requests).map(short), ['MODIFIED kept 10', 'MODIFIED vanished 11']);

    source.pods.set('vk-a', [{ ...kept, resourceVersion: '180' }, born]);
    source.listResourceVersion = '200';
    source.watchOf('vk-a').expire();
    await clock.advance(250);
    assert.deepEqual(pokesOf(webhook.requests.slice(1)).map(short), [
      'MODIFIED kept 180',
      'MODIFIED born 190',
      'DELETED vanished 200',
    ]);
    assert.equal(source.lists.length, 2);
    assert.equal(source.watchOf('vk-a').from.resourceVersion, '200', 'the new watch starts at the relist');

    // The same when the 410 comes as the HTTP status of the watch request itself.
    source.watchOf('vk-a').send({ type: 'MODIFIED', pod: { ...born, resourceVersion: '210' } });
    await clock.advance(250);
    source.watchOf('vk-a').fail(new ApiStatusError('too old', { statusCode: 410 }));
    await clock.advance(250);
    assert.equal(source.lists.length, 3);
    assert.deepEqual(pokesOf(webhook.requests.slice(3)).map(short), [
      'MODIFIED kept 180',
      'MODIFIED born 190',
    ]);
    await relay.stop();
  });

  it('backs off between relists when every watch after a relist answers 410 at once', async () => {
    const { clock, source, start } = relayOverFakes();
    const relay = start();
    await settle();
    const gone = () => new ApiStatusError('too old', { statusCode: 410 });
    source.watchFailures.push(gone(), gone(), gone());
    source.watchOf('vk-a').expire();
    await settle();
    assert.equal(source.lists.length, 2, 'the first 410 relists at once');
    await clock.advance(499);
    assert.equal(source.lists.length, 2, 'the second waits (500 ms at this jitter)');
    await clock.advance(1);
    assert.equal(source.lists.length, 3);
    await clock.advance(999);
    assert.equal(source.lists.length, 3, 'the third waits longer still');
    await clock.advance(1);
    assert.equal(source.lists.length, 4);
    await relay.stop();
  });

  it('retries a failing watch with backoff, reports unhealthy after two minutes of failures, and healthy again once it reopens', async () => {
    const { clock, source, start, lines } = relayOverFakes();
    const relay = start();
    await settle();
    assert.equal(relay.healthy(), true);
    source.watchOf('vk-a').send({ type: 'BOOKMARK', resourceVersion: '140' });
    source.failEveryWatchWith = new Error('connect ECONNREFUSED');
    source.watchOf('vk-a').fail(new Error('socket hang up'));
    await settle();
    assert.equal(source.watchAttempts, 1);
    await clock.advance(124);
    assert.equal(source.watchAttempts, 1, 'first retry waits 125 ms (half of 250, by the jitter)');
    await clock.advance(1);
    assert.equal(source.watchAttempts, 2);
    await clock.advance(249);
    assert.equal(source.watchAttempts, 2, 'second retry waits 250 ms');
    await clock.advance(1);
    assert.equal(source.watchAttempts, 3);

    await clock.advance(115_000);
    assert.equal(relay.healthy(), true, 'under two minutes of failures');
    await clock.advance(6_000);
    assert.equal(relay.healthy(), false, 'over two minutes of failures');
    assert.ok(lines.some((l) => l.level === 'warn' && l.message === 'pod watch failed; retrying'));

    source.failEveryWatchWith = undefined;
    await clock.advance(15_000);
    assert.equal(relay.healthy(), true);
    assert.equal(source.watchOf('vk-a').from.resourceVersion, '140', 'resumed where it was, no relist');
    assert.equal(source.lists.length, 1);
    await relay.stop();
  });

  it('retries a batch the webhook answers 503 with backoff, signing each attempt afresh over the same body', async () => {
    const { clock, source, webhook, start } = relayOverFakes({ reply: (n) => (n < 2 ? 503 : 200) });
    const relay = start();
    await settle();
    source.watchOf('vk-a').send({ type: 'ADDED', pod: pod('p', '300') });
    await clock.advance(250);
    assert.equal(webhook.requests.length, 1);
    await clock.advance(124);
    assert.equal(webhook.requests.length, 1);
    await clock.advance(1);
    assert.equal(webhook.requests.length, 2, 'retried after 125 ms');
    await clock.advance(249);
    assert.equal(webhook.requests.length, 2);
    await clock.advance(1);
    assert.equal(webhook.requests.length, 3, 'retried again after 250 ms, and accepted');
    await clock.advance(60_000);
    assert.equal(webhook.requests.length, 3, 'not sent again once accepted');

    const [first, second, third] = webhook.requests;
    assert.ok(first && second && third);
    assert.equal(second.body, first.body);
    assert.equal(third.body, first.body);
    assert.equal(new Set([first.signature, second.signature, third.signature]).size, 3);
    for (const r of webhook.requests) {
      assert.match(r.signature ?? '', new RegExp(`^t=${r.atMs},v1=`));
      assert.deepEqual(verify([secret], r.body, r.signature, r.atMs), { ok: true });
    }
    await relay.stop();
  });

  it('retries network failures and 429, waiting as long as Retry-After asks', async () => {
    const { clock, source, webhook, start } = relayOverFakes({
      reply: (n) =>
        n === 0
          ? new TypeError('fetch failed')
          : n === 1
            ? new Response('slow down', { status: 429, headers: { 'retry-after': '3' } })
            : 200,
    });
    const relay = start();
    await settle();
    source.watchOf('vk-a').send({ type: 'ADDED', pod: pod('p', '300') });
    await clock.advance(250 + 125);
    assert.equal(webhook.requests.length, 2, 'a network failure is retried');
    await clock.advance(2_999);
    assert.equal(webhook.requests.length, 2, 'Retry-After: 3 holds the next attempt for 3 s');
    await clock.advance(1);
    assert.equal(webhook.requests.length, 3);
    await relay.stop();
  });

  it('drops a batch the webhook refuses with 400, logs it, and goes on with the next', async () => {
    const { clock, source, webhook, lines, start } = relayOverFakes({ reply: (n) => (n === 0 ? 400 : 200) });
    const relay = start();
    await settle();
    source.watchOf('vk-a').send({ type: 'ADDED', pod: pod('p', '300') });
    await clock.advance(250);
    await clock.advance(60_000);
    assert.equal(webhook.requests.length, 1, 'never retried');
    const refusal = lines.find((l) => l.level === 'error');
    assert.equal(refusal?.message, 'webhook refused a batch of pokes; dropping it (podResync will catch up)');
    assert.equal((refusal?.data as { status?: number }).status, 400);

    source.watchOf('vk-a').send({ type: 'MODIFIED', pod: pod('p', '301') });
    await clock.advance(250);
    assert.deepEqual(pokesOf(webhook.requests.slice(1)).map(short), ['MODIFIED p 301']);
    await relay.stop();
  });

  it('delivers a pod’s pokes in order: its next poke waits for the batch in flight, other pods do not', async () => {
    let release!: (status: number) => void;
    const held = new Promise<number>((resolve) => (release = resolve));
    const { clock, source, webhook, start } = relayOverFakes({ reply: (n) => (n === 0 ? held : 200) });
    const relay = start();
    await settle();
    source.watchOf('vk-a').send({ type: 'ADDED', pod: pod('first', '301') });
    await clock.advance(250);
    source.watchOf('vk-a').send({ type: 'MODIFIED', pod: pod('first', '302') });
    source.watchOf('vk-a').send({ type: 'ADDED', pod: pod('second', '303') });
    await clock.advance(5_000);
    assert.deepEqual(
      webhook.requests.map((r) => r.batch.events.map(short)),
      [['ADDED first 301'], ['ADDED second 303']],
      'second overtakes the batch in flight; first’s next poke does not',
    );

    release(200);
    await settle();
    assert.deepEqual(webhook.requests[2]?.batch.events.map(short), ['MODIFIED first 302']);
    await relay.stop();
  });

  it('keeps at most batchMaxInFlight requests in flight per node', async () => {
    const releases: ((status: number) => void)[] = [];
    const { clock, source, webhook, start } = relayOverFakes({
      reply: () => new Promise<number>((resolve) => releases.push(resolve)),
      relay: { batchMaxInFlight: 2, batchMaxEvents: 1 },
    });
    const relay = start();
    await settle();
    for (let i = 0; i < 5; i++)
      source.watchOf('vk-a').send({ type: 'ADDED', pod: pod(`p${i}`, String(i + 1)) });
    await clock.advance(1_000);
    assert.equal(webhook.requests.length, 2);
    releases[0]!(200);
    await settle();
    assert.equal(webhook.requests.length, 3, 'one returned, one more goes');
    for (let i = 1; i < 5; i++) {
      releases[i]?.(200);
      await settle();
    }
    assert.deepEqual(
      pokesOf(webhook.requests).map((p) => p.name),
      ['p0', 'p1', 'p2', 'p3', 'p4'],
    );
    await relay.stop();
  });

  it('pokes a pod podEvents asks about again once, at the earliest delay asked for', async () => {
    const p = pod('starting', '101');
    const asking = (afterMs: number) =>
      new Response(JSON.stringify({ results: [], recheck: [{ ...p, afterMs }] }), { status: 200 });
    const replies = [asking(1_000), asking(300)];
    const { clock, source, webhook, start } = relayOverFakes({ reply: (n) => replies[n] ?? 200 });
    const relay = start();
    await settle();
    source.watchOf('vk-a').send({ type: 'ADDED', pod: p });
    await clock.advance(250);
    source.watchOf('vk-a').send({ type: 'MODIFIED', pod: { ...p, resourceVersion: '102' } });
    await clock.advance(250);
    assert.equal(webhook.requests.length, 2, 'both answers asked for a recheck');

    await clock.advance(300 + 250);
    await clock.advance(5_000);
    assert.deepEqual(
      webhook.requests.map((r) => r.batch.events.map(short)),
      [['ADDED starting 101'], ['MODIFIED starting 102'], ['RECHECK starting 101']],
      'one recheck, after 300 ms: the later one asked for is dropped',
    );
    await relay.stop();
  });

  it('sends again at once the pokes podEvents had no time to start, only those of the answered batch, a newer one instead', async () => {
    const a = pod('a', '11');
    const b = pod('b', '21');
    const c = pod('c', '31');
    const stranger = pod('stranger', '5');
    let release: () => void = () => {};
    const replies: WebhookReply[] = [
      new Promise<Response>((resolve) => {
        release = () =>
          resolve(
            new Response(JSON.stringify({ results: [], resend: [a.uid, c.uid, stranger.uid] }), {
              status: 200,
            }),
          );
      }),
    ];
    const { clock, source, webhook, start } = relayOverFakes({ reply: (n) => replies[n] ?? 200 });
    const relay = start();
    await settle();
    for (const p of [a, b, c]) source.watchOf('vk-a').send({ type: 'ADDED', pod: p });
    await clock.advance(250);
    // While the batch is out, c changes: its newer poke is what goes, not the one handed back.
    source
      .watchOf('vk-a')
      .send({ type: 'MODIFIED', pod: { ...c, resourceVersion: '32', intent: 'changed' } });
    release();
    await settle();
    await clock.advance(250);
    assert.deepEqual(
      webhook.requests.map((r) => r.batch.events.map(short)),
      [
        ['ADDED a 11', 'ADDED b 21', 'ADDED c 31'],
        ['MODIFIED c 32', 'ADDED a 11'],
      ],
    );
    await relay.stop();
  });

  it('rechecks only pods the answered batch poked and the node’s watch still has', async () => {
    const p = pod('starting', '101');
    const stranger = pod('not-on-this-node', '5');
    const gone = pod('gone-by-then', '7');
    // The answer asks for the poked pod, a pod the relay never saw, and the poked pod under
    // another name; later a pod that left the node before its recheck was due.
    const replies: WebhookReply[] = [
      new Response(
        JSON.stringify({
          results: [],
          recheck: [
            { ...p, afterMs: 100 },
            { ...stranger, afterMs: 100 },
            { ...p, name: 'renamed', afterMs: 100 },
            { ...gone, afterMs: 1_000 },
          ],
        }),
        { status: 200 },
      ),
    ];
    const { clock, source, webhook, start } = relayOverFakes({ reply: (n) => replies[n] ?? 200 });
    const relay = start();
    await settle();
    source.watchOf('vk-a').send({ type: 'ADDED', pod: p });
    source.watchOf('vk-a').send({ type: 'ADDED', pod: gone });
    await clock.advance(250);
    source.watchOf('vk-a').send({ type: 'DELETED', pod: { ...gone, resourceVersion: '8' } });
    await clock.advance(5_000);
    assert.deepEqual(
      webhook.requests.map((r) => r.batch.events.map(short)),
      [
        ['ADDED starting 101', 'ADDED gone-by-then 7'],
        ['DELETED gone-by-then 8', 'RECHECK starting 101'],
      ],
    );
    await relay.stop();
  });

  it('sends the function key as x-functions-key, never in the URL', async () => {
    const { clock, source, webhook, start } = relayOverFakes({ relay: { functionKey: 'the-function-key' } });
    const relay = start();
    await settle();
    source.watchOf('vk-a').send({ type: 'ADDED', pod: pod('keyed', '1') });
    await clock.advance(250);
    assert.equal(webhook.requests.length, 1);
    assert.equal(webhook.requests[0]!.functionKey, 'the-function-key');
    assert.equal(webhook.requests[0]!.url, webhookUrl);
    await relay.stop();
  });

  it('refuses a webhook URL over plain http except to loopback, and a key in the URL', () => {
    const problems = (url: string) => {
      try {
        startRelay({
          podSource: new FakePodSource(),
          nodes: ['vk-a'],
          webhookUrl: url,
          secret,
          logger: memoryLogger().logger,
        })
          .stop()
          .catch(() => undefined);
        return [];
      } catch (err) {
        return (err as { settings?: string[] }).settings ?? ['?'];
      }
    };
    assert.deepEqual(problems('http://funclet.example/api/podEvents'), ['webhookUrl']);
    assert.deepEqual(problems('http://10.0.0.4:7071/api/podEvents'), ['webhookUrl']);
    assert.deepEqual(problems('https://funclet.example/api/podEvents?code=abc'), ['webhookUrl']);
    assert.deepEqual(problems('http://127.0.0.1:7071/api/podEvents'), []);
    assert.deepEqual(problems('http://[::1]:7071/api/podEvents'), []);
    assert.deepEqual(problems('http://localhost:7071/api/podEvents'), []);
  });

  it('batches each node apart: a pod on another node never reaches this node’s batches', async () => {
    const { clock, source, webhook, start } = relayOverFakes({ nodes: ['vk-a', 'vk-b'] });
    const relay = start();
    await settle();
    source.watchOf('vk-a').send({ type: 'ADDED', pod: pod('on-a', '401') });
    source.watchOf('vk-b').send({ type: 'ADDED', pod: pod('on-b', '402') });
    await clock.advance(250);
    const byNode = Object.fromEntries(
      webhook.requests.map((r) => [r.batch.node, r.batch.events.map((e) => e.name)]),
    );
    assert.deepEqual(byNode, { 'vk-a': ['on-a'], 'vk-b': ['on-b'] });
    assert.equal(webhook.requests.length, 2);
    await relay.stop();
  });

  it('stop() ends the watches, sends what is pending at once, and resolves', async () => {
    const { source, webhook, start } = relayOverFakes();
    const relay = start();
    await settle();
    const watch = source.watchOf('vk-a');
    watch.send({ type: 'ADDED', pod: pod('late', '501') });
    await relay.stop();
    assert.equal(watch.closed, true);
    assert.deepEqual(pokesOf(webhook.requests).map(short), ['ADDED late 501']);
    assert.equal(source.watches.length, 1, 'no watch is reopened after stop');
  });

  it('stop() gives up on a webhook that stays down after stopFlushTimeoutMs, and says how much was lost', async () => {
    const { clock, source, lines, start } = relayOverFakes({ reply: () => 503 });
    const relay = start();
    await settle();
    source.watchOf('vk-a').send({ type: 'ADDED', pod: pod('doomed', '601') });
    let stopped = false;
    const stopping = relay.stop().then(() => (stopped = true));
    await clock.advance(4_000);
    assert.equal(stopped, false, 'still trying within the flush bound');
    await clock.advance(1_000);
    await stopping;
    const lost = lines.find((l) => l.message === 'relay stopped with undelivered pokes');
    assert.deepEqual(lost?.data, { pokes: 1 });
    assert.equal(clock.pendingTimers, 0, 'no timer left behind');
  });

  it('refuses options it cannot run with, naming each', () => {
    assert.throws(
      () =>
        startRelay({
          nodes: ['Not_A_Node'],
          webhookUrl: 'ftp://x',
          secret: '',
          logger: memoryLogger().logger,
          batchMaxEvents: 101,
        }),
      (err: Error & { settings?: string[] }) => {
        assert.deepEqual(err.settings, ['kubeConfig', 'nodes', 'webhookUrl', 'secret', 'batchMaxEvents']);
        return true;
      },
    );
  });
});
