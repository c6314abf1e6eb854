/**
 * Container logs from ACI, through the real Azure SDK against the fake ARM server: output that
 * containers script through their env, read as kubectl asks for it and followed by cursor.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { InvalidInputError, NotFoundError } from '../../../core/errors.ts';
import { cursorAt, parseAciLog, positionOf } from '../../../core/providers/aci/logs.ts';
import { logStamp } from '../../../core/providers/log-lines.ts';
import type { EnvVar, ResolvedPod } from '../../../core/providers/types.ts';
import { startFakeAci, type FakeAci } from '../../fakes/aci/server.ts';
import { container, pod, providerFor } from './support.ts';

const env = (vars: Record<string, string>): EnvVar[] =>
  Object.entries(vars).map(([name, value]) => ({ name, value, secret: false }));

describe('ACI container logs', () => {
  let fake: FakeAci;
  let nowMs = Date.UTC(2026, 11, 1, 20, 0, 0);
  /** A provider object of its own, as a new function instance would build. */
  const provider = () => providerFor(fake).provider;

  before(async () => {
    fake = await startFakeAci({ now: () => nowMs });
  });
  after(() => fake.close());

  const scripted = (vars: Record<string, string>, overrides: Partial<ResolvedPod> = {}) =>
    pod({
      uid: crypto.randomUUID(),
      containers: [container({ name: 'app', env: env(vars) }), container({ name: 'sidecar' })],
      ...overrides,
    });

  it('reads what a container wrote, with tail, since, timestamps and a byte limit applied', async () => {
    const startedAtMs = nowMs;
    const ref = await provider().createPod(
      scripted({ FAKE_ACI_LOG_LINES: 'starting\nlistening on :80', FAKE_ACI_LOG_EVERY_SECONDS: '10' }),
    );
    nowMs += 35_000;
    const read = async (request: Parameters<ReturnType<typeof provider>['containerLogs']>[2]) =>
      (await provider().containerLogs(ref, 'app', request)).text;
    assert.equal(await read({}), 'starting\nlistening on :80\napp tick 1\napp tick 2\napp tick 3\n');
    assert.equal(await read({ tailLines: 2 }), 'app tick 2\napp tick 3\n');
    assert.equal(await read({ tailLines: 0 }), '');
    assert.equal(await read({ sinceMs: startedAtMs + 15_000 }), 'app tick 2\napp tick 3\n');
    assert.equal(
      await read({ sinceMs: startedAtMs, tailLines: 4 }),
      'listening on :80\napp tick 1\napp tick 2\napp tick 3\n',
    );
    assert.equal(
      await read({ tailLines: 1, timestamps: true }),
      `${logStamp(startedAtMs + 30_000)} app tick 3\n`,
    );
    assert.equal(await read({ limitBytes: 12 }), 'starting\nlis');
    assert.equal((await provider().containerLogs(ref, 'sidecar', {})).text, '', 'the sidecar wrote nothing');
  });

  it('follows from each cursor with a new provider object each time, every line once', async () => {
    const ref = await provider().createPod(
      scripted({ FAKE_ACI_LOG_LINES: 'a\nb', FAKE_ACI_LOG_EVERY_SECONDS: '1' }),
    );
    let cursor: string | undefined;
    let seen = '';
    for (let step = 0; step < 30; step++) {
      nowMs += 700;
      const chunk = await provider().containerLogs(
        ref,
        'app',
        cursor === undefined ? { tailLines: 1 } : { cursor },
      );
      seen += chunk.text;
      cursor = chunk.cursor;
    }
    const whole = (await provider().containerLogs(ref, 'app', {})).text;
    assert.equal(whole.split('\n').length - 1, 2 + 21);
    assert.equal(seen, whole.slice(whole.indexOf('b\n')), 'from the tail line on, all of it, once');
  });

  it('asks for the last lines when following, and for the whole log only when they do not reach back', async () => {
    const ref = await provider().createPod(scripted({ FAKE_ACI_LOG_EVERY_SECONDS: '1' }));
    nowMs += 5_000;
    const first = await provider().containerLogs(ref, 'app', {});
    nowMs += 1_500_000; // 1500 more lines: more than one follow read's tail
    fake.resetRequests();
    const next = await provider().containerLogs(ref, 'app', { cursor: first.cursor });
    const lines = next.text.split('\n').slice(0, -1);
    assert.equal(lines.length, 1500);
    assert.equal(lines[0], 'app tick 6');
    const logReads = fake.requests.filter((r) => r.path.endsWith('/logs'));
    assert.deepEqual(
      logReads.map((r) => [r.query.tail, r.query.timestamps]),
      [
        ['1000', 'true'],
        [undefined, 'true'],
      ],
    );
    nowMs += 3_000;
    fake.resetRequests();
    assert.equal(
      (await provider().containerLogs(ref, 'app', { cursor: next.cursor })).text,
      'app tick 1506\napp tick 1507\napp tick 1508\n',
    );
    assert.equal(fake.countRequests({ path: '/logs' }), 1);
  });

  it('goes on after a line a byte limit cut', async () => {
    const ref = await provider().createPod(
      scripted({ FAKE_ACI_LOG_LINES: 'first line\nsecond line\nthird line' }),
    );
    const cut = await provider().containerLogs(ref, 'app', { limitBytes: 15 });
    assert.equal(cut.text, 'first line\nseco');
    assert.equal((await provider().containerLogs(ref, 'app', { cursor: cut.cursor })).text, 'third line\n');
  });

  it('answers only the current run after ACI restarts a container in place, and follows into it', async () => {
    const ref = await provider().createPod(
      scripted({
        FAKE_ACI_LOG_LINES: 'run starts',
        FAKE_ACI_EXIT_CODE: '1',
        FAKE_ACI_EXIT_AFTER_SECONDS: '10',
      }),
    );
    nowMs += 5_000;
    const during = await provider().containerLogs(ref, 'app', {});
    assert.equal(during.text, 'run starts\n');
    nowMs += 10_000; // restarted (restartPolicy Always) 10 s after it started
    assert.equal((await provider().getPod(ref))?.containers[0]?.restartCount, 1);
    const after = await provider().containerLogs(ref, 'app', { timestamps: true });
    assert.equal(after.text.split('\n').length - 1, 1, 'the first run is gone');
    assert.equal(
      (await provider().containerLogs(ref, 'app', { cursor: during.cursor })).text,
      'run starts\n',
    );
  });

  it('is NotFoundError for a group or a container that does not exist, InvalidInputError for a bad cursor', async () => {
    await assert.rejects(
      provider().containerLogs({ provider: 'aci', id: 'gone-1234abcd', podUid: 'u' }, 'app', {}),
      NotFoundError,
    );
    const ref = await provider().createPod(scripted({}));
    await assert.rejects(provider().containerLogs(ref, 'nope', {}), NotFoundError);
    await assert.rejects(provider().containerLogs(ref, 'app', { cursor: 'not-a-cursor' }), InvalidInputError);
  });
});

describe('ACI log cursors', () => {
  const stamp = (s: number) => logStamp(Date.UTC(2026, 11, 1) + s * 1000);
  // Lines written in bursts: several share a time.
  const lines = [0, 1, 1, 1, 2, 3, 3].map((s, i) => ({ stamp: stamp(s), text: `l${i}` }));

  it('name every position by a line time and a count, and find it again', () => {
    for (let p = 0; p <= lines.length; p++)
      assert.equal(positionOf(lines, cursorAt(lines, p)), p, `position ${p}`);
    assert.deepEqual(cursorAt([], 0), { at: '', n: 0 });
    assert.equal(positionOf(lines, { at: '', n: 0 }), 0);
  });

  it('find their place in a shorter window of the same log, and after lines that came later', () => {
    const cursor = cursorAt(lines, 3); // after two of the three lines at second 1
    assert.equal(positionOf(lines.slice(1), cursor), 2);
    assert.equal(positionOf([...lines, { stamp: stamp(9), text: 'new' }], cursor), 3);
    assert.equal(
      positionOf([{ stamp: stamp(5), text: 'next run' }], cursor),
      0,
      'a later run is all after it',
    );
  });

  it("parse ACI's timestamped lines, whatever the precision", () => {
    assert.deepEqual(parseAciLog('2026-12-01T20:00:00.1234567Z hello world\n2026-12-01T20:00:01Z \n'), [
      { stamp: '2026-12-01T20:00:00.123456700Z', text: 'hello world' },
      { stamp: '2026-12-01T20:00:01.000000000Z', text: '' },
    ]);
  });
});
