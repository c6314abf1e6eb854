import { randomBytes } from 'node:crypto';
import type { KubeConfig } from '@kubernetes/client-node';
import type { Logger } from '../core/log.ts';
import { kubeletApiHandler } from '../functions/kubeletApi.ts';
import { podEventsHandler } from '../functions/podEvents.ts';
import type { Runtime } from '../functions/runtime.ts';
import { hostContext } from './invocation.ts';
import { serveFunctions, type HttpFunction } from './httpHost.ts';
import { defaultBatchMaxInFlight } from '../core/relay/watcher.ts';
import { runRelay } from './relay.ts';
import { relayServiceAccount, serviceAccountKubeconfig } from './serviceAccount.ts';

export interface EventPath {
  webhookUrl: string;
  /** Each node's kubelet endpoint port on the kubelet address. */
  kubeletPorts: ReadonlyMap<string, number>;
  /** exec and attach sessions the relay serves now. */
  kubeletSessions(): number;
  stop(): Promise<void>;
}

/** A webhook secret as long as the settings require, for a run on this machine. */
export function localWebhookSecret(): string {
  return randomBytes(32).toString('hex');
}

/**
 * The event path on one machine: podEvents served on loopback as the Functions host would
 * route it, and the relay (with its own ServiceAccount's token) watching the nodes and
 * poking it. The runtime must carry the same webhook secret.
 */
export async function startEventPath(options: {
  admin: KubeConfig;
  runtimes: () => Runtime;
  nodes: string[];
  secret: string;
  out: (line: string) => void;
  logger?: Logger;
  /** Wraps the podEvents handler (tests inject outages here). */
  wrap?: (handler: HttpFunction) => HttpFunction;
  /** Wraps the kubeletApi handler (tests count what reaches it). */
  wrapKubeletApi?: (handler: HttpFunction) => HttpFunction;
  /**
   * Where the relay serves the nodes' kubelet endpoints: the address the nodes post and the one
   * it listens on (127.0.0.1 by default; the API server takes a loopback node address for logs,
   * but not for node proxy requests).
   */
  kubelet?: { address: string; listenAddress?: string; firstPort?: number; maxSessions?: number };
}): Promise<EventPath> {
  const handler = podEventsHandler(options.runtimes);
  const http = await serveFunctions(
    {
      podEvents: options.wrap ? options.wrap(handler) : handler,
      kubeletApi: (options.wrapKubeletApi ?? ((h) => h))(kubeletApiHandler(options.runtimes)),
    },
    (name) => hostContext(name, options.out),
  );
  const webhookUrl = `${http.url}/api/podEvents`;
  try {
    const relay = await runRelay({
      nodes: options.nodes,
      webhookUrl,
      secret: options.secret,
      port: 0,
      maxInFlight: defaultBatchMaxInFlight,
      kubelet: {
        address: options.kubelet?.address ?? '127.0.0.1',
        listenAddress: options.kubelet?.listenAddress ?? options.kubelet?.address ?? '127.0.0.1',
        firstPort: options.kubelet?.firstPort ?? 0,
        apiUrl: `${http.url}/api/kubeletApi`,
        maxSessions: options.kubelet?.maxSessions,
      },
      kubeconfigText: await serviceAccountKubeconfig(options.admin, relayServiceAccount, {
        expirationSeconds: 24 * 3600,
      }),
      logger: options.logger,
    });
    return {
      webhookUrl,
      kubeletPorts: relay.kubeletPorts,
      kubeletSessions: () => relay.kubeletSessions(),
      async stop() {
        await relay.stop();
        await http.close();
      },
    };
  } catch (err) {
    await http.close();
    throw err;
  }
}
