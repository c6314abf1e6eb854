import type { TableClient } from '@azure/data-tables';
import { isTableStatus } from './tables.ts';

/**
 * What Funclet remembers about a virtual node between invocations. Each writer sets only its
 * own fields (merge upsert), so the lease timer and the status timer never overwrite each other.
 */
export interface NodeRecord {
  node: string;
  provider?: string;
  nodeUid?: string;
  registeredAtMs?: number;
  lastLeaseRenewAtMs?: number;
  lastStatusAtMs?: number;
  ready?: boolean;
  readyMessage?: string;
  /** Where the relay serves this node's kubelet endpoint, as it last announced. */
  kubeletAddress?: string;
  kubeletPort?: number;
  kubeletAnnouncedAtMs?: number;
}

const partitionKey = 'node';

export class NodeRecords {
  private readonly table: TableClient;

  constructor(table: TableClient) {
    this.table = table;
  }

  async get(node: string): Promise<NodeRecord | undefined> {
    try {
      const entity = await this.table.getEntity<Omit<NodeRecord, 'node'>>(partitionKey, node);
      const { partitionKey: _p, rowKey: _r, etag: _e, timestamp: _t, ...fields } = entity;
      return { ...fields, node };
    } catch (err) {
      if (isTableStatus(err, 404)) return undefined;
      throw err;
    }
  }

  async merge(record: NodeRecord): Promise<void> {
    const { node, ...fields } = record;
    // Only the fields this writer sets; JSON drops undefined, the Table service would not.
    const defined = JSON.parse(JSON.stringify(fields)) as Record<string, unknown>;
    await this.table.upsertEntity({ partitionKey, rowKey: node, ...defined }, 'Merge');
  }
}
