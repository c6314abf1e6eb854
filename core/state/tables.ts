import { RestError, TableClient } from '@azure/data-tables';
import type { TableStorageConfig } from '../config.ts';

/** The tables Funclet keeps, each named `<prefix><suffix>`. */
export const TableName = { pods: 'pods', nodes: 'nodes', mockInstances: 'mock' } as const;
export type TableName = keyof typeof TableName;

/**
 * Opens tables from the configured account. Created tables are remembered for the life of
 * this object only (one invocation's composition root at most), to save a round trip; a new
 * instance simply asks again, and createTable is idempotent.
 */
export class Tables {
  private readonly config: TableStorageConfig;
  private readonly ready = new Map<string, Promise<TableClient>>();

  constructor(config: TableStorageConfig) {
    this.config = config;
  }

  table(name: TableName): Promise<TableClient> {
    const full = `${this.config.tablePrefix}${TableName[name]}`;
    let client = this.ready.get(full);
    if (!client) {
      client = this.open(full);
      this.ready.set(full, client);
      client.catch(() => this.ready.delete(full));
    }
    return client;
  }

  private async open(table: string): Promise<TableClient> {
    const client = await this.client(table);
    try {
      await client.createTable();
    } catch (err) {
      if (!(err instanceof RestError && err.statusCode === 409)) throw err;
    }
    return client;
  }

  private async client(table: string): Promise<TableClient> {
    if (this.config.kind === 'connectionString') {
      const insecure =
        /TableEndpoint=http:\/\//i.test(this.config.connectionString) ||
        /UseDevelopmentStorage=true/i.test(this.config.connectionString);
      return TableClient.fromConnectionString(this.config.connectionString, table, {
        allowInsecureConnection: insecure,
      });
    }
    const { DefaultAzureCredential } = await import('@azure/identity');
    return new TableClient(this.config.accountUrl, table, new DefaultAzureCredential());
  }
}

export function isTableStatus(err: unknown, status: number): boolean {
  return err instanceof RestError && err.statusCode === status;
}
