/**
 * Structured JSON logs, one object per line, with fixed keys so that queries over them stay
 * stable: level, message, timestamp, invocationId, node, provider, and pod namespace/name/uid.
 * Child loggers carry their keys into every line they write.
 */

export const LogLevel = { debug: 10, info: 20, warn: 30, error: 40 } as const;
export type LogLevel = keyof typeof LogLevel;

/** The keys every line may carry; anything else goes under `data`. */
export interface LogContext {
  invocationId?: string;
  functionName?: string;
  node?: string;
  provider?: string;
  podNamespace?: string;
  podName?: string;
  podUid?: string;
}

export type LogSink = (level: LogLevel, line: string) => void;

export interface Logger {
  debug(message: string, data?: Record<string, unknown>): void;
  info(message: string, data?: Record<string, unknown>): void;
  warn(message: string, data?: Record<string, unknown>): void;
  error(message: string, data?: Record<string, unknown>): void;
  child(context: LogContext): Logger;
}

export interface LoggerOptions {
  sink?: LogSink;
  minLevel?: LogLevel;
  now?: () => number;
}

const stdoutSink: LogSink = (_level, line) => {
  process.stdout.write(line + '\n');
};

export function createLogger(context: LogContext = {}, options: LoggerOptions = {}): Logger {
  const sink = options.sink ?? stdoutSink;
  const min = LogLevel[options.minLevel ?? 'info'];
  const now = options.now ?? Date.now;

  const write = (level: LogLevel, message: string, data?: Record<string, unknown>): void => {
    if (LogLevel[level] < min) return;
    const line: Record<string, unknown> = {
      level,
      message,
      timestamp: new Date(now()).toISOString(),
      ...context,
    };
    if (data !== undefined && Object.keys(data).length > 0) line.data = serialisable(data);
    sink(level, JSON.stringify(line));
  };

  return {
    debug: (m, d) => write('debug', m, d),
    info: (m, d) => write('info', m, d),
    warn: (m, d) => write('warn', m, d),
    error: (m, d) => write('error', m, d),
    child: (extra) => createLogger({ ...context, ...extra }, options),
  };
}

/** Errors do not survive JSON.stringify; turn them into name/message/cause chains. */
function serialisable(data: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(data))
    out[key] = value instanceof Error ? errorFields(value) : value;
  return out;
}

function errorFields(err: Error, depth = 0): Record<string, unknown> {
  const fields: Record<string, unknown> = { name: err.name, message: err.message };
  if (err.cause instanceof Error && depth < 4) fields.cause = errorFields(err.cause, depth + 1);
  return fields;
}

/** A logger that records lines in memory, for tests. */
export function memoryLogger(context: LogContext = {}): { logger: Logger; lines: Record<string, unknown>[] } {
  const lines: Record<string, unknown>[] = [];
  const logger = createLogger(context, {
    minLevel: 'debug',
    sink: (_level, line) => lines.push(JSON.parse(line) as Record<string, unknown>),
  });
  return { logger, lines };
}
