/**
 * The relay's kubelet endpoints: one TLS listener per virtual node (the API server finds a
 * node's kubelet by address and port only, so the port tells the nodes apart), each asking for
 * a client certificate that chains to the cluster's client CA, and each announced to the
 * kubeletApi function so the node posts the address. The client CA is re-read every minute, as
 * the kubelet re-reads its --client-ca-file. exec, attach and port-forward arrive as connection
 * upgrades and are served by exec.ts.
 */
import { createServer, type Server } from 'node:https';
import type { IncomingMessage } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { errorMessage } from '../errors.ts';
import type { KubeletApiCall } from './client.ts';
import { kubeletEndpointHandler, type KubeletEndpointDeps } from './endpoint.ts';
import { kubeletUpgradeHandler, sessionSlots } from './exec.ts';
import type { ServingCertificate } from './servingCertificate.ts';

export interface KubeletServersOptions extends Omit<KubeletEndpointDeps, 'node'> {
  nodes: readonly string[];
  /** The address announced for every node: the relay's pod IP. */
  address: string;
  /** Where to listen; all interfaces when absent. */
  listenAddress?: string;
  /** Node i listens on firstPort + i; 0 picks free ports (tests). */
  firstPort: number;
  certificate: ServingCertificate;
  /** PEM bundle of the CAs whose client certificates authenticate (client-ca-file). */
  clientCa: () => Promise<string>;
  call: KubeletApiCall;
  announceEveryMs?: number;
  refreshCaEveryMs?: number;
  /** exec and attach sessions served at once, over all nodes (default 32). */
  maxSessions?: number;
  /** The setting behind maxSessions, named when a session is refused for it. */
  maxSessionsSetting?: string;
}

export interface KubeletServers {
  /** The port each node's endpoint listens on. */
  readonly ports: ReadonlyMap<string, number>;
  /** Whether every node's endpoint has been announced at least once. */
  announced(): boolean;
  /** exec and attach sessions in flight now. */
  activeSessions(): number;
  stop(): Promise<void>;
}

export async function startKubeletServers(options: KubeletServersOptions): Promise<KubeletServers> {
  const logger = options.logger;
  let ca = await options.clientCa();
  const servers = new Map<string, Server>();
  const ports = new Map<string, number>();
  const announcedNodes = new Set<string>();
  const timers: NodeJS.Timeout[] = [];
  const sessions = sessionSlots(options.maxSessions ?? 32);
  // Upgraded connections leave the server's keeping: stop() ends them itself.
  const upgraded = new Set<Duplex>();

  try {
    for (const [i, node] of options.nodes.entries()) {
      const handler = kubeletEndpointHandler({ ...options, node, logger: logger.child({ node }) });
      const server = createServer(
        {
          cert: options.certificate.certPem,
          key: options.certificate.keyPem,
          ca,
          requestCert: true,
          // Unverified or absent certificates still connect: they may carry a bearer token.
          rejectUnauthorized: false,
        },
        handler,
      );
      const serveUpgrade = kubeletUpgradeHandler({
        node,
        authenticator: options.authenticator,
        authorizer: options.authorizer,
        call: options.call,
        logger: logger.child({ node }),
        sessions,
        sessionLimitSetting: options.maxSessionsSetting,
        followPollMs: options.followPollMs,
      });
      server.on('upgrade', (request: IncomingMessage, socket: Duplex, head: Buffer) => {
        upgraded.add(socket);
        socket.once('close', () => upgraded.delete(socket));
        // A caller that vanished without closing (a node gone, a network cut) is found by TCP.
        (socket as Partial<Socket>).setKeepAlive?.(true, 30_000);
        serveUpgrade(request, socket, head);
      });
      server.on('tlsClientError', (err) => logger.debug('TLS handshake failed', { node, error: err }));
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        server.listen(options.firstPort === 0 ? 0 : options.firstPort + i, options.listenAddress, () => {
          server.off('error', reject);
          resolve();
        });
      });
      servers.set(node, server);
      ports.set(node, (server.address() as AddressInfo).port);
    }
  } catch (err) {
    await Promise.all([...servers.values()].map(closeServer));
    throw err;
  }
  logger.info('kubelet endpoints listening', { address: options.address, ports: Object.fromEntries(ports) });

  const announce = async () => {
    await Promise.all(
      [...ports].map(async ([node, port]) => {
        try {
          const answer = await options.call({ op: 'announce', node, address: options.address, port });
          if (answer.status === 200) {
            if (!announcedNodes.has(node)) logger.info('kubelet endpoint announced', { node, port });
            announcedNodes.add(node);
          } else {
            logger.warn('kubelet endpoint announcement refused', {
              node,
              status: answer.status,
              answer: answer.body,
            });
          }
        } catch (err) {
          logger.warn('kubelet endpoint announcement failed', { node, error: errorMessage(err) });
        }
      }),
    );
  };
  const refreshCa = async () => {
    try {
      const next = await options.clientCa();
      if (next === ca) return;
      ca = next;
      for (const server of servers.values()) {
        server.setSecureContext({ cert: options.certificate.certPem, key: options.certificate.keyPem, ca });
      }
      logger.info('client CA for the kubelet endpoints changed; reloaded');
    } catch (err) {
      logger.warn('client CA could not be read; keeping the one in use', { error: errorMessage(err) });
    }
  };
  void announce();
  timers.push(setInterval(() => void announce(), options.announceEveryMs ?? 30_000));
  timers.push(setInterval(() => void refreshCa(), options.refreshCaEveryMs ?? 60_000));
  for (const t of timers) t.unref();

  return {
    ports,
    announced: () => announcedNodes.size === options.nodes.length,
    activeSessions: () => sessions.active,
    async stop() {
      for (const t of timers) clearInterval(t);
      for (const socket of upgraded) socket.destroy();
      await Promise.all([...servers.values()].map(closeServer));
    },
  };
}

function closeServer(server: Server): Promise<void> {
  return new Promise((resolve) => {
    server.close(() => resolve());
    server.closeAllConnections();
  });
}
