/**
 * The relay's bridge between a caller's exec streams (streams.ts) and the provider's terminal
 * session (ACI's executeCommand WebSocket, or the mock's, which speaks the same): send the
 * password, type the line the function handed over, wait for the command's start, then pass
 * stdin in and output out until the command's exit status arrives (exec-terminal.ts explains
 * the marks). The provider's socket is closed whenever the session ends, however it ends; nothing
 * about the session outlives this call.
 */
import { WebSocket, type RawData } from 'ws';
import { errorMessage } from '../errors.ts';
import type { Logger } from '../log.ts';
import { Base64Lines, endOfFile, TerminalOutput } from '../providers/exec-terminal.ts';
import type { CallerStreams, ExecResult } from './streams.ts';
import type { ExecSessionAnswer } from './protocol.ts';

export interface TerminalSessionOptions {
  logger: Logger;
  /** How long the socket may take to open, and the shell to reach the command. */
  startTimeoutMs?: number;
  /** A stdin remainder of one or two bytes is sent padded after this long without more. */
  stdinFlushMs?: number;
  /** The provider's socket is pinged this often, and given up when a ping goes unanswered. */
  pingEveryMs?: number;
}

/** Why a session URL is refused: wss, or ws to a loopback address only. */
export function sessionUrlProblem(url: string): string | undefined {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return 'the session URL is not a URL';
  }
  if (parsed.protocol === 'wss:') return undefined;
  const host = parsed.hostname.replace(/^\[|\]$/g, '');
  if (parsed.protocol === 'ws:' && (host === '::1' || /^127\./.test(host))) return undefined;
  return 'the session URL must be wss:// (ws:// only to a loopback address)';
}

export async function bridgeTerminalSession(
  session: ExecSessionAnswer,
  caller: CallerStreams,
  options: TerminalSessionOptions,
): Promise<ExecResult> {
  const problem = sessionUrlProblem(session.url);
  if (problem !== undefined) return { kind: 'failure', message: problem };
  const startTimeoutMs = options.startTimeoutMs ?? 30_000;
  const log = options.logger;
  const host = new URL(session.url).host;
  const ws = new WebSocket(session.url, { handshakeTimeout: startTimeoutMs, maxPayload: 16 * 1024 * 1024 });
  const output = new TerminalOutput();

  return new Promise<ExecResult>((resolve) => {
    let settled = false;
    let pinger: NodeJS.Timeout | undefined;
    const settle = (result: ExecResult) => {
      if (settled) return;
      settled = true;
      clearTimeout(startTimer);
      clearInterval(pinger);
      caller.signal.removeEventListener('abort', onCallerGone);
      // The provider's session ends with the caller's: ACI keeps nothing running for it.
      if (ws.readyState === ws.CONNECTING) ws.terminate();
      else ws.close(1000);
      resolve(result);
    };
    const onCallerGone = () => settle({ kind: 'failure', message: 'the caller went away' });
    caller.signal.addEventListener('abort', onCallerGone, { once: true });
    const startTimer = setTimeout(
      () =>
        settle({
          kind: 'failure',
          message: `the container's shell did not start the command within ${Math.round(startTimeoutMs / 1000)} s`,
        }),
      startTimeoutMs,
    );

    ws.on('open', () => {
      ws.send(session.password);
      ws.send(session.input);
      // A provider socket that stops answering pings is gone, even if TCP has not said so.
      let answered = true;
      ws.on('pong', () => (answered = true));
      pinger = setInterval(() => {
        if (!answered) {
          ws.terminate();
          return;
        }
        answered = false;
        ws.ping();
      }, options.pingEveryMs ?? 30_000);
      pinger.unref();
    });
    ws.on('message', (raw: RawData) => {
      const step = output.push(toBuffer(raw));
      if (step.output.length > 0 && !caller.writeStdout(step.output)) {
        // The caller reads slower than the container writes: hold the provider's socket.
        ws.pause();
        void caller.drained().then(() => ws.resume());
      }
      if (step.started) {
        clearTimeout(startTimer);
        void pumpStdin();
      }
      if (step.exit) {
        if (step.exit.stderr.length > 0) {
          if (caller.options.stderr) caller.writeStderr(step.exit.stderr);
          else caller.writeStdout(step.exit.stderr);
        }
        settle(step.exit.code === 0 ? { kind: 'success' } : { kind: 'exitCode', code: step.exit.code });
      }
    });
    ws.on('unexpected-response', (_request, response) => {
      settle({
        kind: 'failure',
        message: `the provider's exec session at ${host} refused the connection: HTTP ${response.statusCode ?? '?'}`,
      });
    });
    ws.on('error', (err) => {
      log.warn('exec session socket failed', { host, error: errorMessage(err) });
      settle({ kind: 'failure', message: `the provider's exec session failed: ${errorMessage(err)}` });
    });
    ws.on('close', (code) => {
      const rest = output.end();
      if (rest.output.length > 0) caller.writeStdout(rest.output);
      if (output.phase === 'before') {
        const said = printable(rest.preamble);
        settle({
          kind: 'failure',
          message:
            code === 1008
              ? "the provider's exec session refused its password"
              : `the container's shell ended before running the command${said === '' ? '' : `: ${said}`}`,
        });
      } else {
        settle({
          kind: 'failure',
          message: "the provider's exec session closed before the command's exit status came",
        });
      }
    });

    /** The caller's stdin as the session types it, once the command runs. */
    const pumpStdin = async () => {
      if (session.stdin === 'none') return;
      const lines = new Base64Lines();
      let flushTimer: NodeJS.Timeout | undefined;
      const send = (text: string | Buffer) => {
        if (!settled && ws.readyState === ws.OPEN && text.length > 0) ws.send(text);
      };
      for (let chunk = await caller.readStdin(); chunk !== null; chunk = await caller.readStdin()) {
        if (settled) return;
        if (session.stdin === 'raw') {
          send(chunk);
          continue;
        }
        clearTimeout(flushTimer);
        send(lines.push(chunk));
        // One or two bytes left over wait for more; if none come soon, they go padded.
        flushTimer = setTimeout(() => send(lines.flush()), options.stdinFlushMs ?? 20);
      }
      clearTimeout(flushTimer);
      if (session.stdin === 'base64') {
        send(lines.flush());
        send(endOfFile);
      }
    };
  });
}

function toBuffer(raw: RawData): Buffer {
  if (Buffer.isBuffer(raw)) return raw;
  if (Array.isArray(raw)) return Buffer.concat(raw);
  return Buffer.from(raw);
}

/** The last line of what the shell said, without terminal control bytes, for a message. */
function printable(text: string): string {
  const escape = String.fromCharCode(0x1b);
  const lines = [
    ...text
      .split(`${escape}[`)
      .map((s, i) => (i === 0 ? s : s.replace(/^[0-9;?]*[A-Za-z]/, '')))
      .join(''),
  ]
    .filter((ch) => ch === '\n' || (ch.charCodeAt(0) >= 0x20 && ch.charCodeAt(0) !== 0x7f))
    .join('')
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l !== '' && l !== '#' && l !== '$');
  return (lines.at(-1) ?? '').slice(0, 300);
}
