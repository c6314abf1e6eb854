import { RestError, TableClient } from '@azure/data-tables';
import type { PipelineRequest, SendRequest } from '@azure/core-rest-pipeline';
import type { TableStorageConfig } from '../config.ts';

/** The tables Funclet keeps, each named `<prefix><suffix>`. */
export const TableName = { pods: 'pods', nodes: 'nodes', mockInstances: 'mock' } as const;
export type TableName = keyof typeof TableName;

/**
 * Opens tables from the configured account. Created tables are remembered for the life of
 * this object only (one invocation's composition root at most), to save a round trip; a new
 * instance simply asks again, and createTable is idempotent.
 */
/** Sees every Table Storage request as it is sent (for counting in benchmarks). */
export type TableRequestObserver = (method: string, url: string) => void;

export class Tables {
  private readonly config: TableStorageConfig;
  private readonly observe: TableRequestObserver | undefined;
  private readonly ready = new Map<string, Promise<TableClient>>();

  constructor(config: TableStorageConfig, observe?: TableRequestObserver) {
    this.config = config;
    this.observe = observe;
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
    let client: TableClient;
    if (this.config.kind === 'connectionString') {
      const insecure =
        /TableEndpoint=http:\/\//i.test(this.config.connectionString) ||
        /UseDevelopmentStorage=true/i.test(this.config.connectionString);
      client = TableClient.fromConnectionString(this.config.connectionString, table, {
        allowInsecureConnection: insecure,
      });
    } else {
      const { DefaultAzureCredential } = await import('@azure/identity');
      client = new TableClient(this.config.accountUrl, table, new DefaultAzureCredential());
    }
    const observe = this.observe;
    if (observe) {
      client.pipeline.addPolicy({
        name: 'funclet-table-observer',
        sendRequest: (request: PipelineRequest, next: SendRequest) => {
          observe(request.method, request.url);
          return next(request);
        },
      });
    }
    return client;
  }
}

export function isTableStatus(err: unknown, status: number): boolean {
  return err instanceof RestError && err.statusCode === status;
}
