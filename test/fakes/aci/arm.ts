/**
 * The fake's ARM routes: one request in, one reply out, following the REST contract of
 * Microsoft.ContainerInstance at api-version 2023-05-01.
 *
 * - PUT a group: 201 (200 when it existed) with the group and an `Azure-AsyncOperation` header
 *   naming an operation status resource served here; the PUT reply says Pending, reads say
 *   Creating, then Succeeded after the provisioning delay. Validation as ACI (validate.ts).
 * - GET a group with its instance view, or 404 ResourceNotFound with an ARM error body.
 * - DELETE: 200 with the group, or 202 + Azure-AsyncOperation when a delete delay is set; 204 when
 *   there is nothing to delete.
 * - list by resource group or subscription, without instance views (as ACI), paged by nextLink.
 * - container logs (tail, timestamps) of the current run (output.ts); location usages;
 *   operation status.
 * - executeCommand (POST .../containers/{name}/exec): a running container's exec session on the
 *   fake's bridge (exec.ts), answered as a WebSocket URI and a password.
 * - a group's Azure Monitor metrics (metrics.ts), at the monitor SDK's own api-version.
 * - every request needs a bearer token and exactly the SDK's api-version.
 */
import { randomUUID } from 'node:crypto';
import type { FakeExecBridge } from './exec.ts';
import { metricsApiVersion, metricsReply } from './metrics.ts';
import { containerOutput } from './output.ts';
import { GroupStore, iso, type GroupRecord } from './store.ts';
import { validateGroup, validateGroupName } from './validate.ts';
import {
  apiVersion,
  armError,
  normalizeLocation,
  resourceType,
  type ArmError,
  type WireGroup,
} from './wire.ts';

export interface Reply {
  status: number;
  body?: unknown;
  headers?: Record<string, string>;
}

export interface ArmRequest {
  method: string;
  url: URL;
  body: string;
  authorization: string | undefined;
}

export interface ArmSettings {
  base: () => string;
  now: () => number;
  pageSize: () => number;
  usageLimits: Record<string, number>;
  /** Lowercase names of the resource groups that exist, or undefined for all. */
  resourceGroups: string[] | undefined;
  exec: FakeExecBridge;
}

interface Operation {
  key: string;
  kind: 'create' | 'delete';
  startedAtMs: number;
}

const provider = 'providers/Microsoft\\.ContainerInstance';
const routes = {
  group: new RegExp(
    `^/subscriptions/([^/]+)/resourceGroups/([^/]+)/${provider}/containerGroups/([^/]+)$`,
    'i',
  ),
  logs: new RegExp(
    `^/subscriptions/([^/]+)/resourceGroups/([^/]+)/${provider}/containerGroups/([^/]+)/containers/([^/]+)/logs$`,
    'i',
  ),
  exec: new RegExp(
    `^/subscriptions/([^/]+)/resourceGroups/([^/]+)/${provider}/containerGroups/([^/]+)/containers/([^/]+)/exec$`,
    'i',
  ),
  metrics: new RegExp(
    `^/subscriptions/([^/]+)/resourceGroups/([^/]+)/${provider}/containerGroups/([^/]+)/providers/Microsoft\\.Insights/metrics$`,
    'i',
  ),
  listByGroup: new RegExp(`^/subscriptions/([^/]+)/resourceGroups/([^/]+)/${provider}/containerGroups$`, 'i'),
  list: new RegExp(`^/subscriptions/([^/]+)/${provider}/containerGroups$`, 'i'),
  usages: new RegExp(`^/subscriptions/([^/]+)/${provider}/locations/([^/]+)/usages$`, 'i'),
  operation: new RegExp(`^/subscriptions/([^/]+)/${provider}/locations/([^/]+)/operations/([^/]+)$`, 'i'),
};

export function errorReply(e: ArmError, headers?: Record<string, string>): Reply {
  return {
    status: e.status,
    body: { error: { code: e.code, message: e.message } },
    ...(headers === undefined ? {} : { headers }),
  };
}

export function armRoutes(store: GroupStore, settings: ArmSettings): (request: ArmRequest) => Reply {
  const operations = new Map<string, Operation>();

  const startOperation = (record: GroupRecord, kind: Operation['kind']): string => {
    const id = randomUUID();
    operations.set(id, {
      key: GroupStore.key(record.subscription, record.resourceGroup, record.name),
      kind,
      startedAtMs: settings.now(),
    });
    const location = normalizeLocation(record.spec.location);
    return `${settings.base()}/subscriptions/${record.subscription}/providers/Microsoft.ContainerInstance/locations/${location}/operations/${id}?api-version=${apiVersion}`;
  };

  const missingResourceGroup = (rg: string): Reply | undefined =>
    settings.resourceGroups === undefined || settings.resourceGroups.includes(rg.toLowerCase())
      ? undefined
      : errorReply(armError(404, 'ResourceGroupNotFound', `Resource group '${rg}' could not be found.`));

  const notFound = (rg: string, name: string): Reply =>
    errorReply(
      armError(
        404,
        'ResourceNotFound',
        `The Resource '${resourceType}/${name}' under resource group '${rg}' was not found. For more details please go to https://aka.ms/ARMResourceNotFoundFix`,
      ),
    );

  function group(method: string, sub: string, rg: string, name: string, body: string): Reply {
    const existing = store.get(sub, rg, name);
    if (method === 'GET')
      return existing === undefined
        ? notFound(rg, name)
        : { status: 200, body: store.render(existing, true) };
    if (method === 'DELETE') {
      if (existing === undefined) return { status: 204 };
      if (store.settings.deleteDelayMs <= 0) {
        const last = store.render(existing, true);
        store.delete(existing);
        return { status: 200, body: last };
      }
      store.delete(existing);
      return { status: 202, headers: { 'azure-asyncoperation': startOperation(existing, 'delete') } };
    }
    if (method !== 'PUT')
      return errorReply(armError(405, 'MethodNotAllowed', `The method ${method} is not allowed here.`));
    let parsed: unknown;
    try {
      parsed = JSON.parse(body);
    } catch {
      return errorReply(
        armError(
          400,
          'InvalidRequestContent',
          'The request content was invalid and could not be deserialized.',
        ),
      );
    }
    const problem = validateGroupName(name) ?? validateGroup(name, parsed);
    if (problem !== undefined) return errorReply(problem);
    if (existing?.deletingUntilMs !== undefined) {
      return errorReply(
        armError(409, 'ContainerGroupTransitioning', `The container group '${name}' is being deleted.`),
      );
    }
    const { record, created } = store.put(sub, rg, name, writable(parsed as WireGroup));
    const rendered = store.render(record, true);
    if (!store.isProvisioned(record) && record.failure === undefined)
      rendered.properties.provisioningState = 'Pending';
    return {
      status: created ? 201 : 200,
      body: rendered,
      headers: { 'azure-asyncoperation': startOperation(record, 'create') },
    };
  }

  function logs(url: URL, sub: string, rg: string, name: string, container: string): Reply {
    const record = store.get(sub, rg, name);
    if (record === undefined) return notFound(rg, name);
    const spec = record.spec.properties.containers.find((c) => c.name === container);
    const initSpec = record.spec.properties.initContainers?.find((c) => c.name === container);
    if (spec === undefined && initSpec === undefined) {
      return errorReply(
        armError(
          404,
          'ContainerNotFound',
          `The container '${container}' is not found in container group '${name}'.`,
        ),
      );
    }
    const lines = containerOutput(store, record, (spec ?? initSpec)!, spec === undefined, settings.now());
    const tail = url.searchParams.get('tail');
    const selected = tail === null ? lines : Number(tail) <= 0 ? [] : lines.slice(-Number(tail));
    const stamp = url.searchParams.get('timestamps') === 'true';
    return {
      status: 200,
      body: { content: selected.map((l) => `${stamp ? `${iso(l.atMs)} ` : ''}${l.line}\n`).join('') },
    };
  }

  function exec(sub: string, rg: string, name: string, container: string, body: string): Reply {
    const record = store.get(sub, rg, name);
    if (record === undefined) return notFound(rg, name);
    const spec = record.spec.properties.containers.find((c) => c.name === container);
    if (spec === undefined)
      return errorReply(
        armError(
          404,
          'ContainerNotFound',
          `The container '${container}' is not found in container group '${name}'.`,
        ),
      );
    let request: { command?: unknown; terminalSize?: { rows?: unknown; cols?: unknown } };
    try {
      request = JSON.parse(body) as typeof request;
    } catch {
      return errorReply(
        armError(
          400,
          'InvalidRequestContent',
          'The request content was invalid and could not be deserialized.',
        ),
      );
    }
    if (typeof request.command !== 'string' || request.command.trim() === '')
      return errorReply(armError(400, 'InvalidExecCommand', 'The exec command must be specified.'));
    const rows = Number(request.terminalSize?.rows ?? 24);
    const cols = Number(request.terminalSize?.cols ?? 80);
    if (!Number.isInteger(rows) || !Number.isInteger(cols) || rows < 1 || cols < 1)
      return errorReply(
        armError(400, 'InvalidTerminalSize', 'The terminal size must be positive rows and cols.'),
      );
    if (store.instanceView(record, spec, false).currentState.state !== 'Running')
      return errorReply(
        armError(
          409,
          'ContainerNotRunning',
          `The container '${container}' in container group '${name}' is not running.`,
        ),
      );
    return { status: 200, body: settings.exec.open(record, container, request.command, { rows, cols }) };
  }

  function list(url: URL, sub: string, rg: string | undefined): Reply {
    const all = store.list(sub, rg);
    const skip = Number(url.searchParams.get('$skipToken') ?? '0') || 0;
    const size = settings.pageSize();
    const page = all.slice(skip, skip + size);
    const more = skip + size < all.length;
    const nextLink = `${settings.base()}${url.pathname}?api-version=${apiVersion}&$skipToken=${skip + size}`;
    return {
      status: 200,
      body: { value: page.map((g) => store.render(g, false)), ...(more ? { nextLink } : {}) },
    };
  }

  function usages(sub: string, location: string): Reply {
    const groups = store.inLocation(sub, location);
    const cores = groups.reduce(
      (sum, g) =>
        sum +
        g.spec.properties.containers.reduce((s, c) => s + (c.properties.resources?.requests?.cpu ?? 0), 0),
      0,
    );
    const current: Record<string, number> = { ContainerGroups: groups.length, StandardCores: cores };
    const value = Object.entries(settings.usageLimits).map(([name, limit]) => ({
      unit: 'Count',
      currentValue: current[name] ?? 0,
      limit,
      name: { value: name, localizedValue: name.replace(/([a-z])([A-Z])/g, '$1 $2') },
    }));
    return { status: 200, body: { value } };
  }

  function operation(path: string, id: string): Reply {
    const op = operations.get(id);
    if (op === undefined)
      return errorReply(armError(404, 'OperationNotFound', `The operation '${id}' was not found.`));
    const record = store.byKey(op.key);
    let status = 'InProgress';
    let error: { code: string; message: string } | undefined;
    if (op.kind === 'delete') status = record === undefined ? 'Succeeded' : 'InProgress';
    else if (record === undefined) status = 'Canceled';
    else if (record.failure !== undefined) [status, error] = ['Failed', record.failure];
    else if (store.isProvisioned(record)) status = 'Succeeded';
    const body = {
      id: path,
      name: id,
      status,
      startTime: iso(op.startedAtMs),
      ...(status === 'InProgress' ? {} : { endTime: iso(settings.now()) }),
      ...(error === undefined ? {} : { error }),
    };
    return { status: 200, body };
  }

  return ({ method, url, body, authorization }) => {
    if (!/^Bearer \S+/.test(authorization ?? '')) {
      return errorReply(
        armError(
          401,
          'AuthenticationFailed',
          "Authentication failed. The 'Authorization' header is missing.",
        ),
      );
    }
    const path = url.pathname;
    const match = (pattern: RegExp): string[] | undefined => pattern.exec(path)?.slice(1);
    let m: string[] | undefined;
    const expected = routes.metrics.test(path) ? metricsApiVersion : apiVersion;
    const version = url.searchParams.get('api-version');
    if (version === null) {
      return errorReply(
        armError(
          400,
          'MissingApiVersionParameter',
          'The api-version query parameter (?api-version=) is required for all requests.',
        ),
      );
    }
    if (version !== expected) {
      return errorReply(
        armError(
          400,
          'InvalidApiVersionParameter',
          `The api-version '${version}' is invalid. The supported versions are '${expected}'.`,
        ),
      );
    }
    if ((m = match(routes.metrics)) !== undefined && method === 'GET') {
      const [sub = '', rg = '', name = ''] = m;
      const record = store.get(sub, rg, name);
      return (
        missingResourceGroup(rg) ??
        (record === undefined ? notFound(rg, name) : metricsReply(store, record, url, settings.now()))
      );
    }
    if ((m = match(routes.exec)) !== undefined && method === 'POST') {
      const [sub = '', rg = '', name = '', container = ''] = m;
      return missingResourceGroup(rg) ?? exec(sub, rg, name, container, body);
    }
    if ((m = match(routes.logs)) !== undefined && method === 'GET') {
      const [sub = '', rg = '', name = '', container = ''] = m;
      return missingResourceGroup(rg) ?? logs(url, sub, rg, name, container);
    }
    if ((m = match(routes.group)) !== undefined) {
      const [sub = '', rg = '', name = ''] = m;
      return missingResourceGroup(rg) ?? group(method, sub, rg, name, body);
    }
    if (method !== 'GET')
      return errorReply(armError(405, 'MethodNotAllowed', `The method ${method} is not allowed here.`));
    if ((m = match(routes.listByGroup)) !== undefined) {
      const [sub = '', rg = ''] = m;
      return missingResourceGroup(rg) ?? list(url, sub, rg);
    }
    if ((m = match(routes.list)) !== undefined) return list(url, m[0] ?? '', undefined);
    if ((m = match(routes.usages)) !== undefined) return usages(m[0] ?? '', m[1] ?? '');
    if ((m = match(routes.operation)) !== undefined) return operation(path, m[2] ?? '');
    return errorReply(armError(404, 'NotFound', `No route for ${method} ${path}.`));
  };
}

/** The writable part of a PUT body: read-only fields a client may echo back are dropped. */
function writable(body: WireGroup): WireGroup {
  const copy = structuredClone(body);
  delete copy.id;
  delete copy.name;
  delete copy.type;
  delete copy.properties.provisioningState;
  delete copy.properties.instanceView;
  for (const c of [...copy.properties.containers, ...(copy.properties.initContainers ?? [])])
    delete c.properties.instanceView;
  return copy;
}
