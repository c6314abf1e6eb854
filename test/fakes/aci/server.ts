/**
 * An in-process fake of ARM for Microsoft.ContainerInstance (the REST contract is in arm.ts),
 * close enough for the real @azure/arm-containerinstance client to drive it. It serves https on
 * 127.0.0.1 with a throwaway certificate (cert.ts), because the SDK sends bearer tokens only over
 * https: give `caPem` to the client. Test controls are plain methods on the returned object:
 * inject errors (every matching request, or a seeded random share of them, as throttling does),
 * set provisioning and delete delays, end containers, write logs, delete groups out of band,
 * count requests, see the exec sessions (executeCommand and its sockets, exec.ts).
 */
import { randomUUID } from 'node:crypto';
import { createServer, type Server } from 'node:https';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { testCertificate } from './cert.ts';
import { armRoutes, errorReply, type Reply } from './arm.ts';
import { startExecBridge, type FakeExecBridge } from './exec.ts';
import { event, GroupStore, iso, type GroupRecord } from './store.ts';
import { apiVersion, armError, type WireGroup, type WireState } from './wire.ts';
import { seededRandom } from '../../support/random.ts';

export interface FakeAciOptions {
  /** How long a new group stays Creating (default 0: Succeeded at the next read). */
  provisioningDelayMs?: number;
  /** How long a deleted group stays Deleting (default 0: gone at once, DELETE answers 200). */
  deleteDelayMs?: number;
  /** Groups per list page (default 100). */
  pageSize?: number;
  /** Usage limits by usage name (defaults: ContainerGroups 100, StandardCores 100). */
  usageLimits?: Record<string, number>;
  /** When set, only these resource groups exist; others answer 404 ResourceGroupNotFound. */
  resourceGroups?: string[];
  now?: () => number;
}

export interface ErrorInjection {
  status: number;
  code?: string;
  message?: string;
  /** Sent as Retry-After. */
  retryAfterSeconds?: number;
  /** How many matching requests fail (default 1; Infinity for all). */
  times?: number;
  method?: string;
  /** Matches when the request path contains it (case-insensitive), or matches the RegExp. */
  path?: string | RegExp;
  /**
   * The share of matching requests that fail, in (0, 1] (default 1: each one, until `times` is
   * used up). A request spared by the draw is served normally and uses up nothing.
   */
  probability?: number;
  /**
   * Seeds the draw behind `probability`, so that the same sequence of requests meets the same
   * sequence of failures in every run (default: Math.random).
   */
  seed?: number;
}

export interface RequestRecord {
  method: string;
  path: string;
  query: Record<string, string>;
  status: number;
}

export interface FakeAci {
  /** The ARM endpoint, e.g. https://127.0.0.1:41234 */
  readonly url: string;
  /** The CA that signed the fake's certificate. */
  readonly caPem: string;
  readonly apiVersion: string;
  readonly requests: readonly RequestRecord[];
  countRequests(filter?: { method?: string; path?: string | RegExp; status?: number }): number;
  resetRequests(): void;
  injectErrors(injection: ErrorInjection): void;
  clearErrors(): void;
  setProvisioningDelay(ms: number): void;
  setDeleteDelay(ms: number): void;
  setPageSize(size: number): void;
  setUsageLimit(name: string, limit: number): void;
  /** The next group created fails provisioning with this ARM error. */
  failNextProvisioning(failure: { code: string; message: string }): void;
  completeProvisioning(group: string): void;
  /** Ends a container as ACI would: under Always (or OnFailure with a non-zero code) it is restarted. */
  terminateContainer(group: string, container: string, exitCode: number, detailStatus?: string): void;
  setContainerState(group: string, container: string, state: WireState, restartCount?: number): void;
  appendLogs(group: string, container: string, lines: string[]): void;
  /** Deletes a group out of band, as someone in the portal would. */
  deleteGroup(group: string): void;
  /** The stored spec as PUT, secrets included, or undefined. */
  groupSpec(group: string): WireGroup | undefined;
  groupNames(): string[];
  /** executeCommand's sessions and their sockets. */
  readonly exec: Pick<FakeExecBridge, 'requests' | 'openSockets' | 'pendingSessions'>;
  close(): Promise<void>;
}

export async function startFakeAci(options: FakeAciOptions = {}): Promise<FakeAci> {
  const now = options.now ?? Date.now;
  const store = new GroupStore({
    now,
    provisioningDelayMs: options.provisioningDelayMs ?? 0,
    deleteDelayMs: options.deleteDelayMs ?? 0,
  });
  const usageLimits: Record<string, number> = {
    ContainerGroups: 100,
    StandardCores: 100,
    ...options.usageLimits,
  };
  let pageSize = options.pageSize ?? 100;
  let base = '';
  const exec = await startExecBridge(now);
  const route = armRoutes(store, {
    exec,
    base: () => base,
    now,
    pageSize: () => pageSize,
    usageLimits,
    resourceGroups: options.resourceGroups?.map((g) => g.toLowerCase()),
  });
  const injections: (ErrorInjection & { remaining: number; draw: () => number })[] = [];
  const requests: RequestRecord[] = [];

  const injected = (method: string, path: string): Reply | undefined => {
    const found = injections.find(
      (i) =>
        i.remaining > 0 &&
        (i.method === undefined || i.method.toUpperCase() === method) &&
        pathMatches(path, i.path) &&
        (i.probability === undefined || i.draw() < i.probability),
    );
    if (found === undefined) return undefined;
    found.remaining--;
    const e = armError(
      found.status,
      found.code ?? defaultCode(found.status),
      found.message ?? `Injected failure ${found.status}.`,
    );
    return errorReply(
      e,
      found.retryAfterSeconds === undefined ? undefined : { 'retry-after': String(found.retryAfterSeconds) },
    );
  };

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const method = (req.method ?? 'GET').toUpperCase();
    const url = new URL(req.url ?? '/', base);
    const body = await readBody(req);
    const reply =
      injected(method, url.pathname) ??
      route({ method, url, body, authorization: req.headers.authorization });
    requests.push({
      method,
      path: url.pathname,
      query: Object.fromEntries(url.searchParams),
      status: reply.status,
    });
    const headers: Record<string, string> = { 'x-ms-request-id': randomUUID(), ...reply.headers };
    if (reply.body !== undefined) headers['content-type'] = 'application/json; charset=utf-8';
    res.writeHead(reply.status, headers);
    res.end(reply.body === undefined ? undefined : JSON.stringify(reply.body));
  }

  const { keyPem, certPem } = testCertificate();
  const server: Server = createServer({ key: keyPem, cert: certPem }, (req, res) => {
    handle(req, res).catch((err: unknown) => {
      if (res.headersSent) return;
      res.writeHead(500, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ error: { code: 'InternalServerError', message: String(err) } }));
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      resolve();
    });
  });
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('fake ACI: no port');
  base = `https://127.0.0.1:${address.port}`;

  const containerNamed = (group: GroupRecord, container: string) => {
    const found = group.spec.properties.containers.find((c) => c.name === container);
    if (found === undefined) throw new Error(`fake ACI: no container ${container} in ${group.name}`);
    return found;
  };

  return {
    url: base,
    caPem: certPem,
    apiVersion,
    requests,
    countRequests: (filter = {}) =>
      requests.filter(
        (r) =>
          (filter.method === undefined || r.method === filter.method.toUpperCase()) &&
          (filter.status === undefined || r.status === filter.status) &&
          (filter.path === undefined ||
            (typeof filter.path === 'string'
              ? r.path.toLowerCase().includes(filter.path.toLowerCase())
              : filter.path.test(r.path))),
      ).length,
    resetRequests: () => {
      requests.length = 0;
    },
    injectErrors: (injection) => {
      const { probability, seed } = injection;
      if (probability !== undefined && !(probability > 0 && probability <= 1))
        throw new Error(`fake ACI: an injection's probability must be in (0, 1], not ${probability}`);
      injections.push({
        ...injection,
        remaining: injection.times ?? 1,
        draw: seed === undefined ? Math.random : seededRandom(seed),
      });
    },
    clearErrors: () => {
      injections.length = 0;
    },
    setProvisioningDelay: (ms) => {
      store.settings.provisioningDelayMs = ms;
    },
    setDeleteDelay: (ms) => {
      store.settings.deleteDelayMs = ms;
    },
    setPageSize: (size) => {
      pageSize = size;
    },
    setUsageLimit: (name, limit) => {
      usageLimits[name] = limit;
    },
    failNextProvisioning: (failure) => {
      store.failNextProvisioning(failure);
    },
    completeProvisioning: (group) => {
      const record = store.named(group);
      record.readyAtMs = Math.min(record.readyAtMs, now());
    },
    terminateContainer: (group, container, exitCode, detailStatus) => {
      const record = store.named(group);
      record.readyAtMs = Math.min(record.readyAtMs, now());
      const spec = containerNamed(record, container);
      const view = store.instanceView(record, spec, false);
      const at = now();
      const ended: WireState = {
        state: 'Terminated',
        exitCode,
        startTime: view.currentState.startTime ?? iso(record.readyAtMs),
        finishTime: iso(at),
        detailStatus: detailStatus ?? (exitCode === 0 ? 'Completed' : 'Error'),
      };
      const policy = record.spec.properties.restartPolicy ?? 'Always';
      const restarts = policy === 'Always' || (policy === 'OnFailure' && exitCode !== 0);
      record.runtime.set(
        container,
        restarts
          ? {
              restartCount: view.restartCount + 1,
              currentState: { state: 'Running', startTime: iso(at), detailStatus: '' },
              previousState: ended,
              events: [...view.events, event('Started', 'Restarted container', at)],
            }
          : { restartCount: view.restartCount, currentState: ended, events: view.events },
      );
    },
    setContainerState: (group, container, state, restartCount) => {
      const record = store.named(group);
      const view = store.instanceView(record, containerNamed(record, container), false);
      record.runtime.set(container, {
        ...view,
        currentState: state,
        restartCount: restartCount ?? view.restartCount,
      });
    },
    appendLogs: (group, container, lines) => {
      const record = store.named(group);
      const log = record.logs.get(container) ?? [];
      for (const line of lines) log.push({ atMs: now(), line });
      record.logs.set(container, log);
    },
    deleteGroup: (group) => {
      store.remove(store.named(group));
    },
    groupSpec: (group) => {
      try {
        return store.named(group).spec;
      } catch {
        return undefined;
      }
    },
    groupNames: () => store.all().map((g) => g.name),
    exec,
    close: async () => {
      await exec.close();
      await new Promise<void>((resolve) => {
        server.close(() => {
          resolve();
        });
        server.closeAllConnections();
      });
    },
  };
}

function pathMatches(path: string, pattern: string | RegExp | undefined): boolean {
  if (pattern === undefined) return true;
  return typeof pattern === 'string'
    ? path.toLowerCase().includes(pattern.toLowerCase())
    : pattern.test(path);
}

function defaultCode(status: number): string {
  switch (status) {
    case 429:
      return 'TooManyRequests';
    case 503:
      return 'ServiceUnavailable';
    case 409:
      return 'Conflict';
    default:
      return status >= 500 ? 'InternalServerError' : 'BadRequest';
  }
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}
