/**
 * One exec WebSocket as ACI documents executeCommand's: the first message is the session's
 * password; after it every message is what is typed at the terminal, everything the process
 * writes comes back (binary messages), and the socket closes when the process ends. The process
 * is the command executeCommand named, taken whole as one program with no arguments, as ACI
 * takes it; here it runs in the scripted shell's world (shell.ts) on a terminal (terminal.ts).
 * Used by the mock's exec server (execServer.ts) and by the ACI fake.
 */
import type { RawData, WebSocket } from 'ws';
import { programs } from './commands.ts';
import type { MemoryFiles } from './files.ts';
import { runSh, TerminalStream, type Io, type Machine } from './shell.ts';
import { Terminal } from './terminal.ts';

export interface ExecTarget {
  /** What executeCommand was asked to start. */
  command: string;
  env: Record<string, string>;
  files: MemoryFiles;
  hostname: string;
  rows: number;
  cols: number;
}

/** Close code for a wrong or missing password. */
export const unauthorizedClose = 1008;

/**
 * Serves the socket: `authorize` answers the target for a password, or undefined to refuse.
 * Resolves when the session is over (the process ended or the socket closed).
 */
export function serveExecSocket(
  ws: WebSocket,
  authorize: (password: string) => Promise<ExecTarget | undefined>,
): Promise<void> {
  return new Promise((resolve) => {
    const early: Buffer[] = [];
    let terminal: Terminal | undefined;
    let authorizing = false;
    const hangup = new AbortController();

    ws.on('message', (raw: RawData) => {
      const data = toBuffer(raw);
      if (terminal) return terminal.type(data);
      if (authorizing) return void early.push(data);
      authorizing = true;
      void authorize(data.toString('utf8')).then(
        (target) => {
          if (target === undefined || ws.readyState !== ws.OPEN) {
            ws.close(unauthorizedClose, 'authentication failed');
            return;
          }
          terminal = new Terminal((bytes) => ws.readyState === ws.OPEN && ws.send(bytes, { binary: true }), {
            rows: target.rows,
            cols: target.cols,
          });
          for (const chunk of early.splice(0)) terminal.type(chunk);
          void run(target, terminal, hangup.signal).finally(() => ws.close(1000));
        },
        () => ws.close(1011, 'internal error'),
      );
    });
    ws.on('close', () => {
      hangup.abort();
      terminal?.hangup();
      resolve();
    });
    ws.on('error', () => undefined);
  });
}

async function run(target: ExecTarget, terminal: Terminal, signal: AbortSignal): Promise<void> {
  const stream = new TerminalStream(terminal);
  const machine: Machine = { files: target.files, terminal: stream, hostname: target.hostname, programs };
  const program = programs.get(target.command.slice(target.command.lastIndexOf('/') + 1));
  if (program === undefined || /\s/.test(target.command)) {
    terminal.write(
      Buffer.from(
        `OCI runtime exec failed: exec failed: unable to start container process: exec: "${target.command}": executable file not found in $PATH: unknown\n`,
      ),
    );
    return;
  }
  const env = new Map(Object.entries(target.env));
  if (!env.has('TERM')) env.set('TERM', 'xterm');
  const call = {
    args: [target.command],
    io: { stdin: stream, stdout: stream, stderr: stream },
    env,
    cwd: '/',
    machine,
    signal,
    sh: (args: string[], io: Io) => runSh(machine, env, '/', args, io, signal),
  };
  await Promise.resolve()
    .then(() => program(call))
    .catch(() => 255);
}

function toBuffer(raw: RawData): Buffer {
  if (Buffer.isBuffer(raw)) return raw;
  if (Array.isArray(raw)) return Buffer.concat(raw);
  return Buffer.from(raw);
}
