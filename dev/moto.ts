import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort, startServer, waitFor } from './process.ts';

export interface Moto {
  /** http://127.0.0.1:PORT: the endpoint for every AWS client in tests. */
  readonly endpoint: string;
  /** Clears every resource moto holds. */
  reset(): Promise<void>;
  stop(): Promise<void>;
}

/** Starts moto's server (ECS, STS, CloudWatch Logs and the rest) on a free loopback port. */
export async function startMoto(): Promise<Moto> {
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), 'funclet-moto-'));
  const endpoint = `http://127.0.0.1:${port}`;
  const server = startServer(
    'moto_server',
    process.env.FUNCLET_MOTO_SERVER ?? 'moto_server',
    ['-H', '127.0.0.1', '-p', String(port)],
    {
      logFile: join(dir, 'moto.log'),
    },
  );
  await waitFor('moto_server', async () => (await fetch(`${endpoint}/moto-api/data.json`)).ok, {
    timeoutMs: 60_000,
    server,
  });
  return {
    endpoint,
    async reset() {
      const res = await fetch(`${endpoint}/moto-api/reset`, { method: 'POST' });
      if (!res.ok) throw new Error(`moto reset: HTTP ${res.status}`);
    },
    async stop() {
      await server.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
