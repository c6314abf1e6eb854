/**
 * `funclet relay`: the in-cluster relay process. Watches the pods of the virtual nodes with
 * the funclet-relay ServiceAccount and POSTs signed pokes to podEvents; serves each virtual
 * node's kubelet endpoint (core/kubelet/server.ts) when FUNCLET_KUBELET_ADDRESS names its pod
 * IP; answers the kubelet's probes on /healthz (liveness) and /readyz (readiness).
 */
import { readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { isIP } from 'node:net';
import { KubeConfig } from '@kubernetes/client-node';
import { ConfigError } from '../core/errors.ts';
import { createLogger, type Logger } from '../core/log.ts';
import { functionUrlProblem } from '../core/relay/outgoing.ts';
import { defaultBatchMaxInFlight, startRelay, type Relay } from '../core/relay/watcher.ts';
import { startTelemetry } from '../core/telemetry/azureMonitor.ts';
import { kubeletApiUrlFor } from '../core/kubelet/client.ts';
import { startKubeletEndpoints, type KubeletEndpointOptions } from './kubeletEndpoint.ts';

export const RelaySetting = {
  nodes: 'FUNCLET_RELAY_NODES',
  webhookUrl: 'FUNCLET_WEBHOOK_URL',
  webhookSecret: 'FUNCLET_WEBHOOK_SECRET',
  port: 'FUNCLET_RELAY_PORT',
  maxInFlight: 'FUNCLET_RELAY_MAX_IN_FLIGHT',
  functionKey: 'FUNCLET_FUNCTION_KEY',
  kubeletAddress: 'FUNCLET_KUBELET_ADDRESS',
  kubeletListenAddress: 'FUNCLET_KUBELET_LISTEN_ADDRESS',
  kubeletPort: 'FUNCLET_KUBELET_PORT',
  kubeletApiUrl: 'FUNCLET_KUBELET_API_URL',
  kubeletCertFile: 'FUNCLET_KUBELET_TLS_CERT_FILE',
  kubeletKeyFile: 'FUNCLET_KUBELET_TLS_KEY_FILE',
  kubeletMaxSessions: 'FUNCLET_KUBELET_MAX_SESSIONS',
} as const;

const maxMaxInFlight = 32;
/** exec and attach sessions one relay serves at once unless FUNCLET_KUBELET_MAX_SESSIONS says otherwise. */
export const defaultMaxSessions = 32;
const maxMaxSessions = 1024;

/** The shortest webhook secret accepted: 32 characters leave no room for guessing. */
export const minSecretLength = 32;

export interface RelayProcessOptions {
  nodes: string[];
  webhookUrl: string;
  secret: string;
  /** Sent as x-functions-key with every request to the function app. */
  functionKey?: string;
  port: number;
  /** podEvents requests in flight at once per node. */
  maxInFlight: number;
  /** The kubelet endpoints; none are served when absent. */
  kubelet?: KubeletEndpointOptions;
  /** A kubeconfig document; the in-cluster ServiceAccount config when absent. */
  kubeconfigText?: string;
  logger?: Logger;
}

const nodeName = /^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$/;

/** Reads the relay's settings from the environment; every bad setting is named in one ConfigError. */
export function relayOptionsFromEnv(
  env: NodeJS.ProcessEnv,
): Omit<RelayProcessOptions, 'kubeconfigText' | 'logger'> {
  const problems: { setting: string; problem: string }[] = [];

  const nodes = (env[RelaySetting.nodes] ?? '')
    .split(',')
    .map((n) => n.trim())
    .filter((n) => n !== '');
  if (nodes.length === 0)
    problems.push({
      setting: RelaySetting.nodes,
      problem: 'is required: a comma-separated list of virtual node names',
    });
  for (const n of nodes) {
    if (!nodeName.test(n))
      problems.push({ setting: RelaySetting.nodes, problem: `"${n}" is not a valid node name` });
  }

  const webhookUrl = env[RelaySetting.webhookUrl]?.trim() ?? '';
  if (webhookUrl === '') {
    problems.push({
      setting: RelaySetting.webhookUrl,
      problem: 'is required: the URL of the podEvents function',
    });
  } else {
    const problem = functionUrlProblem(webhookUrl);
    if (problem !== undefined) problems.push({ setting: RelaySetting.webhookUrl, problem });
  }
  const functionKey = env[RelaySetting.functionKey]?.trim() || undefined;

  const secret = env[RelaySetting.webhookSecret] ?? '';
  if (secret.length < minSecretLength) {
    problems.push({
      setting: RelaySetting.webhookSecret,
      problem:
        secret === ''
          ? 'is required: the secret shared with podEvents'
          : `must be at least ${minSecretLength} characters (it is ${secret.length})`,
    });
  }

  const portText = env[RelaySetting.port]?.trim() || '8080';
  const port = Number(portText);
  if (!/^\d+$/.test(portText) || port > 65535)
    problems.push({ setting: RelaySetting.port, problem: `must be a port number, not "${portText}"` });

  const inFlightText = env[RelaySetting.maxInFlight]?.trim() || String(defaultBatchMaxInFlight);
  const maxInFlight = Number(inFlightText);
  if (!/^\d+$/.test(inFlightText) || maxInFlight < 1 || maxInFlight > maxMaxInFlight)
    problems.push({
      setting: RelaySetting.maxInFlight,
      problem: `must be a whole number from 1 to ${maxMaxInFlight}, not "${inFlightText}"`,
    });

  const kubelet = kubeletOptionsFromEnv(env, webhookUrl, problems);

  if (problems.length > 0) throw new ConfigError(problems);
  return { nodes, webhookUrl, secret, functionKey, port, maxInFlight, kubelet };
}

/** The kubelet endpoint's settings; FUNCLET_KUBELET_ADDRESS (the pod IP) turns it on. */
function kubeletOptionsFromEnv(
  env: NodeJS.ProcessEnv,
  webhookUrl: string,
  problems: { setting: string; problem: string }[],
): KubeletEndpointOptions | undefined {
  const address = env[RelaySetting.kubeletAddress]?.trim() ?? '';
  if (address === '') return undefined;
  if (isIP(address) === 0)
    problems.push({
      setting: RelaySetting.kubeletAddress,
      problem: `must be an IP address (the pod IP), not "${address}"`,
    });
  const listen = env[RelaySetting.kubeletListenAddress]?.trim() || undefined;
  if (listen !== undefined && isIP(listen) === 0)
    problems.push({
      setting: RelaySetting.kubeletListenAddress,
      problem: `must be an IP address, not "${listen}"`,
    });
  const portText = env[RelaySetting.kubeletPort]?.trim() || '10250';
  const firstPort = Number(portText);
  if (!/^\d+$/.test(portText) || firstPort > 65535)
    problems.push({ setting: RelaySetting.kubeletPort, problem: `must be a port number, not "${portText}"` });
  let apiUrl = env[RelaySetting.kubeletApiUrl]?.trim() || '';
  if (apiUrl === '' && URL.canParse(webhookUrl)) apiUrl = kubeletApiUrlFor(webhookUrl);
  const apiUrlProblem = functionUrlProblem(apiUrl);
  if (apiUrlProblem !== undefined)
    problems.push({ setting: RelaySetting.kubeletApiUrl, problem: apiUrlProblem });
  const certFile = env[RelaySetting.kubeletCertFile]?.trim() || undefined;
  const keyFile = env[RelaySetting.kubeletKeyFile]?.trim() || undefined;
  let certificate: KubeletEndpointOptions['certificate'];
  if ((certFile === undefined) !== (keyFile === undefined)) {
    problems.push({
      setting: certFile === undefined ? RelaySetting.kubeletCertFile : RelaySetting.kubeletKeyFile,
      problem: `is needed with ${certFile === undefined ? RelaySetting.kubeletKeyFile : RelaySetting.kubeletCertFile}`,
    });
  } else if (certFile !== undefined && keyFile !== undefined) {
    try {
      certificate = { certPem: readFileSync(certFile, 'utf8'), keyPem: readFileSync(keyFile, 'utf8') };
    } catch (err) {
      problems.push({
        setting: RelaySetting.kubeletCertFile,
        problem: `cannot be read: ${(err as Error).message}`,
      });
    }
  }
  const sessionsText = env[RelaySetting.kubeletMaxSessions]?.trim() || String(defaultMaxSessions);
  const maxSessions = Number(sessionsText);
  if (!/^\d+$/.test(sessionsText) || maxSessions < 1 || maxSessions > maxMaxSessions)
    problems.push({
      setting: RelaySetting.kubeletMaxSessions,
      problem: `must be a whole number from 1 to ${maxMaxSessions}, not "${sessionsText}"`,
    });
  return { address, listenAddress: listen, firstPort, apiUrl, certificate, maxSessions };
}

/**
 * Starts the relay and its probe server. Resolves once the port is bound; the relay itself
 * keeps retrying the API server and the webhook for as long as it runs.
 */
export async function runRelay(options: RelayProcessOptions): Promise<{
  stop(): Promise<void>;
  port: number;
  kubeletPorts: ReadonlyMap<string, number>;
  /** exec and attach sessions the kubelet endpoints serve now. */
  kubeletSessions(): number;
}> {
  const logger = options.logger ?? createLogger({ functionName: 'relay' });
  const kubeConfig = new KubeConfig();
  if (options.kubeconfigText !== undefined) kubeConfig.loadFromString(options.kubeconfigText);
  else kubeConfig.loadFromCluster();

  // Before the relay starts: its queue-depth gauge is made from the meter provider registered then.
  await startTelemetry(process.env, logger);
  const relay: Relay = startRelay({
    kubeConfig,
    nodes: options.nodes,
    webhookUrl: options.webhookUrl,
    secret: options.secret,
    functionKey: options.functionKey,
    batchMaxInFlight: options.maxInFlight,
    logger,
  });

  let kubelet: Awaited<ReturnType<typeof startKubeletEndpoints>> | undefined;
  if (options.kubelet) {
    try {
      kubelet = await startKubeletEndpoints(
        { ...options.kubelet, functionKey: options.kubelet.functionKey ?? options.functionKey },
        {
          kubeConfig,
          nodes: options.nodes,
          secret: options.secret,
          logger,
        },
      );
    } catch (err) {
      await relay.stop();
      throw err;
    }
  } else {
    logger.warn(
      `no kubelet endpoint served: ${RelaySetting.kubeletAddress} is not set, so kubectl logs and top cannot reach these nodes`,
    );
  }

  const server = createServer((request, response) => {
    const path = new URL(request.url ?? '/', 'http://relay').pathname;
    const check = request.method === 'GET' || request.method === 'HEAD' ? probes[path] : undefined;
    if (!check) {
      response.writeHead(404, { 'content-type': 'text/plain' }).end('not found\n');
      return;
    }
    const ok = check();
    response.writeHead(ok ? 200 : 503, { 'content-type': 'text/plain' }).end(ok ? 'ok\n' : 'not ok\n');
  });
  const probes: Record<string, (() => boolean) | undefined> = {
    '/healthz': () => relay.healthy(),
    '/readyz': () => relay.ready(),
  };
  // Probes are tiny and the kubelet reconnects; never let an idle probe connection hold up stop().
  server.keepAliveTimeout = 1000;

  try {
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(options.port, () => {
        server.off('error', reject);
        resolve();
      });
    });
  } catch (err) {
    await Promise.all([relay.stop(), kubelet?.stop()]);
    throw err;
  }
  const port = (server.address() as AddressInfo).port;
  logger.info('relay probes listening', { port });

  let stopped: Promise<void> | undefined;
  return {
    port,
    kubeletPorts: kubelet?.ports ?? new Map(),
    kubeletSessions: () => kubelet?.activeSessions() ?? 0,
    stop: () =>
      (stopped ??= (async () => {
        const closed = new Promise<void>((resolve) => server.close(() => resolve()));
        server.closeAllConnections();
        await Promise.all([relay.stop(), kubelet?.stop(), closed]);
      })()),
  };
}
