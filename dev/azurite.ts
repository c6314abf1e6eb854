import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePort, startServer, waitFor } from './process.ts';
import { connect } from 'node:net';

const azuriteTable = fileURLToPath(new URL('../node_modules/.bin/azurite-table', import.meta.url));

/** Azurite's well-known development account. Not a secret: it is the same in every Azurite. */
const devAccount = 'devstoreaccount1';
const devKey = 'Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==';

export interface Azurite {
  readonly connectionString: string;
  readonly port: number;
  stop(): Promise<void>;
}

/** Starts azurite-table in memory on a free loopback port. */
export async function startAzurite(): Promise<Azurite> {
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), 'funclet-azurite-'));
  const server = startServer(
    'azurite-table',
    azuriteTable,
    [
      '--inMemoryPersistence',
      '--disableTelemetry',
      '--silent',
      '--tableHost',
      '127.0.0.1',
      '--tablePort',
      String(port),
    ],
    { logFile: join(dir, 'azurite.log'), cwd: dir },
  );
  await waitFor('azurite-table', () => canConnect(port), { timeoutMs: 30_000, server });
  return {
    port,
    connectionString: azuriteConnectionString(port),
    async stop() {
      await server.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

export function azuriteConnectionString(port: number): string {
  return (
    `DefaultEndpointsProtocol=http;AccountName=${devAccount};AccountKey=${devKey};` +
    `TableEndpoint=http://127.0.0.1:${port}/${devAccount};`
  );
}

export function canConnect(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}
