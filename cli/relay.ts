/**
 * `funclet relay`: the in-cluster relay process. Watches the pods of the virtual nodes with
 * the funclet-relay ServiceAccount and POSTs signed pokes to podEvents; answers the kubelet's
 * probes on /healthz (liveness) and /readyz (readiness).
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { KubeConfig } from '@kubernetes/client-node';
import { ConfigError } from '../core/errors.ts';
import { createLogger, type Logger } from '../core/log.ts';
import { functionUrlProblem } from '../core/relay/outgoing.ts';
import { defaultBatchMaxInFlight, startRelay, type Relay } from '../core/relay/watcher.ts';

export const RelaySetting = {
  nodes: 'FUNCLET_RELAY_NODES',
  webhookUrl: 'FUNCLET_WEBHOOK_URL',
  webhookSecret: 'FUNCLET_WEBHOOK_SECRET',
  port: 'FUNCLET_RELAY_PORT',
  maxInFlight: 'FUNCLET_RELAY_MAX_IN_FLIGHT',
  functionKey: 'FUNCLET_FUNCTION_KEY',
} as const;

const maxMaxInFlight = 32;

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

  if (problems.length > 0) throw new ConfigError(problems);
  return { nodes, webhookUrl, secret, functionKey, port, maxInFlight };
}

/**
 * Starts the relay and its probe server. Resolves once the port is bound; the relay itself
 * keeps retrying the API server and the webhook for as long as it runs.
 */
export async function runRelay(
  options: RelayProcessOptions,
): Promise<{ stop(): Promise<void>; port: number }> {
  const logger = options.logger ?? createLogger({ functionName: 'relay' });
  const kubeConfig = new KubeConfig();
  if (options.kubeconfigText !== undefined) kubeConfig.loadFromString(options.kubeconfigText);
  else kubeConfig.loadFromCluster();

  const relay: Relay = startRelay({
    kubeConfig,
    nodes: options.nodes,
    webhookUrl: options.webhookUrl,
    secret: options.secret,
    functionKey: options.functionKey,
    batchMaxInFlight: options.maxInFlight,
    logger,
  });

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
    await relay.stop();
    throw err;
  }
  const port = (server.address() as AddressInfo).port;
  logger.info('relay probes listening', { port });

  let stopped: Promise<void> | undefined;
  return {
    port,
    stop: () =>
      (stopped ??= (async () => {
        const closed = new Promise<void>((resolve) => server.close(() => resolve()));
        server.closeAllConnections();
        await Promise.all([relay.stop(), closed]);
      })()),
  };
}
