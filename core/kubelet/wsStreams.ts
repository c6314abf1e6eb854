/**
 * The kubelet's side of an exec or attach session over WebSocket, for clients that reach the
 * kubelet endpoint with it directly (the API server passes these protocols straight through;
 * only v5 from kubectl is translated to SPDY). Each message is one channel's data, its first byte
 * the channel: 0 stdin, 1 stdout, 2 stderr, 3 error, 4 resize (wsstream):
 *
 * - channel.k8s.io (also no protocol at all): binary messages; the error channel carries the
 *   failure's text, nothing on success.
 * - base64.channel.k8s.io: text messages, the channel as an ASCII digit, the data base64.
 * - v4.channel.k8s.io, v4.base64.channel.k8s.io: the error channel carries a metav1 Status.
 * - v5.channel.k8s.io: v4, plus a message [255, channel] that closes one channel (stdin).
 */
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { WebSocketServer, type RawData, type WebSocket } from 'ws';
import type { Logger } from '../log.ts';
import {
  ByteQueue,
  ResizeQueue,
  statusOf,
  statusTextOf,
  type CallerStreams,
  type ExecResult,
  type StreamOptions,
} from './streams.ts';

export const webSocketRemoteCommandProtocols = [
  'v5.channel.k8s.io',
  'v4.channel.k8s.io',
  'v4.base64.channel.k8s.io',
  'channel.k8s.io',
  'base64.channel.k8s.io',
];

const Channel = { stdin: 0, stdout: 1, stderr: 2, error: 3, resize: 4, close: 255 } as const;

export function isWebSocketUpgrade(request: IncomingMessage): boolean {
  return (request.headers.upgrade ?? '').toLowerCase() === 'websocket';
}

/** The protocol the kubelet picks: the first one the client lists that it speaks. */
export function pickWebSocketProtocol(offered: readonly string[]): string | undefined {
  if (offered.length === 0) return '';
  return offered.find((p) => webSocketRemoteCommandProtocols.includes(p));
}

/** Upgrades the connection; undefined when the client asked only for protocols not spoken here. */
export function acceptWebSocketStreams(
  request: IncomingMessage,
  socket: Duplex,
  head: Buffer,
  options: StreamOptions,
  deps: { logger: Logger },
): Promise<CallerStreams | undefined> {
  const offered = (request.headers['sec-websocket-protocol'] ?? '')
    .split(',')
    .map((p) => p.trim())
    .filter((p) => p !== '');
  const protocol = pickWebSocketProtocol(offered);
  if (protocol === undefined) {
    socket.end(
      'HTTP/1.1 400 Bad Request\r\nContent-Type: text/plain; charset=utf-8\r\nConnection: close\r\n\r\n' +
        `requested protocol(s) are not supported: [${offered.join(' ')}]; supports [${webSocketRemoteCommandProtocols.join(' ')}]\n`,
    );
    return Promise.resolve(undefined);
  }
  const server = new WebSocketServer({
    noServer: true,
    clientTracking: false,
    maxPayload: 16 * 1024 * 1024,
    handleProtocols: (protocols) => pickWebSocketProtocol([...protocols]) || false,
  });
  return new Promise((resolve) => {
    server.handleUpgrade(request, socket, head, (ws) => resolve(channelStreams(ws, protocol, options, deps)));
  });
}

function channelStreams(
  ws: WebSocket,
  protocol: string,
  options: StreamOptions,
  deps: { logger: Logger },
): CallerStreams {
  const base64 = protocol.includes('base64');
  const statusAsJson = protocol.startsWith('v4.') || protocol.startsWith('v5.');
  const closable = protocol.startsWith('v5.');
  const aborted = new AbortController();
  let finished = false;
  const stdin = new ByteQueue({ pause: () => ws.pause(), resume: () => ws.resume() });
  const resize = new ResizeQueue();
  if (!options.stdin) stdin.end();
  if (!options.tty) resize.end();

  const highWaterBytes = 1024 * 1024;
  const send = (channel: number, data: Buffer): boolean => {
    if (ws.readyState !== ws.OPEN) return true;
    if (base64) ws.send(String.fromCharCode(48 + channel) + data.toString('base64'));
    else ws.send(Buffer.concat([Buffer.of(channel), data]));
    return ws.bufferedAmount < highWaterBytes;
  };

  ws.on('message', (raw: RawData, isBinary: boolean) => {
    const message = Buffer.isBuffer(raw) ? raw : Buffer.concat(Array.isArray(raw) ? raw : [Buffer.from(raw)]);
    if (message.length === 0) return;
    if (closable && message[0] === Channel.close) {
      if (message[1] === Channel.stdin) stdin.end();
      if (message[1] === Channel.resize) resize.end();
      return;
    }
    const channel = base64 && !isBinary ? message[0]! - 48 : message[0]!;
    const data =
      base64 && !isBinary
        ? Buffer.from(message.subarray(1).toString('latin1'), 'base64')
        : message.subarray(1);
    if (channel === Channel.stdin) stdin.push(data);
    else if (channel === Channel.resize) resize.pushBytes(data);
  });
  ws.on('close', () => {
    stdin.end();
    resize.end();
    if (!finished) {
      finished = true;
      aborted.abort();
    }
  });
  ws.on('error', (err) => deps.logger.debug('exec caller WebSocket failed', { error: err }));

  // As the kubelet does: an empty first message tells the client the streams are open.
  send(options.stdout ? Channel.stdout : options.stderr ? Channel.stderr : Channel.error, Buffer.alloc(0));

  return {
    protocol,
    options,
    signal: aborted.signal,
    readStdin: () => stdin.read(),
    nextResize: (timeoutMs) => resize.next(timeoutMs),
    writeStdout: (chunk) => (options.stdout && !finished ? send(Channel.stdout, chunk) : true),
    writeStderr: (chunk) => (options.stderr && !finished ? send(Channel.stderr, chunk) : true),
    drained: async () => {
      // ws says how much it still holds; it has no drain event of its own.
      while (ws.readyState === ws.OPEN && ws.bufferedAmount >= highWaterBytes)
        await new Promise((resolve) => setTimeout(resolve, 10));
    },
    finish(result: ExecResult) {
      if (finished) return;
      finished = true;
      const body = statusAsJson ? JSON.stringify(statusOf(result)) : statusTextOf(result);
      if (body !== '') send(Channel.error, Buffer.from(body, 'utf8'));
      stdin.end();
      resize.end();
      ws.close(1000);
    },
  };
}
