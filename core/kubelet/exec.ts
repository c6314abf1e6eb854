/**
 * exec, attach and port-forward on a virtual node's kubelet endpoint: the requests that arrive as
 * connection upgrades. Authenticated and authorized like every other request (nodes/proxy,
 * create for the API server's POST) before anything else happens, then:
 *
 * - /exec/{namespace}/{pod}/{container}?command=...: a terminal session from the kubeletApi
 *   function (execSession), bridged to the caller by terminalSession.ts. Without a tty the
 *   session is asked for before the upgrade, so a refusal is an HTTP error kubectl prints as it
 *   is; with a tty it is asked for once the caller has said its terminal's size (the session's
 *   size is fixed when it starts), and a refusal goes on the error stream.
 * - /attach/...: the container's output from now on, followed through the function as
 *   `kubectl logs -f` is, until the container ends; providers cannot write to a container's main
 *   process, so stdin and tty are refused.
 * - /portForward/...: refused with a message that says why.
 * The streams come over SPDY/3.1 (spdyStreams.ts) or WebSocket (wsStreams.ts). Each session holds
 * one of the relay's session slots until it ends.
 */
import { STATUS_CODES, type IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { errorMessage } from '../errors.ts';
import type { Logger } from '../log.ts';
import type { KubeletAuthenticator } from './authentication.ts';
import type { KubeletAuthorizer } from './authorization.ts';
import type { KubeletApiAnswer, KubeletApiCall } from './client.ts';
import { serveContainerLogs } from './followLogs.ts';
import type { ExecSessionAnswer } from './protocol.ts';
import { acceptSpdyStreams, isSpdyUpgrade } from './spdyStreams.ts';
import { streamOptionsOf, type CallerStreams, type StreamOptions } from './streams.ts';
import { bridgeTerminalSession } from './terminalSession.ts';
import { acceptWebSocketStreams, isWebSocketUpgrade } from './wsStreams.ts';

/** The relay's exec and attach sessions in flight, across all its nodes. */
export interface SessionSlots {
  readonly limit: number;
  readonly active: number;
  /** A slot, or undefined when all are taken; release it once when the session ends. */
  take(): { release(): void } | undefined;
}

export function sessionSlots(limit: number): SessionSlots {
  let active = 0;
  return {
    limit,
    get active() {
      return active;
    },
    take() {
      if (active >= limit) return undefined;
      active++;
      let released = false;
      return {
        release() {
          if (released) return;
          released = true;
          active--;
        },
      };
    },
  };
}

export interface StreamingDeps {
  node: string;
  authenticator: KubeletAuthenticator;
  authorizer: KubeletAuthorizer;
  call: KubeletApiCall;
  logger: Logger;
  sessions: SessionSlots;
  /** The setting that sets the session limit, named when it refuses. */
  sessionLimitSetting?: string;
  followPollMs?: number;
  /** How long a tty session waits for the caller's terminal size before it starts without one. */
  terminalSizeWaitMs?: number;
  startTimeoutMs?: number;
}

export const portForwardRefusal =
  'port-forward is not available on this virtual node: its pods run on Azure Container Instances or ECS on Fargate, ' +
  'which cannot forward a port to a pod from the node; reach the port at the pod IP from a network that routes to it, ' +
  'or through a Service';

const route = /^\/(exec|attach|portForward)\/([^/]+)\/([^/]+)(?:\/([^/]+))?(?:\/([^/]+))?\/?$/;

export function kubeletUpgradeHandler(
  deps: StreamingDeps,
): (request: IncomingMessage, socket: Duplex, head: Buffer) => void {
  return (request, socket, head) => {
    socket.on('error', (err) => deps.logger.debug('kubelet endpoint connection failed', { error: err }));
    serveUpgrade(deps, request, socket, head).catch((err: unknown) => {
      deps.logger.error('kubelet endpoint stream failed', { path: request.url?.split('?')[0], error: err });
      refuse(socket, 502, `the virtual node could not answer: ${errorMessage(err)}`);
    });
  };
}

async function serveUpgrade(
  deps: StreamingDeps,
  request: IncomingMessage,
  socket: Duplex,
  head: Buffer,
): Promise<void> {
  const url = new URL(request.url ?? '/', 'https://kubelet');
  const user = await deps.authenticator.authenticate(request);
  if (!user) return refuse(socket, 401, 'Unauthorized');
  const decision = await deps.authorizer.authorize(user, deps.node, request.method ?? 'GET', url.pathname);
  if (!decision.allowed) return refuse(socket, 403, decision.message.trim());

  const match = route.exec(url.pathname);
  if (!match) return refuse(socket, 404, '404 page not found');
  // Optional groups that did not match are undefined, whatever the array's type says.
  const [, kind, namespace, pod, third, fourth] = match.map((p: string | undefined) =>
    p === undefined ? undefined : decodeURIComponent(p),
  );
  if (kind === 'portForward') return refuse(socket, 400, portForwardRefusal);
  // The kubelet also serves /{kind}/{namespace}/{pod}/{uid}/{container}; the uid is not needed here.
  const container = fourth ?? third;
  if (container === undefined) return refuse(socket, 404, '404 page not found');
  const options = streamOptionsOf(url.searchParams);
  if ('problem' in options) return refuse(socket, 400, options.problem);
  if (!isSpdyUpgrade(request) && !isWebSocketUpgrade(request))
    return refuse(socket, 400, 'unable to upgrade: missing upgrade headers in request');

  const slot = deps.sessions.take();
  if (slot === undefined)
    return refuse(
      socket,
      429,
      `this virtual node's relay already serves ${deps.sessions.limit} exec and attach sessions, as many as it may at once (${deps.sessionLimitSetting ?? 'its session limit'}); try again when one ends`,
    );
  const target = { node: deps.node, namespace: namespace!, pod: pod!, container };
  const log = deps.logger.child({ podNamespace: target.namespace, podName: target.pod });
  try {
    if (kind === 'exec') {
      const command = url.searchParams.getAll('command');
      if (command.length === 0) return refuse(socket, 400, 'you must specify a command');
      await serveExec(deps, log, { ...target, command }, options, request, socket, head);
    } else {
      await serveAttach(deps, log, target, options, request, socket, head);
    }
  } finally {
    slot.release();
  }
}

async function serveExec(
  deps: StreamingDeps,
  log: Logger,
  target: { node: string; namespace: string; pod: string; container: string; command: string[] },
  options: StreamOptions,
  request: IncomingMessage,
  socket: Duplex,
  head: Buffer,
): Promise<void> {
  const ask = (terminalSize?: { rows: number; cols: number }) =>
    deps.call({
      op: 'execSession',
      ...target,
      tty: options.tty,
      stdin: options.stdin,
      ...(terminalSize === undefined ? {} : { terminalSize }),
    });
  let answer: KubeletApiAnswer | undefined;
  if (!options.tty) {
    answer = await ask();
    if (answer.status !== 200) return refuse(socket, answer.status, errorOf(answer));
  }
  const caller = await accept(request, socket, head, options, log);
  if (caller === undefined) return;
  if (answer === undefined) {
    const size = await caller.nextResize(deps.terminalSizeWaitMs ?? 1000);
    answer = await ask(
      size === null || size.width === 0 || size.height === 0
        ? undefined
        : { rows: size.height, cols: size.width },
    );
    if (answer.status !== 200) return caller.finish({ kind: 'failure', message: errorOf(answer) });
  }
  const startedAtMs = Date.now();
  const result = await bridgeTerminalSession(answer.body as ExecSessionAnswer, caller, {
    logger: log,
    startTimeoutMs: deps.startTimeoutMs,
  });
  caller.finish(result);
  log.info('exec session ended', {
    container: target.container,
    protocol: caller.protocol,
    result: result.kind === 'exitCode' ? `exit ${result.code}` : result.kind,
    durationMs: Date.now() - startedAtMs,
  });
}

async function serveAttach(
  deps: StreamingDeps,
  log: Logger,
  target: { node: string; namespace: string; pod: string; container: string },
  options: StreamOptions,
  request: IncomingMessage,
  socket: Duplex,
  head: Buffer,
): Promise<void> {
  if (options.stdin || options.tty)
    return refuse(
      socket,
      400,
      "this virtual node cannot write to a container's main process: kubectl attach shows the container's output only (without -i and -t); use kubectl exec -i to run a command with input",
    );
  const first = await deps.call({ op: 'containerLogs', ...target, tailLines: 0 });
  if (first.status !== 200) return refuse(socket, first.status, errorOf(first));
  const caller = await accept(request, socket, head, options, log);
  if (caller === undefined) return;
  let failed: string | undefined;
  await serveContainerLogs(
    target,
    { follow: true, previous: false, timestamps: false, tailLines: 0 },
    {
      start(status, message) {
        if (status !== 200) failed = message ?? `HTTP ${status}`;
      },
      write: (text) => void caller.writeStdout(Buffer.from(text, 'utf8')),
      end: () => undefined,
      signal: caller.signal,
    },
    { call: deps.call, logger: log, pollMs: deps.followPollMs },
  );
  caller.finish(failed === undefined ? { kind: 'success' } : { kind: 'failure', message: failed });
}

function accept(
  request: IncomingMessage,
  socket: Duplex,
  head: Buffer,
  options: StreamOptions,
  logger: Logger,
): Promise<CallerStreams | undefined> {
  return isSpdyUpgrade(request)
    ? acceptSpdyStreams(request, socket, head, options, { logger })
    : acceptWebSocketStreams(request, socket, head, options, { logger });
}

/**
 * An HTTP answer on the raw connection. The body is a metav1 Status: the API server hands it to
 * kubectl as it is, which prints its message.
 */
function refuse(socket: Duplex, status: number, message: string): void {
  if (socket.destroyed) return;
  const reason = reasons[status] ?? 'InternalError';
  const body = JSON.stringify({
    kind: 'Status',
    apiVersion: 'v1',
    metadata: {},
    status: 'Failure',
    message,
    reason,
    code: status,
  });
  socket.end(
    `HTTP/1.1 ${status} ${STATUS_CODES[status] ?? reason}\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
  );
}

const reasons: Record<number, string> = {
  400: 'BadRequest',
  401: 'Unauthorized',
  403: 'Forbidden',
  404: 'NotFound',
  409: 'Conflict',
  413: 'RequestEntityTooLarge',
  429: 'TooManyRequests',
  501: 'NotImplemented',
  502: 'BadGateway',
  503: 'ServiceUnavailable',
};

function errorOf(answer: KubeletApiAnswer): string {
  const error = (answer.body as { error?: unknown } | undefined)?.error;
  return typeof error === 'string' ? error : `HTTP ${answer.status}`;
}
