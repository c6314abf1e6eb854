/**
 * The mock's exec server: where `kubectl exec` on a mock node ends up, as it ends up at ACI's
 * exec bridge for an ACI node. It serves ws://host:port/exec/<session> with the protocol of
 * ACI's executeCommand socket (execSocket.ts), finds the session the mock provider wrote
 * (exec.ts), and runs the scripted shell (shell.ts) over one in-memory file system per container
 * instance, with the instance's env, so that a file `kubectl cp` puts in is there for the next
 * exec. The local run and the tests start one and name it in FUNCLET_MOCK_EXEC_URL.
 */
import { createServer, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';
import type { TableClient } from '@azure/data-tables';
import { WebSocketServer, type WebSocket } from 'ws';
import { isTableStatus } from '../../state/tables.ts';
import { claimMockExecSession } from './exec.ts';
import { serveExecSocket, type ExecTarget } from './execSocket.ts';
import { MemoryFiles } from './files.ts';
import type { MockInstance } from './instances.ts';

export interface MockExecServer {
  /** ws://host:port, for FUNCLET_MOCK_EXEC_URL. */
  readonly url: string;
  /** Sockets open now. */
  openSessions(): number;
  /** Sessions served since the start. */
  sessionsServed(): number;
  close(): Promise<void>;
}

export async function startMockExecServer(options: {
  /** The mock provider's table (mockInstances), or how to get it once the first session comes. */
  table: TableClient | (() => Promise<TableClient>);
  host?: string;
  port?: number;
  now?: () => number;
}): Promise<MockExecServer> {
  const now = options.now ?? Date.now;
  const given = options.table;
  const tableOf = typeof given === 'function' ? given : () => Promise.resolve(given);
  const files = new Map<string, MemoryFiles>();
  const open = new Set<WebSocket>();
  let served = 0;
  const sockets = new WebSocketServer({ noServer: true, maxPayload: 16 * 1024 * 1024 });

  const target = async (id: string, password: string): Promise<ExecTarget | undefined> => {
    const table = await tableOf();
    const session = await claimMockExecSession(table, id, password, now());
    if (session === undefined) return undefined;
    let instance: MockInstance;
    try {
      instance = await table.getEntity<MockInstance>(session.instanceNode, session.instanceRow);
    } catch (err) {
      if (isTableStatus(err, 404)) return undefined;
      throw err;
    }
    if (instance.podUid !== session.podUid) return undefined;
    const key = `${session.instanceNode}/${session.instanceRow}/${session.container}`;
    let fs = files.get(key);
    if (fs === undefined) files.set(key, (fs = new MemoryFiles(now)));
    const containerEnv = (JSON.parse(instance.env) as Record<string, Record<string, string> | undefined>)[
      session.container
    ];
    return {
      command: session.command,
      env: {
        PATH: '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin',
        HOSTNAME: instance.name,
        HOME: '/root',
        ...containerEnv,
      },
      files: fs,
      hostname: instance.name,
      rows: session.rows,
      cols: session.cols,
    };
  };

  const http = createServer((_request, response) => {
    response.writeHead(404, { 'content-type': 'text/plain' }).end('not found\n');
  });
  http.on('upgrade', (request: IncomingMessage, socket: Duplex, head: Buffer) => {
    const id = /^\/exec\/([0-9a-f]{32})$/.exec(new URL(request.url ?? '/', 'http://mock').pathname)?.[1];
    if (id === undefined) {
      socket.end('HTTP/1.1 404 Not Found\r\nConnection: close\r\n\r\n');
      return;
    }
    sockets.handleUpgrade(request, socket, head, (ws) => {
      open.add(ws);
      served++;
      void serveExecSocket(ws, (password) => target(id, password)).finally(() => open.delete(ws));
    });
  });
  await new Promise<void>((resolve, reject) => {
    http.once('error', reject);
    http.listen(options.port ?? 0, options.host ?? '127.0.0.1', () => resolve());
  });
  const address = http.address() as AddressInfo;
  const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  return {
    url: `ws://${host}:${address.port}`,
    openSessions: () => open.size,
    sessionsServed: () => served,
    close: () =>
      new Promise<void>((resolve) => {
        for (const ws of open) ws.terminate();
        http.close(() => resolve());
        http.closeAllConnections();
      }),
  };
}
