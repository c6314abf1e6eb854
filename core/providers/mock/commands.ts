/**
 * The programs of the scripted shell (shell.ts), each a small version of its busybox namesake
 * with only the options `kubectl exec`, `kubectl cp` and exec-terminal.ts's line use: echo,
 * printf, cat, env, true, false, test and [, sh, tty, stty, base64, mktemp, rm, mkdir, ls, pwd,
 * hostname, sleep and tar.
 */
import { randomBytes } from 'node:crypto';
import { MemoryFiles, normalize } from './files.ts';
import { runSh, write, type Input, type Program, type ProgramCall } from './shell.ts';
import { ArchiveReader, createArchive, TarError } from './tar.ts';
import { saneModes } from './terminal.ts';

async function readAll(input: Input, signal: AbortSignal): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for (let chunk = await input.read(signal); chunk !== null; chunk = await input.read(signal))
    chunks.push(chunk);
  return Buffer.concat(chunks);
}

function fail(call: ProgramCall, message: string, code = 1): number {
  write(call.io.stderr, `${call.args[0]}: ${message}\n`);
  return code;
}

const echo: Program = ({ args, io }) => {
  let rest = args.slice(1);
  const newline = rest[0] !== '-n';
  if (!newline) rest = rest.slice(1);
  write(io.stdout, rest.join(' ') + (newline ? '\n' : ''));
  return 0;
};

/** printf FORMAT [ARG...]: %s %d %% and backslash escapes, the format reused while args remain. */
const printf: Program = (call) => {
  const [format, ...values] = call.args.slice(1);
  if (format === undefined) return fail(call, 'usage: printf FORMAT [ARGUMENT]...');
  let out = '';
  let i = 0;
  do {
    out += format.replace(
      /\\(0[0-7]{0,3}|[0-7]{1,3}|.)|%(-?\d*)([sdxc%])/g,
      (_m, escape?: string, width?: string, conv?: string) => {
        if (escape !== undefined) return unescape(escape);
        if (conv === '%') return '%';
        const value = values[i++] ?? '';
        const text =
          conv === 'd'
            ? String(Math.trunc(Number(value) || 0))
            : conv === 'x'
              ? (Number(value) || 0).toString(16)
              : conv === 'c'
                ? value.slice(0, 1)
                : value;
        const w = Number(width || 0);
        return w < 0 ? text.padEnd(-w) : text.padStart(w);
      },
    );
  } while (i > 0 && i < values.length);
  write(call.io.stdout, Buffer.from(out, 'latin1'));
  return 0;
};

function unescape(escape: string): string {
  if (/^[0-7]/.test(escape)) return String.fromCharCode(parseInt(escape, 8) & 0xff);
  const known: Record<string, string> = {
    n: '\n',
    t: '\t',
    r: '\r',
    '\\': '\\',
    a: '\x07',
    b: '\b',
    f: '\f',
    v: '\v',
    e: '\x1b',
  };
  return known[escape] ?? `\\${escape}`;
}

const cat: Program = async (call) => {
  const paths = call.args.slice(1).filter((a) => a !== '-u');
  if (paths.length === 0 || (paths.length === 1 && paths[0] === '-')) {
    for (
      let chunk = await call.io.stdin.read(call.signal);
      chunk !== null;
      chunk = await call.io.stdin.read(call.signal)
    )
      call.io.stdout.write(chunk);
    return call.signal.aborted ? 130 : 0;
  }
  let status = 0;
  for (const path of paths) {
    const entry = call.machine.files.get(normalize(path, call.cwd));
    if (entry?.kind === 'file') call.io.stdout.write(entry.data);
    else
      status = fail(call, `can't open '${path}': ${entry ? 'Is a directory' : 'No such file or directory'}`);
  }
  return status;
};

const env: Program = async ({ args, io, env: vars, machine, cwd, signal }) => {
  const rest = args.slice(1);
  const local = new Map(vars);
  while (rest[0]?.includes('=')) {
    const pair = rest.shift()!;
    local.set(pair.slice(0, pair.indexOf('=')), pair.slice(pair.indexOf('=') + 1));
  }
  if (rest.length > 0) {
    const program = machine.programs.get(rest[0]!.slice(rest[0]!.lastIndexOf('/') + 1));
    if (program === undefined) {
      write(io.stderr, `env: can't execute '${rest[0]}': No such file or directory\n`);
      return 127;
    }
    return program({
      args: rest,
      io,
      env: local,
      cwd,
      machine,
      signal,
      sh: (a, i) => runSh(machine, local, cwd, a, i, signal),
    });
  }
  write(io.stdout, [...local].map(([k, v]) => `${k}=${v}\n`).join(''));
  return 0;
};

/** test and [: -d -f -e -s -z -n, = != and the integer comparisons, with !. */
const test: Program = (call) => {
  let args = call.args.slice(1);
  if (call.args[0] === '[') {
    if (args.at(-1) !== ']') return fail(call, 'missing ]', 2);
    args = args.slice(0, -1);
  }
  let negate = false;
  if (args[0] === '!') {
    negate = true;
    args = args.slice(1);
  }
  const files = call.machine.files;
  const at = (p: string) => files.get(normalize(p, call.cwd));
  let result: boolean;
  if (args.length === 0) result = false;
  else if (args.length === 1) result = args[0] !== '';
  else if (args.length === 2) {
    const [op, value = ''] = args;
    const entry = at(value);
    const unary: Record<string, boolean> = {
      '-d': entry?.kind === 'dir',
      '-f': entry?.kind === 'file',
      '-e': entry !== undefined,
      '-s': entry?.kind === 'file' && entry.data.length > 0,
      '-z': value === '',
      '-n': value !== '',
    };
    if (!(op! in unary)) return fail(call, `${op}: unknown operand`, 2);
    result = unary[op!]!;
  } else {
    const [a = '', op, b = ''] = args;
    const n = (s: string) => Number(s);
    const binary: Record<string, boolean> = {
      '=': a === b,
      '==': a === b,
      '!=': a !== b,
      '-eq': n(a) === n(b),
      '-ne': n(a) !== n(b),
      '-lt': n(a) < n(b),
      '-le': n(a) <= n(b),
      '-gt': n(a) > n(b),
      '-ge': n(a) >= n(b),
    };
    if (!(op! in binary)) return fail(call, `${op}: unknown operand`, 2);
    result = binary[op!]!;
  }
  return Number(result === negate);
};

const tty: Program = ({ io, machine }) => {
  if (machine.terminal !== undefined && io.stdin === machine.terminal) {
    write(io.stdout, '/dev/pts/0\n');
    return 0;
  }
  write(io.stdout, 'not a tty\n');
  return 1;
};

/** stty [size | [-]echo [-]icanon [-]isig [-]icrnl [-]opost raw sane rows N cols N]. */
const stty: Program = (call) => {
  const terminal = call.machine.terminal;
  if (terminal === undefined || call.io.stdin !== terminal) return fail(call, 'standard input: Not a tty');
  const t = terminal.terminal;
  const args = call.args.slice(1);
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!;
    const flag = arg.replace(/^-/, '') as keyof typeof t.modes;
    if (arg === 'size') write(call.io.stdout, `${t.rows} ${t.cols}\n`);
    else if (arg === 'raw')
      Object.assign(t.modes, { icanon: false, isig: false, icrnl: false, opost: false });
    else if (arg === '-raw' || arg === 'sane' || arg === 'cooked') Object.assign(t.modes, saneModes);
    else if (arg === 'rows' || arg === 'cols') {
      const n = Number(args[++i]);
      if (!Number.isInteger(n) || n < 0) return fail(call, `invalid argument '${args[i] ?? ''}'`);
      if (arg === 'rows') t.rows = n;
      else t.cols = n;
    } else if (flag in t.modes) t.modes[flag] = !arg.startsWith('-');
    else return fail(call, `invalid argument '${arg}'`);
  }
  if (args.length === 0) write(call.io.stdout, `speed 38400 baud; line = 0;\n`);
  return 0;
};

/** base64 [-d] [FILE]: encodes in lines of 76; decodes ignoring whitespace. */
const base64: Program = async (call) => {
  const rest = call.args.slice(1);
  const decode = rest.includes('-d') || rest.includes('--decode');
  const path = rest.find((a) => !a.startsWith('-'));
  let data: Buffer;
  if (path !== undefined) {
    const entry = call.machine.files.get(normalize(path, call.cwd));
    if (entry?.kind !== 'file') return fail(call, `${path}: No such file or directory`);
    data = entry.data;
  } else if (!decode) data = await readAll(call.io.stdin, call.signal);
  else {
    // Decoded as it arrives, four characters at a time, so a pipeline sees its input early.
    let text = '';
    for (
      let chunk = await call.io.stdin.read(call.signal);
      chunk !== null;
      chunk = await call.io.stdin.read(call.signal)
    ) {
      text += chunk.toString('latin1').replace(/[^A-Za-z0-9+/=]/g, '');
      const whole = text.length - (text.length % 4);
      if (whole > 0) call.io.stdout.write(decodeQuanta(text.slice(0, whole)));
      text = text.slice(whole);
    }
    if (text !== '') call.io.stdout.write(decodeQuanta(text));
    return 0;
  }
  if (decode) {
    call.io.stdout.write(decodeQuanta(data.toString('latin1').replace(/[^A-Za-z0-9+/=]/g, '')));
    return 0;
  }
  const text = data.toString('base64');
  let out = '';
  for (let at = 0; at < text.length; at += 76) out += `${text.slice(at, at + 76)}\n`;
  write(call.io.stdout, out);
  return 0;
};

/** Base64 that may be padded mid-stream (several encodings one after another), as GNU base64 -d takes it. */
function decodeQuanta(text: string): Buffer {
  const parts: Buffer[] = [];
  let from = 0;
  for (let at = text.indexOf('='); at >= 0; at = text.indexOf('=', from)) {
    const end = Math.min(text.length, at + 4 - ((at - from) % 4));
    parts.push(Buffer.from(text.slice(from, end), 'base64'));
    from = end;
  }
  parts.push(Buffer.from(text.slice(from), 'base64'));
  return Buffer.concat(parts);
}

const mktemp: Program = (call) => {
  const path = `/tmp/tmp.${randomBytes(5).toString('hex')}`;
  try {
    call.machine.files.writeFile(path, Buffer.alloc(0), 0o600);
  } catch (err) {
    return fail(call, `failed to create file via template '/tmp/tmp.XXXXXXXXXX': ${(err as Error).message}`);
  }
  write(call.io.stdout, `${path}\n`);
  return 0;
};

const rm: Program = (call) => {
  const flags = call.args
    .slice(1)
    .filter((a) => a.startsWith('-'))
    .join('');
  let status = 0;
  for (const path of call.args.slice(1).filter((a) => !a.startsWith('-'))) {
    try {
      call.machine.files.remove(normalize(path, call.cwd), flags.includes('r'));
    } catch (err) {
      if (!flags.includes('f'))
        status = fail(call, `can't remove '${path}': ${(err as Error).message.replace(/^.*: /, '')}`);
    }
  }
  return status;
};

const mkdir: Program = (call) => {
  const parents = call.args.includes('-p');
  let status = 0;
  for (const path of call.args.slice(1).filter((a) => !a.startsWith('-'))) {
    const p = normalize(path, call.cwd);
    const files = call.machine.files;
    if (files.get(p) !== undefined && !parents)
      status = fail(call, `can't create directory '${path}': File exists`);
    else if (!parents && files.get(normalize('..', p))?.kind !== 'dir')
      status = fail(call, `can't create directory '${path}': No such file or directory`);
    else files.mkdirs(p);
  }
  return status;
};

const ls: Program = (call) => {
  const paths = call.args.slice(1).filter((a) => !a.startsWith('-'));
  let status = 0;
  for (const path of paths.length === 0 ? ['.'] : paths) {
    const p = normalize(path, call.cwd);
    const entry = call.machine.files.get(p);
    if (entry === undefined) status = fail(call, `${path}: No such file or directory`, 2);
    else
      write(
        call.io.stdout,
        entry.kind === 'dir'
          ? call.machine.files
              .list(p)
              .map((n) => `${n}\n`)
              .join('')
          : `${path}\n`,
      );
  }
  return status;
};

const sleep: Program = async (call) => {
  const seconds = Number(call.args[1]);
  if (!Number.isFinite(seconds) || seconds < 0) return fail(call, `invalid number '${call.args[1] ?? ''}'`);
  await new Promise<void>((resolve) => {
    const timer = setTimeout(resolve, seconds * 1000);
    call.signal.addEventListener('abort', () => (clearTimeout(timer), resolve()), { once: true });
  });
  return call.signal.aborted ? 130 : 0;
};

/** tar [-]c|x|t [v] [m] f - [-C DIR] [PATH...], long options ignored. */
const tar: Program = async (call) => {
  const args = call.args.slice(1).filter((a) => !a.startsWith('--'));
  let letters = '';
  const operands: string[] = [];
  let dir = call.cwd;
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!;
    if (arg === '-C') dir = normalize(args[++i] ?? '.', call.cwd);
    else if (arg !== '-' && (i === 0 || arg.startsWith('-'))) letters += arg.replace(/^-/, '');
    else operands.push(arg);
  }
  // `f` takes the next operand as the archive: only `-` (stdin or stdout) is supported.
  if (letters.includes('f') && operands.shift() !== '-') return fail(call, 'only -f - is supported here', 2);
  const files = call.machine.files;
  if (letters.includes('c')) {
    const { archive, warnings, failed } = createArchive(files, operands, dir);
    for (const w of warnings) write(call.io.stderr, `${w}\n`);
    call.io.stdout.write(archive);
    return failed ? 2 : 0;
  }
  if (letters.includes('x') || letters.includes('t')) {
    const reader = new ArchiveReader(letters.includes('t') ? new MemoryFiles() : files, dir, {
      keepTimes: !letters.includes('m'),
      now: Date.now,
    });
    try {
      for (
        let chunk = await call.io.stdin.read(call.signal);
        chunk !== null;
        chunk = await call.io.stdin.read(call.signal)
      )
        if (reader.feed(chunk)) break;
      reader.finish();
    } catch (err) {
      if (!(err instanceof TarError)) throw err;
      return fail(call, err.message, 2);
    }
    if (letters.includes('t') || letters.includes('v'))
      write(call.io.stdout, reader.written.map((n) => `${n}\n`).join(''));
    return 0;
  }
  return fail(call, 'You must specify one of the -c, -x or -t options', 2);
};

export const programs: ReadonlyMap<string, Program> = new Map<string, Program>([
  ['echo', echo],
  ['printf', printf],
  ['cat', cat],
  ['env', env],
  ['true', () => 0],
  ['false', () => 1],
  ['test', test],
  ['[', test],
  ['sh', (call) => call.sh(call.args, call.io)],
  ['tty', tty],
  ['stty', stty],
  ['base64', base64],
  ['mktemp', mktemp],
  ['rm', rm],
  ['mkdir', mkdir],
  ['ls', ls],
  ['pwd', ({ io, cwd }) => (write(io.stdout, `${cwd}\n`), 0)],
  ['hostname', ({ io, machine }) => (write(io.stdout, `${machine.hostname}\n`), 0)],
  ['sleep', sleep],
  ['tar', tar],
]);
