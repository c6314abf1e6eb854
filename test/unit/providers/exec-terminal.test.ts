import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  Base64Lines,
  endMark,
  exitMarkPrefix,
  maxCommandBytes,
  shellQuote,
  startMark,
  terminalCommandProblem,
  terminalScript,
  TerminalOutput,
} from '../../../core/providers/exec-terminal.ts';

/** What a terminal sends back for a session: the typed line's echo, a prompt, then the marks. */
function sessionOutput(script: string, output: string, code: number, stderr = ''): Buffer {
  return Buffer.from(
    `# ${script.replace(/\n/g, '\r\n')}${startMark}${output}${exitMarkPrefix}${code}\x1e` +
      `${stderr === '' ? '' : `${Buffer.from(stderr).toString('base64')}\n`}${endMark}`,
    'latin1',
  );
}

function readAll(bytes: Buffer, chunkSize: number) {
  const parser = new TerminalOutput();
  const out: Buffer[] = [];
  let exit: { code: number; stderr: string } | undefined;
  let startedAt = -1;
  for (let at = 0; at < bytes.length; at += chunkSize) {
    const step = parser.push(bytes.subarray(at, at + chunkSize));
    out.push(step.output);
    if (step.started) startedAt = at;
    if (step.exit) exit = { code: step.exit.code, stderr: step.exit.stderr.toString() };
  }
  return { output: Buffer.concat(out).toString('latin1'), exit, started: startedAt >= 0 };
}

describe("the terminal line for providers that offer only a terminal (ACI's executeCommand)", () => {
  it('runs the command quoted, its stdin through base64 without a tty, its stderr to a file', () => {
    const { input, stdin } = terminalScript(['sh', '-c', "echo 'hi'"], { tty: false, stdin: true });
    assert.equal(stdin, 'base64');
    assert.ok(input.endsWith('\n') && !input.slice(0, -1).includes('\n'), 'one line');
    assert.match(input, /^stty -echo -opost 2>\/dev\/null; /);
    assert.match(input, /base64 -d \| sh -c 'echo '\\''hi'\\''' 2>"\$e"/);
    assert.doesNotMatch(input, new RegExp(startMark), 'the typed line does not hold the marks themselves');
    const tty = terminalScript(['bash'], { tty: true, stdin: true });
    assert.equal(tty.stdin, 'raw');
    assert.doesNotMatch(tty.input, /stty|base64/);
  });

  it('quotes only what needs it', () => {
    assert.equal(shellQuote('/tmp/a.txt'), '/tmp/a.txt');
    assert.equal(shellQuote(''), "''");
    assert.equal(shellQuote("it's"), `'it'\\''s'`);
  });

  it('refuses commands a terminal line cannot carry, saying why', () => {
    assert.equal(terminalCommandProblem(['echo', 'tab\tand\nnewline']), undefined);
    assert.match(terminalCommandProblem(['printf', 'a\x03b']) ?? '', /control characters/);
    assert.match(
      terminalCommandProblem(['echo', 'x'.repeat(maxCommandBytes)]) ?? '',
      /a terminal line holds at most 3500/,
    );
    assert.match(terminalCommandProblem([]) ?? '', /no command/);
  });

  it('finds the output, the exit status and stderr however the bytes are split', () => {
    const { input } = terminalScript(['sh', '-c', 'x'], { tty: false, stdin: false });
    const bytes = sessionOutput(input, 'out\x1enot a mark\n', 3, 'err\n');
    for (const size of [1, 2, 3, 7, 64, bytes.length]) {
      assert.deepEqual(
        readAll(bytes, size),
        { output: 'out\x1enot a mark\n', exit: { code: 3, stderr: 'err\n' }, started: true },
        `chunks of ${size}`,
      );
    }
  });

  it('holds back only what could start the exit mark, and keeps what the shell said when it never started', () => {
    const parser = new TerminalOutput();
    assert.equal(
      parser.push(Buffer.from(`${startMark}abc${exitMarkPrefix.slice(0, 4)}`, 'latin1')).output.toString(),
      'abc',
    );
    assert.equal(
      parser.push(Buffer.from('zzz')).output.toString('latin1'),
      `${exitMarkPrefix.slice(0, 4)}zzz`,
    );
    const never = new TerminalOutput();
    never.push(Buffer.from('OCI runtime exec failed: exec: "/bin/sh": not found\r\n'));
    assert.match(never.end().preamble, /\/bin\/sh": not found/);
  });

  it('sends stdin as base64 lines, three bytes at a time until flushed', () => {
    const lines = new Base64Lines();
    assert.equal(lines.push(Buffer.from('abcd')), 'YWJj\n');
    assert.equal(lines.push(Buffer.from('ef')), 'ZGVm\n');
    assert.equal(lines.push(Buffer.from('g')), '');
    assert.equal(lines.flush(), 'Zw==\n');
    const long = lines.push(Buffer.alloc(120, 1));
    assert.ok(long.split('\n').every((line) => line.length <= 76));
  });
});
