/**
 * A loopback HTTP proxy in front of a service that has no fault injection of its own (moto,
 * Azurite). Passes requests through unchanged until told otherwise: `down` drops every
 * connection, open ones included, as a stopped service would (clients see resets and refused
 * requests; the service behind keeps its data, as Table Storage does through an outage);
 * `failShare` answers a seeded share of requests with a 5xx in the AWS JSON error shape before
 * they reach the service.
 */
import { createServer, request, Agent, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { seededRandom } from '../support/random.ts';

export interface FaultProxy {
  /** http://127.0.0.1:PORT */
  readonly url: string;
  readonly port: number;
  /** Requests passed through, dropped while down, and answered with an injected 5xx. */
  readonly counts: { forwarded: number; dropped: number; failed: number };
  setDown(down: boolean): void;
  /** Answers this share of requests (0 to 1) with 500 or 503, drawn from `seed`. */
  failShare(share: number, seed: number): void;
  close(): Promise<void>;
}

export async function startFaultProxy(target: string): Promise<FaultProxy> {
  const to = new URL(target);
  const agent = new Agent({ keepAlive: true, maxSockets: 64 });
  const sockets = new Set<Socket>();
  const counts = { forwarded: 0, dropped: 0, failed: 0 };
  let down = false;
  let share = 0;
  let draw = seededRandom(1);

  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    if (down) {
      counts.dropped++;
      req.socket.destroy();
      return;
    }
    if (share > 0 && draw() < share) {
      counts.failed++;
      const status = draw() < 0.5 ? 500 : 503;
      const type = status === 500 ? 'InternalFailure' : 'ServiceUnavailable';
      req.resume();
      res
        .writeHead(status, { 'content-type': 'application/x-amz-json-1.1', 'x-amzn-errortype': type })
        .end(JSON.stringify({ __type: type, message: 'injected by the fault proxy' }));
      return;
    }
    counts.forwarded++;
    const upstream = request(
      {
        host: to.hostname,
        port: to.port,
        method: req.method,
        path: req.url,
        headers: { ...req.headers, host: to.host },
        agent,
      },
      (answer) => {
        res.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(res);
      },
    );
    upstream.on('error', () => res.destroy());
    req.pipe(upstream);
  });
  server.on('connection', (socket: Socket) => {
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    counts,
    setDown(value) {
      down = value;
      if (value) for (const socket of sockets) socket.destroy();
    },
    failShare(value, seed) {
      share = value;
      draw = seededRandom(seed);
    },
    async close() {
      for (const socket of sockets) socket.destroy();
      agent.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
