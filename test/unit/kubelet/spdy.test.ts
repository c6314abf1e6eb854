import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { deflateSync, constants } from 'node:zlib';
import { describe, it } from 'node:test';
import {
  SpdyProtocolError,
  SpdyReader,
  SpdyWriter,
  spdyHeaderDictionary,
  type SpdyFrame,
} from '../../../core/kubelet/spdy.ts';

interface Capture {
  sessions: {
    request: { url: string; headers: Record<string, string> };
    chunks: { from: 'apiserver' | 'kubelet'; hex: string }[];
  }[];
}

/** Bytes kube-apiserver 1.34 sent and accepted, translating kubectl 1.32 exec (see the file's "about"). */
const capture = JSON.parse(
  readFileSync(new URL('./fixtures/spdy-exec-capture.json', import.meta.url), 'utf8'),
) as Capture;

const session = (command: string) => {
  const found = capture.sessions.find((s) => s.request.url.includes(`command=${command}`));
  assert.ok(found, `the capture has the ${command} session`);
  return found;
};

function framesFrom(chunks: Buffer[]): SpdyFrame[] {
  const reader = new SpdyReader();
  return chunks.flatMap((c) => reader.push(c));
}

const sent = (s: Capture['sessions'][number], from: 'apiserver' | 'kubelet') =>
  s.chunks.filter((c) => c.from === from).map((c) => Buffer.from(c.hex, 'hex'));

/** The frames without the bytes that do not matter to the reader of a test. */
const summary = (frames: SpdyFrame[]) =>
  frames.map((f) =>
    f.type === 'synStream'
      ? `syn ${f.streamId} ${f.headers.streamtype?.join(',')}`
      : f.type === 'data'
        ? `data ${f.streamId}${f.fin ? ' fin' : ''} ${JSON.stringify(f.data.toString('utf8'))}`
        : f.type === 'rstStream'
          ? `rst ${f.streamId} ${f.status}`
          : f.type,
  );

describe('SPDY/3.1 framing against frames captured from the API server', () => {
  it('reads the streams the API server opens for exec, in the order it opens them', () => {
    assert.deepEqual(summary(framesFrom(sent(session('echo'), 'apiserver'))), [
      'syn 1 error',
      'syn 3 stdout',
      'syn 5 stderr',
    ]);
  });

  it('reads stdin with its end, and the API server resetting its streams once it has the status', () => {
    assert.deepEqual(summary(framesFrom(sent(session('cat'), 'apiserver'))), [
      'syn 1 error',
      'syn 3 stdin',
      'syn 5 stdout',
      'syn 7 stderr',
      'data 3 "hello stdin\\n"',
      'data 3 fin ""',
      'rst 1 5',
      'rst 5 5',
      'rst 7 5',
    ]);
  });

  it('reads the terminal size a tty session reports first', () => {
    assert.deepEqual(summary(framesFrom(sent(session('tty'), 'apiserver'))), [
      'syn 1 error',
      'syn 3 stdin',
      'syn 5 stdout',
      'syn 7 resize',
      'data 7 "{\\"Width\\":100,\\"Height\\":30}\\n"',
    ]);
  });

  it('reads the same frames however the bytes are split', () => {
    const whole = Buffer.concat(sent(session('cat'), 'apiserver'));
    const oneByOne = framesFrom([...whole].map((b) => Buffer.of(b)));
    assert.deepEqual(summary(oneByOne), summary(framesFrom([whole])));
  });

  it('writes, byte for byte, the replies, data, status and GOAWAY the API server accepted', () => {
    for (const s of capture.sessions) {
      const ours = sent(s, 'kubelet');
      const writer = new SpdyWriter();
      const rewritten = framesFrom(ours).map((f) => {
        switch (f.type) {
          case 'synReply':
            return writer.synReply(f.streamId, f.headers, f.fin);
          case 'data':
            return writer.data(f.streamId, f.data, f.fin);
          case 'goAway':
            return writer.goAway(f.lastGoodStreamId, f.status);
          default:
            throw new Error(`unexpected ${f.type} in what the kubelet side wrote`);
        }
      });
      assert.deepEqual(rewritten, ours, s.request.url);
    }
  });

  it('carried the exit status on the error stream as a Status kubectl turned into exit code 3', () => {
    const data = framesFrom(sent(session('exit3'), 'kubelet')).filter((f) => f.type === 'data');
    const status = data.find((f) => f.streamId === 1);
    assert.ok(status?.type === 'data' && status.fin);
    assert.deepEqual(JSON.parse(status.data.toString('utf8')), {
      metadata: {},
      status: 'Failure',
      message: 'command terminated with non-zero exit code: exit status 3',
      reason: 'NonZeroExitCode',
      details: { causes: [{ reason: 'ExitCode', message: '3' }] },
    });
  });
});

describe('SPDY/3.1 header blocks', () => {
  it('reads what a zlib compressor primed with the SPDY/3 dictionary writes', () => {
    const block = Buffer.concat([
      Buffer.from([0, 0, 0, 1, 0, 0, 0, 10]),
      Buffer.from('streamtype'),
      Buffer.from([0, 0, 0, 5]),
      Buffer.from('error'),
    ]);
    const compressed = deflateSync(block, {
      dictionary: spdyHeaderDictionary,
      flush: constants.Z_SYNC_FLUSH,
    });
    const frame = Buffer.concat([
      Buffer.from([0x80, 3, 0, 1, 0, 0, 0, 10 + compressed.length]),
      Buffer.alloc(10),
      compressed,
    ]);
    frame.writeUInt32BE(1, 8);
    const [syn] = new SpdyReader().push(frame);
    assert.ok(syn?.type === 'synStream');
    assert.deepEqual(syn.headers, { streamtype: ['error'] });
  });

  it('round-trips headers with several values through its own writer, over several frames', () => {
    const writer = new SpdyWriter();
    const reader = new SpdyReader();
    const frames = reader.push(
      Buffer.concat([
        writer.synStream(1, { streamtype: ['stdin'], port: ['80', '8080'] }),
        writer.synStream(3, { streamtype: ['stdout'] }, { fin: true }),
      ]),
    );
    assert.deepEqual(
      frames.map((f) => f.type === 'synStream' && [f.streamId, f.fin, f.headers]),
      [
        [1, false, { streamtype: ['stdin'], port: ['80', '8080'] }],
        [3, true, { streamtype: ['stdout'] }],
      ],
    );
  });

  it('refuses a frame of another SPDY version, one too large, and a header block that does not decompress', () => {
    assert.throws(
      () => new SpdyReader().push(Buffer.from([0x80, 2, 0, 6, 0, 0, 0, 4, 0, 0, 0, 1])),
      SpdyProtocolError,
    );
    assert.throws(
      () => new SpdyReader().push(Buffer.from([0, 0, 0, 1, 0, 0x7f, 0xff, 0xff])),
      SpdyProtocolError,
    );
    const garbage = Buffer.from([0x80, 3, 0, 2, 0, 0, 0, 8, 0, 0, 0, 1, 1, 2, 3, 4]);
    assert.throws(() => new SpdyReader().push(garbage), SpdyProtocolError);
  });

  it('reads pings, settings, window updates and GOAWAY', () => {
    const w = new SpdyWriter();
    const settings = Buffer.from([0x80, 3, 0, 4, 0, 0, 0, 12, 0, 0, 0, 1, 0, 0, 0, 7, 0, 1, 0, 0]);
    const frames = new SpdyReader().push(
      Buffer.concat([w.ping(7), settings, w.windowUpdate(3, 1000), w.goAway(5, 0), w.rstStream(3, 5)]),
    );
    assert.deepEqual(frames, [
      { type: 'ping', id: 7 },
      { type: 'settings', entries: [{ flags: 0, id: 7, value: 65536 }] },
      { type: 'windowUpdate', streamId: 3, delta: 1000 },
      { type: 'goAway', lastGoodStreamId: 5, status: 0 },
      { type: 'rstStream', streamId: 3, status: 5 },
    ]);
  });
});
