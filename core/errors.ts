/**
 * Errors classified by how callers must react, never by message text. Every wrap keeps the
 * original as `cause`.
 */
export class FuncletError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
  }
}

/** The thing asked for does not exist. For deletes this counts as success. */
export class NotFoundError extends FuncletError {}

/** The input cannot be honoured as given; retrying will not help until it changes. */
export class InvalidInputError extends FuncletError {}

/** A concurrent writer got there first (ETag mismatch, resourceVersion conflict): reload and decide again. */
export class ConflictError extends FuncletError {}

/** The backend asked us to slow down; `retryAfterMs` says for how long when it told us. */
export class ThrottledError extends FuncletError {
  readonly retryAfterMs: number | undefined;
  constructor(message: string, options?: { cause?: unknown; retryAfterMs?: number }) {
    super(message, options);
    this.retryAfterMs = options?.retryAfterMs;
  }
}

/** A setting is missing or malformed. `setting` names it exactly as it is spelled in the environment. */
export class ConfigError extends FuncletError {
  readonly settings: readonly string[];
  constructor(problems: readonly { setting: string; problem: string }[]) {
    super(
      problems.length === 1
        ? `invalid setting ${problems[0]!.setting}: ${problems[0]!.problem}`
        : `invalid settings:\n${problems.map((p) => `  ${p.setting}: ${p.problem}`).join('\n')}`,
    );
    this.settings = problems.map((p) => p.setting);
  }
}

export function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/**
 * Why a document could not be parsed, in words that quote none of it. JSON.parse names the text
 * around the fault and js-yaml prints a snippet of the lines around it: for a docker config or a
 * kubeconfig that is the password, token or key. Only the fault's position is kept, and the
 * message of any other error only when it carries no quotes and no line breaks.
 */
export function parseProblem(err: unknown): string {
  const e = err as { name?: unknown; reason?: unknown; mark?: { line?: unknown; column?: unknown } } | null;
  if (typeof e?.reason === 'string' && typeof e.mark?.line === 'number') {
    const column = typeof e.mark.column === 'number' ? `, column ${e.mark.column + 1}` : '';
    return `not valid YAML (${e.reason.replace(/["'`]/g, '')} at line ${e.mark.line + 1}${column})`;
  }
  const message = err instanceof Error ? err.message : String(err);
  if (err instanceof SyntaxError) {
    const at = /at position (\d+)/.exec(message);
    return at ? `not valid JSON (at position ${at[1]})` : 'not valid JSON';
  }
  if (e?.name === 'YAMLException') return 'not valid YAML';
  if (/["'`\n]/.test(message) || message.length > 200) return 'not in the expected format';
  return message;
}
