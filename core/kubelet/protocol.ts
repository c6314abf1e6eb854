/**
 * The requests the relay's kubelet endpoint forwards to the kubeletApi function, once it has
 * authenticated and authorized the caller itself. Signed like pokes (core/relay/protocol.ts),
 * with the same secret: the function trusts a request only for what it names, and checks
 * everything it names against the API server and its own records (the pod must be bound to
 * the node, the container must be in its spec).
 *
 *   POST /api/kubeletApi
 *   x-funclet-signature: t=<epoch ms>,v1=<hex HMAC-SHA256(secret, "<t>.<body>")>
 *   {"node":"vk-1","op":"containerLogs","namespace":"ns","pod":"p","container":"c",...}
 */
import type { TerminalStdin } from '../providers/exec-terminal.ts';

/** The relay serves this node's kubelet endpoint at address:port; the node posts it. */
export interface AnnounceRequest {
  op: 'announce';
  node: string;
  address: string;
  port: number;
}

export interface ContainerLogsRequest {
  op: 'containerLogs';
  node: string;
  namespace: string;
  pod: string;
  container: string;
  /** The run before the last restart, as `kubectl logs --previous` asks. */
  previous?: boolean;
  tailLines?: number;
  sinceMs?: number;
  timestamps?: boolean;
  limitBytes?: number;
  /** From the previous answer, when following: continue after it. */
  cursor?: string;
}

export interface StatsSummaryRequest {
  op: 'statsSummary';
  node: string;
}

/**
 * A terminal session for `kubectl exec`: the function checks the pod and container as for logs,
 * asks the provider for a session, and answers what the relay needs to bridge it, never the
 * provider's credentials.
 */
export interface ExecSessionRequest {
  op: 'execSession';
  node: string;
  namespace: string;
  pod: string;
  container: string;
  command: string[];
  tty: boolean;
  stdin: boolean;
  /** The caller's terminal when tty: the session's fixed size. */
  terminalSize?: { rows: number; cols: number };
}

export type KubeletApiRequest =
  AnnounceRequest | ContainerLogsRequest | StatsSummaryRequest | ExecSessionRequest;

/** One provider terminal session (core/providers/exec-terminal.ts); the password is a secret. */
export interface ExecSessionAnswer {
  /** The session's WebSocket. */
  url: string;
  /** Sent as the first message. */
  password: string;
  /** Typed after the password. */
  input: string;
  stdin: TerminalStdin;
}

export interface ContainerLogsAnswer {
  text: string;
  /** Pass back to read what comes next. */
  cursor: string;
  /**
   * The container's run has ended (or its instance is gone) and everything it wrote up to the
   * cursor has been returned: a follower stops here.
   */
  ended: boolean;
}

/** A refusal the relay passes on to the caller with the same status. */
export interface KubeletApiError {
  error: string;
}

/** An answer the relay relays as an HTTP error: 400, 404 and 409 are the caller's; 5xx ours. */
export type KubeletApiStatus = 200 | 400 | 401 | 404 | 409 | 413 | 501 | 502 | 503;

const dns1123Label = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;
const dns1123Subdomain = /^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$/;
const ipv4 = /^(25[0-5]|2[0-4]\d|1?\d?\d)(\.(25[0-5]|2[0-4]\d|1?\d?\d)){3}$/;
const maxCursorLength = 4096;
/** The command's arguments, all together; the kubelet takes more, a terminal line holds less. */
const maxCommandBytes = 16 * 1024;

export type ParsedRequest = { ok: true; request: KubeletApiRequest } | { ok: false; problem: string };

/** Parses and validates a request body; anything off the schema is refused whole. */
export function parseKubeletApiRequest(body: string): ParsedRequest {
  let raw: unknown;
  try {
    raw = JSON.parse(body);
  } catch {
    return { ok: false, problem: 'body is not JSON' };
  }
  if (typeof raw !== 'object' || raw === null) return { ok: false, problem: 'body must be an object' };
  const r = raw as Record<string, unknown>;
  if (typeof r.node !== 'string' || !dns1123Subdomain.test(r.node))
    return { ok: false, problem: 'node must be a node name' };
  const node = r.node;
  switch (r.op) {
    case 'announce': {
      if (typeof r.address !== 'string' || !isIpAddress(r.address))
        return { ok: false, problem: 'address must be an IP address' };
      if (!isPort(r.port)) return { ok: false, problem: 'port must be a port number' };
      return { ok: true, request: { op: 'announce', node, address: r.address, port: r.port } };
    }
    case 'statsSummary':
      return { ok: true, request: { op: 'statsSummary', node } };
    case 'containerLogs': {
      if (typeof r.namespace !== 'string' || !dns1123Label.test(r.namespace))
        return { ok: false, problem: 'namespace must be a namespace name' };
      if (typeof r.pod !== 'string' || !dns1123Subdomain.test(r.pod))
        return { ok: false, problem: 'pod must be a pod name' };
      if (typeof r.container !== 'string' || !dns1123Label.test(r.container))
        return { ok: false, problem: 'container must be a container name' };
      const request: ContainerLogsRequest = {
        op: 'containerLogs',
        node,
        namespace: r.namespace,
        pod: r.pod,
        container: r.container,
      };
      for (const key of ['tailLines', 'sinceMs', 'limitBytes'] as const) {
        const value = r[key];
        if (value === undefined) continue;
        if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 0)
          return { ok: false, problem: `${key} must be a whole number >= 0` };
        request[key] = value;
      }
      for (const key of ['previous', 'timestamps'] as const) {
        const value = r[key];
        if (value === undefined) continue;
        if (typeof value !== 'boolean') return { ok: false, problem: `${key} must be true or false` };
        request[key] = value;
      }
      if (r.cursor !== undefined) {
        if (typeof r.cursor !== 'string' || r.cursor.length > maxCursorLength)
          return { ok: false, problem: 'cursor must be a string from an earlier answer' };
        request.cursor = r.cursor;
      }
      return { ok: true, request };
    }
    case 'execSession': {
      const target = podTarget(r);
      if (typeof target === 'string') return { ok: false, problem: target };
      const command = r.command;
      if (
        !Array.isArray(command) ||
        command.length === 0 ||
        !command.every((a): a is string => typeof a === 'string') ||
        Buffer.byteLength(command.join('\0')) > maxCommandBytes
      )
        return {
          ok: false,
          problem: `command must be 1 or more strings, at most ${maxCommandBytes} bytes in all`,
        };
      if (typeof r.tty !== 'boolean' || typeof r.stdin !== 'boolean')
        return { ok: false, problem: 'tty and stdin must be true or false' };
      const request: ExecSessionRequest = {
        op: 'execSession',
        node,
        ...target,
        command,
        tty: r.tty,
        stdin: r.stdin,
      };
      if (r.terminalSize !== undefined) {
        const size: { rows?: unknown; cols?: unknown } | null =
          typeof r.terminalSize === 'object' ? r.terminalSize : null;
        const dimension = (n: unknown): n is number =>
          typeof n === 'number' && Number.isInteger(n) && n >= 1 && n <= 10_000;
        if (size === null || !dimension(size.rows) || !dimension(size.cols))
          return { ok: false, problem: 'terminalSize must be whole rows and cols from 1 to 10000' };
        request.terminalSize = { rows: size.rows, cols: size.cols };
      }
      return { ok: true, request };
    }
    default:
      return { ok: false, problem: 'op must be announce, containerLogs, statsSummary or execSession' };
  }
}

/** The namespace, pod and container a request names, or what is wrong with them. */
function podTarget(
  r: Record<string, unknown>,
): { namespace: string; pod: string; container: string } | string {
  if (typeof r.namespace !== 'string' || !dns1123Label.test(r.namespace))
    return 'namespace must be a namespace name';
  if (typeof r.pod !== 'string' || !dns1123Subdomain.test(r.pod)) return 'pod must be a pod name';
  if (typeof r.container !== 'string' || !dns1123Label.test(r.container))
    return 'container must be a container name';
  return { namespace: r.namespace, pod: r.pod, container: r.container };
}

export function isIpAddress(value: string): boolean {
  return ipv4.test(value) || (value.includes(':') && /^[0-9a-fA-F:.]+$/.test(value) && value.length <= 45);
}

function isPort(value: unknown): value is number {
  return typeof value === 'number' && Number.isInteger(value) && value >= 1 && value <= 65535;
}
