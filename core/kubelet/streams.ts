/**
 * One exec or attach session as its caller sees it, whatever carries it (SPDY from the API
 * server, spdyStreams.ts; WebSocket from a client that reaches the kubelet endpoint itself,
 * wsStreams.ts): the stdin it types, the terminal sizes it reports, the stdout and stderr it
 * reads, and the one result at the end on the error stream, as the kubelet writes it
 * (k8s.io/kubelet/pkg/cri/streaming/remotecommand).
 */

/** What the caller asked for in the query (?input=1&output=1&error=1&tty=1). */
export interface StreamOptions {
  stdin: boolean;
  stdout: boolean;
  stderr: boolean;
  tty: boolean;
}

export interface TerminalSize {
  width: number;
  height: number;
}

/** How the command ended, as the error stream reports it. */
export type ExecResult =
  { kind: 'success' } | { kind: 'exitCode'; code: number } | { kind: 'failure'; message: string };

export interface CallerStreams {
  /** The negotiated protocol, e.g. v4.channel.k8s.io. */
  readonly protocol: string;
  readonly options: StreamOptions;
  /** Aborted when the caller goes away before finish(). */
  readonly signal: AbortSignal;
  /** The caller's next stdin bytes; null once it closed its stdin (or has none). */
  readStdin(): Promise<Buffer | null>;
  /** The caller's next terminal size; null when there is none within `timeoutMs` or ever. */
  nextResize(timeoutMs?: number): Promise<TerminalSize | null>;
  /** False once the connection holds more than it should: wait for drained() before more. */
  writeStdout(chunk: Buffer): boolean;
  writeStderr(chunk: Buffer): boolean;
  /** Resolves once what was written has mostly gone out (at once when it has). */
  drained(): Promise<void>;
  /** Writes the result to the error stream and closes the connection; later calls do nothing. */
  finish(result: ExecResult): void;
}

/**
 * The result as the v4 protocols carry it: a metav1 Status. A non-zero exit is a Failure with
 * reason NonZeroExitCode and the code as an ExitCode cause, which kubectl turns into its exit code.
 */
export function statusOf(result: ExecResult): Record<string, unknown> {
  switch (result.kind) {
    case 'success':
      return { metadata: {}, status: 'Success' };
    case 'exitCode':
      return {
        metadata: {},
        status: 'Failure',
        message: `command terminated with non-zero exit code: exit status ${result.code}`,
        reason: 'NonZeroExitCode',
        details: { causes: [{ reason: 'ExitCode', message: String(result.code) }] },
      };
    case 'failure':
      return { metadata: {}, status: 'Failure', message: result.message, reason: 'InternalError', code: 500 };
  }
}

/** The result as the protocols before v4 carry it: the error's text, nothing on success. */
export function statusTextOf(result: ExecResult): string {
  switch (result.kind) {
    case 'success':
      return '';
    case 'exitCode':
      return `command terminated with non-zero exit code: exit status ${result.code}`;
    case 'failure':
      return result.message;
  }
}

/**
 * Bytes in arrival order for one reader; ends once. Stdin that arrives faster than the provider
 * takes it waits here; above `highWaterBytes` the connection is paused (TCP pushes back on the
 * sender) until the reader has caught up.
 */
export class ByteQueue {
  private readonly chunks: Buffer[] = [];
  private queued = 0;
  private ended = false;
  private paused = false;
  private waiting: ((chunk: Buffer | null) => void) | undefined;

  private readonly flow: { pause(): void; resume(): void; highWaterBytes?: number };

  constructor(
    flow: { pause(): void; resume(): void; highWaterBytes?: number } = {
      pause: () => undefined,
      resume: () => undefined,
    },
  ) {
    this.flow = flow;
  }

  push(chunk: Buffer): void {
    if (this.ended || chunk.length === 0) return;
    if (this.waiting) {
      const w = this.waiting;
      this.waiting = undefined;
      w(chunk);
      return;
    }
    this.chunks.push(chunk);
    this.queued += chunk.length;
    if (!this.paused && this.queued > (this.flow.highWaterBytes ?? 1024 * 1024)) {
      this.paused = true;
      this.flow.pause();
    }
  }

  end(): void {
    if (this.ended) return;
    this.ended = true;
    if (this.waiting) {
      const w = this.waiting;
      this.waiting = undefined;
      w(null);
    }
  }

  read(): Promise<Buffer | null> {
    const next = this.chunks.shift();
    if (next !== undefined) {
      this.queued -= next.length;
      if (this.paused && this.queued === 0) {
        this.paused = false;
        this.flow.resume();
      }
      return Promise.resolve(next);
    }
    if (this.ended) return Promise.resolve(null);
    return new Promise((resolve) => (this.waiting = resolve));
  }
}

/** Terminal sizes in arrival order, parsed from the resize stream's concatenated JSON objects. */
export class ResizeQueue {
  private text = '';
  private readonly sizes: TerminalSize[] = [];
  private ended = false;
  private waiting: ((size: TerminalSize | null) => void) | undefined;

  /** Takes raw stream bytes: `{"Width":100,"Height":30}` objects, one after another. */
  pushBytes(chunk: Buffer): void {
    this.text += chunk.toString('utf8');
    if (this.text.length > 4096) this.text = this.text.slice(-4096);
    for (;;) {
      const end = this.text.indexOf('}');
      if (end < 0) return;
      const object = this.text.slice(this.text.indexOf('{'), end + 1);
      this.text = this.text.slice(end + 1);
      try {
        const parsed = JSON.parse(object) as { Width?: unknown; Height?: unknown };
        const width = Number(parsed.Width);
        const height = Number(parsed.Height);
        if (Number.isInteger(width) && Number.isInteger(height) && width >= 0 && height >= 0)
          this.push({ width, height });
      } catch {
        // not a size: skipped, as the kubelet's decoder would stop at it
      }
    }
  }

  push(size: TerminalSize): void {
    if (this.ended) return;
    if (this.waiting) {
      const w = this.waiting;
      this.waiting = undefined;
      w(size);
      return;
    }
    // Sizes nobody reads (a provider that cannot resize) are not kept beyond the last few.
    this.sizes.push(size);
    if (this.sizes.length > 16) this.sizes.shift();
  }

  end(): void {
    this.ended = true;
    this.waiting?.(null);
    this.waiting = undefined;
  }

  next(timeoutMs?: number): Promise<TerminalSize | null> {
    const size = this.sizes.shift();
    if (size !== undefined) return Promise.resolve(size);
    if (this.ended || timeoutMs === 0) return Promise.resolve(null);
    return new Promise((resolve) => {
      const timer =
        timeoutMs === undefined
          ? undefined
          : setTimeout(() => {
              this.waiting = undefined;
              resolve(null);
            }, timeoutMs);
      this.waiting = (s) => {
        clearTimeout(timer);
        resolve(s);
      };
    });
  }
}

/** The query of an exec or attach request, as the kubelet reads it (NewOptions). */
export function streamOptionsOf(query: URLSearchParams): StreamOptions | { problem: string } {
  const flag = (name: string) => query.get(name) === '1' || query.get(name) === 'true';
  const tty = flag('tty');
  const options = {
    stdin: flag('input') || flag('stdin'),
    stdout: flag('output') || flag('stdout'),
    // A terminal has one output: with a tty, stderr is not a stream of its own.
    stderr: (flag('error') || flag('stderr')) && !tty,
    tty,
  };
  if (!options.stdin && !options.stdout && !options.stderr)
    return { problem: 'you must specify at least 1 of stdin, stdout, stderr' };
  return options;
}
