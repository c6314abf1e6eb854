/**
 * In-memory stand-ins for what reconcile talks to, for unit tests that run the real reconcile and
 * resync code: a Table (behind the real PodRecords, with ETags), the API server's pod endpoints
 * (merge-patching pods/status as the API server does), and a clock the test moves.
 */
import { RestError, type TableClient } from '@azure/data-tables';
import { ApiException, type CoreV1Event, type V1Pod } from '@kubernetes/client-node';
import type { KubeClients } from '../../../core/kube/clients.ts';

export class ManualClock {
  nowMs: number;

  constructor(startMs: number) {
    this.nowMs = startMs;
  }

  readonly now = (): number => this.nowMs;

  advance(ms: number): void {
    this.nowMs += ms;
  }
}

type Row = Record<string, unknown> & { partitionKey: string; rowKey: string };

/** The TableClient methods PodRecords uses, with Table Storage's ETag rules and status codes. */
export class MemoryTable {
  private readonly rows = new Map<string, { row: Row; etag: string }>();
  private version = 0;

  asTableClient(): TableClient {
    return this as unknown as TableClient;
  }

  getEntity(partitionKey: string, rowKey: string): Promise<Row & { etag: string }> {
    const found = this.rows.get(key(partitionKey, rowKey));
    if (found === undefined) return Promise.reject(tableError(404, 'ResourceNotFound'));
    return Promise.resolve({ ...structuredClone(found.row), etag: found.etag });
  }

  /** PodRecords reads this with `for await`, which takes a plain iterable as well as a paged one. */
  listEntities(options: { queryOptions?: { filter?: string } } = {}): Iterable<Row & { etag: string }> {
    const partition = /^PartitionKey eq '(.*)'$/
      .exec(options.queryOptions?.filter ?? '')?.[1]
      ?.replace(/''/g, "'");
    const rows = [...this.rows.values()].filter(
      (r) => partition === undefined || r.row.partitionKey === partition,
    );
    return rows.map((r) => ({ ...structuredClone(r.row), etag: r.etag }));
  }

  createEntity(entity: Row): Promise<{ etag: string }> {
    const k = key(entity.partitionKey, entity.rowKey);
    if (this.rows.has(k)) return Promise.reject(tableError(409, 'EntityAlreadyExists'));
    return Promise.resolve(this.store(k, entity));
  }

  updateEntity(
    entity: Row,
    mode: 'Replace' | 'Merge',
    options: { etag?: string } = {},
  ): Promise<{ etag: string }> {
    const k = key(entity.partitionKey, entity.rowKey);
    const found = this.rows.get(k);
    if (found === undefined) return Promise.reject(tableError(404, 'ResourceNotFound'));
    if (options.etag !== undefined && options.etag !== '*' && options.etag !== found.etag)
      return Promise.reject(tableError(412, 'UpdateConditionNotSatisfied'));
    return Promise.resolve(this.store(k, mode === 'Merge' ? { ...found.row, ...entity } : entity));
  }

  deleteEntity(partitionKey: string, rowKey: string, options: { etag?: string } = {}): Promise<void> {
    const k = key(partitionKey, rowKey);
    const found = this.rows.get(k);
    if (found === undefined) return Promise.reject(tableError(404, 'ResourceNotFound'));
    if (options.etag !== undefined && options.etag !== '*' && options.etag !== found.etag)
      return Promise.reject(tableError(412, 'UpdateConditionNotSatisfied'));
    this.rows.delete(k);
    return Promise.resolve();
  }

  private store(k: string, row: Row): { etag: string } {
    const etag = `W/"datetime'${++this.version}'"`;
    this.rows.set(k, { row: structuredClone(row), etag });
    return { etag };
  }
}

function key(partitionKey: string, rowKey: string): string {
  return `${partitionKey}\u0000${rowKey}`;
}

function tableError(statusCode: number, code: string): RestError {
  return new RestError(code, { statusCode, code });
}

/** The pod endpoints of the API server that reconcile and resync call, over a map of pods. */
export class FakePodApi {
  readonly pods = new Map<string, V1Pod>();
  readonly events: CoreV1Event[] = [];
  readonly statusPatches: { name: string; status: unknown }[] = [];

  add(pod: V1Pod): void {
    this.pods.set(`${pod.metadata!.namespace!}/${pod.metadata!.name!}`, structuredClone(pod));
  }

  pod(namespace: string, name: string): V1Pod {
    const found = this.pods.get(`${namespace}/${name}`);
    if (found === undefined) throw new Error(`no pod ${namespace}/${name}`);
    return structuredClone(found);
  }

  kube(): KubeClients {
    const core = {
      listPodForAllNamespaces: (req: { fieldSelector?: string }) => {
        const node = /^spec\.nodeName=(.*)$/.exec(req.fieldSelector ?? '')?.[1];
        const items = [...this.pods.values()].filter((p) => node === undefined || p.spec?.nodeName === node);
        return Promise.resolve({ items: structuredClone(items), metadata: {} });
      },
      // As the API server answers a node: selected by node and name, never a 404.
      listNamespacedPod: (req: { namespace: string; fieldSelector?: string }) => {
        const fields = new Map(
          (req.fieldSelector ?? '').split(',').map((f) => f.split('=', 2) as [string, string]),
        );
        const items = [...this.pods.values()].filter(
          (p) =>
            p.metadata?.namespace === req.namespace &&
            (!fields.has('spec.nodeName') || p.spec?.nodeName === fields.get('spec.nodeName')) &&
            (!fields.has('metadata.name') || p.metadata?.name === fields.get('metadata.name')),
        );
        return Promise.resolve({ items: structuredClone(items), metadata: {} });
      },
      patchNamespacedPodStatus: (req: {
        name: string;
        namespace: string;
        body: { metadata?: { uid?: string }; status: Record<string, unknown> };
      }) => {
        const found = this.pods.get(`${req.namespace}/${req.name}`);
        if (found === undefined) return Promise.reject(notFound(req.name));
        if (req.body.metadata?.uid !== undefined && req.body.metadata.uid !== found.metadata?.uid)
          return Promise.reject(new ApiException(409, 'Conflict', { message: 'uid mismatch' }, {}));
        this.statusPatches.push({ name: req.name, status: structuredClone(req.body.status) });
        found.status = mergePatch(found.status ?? {}, req.body.status) as V1Pod['status'];
        return Promise.resolve(structuredClone(found));
      },
      deleteNamespacedPod: (req: { name: string; namespace: string }) => {
        if (!this.pods.delete(`${req.namespace}/${req.name}`)) return Promise.reject(notFound(req.name));
        return Promise.resolve({});
      },
      createNamespacedEvent: (req: { body: CoreV1Event }) => {
        this.events.push(structuredClone(req.body));
        return Promise.resolve(req.body);
      },
    };
    return { core } as unknown as KubeClients;
  }
}

function notFound(name: string): ApiException<unknown> {
  return new ApiException(404, 'Not Found', { message: `pods "${name}" not found` }, {});
}

/** RFC 7386 JSON merge patch: objects merge, null deletes, anything else (arrays, dates) replaces. */
function mergePatch(target: unknown, patch: unknown): unknown {
  if (!isPlainObject(patch)) return structuredClone(patch);
  const out = new Map(Object.entries(isPlainObject(target) ? target : {}));
  for (const [k, v] of Object.entries(patch)) {
    if (v === null) out.delete(k);
    else if (v !== undefined) out.set(k, mergePatch(out.get(k), v));
  }
  return Object.fromEntries(out);
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value) && !(value instanceof Date);
}
