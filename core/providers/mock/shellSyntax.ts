/**
 * The syntax of the scripted shell (shell.ts): the part of the POSIX shell language that
 * `kubectl exec`, `kubectl cp` and Funclet's own terminal line (exec-terminal.ts) use. Words with
 * single and double quotes, backslashes, `$name`, `${name}`, `$?`, `$$`, `$#`, `$0`..`$9`, `$@`,
 * `$*` and `$(...)`; simple commands with assignments and redirections (`<`, `>`, `>>`, `n>`,
 * `n>&m`); pipelines with `!`; `&&` and `||`; lists with `;` and newlines; `{ ...; }` groups;
 * comments. No loops, functions, subshells or globbing.
 */

export type WordPart =
  | { kind: 'text'; text: string; quoted: boolean }
  | { kind: 'param'; name: string; quoted: boolean }
  | { kind: 'command'; script: string; quoted: boolean };

export type Word = WordPart[];

export interface Redirect {
  fd: number;
  op: '<' | '>' | '>>' | '>&' | '<&';
  target: Word;
}

export type Command =
  | { type: 'simple'; assignments: { name: string; value: Word }[]; words: Word[]; redirects: Redirect[] }
  | { type: 'group'; body: List; redirects: Redirect[] };

export interface Pipeline {
  negate: boolean;
  commands: Command[];
}

export interface AndOr {
  first: Pipeline;
  rest: { op: '&&' | '||'; pipeline: Pipeline }[];
}

export type List = AndOr[];

/** The input ends inside a quote or after an operator: an interactive shell reads another line. */
export class IncompleteInput extends Error {
  override readonly name = 'IncompleteInput';
}

export class ShellSyntaxError extends Error {
  override readonly name = 'ShellSyntaxError';
}

type Token =
  | { t: 'word'; word: Word; raw: string }
  | { t: 'op'; op: ';' | '\n' | '&&' | '||' | '|' | '&' }
  | { t: 'redirect'; fd: number; op: Redirect['op'] };

export function parseScript(text: string): List {
  const tokens = tokenize(text);
  const parser = new Parser(tokens);
  const list = parser.list([]);
  if (parser.peek() !== undefined) throw new ShellSyntaxError(`syntax error near unexpected token`);
  return list;
}

function tokenize(text: string): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  while (i < text.length) {
    const c = text[i]!;
    if (c === ' ' || c === '\t') {
      i++;
      continue;
    }
    if (c === '\\' && text[i + 1] === '\n') {
      i += 2;
      continue;
    }
    if (c === '#') {
      while (i < text.length && text[i] !== '\n') i++;
      continue;
    }
    if (c === '\n' || c === ';') {
      tokens.push({ t: 'op', op: c });
      i++;
      continue;
    }
    if (c === '&' || c === '|') {
      if (text[i + 1] === c) {
        tokens.push({ t: 'op', op: c === '&' ? '&&' : '||' });
        i += 2;
      } else {
        tokens.push({ t: 'op', op: c });
        i++;
      }
      continue;
    }
    if (c === '(' || c === ')')
      throw new ShellSyntaxError(`syntax error: "${c}" unexpected (no subshells here)`);
    if (c === '<' || c === '>') {
      i = redirect(text, i, 1 - Number(c === '<'), tokens);
      continue;
    }
    const start = i;
    const [word, end] = readWord(text, i);
    i = end;
    const raw = text.slice(start, end);
    if (/^\d+$/.test(raw) && (text[i] === '<' || text[i] === '>')) {
      i = redirect(text, i, Number(raw), tokens);
      continue;
    }
    tokens.push({ t: 'word', word, raw });
  }
  return tokens;
}

function redirect(text: string, i: number, fd: number, tokens: Token[]): number {
  const c = text[i]!;
  let op: Redirect['op'];
  if (c === '>' && text[i + 1] === '>') op = '>>';
  else if (text[i + 1] === '&') op = c === '>' ? '>&' : '<&';
  else op = c as '<' | '>';
  tokens.push({ t: 'redirect', fd, op });
  return i + (op.length === 2 ? 2 : 1);
}

/** One word from `i`: up to unquoted whitespace or an operator. */
function readWord(text: string, i: number): [Word, number] {
  const parts: Word = [];
  const lit = (s: string, quoted: boolean) => {
    const last = parts.at(-1);
    if (last?.kind === 'text' && last.quoted === quoted) last.text += s;
    else parts.push({ kind: 'text', text: s, quoted });
  };
  while (i < text.length) {
    const c = text[i]!;
    if (' \t\n;&|<>()'.includes(c)) break;
    if (c === "'") {
      const end = text.indexOf("'", i + 1);
      if (end < 0) throw new IncompleteInput('unterminated quote');
      lit(text.slice(i + 1, end), true);
      // An empty '' still makes a word.
      if (end === i + 1) parts.push({ kind: 'text', text: '', quoted: true });
      i = end + 1;
      continue;
    }
    if (c === '"') {
      i = readDoubleQuoted(text, i + 1, parts, lit);
      continue;
    }
    if (c === '\\') {
      if (i + 1 >= text.length) throw new IncompleteInput('backslash at the end');
      if (text[i + 1] !== '\n') lit(text[i + 1]!, true);
      i += 2;
      continue;
    }
    if (c === '$') {
      i = readDollar(text, i, parts, false, lit);
      continue;
    }
    lit(c, false);
    i++;
  }
  return [parts, i];
}

function readDoubleQuoted(
  text: string,
  i: number,
  parts: Word,
  lit: (s: string, quoted: boolean) => void,
): number {
  const before = parts.length;
  while (i < text.length) {
    const c = text[i]!;
    if (c === '"') {
      if (parts.length === before) parts.push({ kind: 'text', text: '', quoted: true });
      return i + 1;
    }
    if (c === '\\' && i + 1 < text.length && '$`"\\\n'.includes(text[i + 1]!)) {
      if (text[i + 1] !== '\n') lit(text[i + 1]!, true);
      i += 2;
      continue;
    }
    if (c === '$') {
      i = readDollar(text, i, parts, true, lit);
      continue;
    }
    lit(c, true);
    i++;
  }
  throw new IncompleteInput('unterminated double quote');
}

function readDollar(
  text: string,
  i: number,
  parts: Word,
  quoted: boolean,
  lit: (s: string, quoted: boolean) => void,
): number {
  const next = text[i + 1];
  if (next === '(') {
    const end = matchingParen(text, i + 2);
    parts.push({ kind: 'command', script: text.slice(i + 2, end), quoted });
    return end + 1;
  }
  if (next === '{') {
    const end = text.indexOf('}', i + 2);
    if (end < 0) throw new IncompleteInput('unterminated ${');
    parts.push({ kind: 'param', name: text.slice(i + 2, end), quoted });
    return end + 1;
  }
  if (next !== undefined && '?$#@*0123456789'.includes(next)) {
    parts.push({ kind: 'param', name: next, quoted });
    return i + 2;
  }
  const name = /^[A-Za-z_][A-Za-z0-9_]*/.exec(text.slice(i + 1))?.[0];
  if (name === undefined) {
    lit('$', quoted);
    return i + 1;
  }
  parts.push({ kind: 'param', name, quoted });
  return i + 1 + name.length;
}

/** The index of the `)` that closes a `$(` whose body starts at `i`. */
function matchingParen(text: string, i: number): number {
  let depth = 1;
  while (i < text.length) {
    const c = text[i]!;
    if (c === "'") {
      const end = text.indexOf("'", i + 1);
      if (end < 0) throw new IncompleteInput('unterminated quote');
      i = end + 1;
      continue;
    }
    if (c === '"') {
      i++;
      while (i < text.length && text[i] !== '"') i += text[i] === '\\' ? 2 : 1;
      i++;
      continue;
    }
    if (c === '\\') {
      i += 2;
      continue;
    }
    if (c === '(') depth++;
    if (c === ')' && --depth === 0) return i;
    i++;
  }
  throw new IncompleteInput('unterminated $(');
}

class Parser {
  private at = 0;
  private readonly tokens: Token[];
  constructor(tokens: Token[]) {
    this.tokens = tokens;
  }

  peek(): Token | undefined {
    return this.tokens[this.at];
  }

  private isWord(text: string): boolean {
    const t = this.peek();
    return t?.t === 'word' && t.raw === text;
  }

  private skipNewlines(): void {
    for (let t = this.peek(); t?.t === 'op' && t.op === '\n'; t = this.peek()) this.at++;
  }

  /** Until the end, or a word in `closers` in command position ("}"). */
  list(closers: string[]): List {
    const list: List = [];
    for (;;) {
      this.skipNewlines();
      const t = this.peek();
      if (t === undefined) return list;
      if (t.t === 'word' && closers.includes(t.raw)) return list;
      if (t.t === 'op' && t.op === ';') throw new ShellSyntaxError('syntax error near unexpected token ";"');
      list.push(this.andOr());
      const sep = this.peek();
      if (sep?.t === 'op' && (sep.op === ';' || sep.op === '\n' || sep.op === '&')) this.at++;
      else if (sep !== undefined && !(sep.t === 'word' && closers.includes(sep.raw)))
        throw new ShellSyntaxError('syntax error');
    }
  }

  private andOr(): AndOr {
    const node: AndOr = { first: this.pipeline(), rest: [] };
    for (let t = this.peek(); t?.t === 'op' && (t.op === '&&' || t.op === '||'); t = this.peek()) {
      this.at++;
      this.skipNewlines();
      if (this.peek() === undefined) throw new IncompleteInput(`input ends after ${t.op}`);
      node.rest.push({ op: t.op, pipeline: this.pipeline() });
    }
    return node;
  }

  private pipeline(): Pipeline {
    let negate = false;
    if (this.isWord('!')) {
      negate = true;
      this.at++;
    }
    const commands = [this.command()];
    for (let t = this.peek(); t?.t === 'op' && t.op === '|'; t = this.peek()) {
      this.at++;
      this.skipNewlines();
      if (this.peek() === undefined) throw new IncompleteInput('input ends after |');
      commands.push(this.command());
    }
    return { negate, commands };
  }

  private command(): Command {
    if (this.isWord('{')) {
      this.at++;
      const body = this.list(['}']);
      if (!this.isWord('}')) throw new IncompleteInput('unterminated {');
      this.at++;
      return { type: 'group', body, redirects: this.redirects([]) };
    }
    const command: Command & { type: 'simple' } = {
      type: 'simple',
      assignments: [],
      words: [],
      redirects: [],
    };
    for (let t = this.peek(); t !== undefined && t.t !== 'op'; t = this.peek()) {
      if (t.t === 'redirect') {
        this.redirects(command.redirects, true);
        continue;
      }
      const assignment = /^([A-Za-z_][A-Za-z0-9_]*)=/.exec(t.raw);
      if (command.words.length === 0 && assignment && t.word[0]?.kind === 'text' && !t.word[0].quoted) {
        const [first, ...rest] = t.word;
        const value: Word = [
          ...(first.text.length > assignment[0].length
            ? [{ ...first, text: first.text.slice(assignment[0].length) }]
            : []),
          ...rest,
        ];
        command.assignments.push({ name: assignment[1]!, value });
      } else command.words.push(t.word);
      this.at++;
    }
    if (command.words.length === 0 && command.assignments.length === 0 && command.redirects.length === 0)
      throw new ShellSyntaxError('syntax error: a command is missing');
    return command;
  }

  private redirects(into: Redirect[], once = false): Redirect[] {
    for (let t = this.peek(); t?.t === 'redirect'; t = this.peek()) {
      this.at++;
      const target = this.peek();
      if (target?.t !== 'word') throw new ShellSyntaxError('syntax error: a redirection has no target');
      this.at++;
      into.push({ fd: t.fd, op: t.op, target: target.word });
      if (once) break;
    }
    return into;
  }
}
