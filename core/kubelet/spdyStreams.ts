/**
 * The kubelet's side of an exec or attach session over SPDY/3.1, as the API server opens it
 * (captured in test/unit/kubelet/fixtures/spdy-exec-capture.json): answer the upgrade with the
 * protocol negotiated from X-Stream-Protocol-Version, reply to each stream the API server
 * creates (header `streamtype`: error, stdin, stdout, stderr, resize), and wait until every
 * stream the query asked for exists, as the kubelet does (createHTTPStreamStreams). At the end
 * the result goes on the error stream, every stream the kubelet writes is finished, and the
 * connection goes away with GOAWAY.
 */
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import type { Logger } from '../log.ts';
import { GoAwayStatus, SpdyProtocolError, SpdyReader, SpdyWriter, type SpdyFrame } from './spdy.ts';
import {
  ByteQueue,
  ResizeQueue,
  statusOf,
  statusTextOf,
  type CallerStreams,
  type ExecResult,
  type StreamOptions,
} from './streams.ts';

/** The remote command protocols the kubelet speaks over SPDY, preferred first. */
export const spdyRemoteCommandProtocols = [
  'v4.channel.k8s.io',
  'v3.channel.k8s.io',
  'v2.channel.k8s.io',
  'channel.k8s.io',
];

/** Data frames written at most this large, as client-go writes them. */
const maxDataFrame = 32 * 1024;

export function isSpdyUpgrade(request: IncomingMessage): boolean {
  return (request.headers.upgrade ?? '').toLowerCase() === 'spdy/3.1';
}

/**
 * The first protocol the client lists that the server speaks (httpstream.Handshake), or a
 * refusal: 400 without the header, 403 when nothing matches.
 */
export function negotiateProtocol(
  header: string | string[] | undefined,
  server: readonly string[],
): { protocol: string } | { status: 400 | 403; message: string } {
  const offered = (Array.isArray(header) ? header.join(',') : (header ?? ''))
    .split(',')
    .map((p) => p.trim())
    .filter((p) => p !== '');
  if (offered.length === 0)
    return { status: 400, message: 'unable to upgrade: X-Stream-Protocol-Version is required' };
  const protocol = offered.find((p) => server.includes(p));
  if (protocol === undefined)
    return {
      status: 403,
      message: `unable to upgrade: unable to negotiate protocol: client supports [${offered.join(' ')}], server accepts [${server.join(' ')}]`,
    };
  return { protocol };
}

/**
 * Upgrades the connection and resolves once the caller has created its streams; undefined when
 * it went away or did not create them within `streamCreationTimeoutMs` (the kubelet's 30 s).
 */
export function acceptSpdyStreams(
  request: IncomingMessage,
  socket: Duplex,
  head: Buffer,
  options: StreamOptions,
  deps: { logger: Logger; protocols?: readonly string[]; streamCreationTimeoutMs?: number },
): Promise<CallerStreams | undefined> {
  const negotiated = negotiateProtocol(
    request.headers['x-stream-protocol-version'],
    deps.protocols ?? spdyRemoteCommandProtocols,
  );
  if ('status' in negotiated) {
    socket.end(
      `HTTP/1.1 ${negotiated.status} ${negotiated.status === 400 ? 'Bad Request' : 'Forbidden'}\r\n` +
        `Content-Type: text/plain; charset=utf-8\r\nConnection: close\r\n\r\n${negotiated.message}\n`,
    );
    return Promise.resolve(undefined);
  }
  const protocol = negotiated.protocol;
  const resizable = protocol === 'v4.channel.k8s.io' || protocol === 'v3.channel.k8s.io';
  const expected =
    1 +
    Number(options.stdin) +
    Number(options.stdout) +
    Number(options.stderr) +
    Number(options.tty && resizable);

  socket.write(
    'HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: SPDY/3.1\r\n' +
      `X-Stream-Protocol-Version: ${protocol}\r\n\r\n`,
  );

  const reader = new SpdyReader();
  const writer = new SpdyWriter();
  const ids = new Map<string, number>();
  let lastStreamId = 0;
  let finished = false;
  const aborted = new AbortController();
  const stdin = new ByteQueue({ pause: () => socket.pause(), resume: () => socket.resume() });
  const resize = new ResizeQueue();
  if (!options.stdin) stdin.end();
  if (!options.tty || !resizable) resize.end();

  const send = (frame: Buffer): boolean => (socket.destroyed ? true : socket.write(frame));
  const gone = () => {
    if (finished) return;
    finished = true;
    aborted.abort();
    stdin.end();
    resize.end();
    socket.destroy();
  };

  const writeData = (type: 'stdout' | 'stderr', chunk: Buffer): boolean => {
    const id = ids.get(type);
    if (id === undefined || finished) return true;
    let ok = true;
    for (let at = 0; at < chunk.length; at += maxDataFrame)
      ok = send(writer.data(id, chunk.subarray(at, at + maxDataFrame)));
    return ok;
  };

  const streams: CallerStreams = {
    protocol,
    options,
    signal: aborted.signal,
    readStdin: () => stdin.read(),
    nextResize: (timeoutMs) => resize.next(timeoutMs),
    writeStdout: (chunk) => writeData('stdout', chunk),
    writeStderr: (chunk) => writeData('stderr', chunk),
    drained: () =>
      socket.writableNeedDrain && !socket.destroyed
        ? new Promise<void>((resolve) => {
            socket.once('drain', resolve);
            socket.once('close', resolve);
          })
        : Promise.resolve(),
    finish(result: ExecResult) {
      if (finished) return;
      finished = true;
      for (const type of ['stdout', 'stderr'] as const) {
        const id = ids.get(type);
        if (id !== undefined) send(writer.data(id, Buffer.alloc(0), true));
      }
      const error = ids.get('error');
      if (error !== undefined) {
        const body =
          protocol === 'v4.channel.k8s.io' ? JSON.stringify(statusOf(result)) : statusTextOf(result);
        send(writer.data(error, Buffer.from(body, 'utf8'), true));
      }
      send(writer.goAway(lastStreamId, GoAwayStatus.ok));
      stdin.end();
      resize.end();
      socket.end();
    },
  };

  return new Promise((resolve) => {
    let ready = false;
    const timer = setTimeout(() => {
      if (ready) return;
      deps.logger.warn('exec caller did not create its streams in time', { created: [...ids.keys()] });
      gone();
      resolve(undefined);
    }, deps.streamCreationTimeoutMs ?? 30_000);

    const handle = (frame: SpdyFrame) => {
      switch (frame.type) {
        case 'synStream': {
          lastStreamId = Math.max(lastStreamId, frame.streamId);
          send(writer.synReply(frame.streamId));
          const type = frame.headers.streamtype?.[0] ?? '';
          if (['error', 'stdin', 'stdout', 'stderr', 'resize'].includes(type) && !ids.has(type)) {
            ids.set(type, frame.streamId);
          } else {
            deps.logger.debug('exec caller created an unexpected stream', { streamType: type });
          }
          if (frame.fin && type === 'stdin') stdin.end();
          if (!ready && ids.size >= expected) {
            ready = true;
            clearTimeout(timer);
            resolve(streams);
          }
          return;
        }
        case 'data': {
          if (frame.data.length > 0) {
            // Acknowledged as read, for a peer that counts its window (spdystream does not).
            send(writer.windowUpdate(frame.streamId, frame.data.length));
            send(writer.windowUpdate(0, frame.data.length));
          }
          if (frame.streamId === ids.get('stdin')) {
            stdin.push(frame.data);
            if (frame.fin) stdin.end();
          } else if (frame.streamId === ids.get('resize')) {
            resize.pushBytes(frame.data);
            if (frame.fin) resize.end();
          }
          return;
        }
        case 'rstStream':
          if (frame.streamId === ids.get('stdin')) stdin.end();
          if (frame.streamId === ids.get('resize')) resize.end();
          return;
        case 'ping':
          // Pings the API server starts have odd ids; answer them with the same frame.
          if (frame.id % 2 === 1) send(writer.ping(frame.id));
          return;
        case 'goAway':
          if (!finished) gone();
          return;
        default:
          return;
      }
    };

    const onData = (chunk: Buffer) => {
      let frames: SpdyFrame[];
      try {
        frames = reader.push(chunk);
      } catch (err) {
        deps.logger.warn('exec caller broke the SPDY protocol', {
          error: err instanceof SpdyProtocolError ? err.message : String(err),
        });
        send(writer.goAway(lastStreamId, GoAwayStatus.protocolError));
        gone();
        return;
      }
      for (const frame of frames) handle(frame);
    };
    socket.on('data', onData);
    socket.on('error', () => gone());
    socket.on('close', () => {
      clearTimeout(timer);
      if (!ready) resolve(undefined);
      gone();
    });
    if (head.length > 0) onData(head);
  });
}
