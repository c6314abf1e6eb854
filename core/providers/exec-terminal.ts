/**
 * How Funclet runs `kubectl exec` through a provider that offers only a terminal: ACI's
 * executeCommand starts one process with no arguments on a terminal, and its WebSocket carries
 * the terminal's bytes both ways, stdout and stderr merged, with no exit status. So the process
 * started is the container's /bin/sh, and the session types one line into it that runs the
 * command with its arguments (single-quoted, so nothing is expanded) between marks that the
 * caller's side (core/kubelet/terminalSession.ts) finds in the output:
 *
 *   <terminal setup>; printf START; <command> <stdin> 2><file>; printf EXIT<status>;
 *   base64 <file>; printf END; exit
 *
 * - START tells where the command's own output begins: everything before it (the echo of the
 *   typed line, the shell's prompt) is not the command's.
 * - EXIT carries the command's exit status, so `kubectl exec -- sh -c 'exit 3'` exits 3.
 * - Without a tty, the command's stderr goes to a temporary file that is sent, base64, between
 *   EXIT and END: stdout stays byte for byte what the command wrote (tar's "Removing leading
 *   `/'" would otherwise land in the middle of `kubectl cp`'s archive), and stderr reaches the
 *   caller's stderr, at the end rather than as it is written. Where no temporary file can be
 *   made, stderr goes to the terminal, merged.
 * - Without a tty the terminal is also set to pass bytes unchanged (`stty -echo -opost`), and
 *   the caller's stdin travels as base64 lines decoded in the container (`base64 -d |`), ended
 *   by an end-of-file character: a terminal has no other way to close a program's stdin, and
 *   binary bytes typed raw would meet the terminal's line editing. With a tty, keystrokes go as
 *   they are, and stdout and stderr are one stream, as with any terminal.
 *
 * The marks are printed with printf escapes, so the echo of the typed line never contains them.
 * What this cannot carry: stderr as it is written (without a tty), terminal resizes after the
 * start (executeCommand fixes the size), and a container without /bin/sh, stty, mktemp or base64.
 */

/** How the caller's stdin is typed into the terminal. */
export type TerminalStdin = 'raw' | 'base64' | 'none';

export interface TerminalScript {
  /** The line typed after the password. */
  input: string;
  stdin: TerminalStdin;
}

/** The program executeCommand starts. */
export const terminalShell = '/bin/sh';

const mark = '\x1efunclet:';
export const startMark = `${mark}start\x1e`;
export const exitMarkPrefix = `${mark}exit:`;
export const endMark = `${mark}end\x1e`;
const markEnd = '\x1e';

/**
 * A terminal's input line holds 4096 bytes (N_TTY_BUF_SIZE); the typed line must fit with room
 * for the shell's own words.
 */
export const maxCommandBytes = 3500;

/** Why the command cannot be typed into a terminal, or undefined when it can. */
export function terminalCommandProblem(command: readonly string[]): string | undefined {
  if (command.length === 0) return 'no command was given';
  const quoted = command.map(shellQuote).join(' ');
  if (Buffer.byteLength(quoted, 'utf8') > maxCommandBytes)
    return `the command is ${Buffer.byteLength(quoted, 'utf8')} bytes long once quoted; a terminal line holds at most ${maxCommandBytes}`;
  // The terminal's line editing acts on control characters wherever they are (^C, ^D, ^U, ^W).
  if (command.some(hasControlCharacter))
    return 'the command holds control characters, which a terminal would act on instead of passing';
  return undefined;
}

/** Tab and newline pass through a terminal's line editing; other control characters do not. */
function hasControlCharacter(arg: string): boolean {
  for (const ch of arg) {
    const code = ch.charCodeAt(0);
    if ((code < 0x20 && ch !== '\t' && ch !== '\n') || code === 0x7f) return true;
  }
  return false;
}

/** The line to type for `command`, and how stdin goes. Check terminalCommandProblem first. */
export function terminalScript(
  command: readonly string[],
  options: { tty: boolean; stdin: boolean },
): TerminalScript {
  const run = command.map(shellQuote).join(' ');
  const start = `printf '\\036funclet:%s\\036' start`;
  const exit = `s=$?; printf '\\036funclet:exit:%d\\036' $s`;
  const end = `printf '\\036funclet:%s\\036' end; exit`;
  if (options.tty) {
    return { input: `${start}; ${run}; ${exit}; ${end}\n`, stdin: options.stdin ? 'raw' : 'none' };
  }
  const setup = 'stty -echo -opost 2>/dev/null; e=$(mktemp 2>/dev/null) || e=/dev/tty';
  const body = options.stdin ? `base64 -d | ${run} 2>"$e"` : `${run} </dev/null 2>"$e"`;
  const stderr = '[ "$e" = /dev/tty ] || { base64 "$e"; rm -f "$e"; }';
  return {
    input: `${setup}; ${start}; ${body}; ${exit}; ${stderr}; ${end}\n`,
    stdin: options.stdin ? 'base64' : 'none',
  };
}

/** A POSIX shell word that stands for exactly `arg`. */
export function shellQuote(arg: string): string {
  if (/^[A-Za-z0-9_@%+=:,./-]+$/.test(arg)) return arg;
  return `'${arg.replace(/'/g, `'\\''`)}'`;
}

/** The end-of-file character a terminal in canonical mode takes at the start of a line (VEOF). */
export const endOfFile = '\x04';

/**
 * The caller's stdin as base64 lines. Bytes are encoded three at a time so that no padding falls
 * mid-stream; the one or two left over wait for more, or for flush().
 */
export class Base64Lines {
  private rest: Buffer = Buffer.alloc(0);

  push(chunk: Buffer): string {
    const all = this.rest.length === 0 ? chunk : Buffer.concat([this.rest, chunk]);
    const whole = all.length - (all.length % 3);
    this.rest = Buffer.from(all.subarray(whole));
    return lines(all.subarray(0, whole));
  }

  /** Whatever is left, padded. */
  flush(): string {
    const out = lines(this.rest);
    this.rest = Buffer.alloc(0);
    return out;
  }
}

function lines(bytes: Buffer): string {
  const text = bytes.toString('base64');
  let out = '';
  for (let at = 0; at < text.length; at += 76) out += `${text.slice(at, at + 76)}\n`;
  return out;
}

/** What the terminal's output says so far, once pushed through TerminalOutput. */
export interface OutputStep {
  /** The command's own output, to pass on. */
  output: Buffer;
  /** START was seen with this chunk: stdin may flow from now on. */
  started?: boolean;
  /** END was seen: the command exited with this status, having written this to stderr. */
  exit?: { code: number; stderr: Buffer };
}

/**
 * Splits the terminal's output into the command's output and the marks. Bytes that could be the
 * beginning of EXIT are held back until it is clear they are not.
 */
export class TerminalOutput {
  private state: 'before' | 'running' | 'exited' | 'done' = 'before';
  private pending: Buffer = Buffer.alloc(0);
  private code = 255;
  /** The last of what came before START, for the message when the shell never got there. */
  private preamble = '';

  get phase(): 'before' | 'running' | 'exited' | 'done' {
    return this.state;
  }

  push(chunk: Buffer): OutputStep {
    if (this.state === 'done') return { output: Buffer.alloc(0) };
    this.pending = this.pending.length === 0 ? chunk : Buffer.concat([this.pending, chunk]);
    let started = false;
    if (this.state === 'before') {
      const at = this.pending.indexOf(startMark, 0, 'latin1');
      if (at < 0) {
        const keep = Math.min(this.pending.length, startMark.length - 1);
        const seen = this.pending.subarray(0, this.pending.length - keep).toString('utf8');
        this.preamble = (this.preamble + seen).slice(-2000);
        this.pending = Buffer.from(this.pending.subarray(this.pending.length - keep));
        return { output: Buffer.alloc(0) };
      }
      this.pending = Buffer.from(this.pending.subarray(at + startMark.length));
      this.state = 'running';
      started = true;
    }
    let output = Buffer.alloc(0);
    if (this.state === 'running') {
      const at = this.pending.indexOf(exitMarkPrefix, 0, 'latin1');
      if (at < 0) {
        const hold = heldBack(this.pending);
        output = Buffer.from(this.pending.subarray(0, this.pending.length - hold));
        this.pending = Buffer.from(this.pending.subarray(this.pending.length - hold));
        return { output, started };
      }
      output = Buffer.from(this.pending.subarray(0, at));
      const end = this.pending.indexOf(markEnd, at + exitMarkPrefix.length, 'latin1');
      if (end < 0) {
        this.pending = Buffer.from(this.pending.subarray(at));
        return { output, started };
      }
      const code = Number(this.pending.toString('latin1', at + exitMarkPrefix.length, end));
      this.code = Number.isInteger(code) && code >= 0 ? code : 255;
      this.pending = Buffer.from(this.pending.subarray(end + 1));
      this.state = 'exited';
    }
    const at = this.pending.indexOf(endMark, 0, 'latin1');
    if (at < 0) return { output, started };
    const text = this.pending.toString('latin1', 0, at).replace(/[^A-Za-z0-9+/=]/g, '');
    this.pending = Buffer.alloc(0);
    this.state = 'done';
    return { output, started, exit: { code: this.code, stderr: Buffer.from(text, 'base64') } };
  }

  /**
   * At the end of the session: what was held back, and the text before START if it never came
   * (the shell could not start, or said why it could not run the line).
   */
  end(): { output: Buffer; preamble: string } {
    const output = this.state === 'running' ? this.pending : Buffer.alloc(0);
    const preamble = this.state === 'before' ? this.preamble + this.pending.toString('utf8') : '';
    this.pending = Buffer.alloc(0);
    return { output, preamble };
  }
}

/** How many bytes at the end of `data` could begin EXIT. */
function heldBack(data: Buffer): number {
  const prefix = Buffer.from(exitMarkPrefix, 'latin1');
  for (let n = Math.min(prefix.length - 1, data.length); n > 0; n--) {
    if (data.subarray(data.length - n).equals(prefix.subarray(0, n))) return n;
  }
  return 0;
}
