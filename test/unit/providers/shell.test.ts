import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import {
  Base64Lines,
  endOfFile,
  terminalScript,
  TerminalOutput,
} from '../../../core/providers/exec-terminal.ts';
import { programs } from '../../../core/providers/mock/commands.ts';
import { MemoryFiles } from '../../../core/providers/mock/files.ts';
import {
  BufferOutput,
  nullInput,
  runSh,
  TerminalStream,
  type Input,
  type Machine,
} from '../../../core/providers/mock/shell.ts';
import { Terminal } from '../../../core/providers/mock/terminal.ts';

const env = () =>
  new Map([
    ['PATH', '/bin'],
    ['FOO', 'bar baz'],
  ]);

/** `sh -c script` without a terminal: its exit status, stdout and stderr. */
async function sh(script: string, options: { files?: MemoryFiles; stdin?: Buffer } = {}) {
  const machine: Machine = { files: options.files ?? new MemoryFiles(), hostname: 'mock', programs };
  const stdout = new BufferOutput();
  const stderr = new BufferOutput();
  let unread = options.stdin;
  const stdin: Input = options.stdin
    ? { read: () => Promise.resolve(unread === undefined ? null : ((unread = undefined), options.stdin!)) }
    : nullInput;
  const code = await runSh(
    machine,
    env(),
    '/',
    ['sh', '-c', script],
    { stdin, stdout, stderr },
    new AbortController().signal,
  );
  return { code, stdout: stdout.bytes().toString('latin1'), stderr: stderr.bytes().toString('utf8') };
}

/**
 * A session as the provider's socket serves it and the relay drives it: /bin/sh on a terminal,
 * the line exec-terminal.ts types, stdin as it sends it, the output as it reads it.
 */
async function terminalSession(
  command: string[],
  options: { tty?: boolean; stdin?: Buffer; files?: MemoryFiles; size?: { rows: number; cols: number } } = {},
) {
  const tty = options.tty ?? false;
  const script = terminalScript(command, { tty, stdin: options.stdin !== undefined });
  const parser = new TerminalOutput();
  const stdout: Buffer[] = [];
  let exit: { code: number; stderr: string } | undefined;
  const terminal: Terminal = new Terminal((bytes) => {
    // The socket delivers in pieces of any size: one byte at a time here.
    for (const b of bytes) {
      const step = parser.push(Buffer.of(b));
      stdout.push(step.output);
      if (step.started && options.stdin) {
        if (script.stdin === 'base64') {
          const lines = new Base64Lines();
          terminal.type(Buffer.from(lines.push(options.stdin) + lines.flush() + endOfFile));
        } else terminal.type(options.stdin);
      }
      if (step.exit) exit = { code: step.exit.code, stderr: step.exit.stderr.toString('utf8') };
    }
  }, options.size);
  const stream = new TerminalStream(terminal);
  const machine: Machine = {
    files: options.files ?? new MemoryFiles(),
    terminal: stream,
    hostname: 'mock',
    programs,
  };
  const done = runSh(
    machine,
    env(),
    '/',
    ['/bin/sh'],
    { stdin: stream, stdout: stream, stderr: stream },
    new AbortController().signal,
  );
  terminal.type(Buffer.from(script.input));
  const shellCode = await done;
  return { shellCode, exit, stdout: Buffer.concat(stdout) };
}

describe('the scripted shell', () => {
  it('quotes, expands parameters and command output, and splits unquoted words', async () => {
    assert.deepEqual(await sh(`echo 'a  b' "$FOO" $FOO x\\ y "$(echo inner)" '$FOO'`), {
      code: 0,
      stdout: 'a  b bar baz bar baz x y inner $FOO\n',
      stderr: '',
    });
  });

  it('runs lists, && and ||, pipelines and groups, with $?', async () => {
    const result = await sh(
      'false; echo $?; true && echo and; false || echo or; printf "%s\\n" piped | cat | cat; { echo grouped; echo twice; } | cat',
    );
    assert.equal(result.stdout, '1\nand\nor\npiped\ngrouped\ntwice\n');
  });

  it('redirects to files, appends, merges stderr and reads /dev/null', async () => {
    const files = new MemoryFiles();
    const result = await sh(
      'echo one > /tmp/f; echo two >> /tmp/f; cat /tmp/f; sh -c "echo err >&2" 2>&1; cat </dev/null',
      { files },
    );
    assert.equal(result.stdout, 'one\ntwo\nerr\n');
    assert.equal((files.get('/tmp/f') as { data: Buffer }).data.toString(), 'one\ntwo\n');
  });

  it('exits with exit N, from sh -c too, and says when a program does not exist', async () => {
    assert.equal((await sh('exit 3')).code, 3);
    assert.equal((await sh('sh -c "exit 7"; echo after $?')).stdout, 'after 7\n');
    assert.deepEqual(await sh('nonesuch'), { code: 127, stdout: '', stderr: 'sh: nonesuch: not found\n' });
  });

  it('tests paths and strings as kubectl cp does (test -d)', async () => {
    assert.equal((await sh('test -d /tmp')).code, 0);
    assert.equal((await sh('test -d /tmp/nope')).code, 1);
    assert.equal((await sh('[ "a" = a ] && [ ! -f /tmp ] && echo yes')).stdout, 'yes\n');
  });

  it('decodes base64 padded mid-stream, as GNU base64 -d does', async () => {
    assert.equal((await sh('printf "YQ==Yg==\\nYw==" | base64 -d')).stdout, 'abc');
  });

  it('reports a syntax error with status 2', async () => {
    const result = await sh('echo "unterminated');
    assert.equal(result.code, 2);
    assert.match(result.stderr, /syntax error/);
  });
});

describe('a terminal session as the relay drives it', () => {
  it('prints a command’s output between the marks, with its exit status', async () => {
    const echo = await terminalSession(['echo', 'hi']);
    assert.equal(echo.stdout.toString(), 'hi\n', 'output bytes unchanged: no CR added without a tty');
    assert.deepEqual(echo.exit, { code: 0, stderr: '' });
    assert.equal(echo.shellCode, 0);
    assert.deepEqual((await terminalSession(['sh', '-c', 'exit 3'])).exit, { code: 3, stderr: '' });
  });

  it('keeps arguments whole, whatever they hold', async () => {
    const result = await terminalSession(['printf', '%s|', "it's", 'two words', '$HOME', '"q"', 'a;b']);
    assert.equal(result.stdout.toString(), `it's|two words|$HOME|"q"|a;b|`);
  });

  it('passes stdin byte for byte, even bytes a terminal would act on, and ends it', async () => {
    const stdin = Buffer.from([
      ...Buffer.from('line\r\n'),
      0x03,
      0x04,
      0x7f,
      0x1e,
      0x00,
      0xff,
      ...Buffer.from('\nend'),
    ]);
    const result = await terminalSession(['cat'], { stdin });
    assert.ok(result.stdout.equals(stdin), `got ${result.stdout.toString('hex')}`);
    assert.equal(result.exit?.code, 0);
  });

  it('sends stderr apart, after the exit status', async () => {
    const result = await terminalSession(['sh', '-c', 'echo out; echo err >&2; exit 2']);
    assert.equal(result.stdout.toString(), 'out\n');
    assert.deepEqual(result.exit, { code: 2, stderr: 'err\n' });
  });

  it('with a tty, runs on the terminal of the size the session was made with', async () => {
    const result = await terminalSession(['sh', '-c', 'tty; stty size'], {
      tty: true,
      size: { rows: 30, cols: 100 },
    });
    assert.equal(result.stdout.toString(), '/dev/pts/0\r\n30 100\r\n');
    assert.equal(result.exit?.code, 0);
  });

  it('without a tty, the command has none', async () => {
    const result = await terminalSession(['tty']);
    assert.equal(result.stdout.toString(), 'not a tty\n');
    assert.equal(result.exit?.code, 1);
  });
});

describe('tar for kubectl cp', () => {
  const work = mkdtempSync(join(tmpdir(), 'funclet-tar-'));
  after(() => rmSync(work, { recursive: true, force: true }));

  it('extracts what GNU tar writes, long names included, and writes what GNU tar reads', async () => {
    const files = new MemoryFiles();
    const long = `${'d'.repeat(60)}/${'e'.repeat(60)}/${'f'.repeat(80)}.txt`;
    mkdirSync(join(work, 'src', long, '..'), { recursive: true });
    writeFileSync(join(work, 'src', long), 'deep\n');
    const blob = Buffer.from(Array.from({ length: 5000 }, (_, i) => (i * 31) % 256));
    writeFileSync(join(work, 'src', 'blob.bin'), blob);
    for (const format of ['gnu', 'posix']) {
      const archive = execFileSync('tar', [`--format=${format}`, '-cf', '-', '-C', join(work, 'src'), '.']);
      const dir = `/tmp/${format}`;
      await sh(`mkdir -p ${dir}`, { files });
      const x = await terminalSession(['tar', '-xmf', '-', '-C', dir], { stdin: archive, files });
      assert.deepEqual(x.exit, { code: 0, stderr: '' }, format);
      assert.ok((files.get(`${dir}/blob.bin`) as { data: Buffer }).data.equals(blob), format);
      assert.equal((files.get(`${dir}/${long}`) as { data: Buffer }).data.toString(), 'deep\n', format);
    }

    const created = await terminalSession(['tar', 'cf', '-', '/tmp/posix'], { files });
    assert.equal(created.exit?.code, 0);
    assert.equal(created.exit?.stderr, "tar: Removing leading `/' from member names\n");
    assert.equal(created.stdout.length % 10240, 0, 'padded to a record, as GNU tar pads');
    writeFileSync(join(work, 'out.tar'), created.stdout);
    mkdirSync(join(work, 'out'));
    execFileSync('tar', ['-xf', join(work, 'out.tar'), '-C', join(work, 'out')]);
    assert.ok(readFileSync(join(work, 'out', 'tmp', 'posix', 'blob.bin')).equals(blob));
    assert.equal(readFileSync(join(work, 'out', 'tmp', 'posix', long), 'utf8'), 'deep\n');
  });

  it('says a missing path is missing and fails', async () => {
    const result = await sh('tar cf - /nope >/dev/null');
    assert.equal(result.code, 2);
    assert.match(result.stderr, /tar: \/nope: Cannot stat: No such file or directory/);
  });

  it('refuses an archive cut short', async () => {
    const files = new MemoryFiles();
    writeFileSync(join(work, 'whole.bin'), Buffer.alloc(4000, 7));
    const archive = execFileSync('tar', ['-cf', '-', '-C', work, 'whole.bin']);
    const result = await terminalSession(['tar', 'xf', '-', '-C', '/tmp'], {
      stdin: archive.subarray(0, 1500),
      files,
    });
    assert.deepEqual(result.exit, { code: 2, stderr: 'tar: Unexpected EOF in archive\n' });
  });
});

describe('the mock terminal', () => {
  const typed = (bytes: string, setup?: (t: Terminal) => void) => {
    const out: Buffer[] = [];
    const t = new Terminal((b) => out.push(b));
    setup?.(t);
    t.type(Buffer.from(bytes, 'latin1'));
    return { t, echoed: () => Buffer.concat(out).toString('latin1') };
  };

  it('hands over a line at a time, echoes it with CR LF, and takes ^D at a line start as end of file', async () => {
    const { t, echoed } = typed('ab\x7fc\rnext\n\x04');
    assert.equal((await t.read())?.toString(), 'ac\n');
    assert.equal((await t.read())?.toString(), 'next\n');
    assert.equal(await t.read(), null);
    assert.equal(echoed(), 'ab\b \bc\r\nnext\r\n');
  });

  it('passes bytes as they come without icanon, and output without opost', async () => {
    const { t, echoed } = typed('x\x04y', (t) => Object.assign(t.modes, { icanon: false, echo: false }));
    assert.equal((await t.read())?.toString('latin1'), 'x\x04y');
    assert.equal(echoed(), '');
    const out: Buffer[] = [];
    const raw = new Terminal((b) => out.push(b));
    raw.modes.opost = false;
    raw.write(Buffer.from('a\nb'));
    assert.equal(Buffer.concat(out).toString(), 'a\nb');
  });
});
