import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream } from 'node:fs';
import { createServer } from 'node:net';
import { fileURLToPath } from 'node:url';

const guard = fileURLToPath(new URL('./exit-with-parent.sh', import.meta.url));

/** A free TCP port on loopback. */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => {
        if (address && typeof address === 'object') resolve(address.port);
        else reject(new Error('no port'));
      });
    });
  });
}

export interface ServerProcess {
  readonly name: string;
  readonly logFile: string;
  exited(): boolean;
  stop(): Promise<void>;
}

/**
 * Starts a server process behind exit-with-parent.sh in its own process group, with its output
 * in `logFile`. stop() closes its stdin (the guard then stops it) and kills the group if it
 * has not gone within a few seconds.
 */
export function startServer(
  name: string,
  command: string,
  args: readonly string[],
  options: { logFile: string; env?: NodeJS.ProcessEnv; cwd?: string },
): ServerProcess {
  const log = createWriteStream(options.logFile, { flags: 'a' });
  const child: ChildProcess = spawn(guard, [command, ...args], {
    cwd: options.cwd,
    env: options.env ?? process.env,
    stdio: ['pipe', 'pipe', 'pipe'],
    detached: true,
  });
  child.stdout?.pipe(log);
  child.stderr?.pipe(log);
  let done = false;
  const exit = new Promise<void>((resolve) =>
    child.once('exit', () => {
      done = true;
      resolve();
    }),
  );
  return {
    name,
    logFile: options.logFile,
    exited: () => done,
    async stop() {
      if (done) return;
      child.stdin?.end();
      const timer = setTimeout(() => {
        try {
          if (child.pid !== undefined) process.kill(-child.pid, 'SIGKILL');
        } catch {
          // already gone
        }
      }, 8000);
      await exit;
      clearTimeout(timer);
      log.end();
    },
  };
}

/** Polls `check` until it returns true, or fails after `timeoutMs` with `what` in the message. */
export async function waitFor(
  what: string,
  check: () => Promise<boolean>,
  options: { timeoutMs: number; intervalMs?: number; server?: ServerProcess },
): Promise<void> {
  const deadline = Date.now() + options.timeoutMs;
  let lastError: unknown;
  while (Date.now() < deadline) {
    if (options.server?.exited()) {
      throw new Error(
        `${options.server.name} exited while waiting for ${what}; see ${options.server.logFile}`,
      );
    }
    try {
      if (await check()) return;
    } catch (err) {
      lastError = err;
    }
    await new Promise((r) => setTimeout(r, options.intervalMs ?? 200));
  }
  throw new Error(`timed out after ${options.timeoutMs} ms waiting for ${what}`, { cause: lastError });
}
