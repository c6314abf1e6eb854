/**
 * One virtual node's kubelet endpoint, as the relay serves it: authenticate, authorize, then
 * answer from the API server (/pods), from the kubeletApi function (logs, stats), or by itself
 * (/healthz). Nothing reaches the function before the caller is authenticated and authorized.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { V1Pod } from '@kubernetes/client-node';
import { errorMessage } from '../errors.ts';
import type { Logger } from '../log.ts';
import type { KubeletAuthenticator } from './authentication.ts';
import type { KubeletAuthorizer } from './authorization.ts';
import type { KubeletApiCall } from './client.ts';
import { portForwardRefusal } from './exec.ts';
import { serveContainerLogs } from './followLogs.ts';
import { parseLogOptions } from './logOptions.ts';
import { resourceMetricsText } from './resourceMetrics.ts';
import type { Summary, SummaryAnswer } from './statsSummary.ts';

export interface KubeletEndpointDeps {
  node: string;
  authenticator: KubeletAuthenticator;
  authorizer: KubeletAuthorizer;
  call: KubeletApiCall;
  /** The pods bound to the node, as the API server has them. */
  listPods: (node: string) => Promise<V1Pod[]>;
  logger: Logger;
  now?: () => number;
  /** A stats summary is reused this long: providers measure at a minute's grain at best. */
  statsTtlMs?: number;
  followPollMs?: number;
}

export type KubeletRequestHandler = (request: IncomingMessage, response: ServerResponse) => void;

const streamingPaths = ['/exec/', '/attach/', '/portForward/', '/run/'];

export function kubeletEndpointHandler(deps: KubeletEndpointDeps): KubeletRequestHandler {
  const now = deps.now ?? Date.now;
  const statsTtlMs = deps.statsTtlMs ?? 10_000;
  let stats: { untilMs: number; summary: Promise<Summary> } | undefined;

  // One summary serves every caller for a while: metrics-server's scrapes and a node proxy
  // request in the same moment cost one function call, and a provider whose figures change once
  // a minute (ACI, ECS) is asked at most twice a minute, however often metrics-server scrapes.
  const summary = (): Promise<Summary> => {
    if (stats && now() < stats.untilMs) return stats.summary;
    const askedAtMs = now();
    let untilMs = askedAtMs + statsTtlMs;
    const pending = deps.call({ op: 'statsSummary', node: deps.node }).then((answer) => {
      if (answer.status !== 200) throw new Error(errorText(answer.body, answer.status));
      const { freshForMs, ...summary } = answer.body as SummaryAnswer;
      if (freshForMs !== undefined) untilMs = askedAtMs + Math.max(statsTtlMs, freshForMs);
      if (stats?.summary === pending) stats = { untilMs, summary: pending };
      return summary;
    });
    stats = { untilMs, summary: pending };
    pending.catch(() => {
      if (stats?.summary === pending) stats = undefined;
    });
    return pending;
  };

  const handle = async (request: IncomingMessage, response: ServerResponse): Promise<void> => {
    const url = new URL(request.url ?? '/', 'https://kubelet');
    const path = url.pathname;
    const user = await deps.authenticator.authenticate(request);
    if (!user) return text(response, 401, 'Unauthorized');
    const decision = await deps.authorizer.authorize(user, deps.node, request.method ?? 'GET', path);
    if (!decision.allowed) return text(response, 403, decision.message);
    const log = deps.logger;

    if (streamingPaths.some((p) => path.startsWith(p))) return streamingWithoutUpgrade(response, path);
    if (request.method !== 'GET' && request.method !== 'HEAD')
      return text(response, 405, 'Method Not Allowed');
    if (path === '/healthz') return text(response, 200, 'ok');
    if (path === '/pods' || path === '/pods/') {
      const pods = await deps.listPods(deps.node);
      return json(response, 200, { kind: 'PodList', apiVersion: 'v1', metadata: {}, items: pods });
    }
    if (path === '/stats/summary' || path === '/stats/summary/') {
      return json(response, 200, await summary());
    }
    if (path === '/metrics/resource' || path === '/metrics/resource/') {
      const s = await summary().catch((err: unknown) => {
        log.warn('stats unavailable for resource metrics', { error: err });
        return undefined;
      });
      response.writeHead(200, { 'content-type': 'text/plain; version=0.0.4; charset=utf-8' });
      response.end(resourceMetricsText(s));
      return;
    }
    const logs = /^\/containerLogs\/([^/]+)\/([^/]+)\/([^/]+)\/?$/.exec(path);
    if (logs) {
      const [, namespace, pod, container] = logs.map((p) => decodeURIComponent(p));
      const parsed = parseLogOptions(url.searchParams, now());
      if (!parsed.ok) return text(response, parsed.status, parsed.message);
      const aborted = new AbortController();
      response.on('close', () => aborted.abort());
      await serveContainerLogs(
        { node: deps.node, namespace: namespace!, pod: pod!, container: container! },
        parsed.options,
        {
          start(status, message) {
            if (status === 200) response.writeHead(200, { 'content-type': 'text/plain' });
            else response.writeHead(status, { 'content-type': 'text/plain' }).write(message ?? '');
          },
          write: (chunk) => void response.write(chunk),
          end: () => void response.end(),
          signal: aborted.signal,
        },
        { call: deps.call, logger: log, pollMs: deps.followPollMs },
      );
      return;
    }
    return text(response, 404, '404 page not found');
  };

  return (request, response) => {
    handle(request, response).catch((err: unknown) => {
      deps.logger.error('kubelet endpoint request failed', { path: request.url?.split('?')[0], error: err });
      if (!response.headersSent)
        text(response, 502, `the virtual node could not answer: ${errorMessage(err)}`);
      else response.end();
    });
  };
}

/** exec, attach and port-forward are connection upgrades (exec.ts); a plain request cannot be one. */
function streamingWithoutUpgrade(response: ServerResponse, path: string): void {
  if (path.startsWith('/portForward/')) return text(response, 400, portForwardRefusal);
  if (path.startsWith('/run/'))
    return text(response, 501, 'run is not served by this virtual node: use exec, which streams the output');
  return text(response, 400, 'unable to upgrade: missing upgrade headers in request');
}

function text(response: ServerResponse, status: number, body: string): void {
  response
    .writeHead(status, { 'content-type': 'text/plain; charset=utf-8' })
    .end(body.endsWith('\n') ? body : `${body}\n`);
}

function json(response: ServerResponse, status: number, body: unknown): void {
  response.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
}

function errorText(body: unknown, status: number): string {
  const error = (body as { error?: unknown } | undefined)?.error;
  return typeof error === 'string' ? error : `HTTP ${status}`;
}
