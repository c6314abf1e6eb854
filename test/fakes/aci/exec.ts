/**
 * The fake's exec bridge: what stands behind the WebSocket URI that executeCommand answers
 * (Containers - Execute Command). As ACI documents it, the session's password is the first
 * message, then the socket carries a terminal's bytes both ways, stdout and stderr merged, and it
 * closes when the process ends, with no exit status. The process is executeCommand's `command`
 * taken whole as one program with no arguments (ACI "can't pass command arguments"); it runs in
 * the mock's scripted shell world (core/providers/mock/execSocket.ts) over one in-memory file
 * system per container of a group, with the container's environment variables.
 *
 * ACI serves these sockets on wss:// at a bridge host; the fake serves ws:// on 127.0.0.1, which
 * the relay accepts for loopback addresses only.
 */
import { randomBytes, timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';
import { WebSocketServer, type WebSocket } from 'ws';
import { serveExecSocket, type ExecTarget } from '../../../core/providers/mock/execSocket.ts';
import { MemoryFiles } from '../../../core/providers/mock/files.ts';
import type { GroupRecord } from './store.ts';

export interface ExecRequestRecord {
  group: string;
  container: string;
  command: string;
  rows: number;
  cols: number;
}

export interface FakeExecBridge {
  /** A session for executeCommand's answer. */
  open(
    record: GroupRecord,
    container: string,
    command: string,
    size: { rows: number; cols: number },
  ): {
    webSocketUri: string;
    password: string;
  };
  /** Every executeCommand the fake answered, in order. */
  readonly requests: readonly ExecRequestRecord[];
  /** Sockets open now. */
  openSockets(): number;
  /** Sessions handed out and not yet claimed by a socket. */
  pendingSessions(): number;
  close(): Promise<void>;
}

interface PendingSession {
  password: string;
  record: GroupRecord;
  container: string;
  command: string;
  rows: number;
  cols: number;
  createdAtMs: number;
}

const sessionTtlMs = 60_000;

export async function startExecBridge(now: () => number): Promise<FakeExecBridge> {
  const pending = new Map<string, PendingSession>();
  const files = new WeakMap<GroupRecord, Map<string, MemoryFiles>>();
  const requests: ExecRequestRecord[] = [];
  const open = new Set<WebSocket>();
  const sockets = new WebSocketServer({ noServer: true, maxPayload: 16 * 1024 * 1024 });

  const claim = (id: string, password: string): ExecTarget | undefined => {
    const session = pending.get(id);
    if (session === undefined) return undefined;
    pending.delete(id);
    const given = Buffer.from(password);
    const expected = Buffer.from(session.password);
    if (given.length !== expected.length || !timingSafeEqual(given, expected)) return undefined;
    if (now() - session.createdAtMs > sessionTtlMs) return undefined;
    const container = session.record.spec.properties.containers.find((c) => c.name === session.container);
    let byContainer = files.get(session.record);
    if (byContainer === undefined) files.set(session.record, (byContainer = new Map<string, MemoryFiles>()));
    let fs = byContainer.get(session.container);
    if (fs === undefined) byContainer.set(session.container, (fs = new MemoryFiles(now)));
    const env = Object.fromEntries(
      (container?.properties.environmentVariables ?? []).map((e) => [e.name, e.value ?? e.secureValue ?? '']),
    );
    return {
      command: session.command,
      env: {
        PATH: '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin',
        HOSTNAME: 'SandboxHost',
        ...env,
      },
      files: fs,
      hostname: 'SandboxHost',
      rows: session.rows,
      cols: session.cols,
    };
  };

  const http = createServer((_request, response) => response.writeHead(404).end());
  http.on('upgrade', (request: IncomingMessage, socket: Duplex, head: Buffer) => {
    const id = /^\/exec\/([0-9a-f]{32})$/.exec(new URL(request.url ?? '/', 'http://bridge').pathname)?.[1];
    if (id === undefined) {
      socket.end('HTTP/1.1 404 Not Found\r\nConnection: close\r\n\r\n');
      return;
    }
    sockets.handleUpgrade(request, socket, head, (ws) => {
      open.add(ws);
      void serveExecSocket(ws, (password) => Promise.resolve(claim(id, password))).finally(() =>
        open.delete(ws),
      );
    });
  });
  await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', () => resolve()));
  const port = (http.address() as AddressInfo).port;

  return {
    open(record, container, command, size) {
      const id = randomBytes(16).toString('hex');
      const password = randomBytes(24).toString('base64url');
      pending.set(id, { password, record, container, command, ...size, createdAtMs: now() });
      requests.push({ group: record.name, container, command, ...size });
      return {
        webSocketUri: `ws://127.0.0.1:${port}/exec/${id}?rows=${size.rows}&cols=${size.cols}`,
        password,
      };
    },
    requests,
    openSockets: () => open.size,
    pendingSessions: () => pending.size,
    close: () =>
      new Promise<void>((resolve) => {
        for (const ws of open) ws.terminate();
        http.close(() => resolve());
        http.closeAllConnections();
      }),
  };
}
