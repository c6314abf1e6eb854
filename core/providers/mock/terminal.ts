/**
 * A terminal as a program in a container sees it behind ACI's exec WebSocket (or the mock's):
 * the line discipline between the bytes typed at the socket and the programs' stdin, and between
 * their output and the socket. Only what the scripted shell and the exec sessions use is here:
 *
 * - canonical input (icanon): typed bytes are held until a newline and handed over a line at a
 *   time; ^D at the start of a line is end-of-file, ^C interrupts, DEL/^H erase; a line holds at
 *   most 4095 bytes. Without icanon bytes go through as they come.
 * - echo: typed bytes are written back; icrnl: a typed CR is a newline.
 * - opost (onlcr): a newline the programs write goes out as CR LF.
 * - a size (rows, cols) fixed when the session starts.
 * `stty` (commands.ts) switches these, as it does on a real terminal.
 */

export interface TerminalModes {
  echo: boolean;
  icanon: boolean;
  isig: boolean;
  icrnl: boolean;
  opost: boolean;
}

export const saneModes: TerminalModes = { echo: true, icanon: true, isig: true, icrnl: true, opost: true };

const maxLine = 4095;

export class Terminal {
  readonly modes: TerminalModes = { ...saneModes };
  rows: number;
  cols: number;
  private line: number[] = [];
  private readonly ready: (Buffer | null)[] = [];
  private waiting: ((chunk: Buffer | null) => void) | undefined;
  private hungUp = false;
  private interrupt: (() => void) | undefined;

  private readonly toSocket: (bytes: Buffer) => void;

  constructor(
    toSocket: (bytes: Buffer) => void,
    size: { rows: number; cols: number } = { rows: 24, cols: 80 },
  ) {
    this.toSocket = toSocket;
    this.rows = size.rows;
    this.cols = size.cols;
  }

  /** What the foreground program does on ^C. */
  onInterrupt(handler: (() => void) | undefined): void {
    this.interrupt = handler;
  }

  /** Bytes typed at the socket. */
  type(bytes: Buffer): void {
    if (this.hungUp) return;
    if (!this.modes.icanon) {
      const data = this.modes.icrnl ? Buffer.from(bytes.map((b) => (b === 0x0d ? 0x0a : b))) : bytes;
      if (this.modes.echo) this.echo(data);
      this.deliver(Buffer.from(data));
      return;
    }
    for (let b of bytes) {
      if (b === 0x0d && this.modes.icrnl) b = 0x0a;
      if (this.modes.isig && b === 0x03) {
        this.line = [];
        if (this.modes.echo) this.echo(Buffer.from('^C\n'));
        this.interrupt?.();
        continue;
      }
      if (b === 0x04) {
        const text = Buffer.from(this.line);
        this.line = [];
        this.deliver(text.length === 0 ? null : text);
        continue;
      }
      if (b === 0x7f || b === 0x08) {
        if (this.line.length > 0) {
          this.line.pop();
          if (this.modes.echo) this.toSocket(Buffer.from('\b \b'));
        }
        continue;
      }
      if (b === 0x0a) {
        this.line.push(b);
        if (this.modes.echo) this.echo(Buffer.from('\n'));
        const text = Buffer.from(this.line);
        this.line = [];
        this.deliver(text);
        continue;
      }
      if (this.line.length >= maxLine) continue;
      this.line.push(b);
      if (this.modes.echo) this.echo(Buffer.of(b));
    }
  }

  /** What a program reads: a line (canonical) or what was typed; null at end-of-file or hang-up. */
  read(): Promise<Buffer | null> {
    const next = this.ready.shift();
    if (next !== undefined) return Promise.resolve(next);
    if (this.hungUp) return Promise.resolve(null);
    return new Promise((resolve) => (this.waiting = resolve));
  }

  /** What the programs write. */
  write(bytes: Buffer): void {
    if (this.hungUp) return;
    this.toSocket(this.modes.opost ? onlcr(bytes) : bytes);
  }

  /** The socket went away: every read ends. */
  hangup(): void {
    this.hungUp = true;
    const w = this.waiting;
    this.waiting = undefined;
    w?.(null);
  }

  private echo(bytes: Buffer): void {
    this.toSocket(this.modes.opost ? onlcr(bytes) : bytes);
  }

  private deliver(chunk: Buffer | null): void {
    if (this.waiting) {
      const w = this.waiting;
      this.waiting = undefined;
      w(chunk);
    } else this.ready.push(chunk);
  }
}

function onlcr(bytes: Buffer): Buffer {
  if (!bytes.includes(0x0a)) return bytes;
  const out: number[] = [];
  for (const b of bytes) {
    if (b === 0x0a) out.push(0x0d);
    out.push(b);
  }
  return Buffer.from(out);
}
