/**
 * The scripted shell the mock's containers (and the ACI fake's) run behind an exec session: a
 * small POSIX-like `sh` (syntax in shellSyntax.ts) over an in-memory file system (files.ts), with
 * the programs in commands.ts. Enough for `kubectl exec` (echo, env, exit N, cat of stdin,
 * sh -c '...', true), `kubectl cp` (test -d, tar in and out) and the line Funclet types into a
 * terminal (exec-terminal.ts). Interactive on a terminal: a prompt, a line at a time, until exit.
 */
import type { MemoryFiles } from './files.ts';
import { normalize } from './files.ts';
import {
  IncompleteInput,
  parseScript,
  ShellSyntaxError,
  type AndOr,
  type Command,
  type List,
  type Pipeline,
  type Redirect,
  type Word,
} from './shellSyntax.ts';
import type { Terminal } from './terminal.ts';

export interface Input {
  /** The next bytes; null at end of file (or when `signal` aborts). */
  read(signal?: AbortSignal): Promise<Buffer | null>;
}

export interface Output {
  /** Throws BrokenPipe when nothing reads any more. */
  write(data: Buffer): void;
}

export interface Io {
  stdin: Input;
  stdout: Output;
  stderr: Output;
}

/** Writing to a pipe whose reader has exited (SIGPIPE). */
export class BrokenPipe extends Error {
  override readonly name = 'BrokenPipe';
}

/** `exit` unwinds to the shell that runs the script. */
export class ExitRequest extends Error {
  override readonly name = 'ExitRequest';
  readonly code: number;
  constructor(code: number) {
    super(`exit ${code}`);
    this.code = code;
  }
}

export const nullInput: Input = { read: () => Promise.resolve(null) };
export const nullOutput: Output = { write: () => undefined };

export class Pipe implements Input, Output {
  private readonly chunks: Buffer[] = [];
  private writerClosed = false;
  private readerClosed = false;
  private waiting: ((chunk: Buffer | null) => void) | undefined;

  write(data: Buffer): void {
    if (this.readerClosed) throw new BrokenPipe('broken pipe');
    if (data.length === 0) return;
    if (this.waiting) {
      const w = this.waiting;
      this.waiting = undefined;
      w(data);
    } else this.chunks.push(data);
  }

  closeWrite(): void {
    this.writerClosed = true;
    const w = this.waiting;
    this.waiting = undefined;
    w?.(null);
  }

  closeRead(): void {
    this.readerClosed = true;
    this.chunks.length = 0;
  }

  read(signal?: AbortSignal): Promise<Buffer | null> {
    const next = this.chunks.shift();
    if (next !== undefined) return Promise.resolve(next);
    if (this.writerClosed || signal?.aborted) return Promise.resolve(null);
    return new Promise((resolve) => {
      const onAbort = () => {
        this.waiting = undefined;
        resolve(null);
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      this.waiting = (chunk) => {
        signal?.removeEventListener('abort', onAbort);
        resolve(chunk);
      };
    });
  }
}

/** Collects what is written (command substitution). */
export class BufferOutput implements Output {
  private readonly chunks: Buffer[] = [];
  write(data: Buffer): void {
    this.chunks.push(data);
  }
  bytes(): Buffer {
    return Buffer.concat(this.chunks);
  }
}

/** The terminal as a program's stdin, stdout or stderr. */
export class TerminalStream implements Input, Output {
  readonly terminal: Terminal;
  constructor(terminal: Terminal) {
    this.terminal = terminal;
  }
  read(signal?: AbortSignal): Promise<Buffer | null> {
    if (!signal) return this.terminal.read();
    return Promise.race([
      this.terminal.read(),
      new Promise<null>((resolve) => signal.addEventListener('abort', () => resolve(null), { once: true })),
    ]);
  }
  write(data: Buffer): void {
    this.terminal.write(data);
  }
}

/** What a container's processes share: its files, its terminal (if the session has one), its name. */
export interface Machine {
  files: MemoryFiles;
  terminal?: TerminalStream;
  hostname: string;
  programs: ReadonlyMap<string, Program>;
}

export interface ProgramCall {
  /** argv, the program's name first. */
  args: string[];
  io: Io;
  env: Map<string, string>;
  cwd: string;
  machine: Machine;
  signal: AbortSignal;
  /** Runs `sh` with these arguments, as a child process. */
  sh(args: string[], io: Io): Promise<number>;
}

/** A program runs to its exit status; the ones that never wait may answer at once. */
export type Program = (call: ProgramCall) => Promise<number> | number;

export function write(out: Output, text: string | Buffer): void {
  out.write(typeof text === 'string' ? Buffer.from(text, 'utf8') : text);
}

export class Shell {
  private readonly vars: Map<string, string>;
  private readonly exported: Set<string>;
  private status = 0;
  private cwd: string;

  private readonly machine: Machine;
  private readonly params: string[];

  constructor(machine: Machine, env: Map<string, string>, params: string[], options: { cwd?: string } = {}) {
    this.machine = machine;
    this.params = params;
    this.vars = new Map(env);
    this.exported = new Set(env.keys());
    this.cwd = options.cwd ?? '/';
  }

  /** Runs a whole script; `exit` ends it with its code. */
  async runScript(text: string, io: Io, signal: AbortSignal): Promise<number> {
    let list: List;
    try {
      list = parseScript(text);
    } catch (err) {
      write(
        io.stderr,
        `sh: ${err instanceof IncompleteInput ? 'syntax error: unexpected end of file' : (err as Error).message}\n`,
      );
      return 2;
    }
    try {
      return await this.runList(list, io, signal);
    } catch (err) {
      if (err instanceof ExitRequest) return err.code;
      throw err;
    }
  }

  /** Reads lines from stdin and runs them, prompting, until end of file or `exit`. */
  async interactive(io: Io, signal: AbortSignal): Promise<number> {
    const terminal = this.machine.terminal?.terminal;
    let pending = '';
    for (;;) {
      write(io.stderr, pending === '' ? '# ' : '> ');
      const chunk = await io.stdin.read(signal);
      if (chunk === null) return this.status;
      pending += chunk.toString('utf8');
      let list: List;
      try {
        list = parseScript(pending);
      } catch (err) {
        if (err instanceof IncompleteInput) continue;
        write(io.stderr, `sh: ${(err as ShellSyntaxError).message}\n`);
        pending = '';
        this.status = 2;
        continue;
      }
      pending = '';
      const job = new AbortController();
      terminal?.onInterrupt(() => job.abort());
      try {
        await this.runList(list, io, AbortSignal.any([signal, job.signal]));
      } catch (err) {
        if (err instanceof ExitRequest) return err.code;
        throw err;
      } finally {
        terminal?.onInterrupt(undefined);
      }
      if (signal.aborted) return 129;
    }
  }

  private async runList(list: List, io: Io, signal: AbortSignal): Promise<number> {
    for (const item of list) this.status = await this.runAndOr(item, io, signal);
    return this.status;
  }

  private async runAndOr(node: AndOr, io: Io, signal: AbortSignal): Promise<number> {
    let status = await this.runPipeline(node.first, io, signal);
    for (const { op, pipeline } of node.rest) {
      if ((op === '&&') === (status === 0)) status = await this.runPipeline(pipeline, io, signal);
    }
    return status;
  }

  private async runPipeline(pipeline: Pipeline, io: Io, signal: AbortSignal): Promise<number> {
    const n = pipeline.commands.length;
    let status: number;
    if (n === 1) status = await this.runCommand(pipeline.commands[0]!, io, signal);
    else {
      const pipes = Array.from({ length: n - 1 }, () => new Pipe());
      const statuses = await Promise.all(
        pipeline.commands.map(async (command, i) => {
          const stdin = i === 0 ? io.stdin : pipes[i - 1]!;
          const stdout = i === n - 1 ? io.stdout : pipes[i]!;
          try {
            return await this.child().runCommand(command, { stdin, stdout, stderr: io.stderr }, signal);
          } finally {
            if (i < n - 1) pipes[i]!.closeWrite();
            if (i > 0) pipes[i - 1]!.closeRead();
          }
        }),
      );
      status = statuses[n - 1]!;
    }
    return pipeline.negate ? Number(status === 0) : status;
  }

  /** A copy for a pipeline member or a command substitution: its assignments stay its own. */
  private child(): Shell {
    const copy = new Shell(this.machine, new Map(), this.params, { cwd: this.cwd });
    for (const [k, v] of this.vars) copy.vars.set(k, v);
    for (const k of this.exported) copy.exported.add(k);
    copy.status = this.status;
    return copy;
  }

  private async runCommand(command: Command, io: Io, signal: AbortSignal): Promise<number> {
    let redirected: Io;
    try {
      redirected = await this.redirect(command.redirects, io, signal);
    } catch (err) {
      if (!(err instanceof RedirectError)) throw err;
      write(io.stderr, `sh: ${err.message}\n`);
      return 1;
    }
    if (command.type === 'group') return this.runList(command.body, redirected, signal);

    const fields: string[] = [];
    for (const word of command.words) fields.push(...(await this.expand(word, signal)));
    const assigned = new Map<string, string>();
    for (const a of command.assignments)
      assigned.set(a.name, (await this.expand(a.value, signal, false)).join(''));
    if (fields.length === 0) {
      for (const [k, v] of assigned) this.vars.set(k, v);
      return this.status;
    }
    const [name, ...args] = fields as [string, ...string[]];
    const builtin = this.builtin(name, args, redirected);
    if (builtin !== undefined) return builtin;
    const program = this.machine.programs.get(name.slice(name.lastIndexOf('/') + 1));
    if (program === undefined) {
      write(redirected.stderr, `sh: ${name}: not found\n`);
      return 127;
    }
    const env = new Map<string, string>();
    for (const k of this.exported) {
      const v = this.vars.get(k);
      if (v !== undefined) env.set(k, v);
    }
    for (const [k, v] of assigned) env.set(k, v);
    try {
      return await program({
        args: fields,
        io: redirected,
        env,
        cwd: this.cwd,
        machine: this.machine,
        signal,
        sh: (shArgs, shIo) => runSh(this.machine, env, this.cwd, shArgs, shIo, signal),
      });
    } catch (err) {
      if (err instanceof BrokenPipe) return 141;
      if (err instanceof ExitRequest) return err.code;
      throw err;
    }
  }

  private builtin(name: string, args: string[], io: Io): number | undefined {
    switch (name) {
      case 'exit': {
        const code = args[0] === undefined ? this.status : Number(args[0]);
        throw new ExitRequest(Number.isInteger(code) ? code & 0xff : 2);
      }
      case 'cd': {
        const target = normalize(args[0] ?? this.vars.get('HOME') ?? '/', this.cwd);
        if (this.machine.files.get(target)?.kind !== 'dir') {
          write(io.stderr, `sh: cd: can't cd to ${args[0] ?? ''}\n`);
          return 2;
        }
        this.cwd = target;
        return 0;
      }
      case 'export':
        for (const arg of args) {
          const at = arg.indexOf('=');
          if (at > 0) this.vars.set(arg.slice(0, at), arg.slice(at + 1));
          this.exported.add(at > 0 ? arg.slice(0, at) : arg);
        }
        return 0;
      case ':':
        return 0;
      default:
        return undefined;
    }
  }

  private async redirect(redirects: Redirect[], io: Io, signal: AbortSignal): Promise<Io> {
    const fds: (Input | Output)[] = [io.stdin, io.stdout, io.stderr];
    for (const r of redirects) {
      const target = (await this.expand(r.target, signal, false)).join('');
      if (r.op === '>&' || r.op === '<&') {
        const from = fds[Number(target)];
        if (from === undefined) throw new RedirectError(`${target}: bad file descriptor`);
        fds[r.fd] = from;
        continue;
      }
      fds[r.fd] = this.open(target, r.op);
    }
    return { stdin: fds[0] as Input, stdout: fds[1] as Output, stderr: fds[2] as Output };
  }

  private open(target: string, op: '<' | '>' | '>>'): Input | Output {
    if (target === '/dev/null') return op === '<' ? nullInput : nullOutput;
    if (target === '/dev/tty') {
      if (!this.machine.terminal) throw new RedirectError("can't open /dev/tty: No such device or address");
      return this.machine.terminal;
    }
    const path = normalize(target, this.cwd);
    const files = this.machine.files;
    if (op === '<') {
      const entry = files.get(path);
      if (entry?.kind !== 'file') throw new RedirectError(`can't open ${target}: no such file`);
      let unread = true;
      return {
        read: () => {
          const first = unread;
          unread = false;
          return Promise.resolve(first ? entry.data : null);
        },
      };
    }
    try {
      if (op === '>') files.writeFile(path, Buffer.alloc(0));
      else if (files.get(path) === undefined) files.writeFile(path, Buffer.alloc(0));
    } catch (err) {
      throw new RedirectError(`can't create ${target}: ${(err as Error).message.replace(/^.*: /, '')}`);
    }
    return { write: (data: Buffer) => files.appendFile(path, data) };
  }

  /** A word's fields: parameters and command output split on whitespace unless quoted. */
  private async expand(word: Word, signal: AbortSignal, split = true): Promise<string[]> {
    const fields: string[] = [];
    let current: string | undefined;
    const add = (text: string, quoted: boolean) => {
      if (quoted || !split) {
        current = (current ?? '') + text;
        return;
      }
      const pieces = text.split(/[ \t\n]+/);
      pieces.forEach((piece, i) => {
        if (i > 0 && current !== undefined) {
          fields.push(current);
          current = undefined;
        }
        if (piece !== '') current = (current ?? '') + piece;
      });
    };
    for (const part of word) {
      if (part.kind === 'text') {
        if (part.quoted) current = (current ?? '') + part.text;
        else add(part.text, true);
      } else if (part.kind === 'param') {
        if (part.name === '@' && part.quoted) {
          const list = this.params.slice(1);
          list.forEach((p, i) => {
            current = (current ?? '') + p;
            if (i < list.length - 1) {
              fields.push(current);
              current = undefined;
            }
          });
          continue;
        }
        add(this.param(part.name), part.quoted);
      } else {
        const out = new BufferOutput();
        this.status = await this.child().runScript(
          part.script,
          { stdin: nullInput, stdout: out, stderr: nullOutput },
          signal,
        );
        add(out.bytes().toString('utf8').replace(/\n+$/, ''), part.quoted);
      }
    }
    if (current !== undefined) fields.push(current);
    return fields;
  }

  private param(name: string): string {
    if (name === '?') return String(this.status);
    if (name === '$') return '1';
    if (name === '#') return String(this.params.length - 1);
    if (name === '@' || name === '*') return this.params.slice(1).join(' ');
    if (/^\d$/.test(name)) return this.params[Number(name)] ?? '';
    return this.vars.get(name) ?? '';
  }
}

class RedirectError extends Error {}

/** `sh [-c script [name [args...]] | file [args...]]`, as a child process. */
export async function runSh(
  machine: Machine,
  env: Map<string, string>,
  cwd: string,
  args: string[],
  io: Io,
  signal: AbortSignal,
): Promise<number> {
  const rest = args.slice(1);
  if (rest[0] === '-c') {
    if (rest[1] === undefined) {
      write(io.stderr, 'sh: -c requires an argument\n');
      return 2;
    }
    const shell = new Shell(machine, env, [rest[2] ?? 'sh', ...rest.slice(3)], { cwd });
    return shell.runScript(rest[1], io, signal);
  }
  if (rest[0] !== undefined) {
    const entry = machine.files.get(normalize(rest[0], cwd));
    if (entry?.kind !== 'file') {
      write(io.stderr, `sh: can't open ${rest[0]}: No such file or directory\n`);
      return 2;
    }
    return new Shell(machine, env, rest, { cwd }).runScript(entry.data.toString('utf8'), io, signal);
  }
  const shell = new Shell(machine, env, ['sh'], { cwd });
  if (io.stdin === machine.terminal) return shell.interactive(io, signal);
  const chunks: Buffer[] = [];
  for (let chunk = await io.stdin.read(signal); chunk !== null; chunk = await io.stdin.read(signal))
    chunks.push(chunk);
  return shell.runScript(Buffer.concat(chunks).toString('utf8'), io, signal);
}
