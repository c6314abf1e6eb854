import type { TableClient, TableEntityResult } from '@azure/data-tables';
import { ConflictError } from '../errors.ts';
import { isTableStatus } from './tables.ts';

/**
 * What Funclet remembers about one pod between invocations: one row per pod, partitioned by
 * node, keyed by pod UID. Every write is guarded by the ETag read with it; a conflict means
 * another invocation acted first, and the caller reloads and decides again.
 */
export interface PodRecord {
  node: string;
  uid: string;
  namespace: string;
  name: string;
  /** The provider instance of the current attempt, once createPod returned it. */
  providerId?: string;
  /**
   * The instance of the attempt before the current one, when Funclet restarted the pod by
   * creating a new instance: where `kubectl logs --previous` reads.
   */
  previousProviderId?: string;
  /** Instances Funclet created before the current one: restarts it did itself. */
  attempt: number;
  /** When the current instance was created. */
  instanceCreatedAtMs?: number;
  /** When the first instance was created: the pod's startTime. */
  startedAtMs?: number;
  /** JSON: container name -> the terminated state of the previous attempt (lastState). */
  lastTermination?: string;
  /** The reason of the last Warning event sent, so a pass does not repeat it. */
  lastWarningReason?: string;
  /**
   * Set while an invocation starts an instance (claimed before the provider call, cleared when
   * the instance is recorded). A concurrent invocation that sees a fresh claim waits instead of
   * creating a second instance; a stale one (its owner crashed) is taken over.
   */
  creatingSinceMs?: number;
  /** The last pod resourceVersion the event path acted on (opaque: compared for equality only). */
  lastResourceVersion?: string;
  etag?: string;
}

type Entity = Omit<PodRecord, 'node' | 'uid' | 'etag'>;

export class PodRecords {
  private readonly table: TableClient;

  constructor(table: TableClient) {
    this.table = table;
  }

  async get(node: string, uid: string): Promise<PodRecord | undefined> {
    try {
      return fromEntity(await this.table.getEntity<Entity>(node, uid));
    } catch (err) {
      if (isTableStatus(err, 404)) return undefined;
      throw err;
    }
  }

  async list(node: string): Promise<PodRecord[]> {
    const records: PodRecord[] = [];
    const rows = this.table.listEntities<Entity>({
      queryOptions: { filter: `PartitionKey eq '${node.replace(/'/g, "''")}'` },
    });
    for await (const row of rows) records.push(fromEntity(row));
    return records;
  }

  /**
   * Creates the record when `record.etag` is absent, otherwise replaces it if nobody wrote it
   * since. Returns the record with its new ETag; throws ConflictError when someone did.
   */
  async save(record: PodRecord): Promise<PodRecord> {
    const { node, uid, etag, ...fields } = record;
    const entity = { partitionKey: node, rowKey: uid, ...(JSON.parse(JSON.stringify(fields)) as Entity) };
    try {
      const result =
        etag === undefined
          ? await this.table.createEntity(entity)
          : await this.table.updateEntity(entity, 'Replace', { etag });
      return { ...record, etag: result.etag };
    } catch (err) {
      if (isTableStatus(err, 409) || isTableStatus(err, 412)) {
        throw new ConflictError(
          `pod record ${record.namespace}/${record.name} (${uid}) was written concurrently`,
          { cause: err },
        );
      }
      throw err;
    }
  }

  /** Deletes the record if unchanged since read; one that is already gone is fine. */
  async delete(record: PodRecord): Promise<void> {
    try {
      await this.table.deleteEntity(record.node, record.uid, { etag: record.etag ?? '*' });
    } catch (err) {
      if (isTableStatus(err, 404)) return;
      if (isTableStatus(err, 412)) {
        throw new ConflictError(`pod record ${record.namespace}/${record.name} was written concurrently`, {
          cause: err,
        });
      }
      throw err;
    }
  }
}

function fromEntity(row: TableEntityResult<Entity>): PodRecord {
  const { partitionKey, rowKey, etag, timestamp: _t, ...fields } = row;
  return {
    ...fields,
    node: partitionKey ?? '',
    uid: rowKey ?? '',
    etag,
    attempt: typeof fields.attempt === 'number' ? fields.attempt : 0,
  };
}
