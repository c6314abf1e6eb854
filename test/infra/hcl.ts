/**
 * Terraform expressions as the checks in test/infra read them: hcl2json turns a configuration into
 * JSON whose expressions stay strings ("${var.x == \"\" ? 0 : 1}"); this parses those strings
 * (templates, operators, function calls, for expressions, traversals) and evaluates them with the
 * variables a deployment would be given.
 *
 * What only a provider knows (a resource's id, a data source's object id) evaluates to a Ref named
 * by its traversal, so two expressions naming the same attribute are equal and anything computed
 * from a Ref is a Ref too. A condition that depends on a Ref is unknown; callers treat an instance
 * whose count is unknown as present, the way a plan has to.
 */
import { createHash } from 'node:crypto';

export class Ref {
  readonly path: string;
  constructor(path: string) {
    this.path = path;
  }
}

export type Value = string | number | boolean | null | Ref | Value[] | { [key: string]: Value };

export type Expr =
  | { kind: 'literal'; value: Value }
  | { kind: 'template'; parts: (string | Expr)[] }
  | { kind: 'traversal'; root: string; steps: Step[] }
  | { kind: 'call'; name: string; args: Expr[]; expand: boolean }
  | { kind: 'unary'; op: string; operand: Expr }
  | { kind: 'binary'; op: string; left: Expr; right: Expr }
  | { kind: 'conditional'; condition: Expr; yes: Expr; no: Expr }
  | { kind: 'tuple'; items: Expr[] }
  | { kind: 'object'; entries: [Expr, Expr][] }
  | {
      kind: 'for';
      key?: string;
      value: string;
      collection: Expr;
      keyExpr?: Expr;
      valueExpr: Expr;
      cond?: Expr;
      object: boolean;
    };

export type Step =
  | { kind: 'attr'; name: string }
  | { kind: 'index'; index: Expr }
  | { kind: 'splat' }
  | { kind: 'applied'; target: Expr };

// --- parsing -------------------------------------------------------------------------------------

// Longest first, so that a prefix never wins ('<=' before '<', '...' before '.').
const punctuation = [
  '...',
  '==',
  '!=',
  '<=',
  '>=',
  '&&',
  '||',
  '=>',
  '?',
  ':',
  '.',
  ',',
  '[',
  ']',
  '(',
  ')',
  '{',
  '}',
  '!',
  '<',
  '>',
  '+',
  '-',
  '*',
  '/',
  '%',
  '=',
];

class Parser {
  private pos = 0;
  private readonly src: string;
  constructor(src: string) {
    this.src = src;
  }

  fail(what: string): never {
    throw new Error(`cannot parse the expression at ${this.pos} (${what}): ${this.src}`);
  }

  private skip(): void {
    for (;;) {
      const rest = this.src.slice(this.pos);
      const m = /^(\s+|#[^\n]*|\/\/[^\n]*|\/\*[\s\S]*?\*\/)/.exec(rest);
      if (!m) return;
      this.pos += m[0].length;
    }
  }

  private peek(token: string): boolean {
    this.skip();
    if (!this.src.startsWith(token, this.pos)) return false;
    // a word token must not run on into an identifier
    return !/^\w/.test(token) || !/[\w-]/.test(this.src[this.pos + token.length] ?? '');
  }

  private eat(token: string): boolean {
    if (!this.peek(token)) return false;
    this.pos += token.length;
    return true;
  }

  private expect(token: string): void {
    if (!this.eat(token)) this.fail(`expected ${token}`);
  }

  private identifier(): string | undefined {
    this.skip();
    const m = /^[A-Za-z_][\w-]*/.exec(this.src.slice(this.pos));
    if (!m) return undefined;
    this.pos += m[0].length;
    return m[0];
  }

  atEnd(): boolean {
    this.skip();
    return this.pos >= this.src.length;
  }

  /** A template: literal text with ${...} interpolations, up to `end` (a closing quote) or the end. */
  template(end?: string): Expr {
    const parts: (string | Expr)[] = [];
    let text = '';
    while (this.pos < this.src.length) {
      const c = this.src[this.pos]!;
      if (end !== undefined && c === end) break;
      if (this.src.startsWith('$${', this.pos) || this.src.startsWith('%%{', this.pos)) {
        text += this.src.slice(this.pos + 1, this.pos + 3);
        this.pos += 3;
      } else if (this.src.startsWith('${', this.pos)) {
        if (text) parts.push(text);
        text = '';
        this.pos += 2;
        this.eat('~');
        parts.push(this.expression());
        this.eat('~');
        this.expect('}');
      } else if (this.src.startsWith('%{', this.pos)) {
        this.fail('template directives are not supported');
      } else if (end !== undefined && c === '\\') {
        const next = this.src[this.pos + 1] ?? '';
        const escapes: Record<string, string> = { n: '\n', t: '\t', r: '\r', '"': '"', '\\': '\\' };
        if (next === 'u') {
          text += String.fromCharCode(parseInt(this.src.slice(this.pos + 2, this.pos + 6), 16));
          this.pos += 6;
        } else {
          text += escapes[next] ?? next;
          this.pos += 2;
        }
      } else {
        text += c;
        this.pos += 1;
      }
    }
    if (text) parts.push(text);
    if (parts.length === 1 && typeof parts[0] !== 'string' && end === undefined) return parts[0]!;
    return { kind: 'template', parts };
  }

  expression(): Expr {
    const condition = this.binary(0);
    if (this.eat('?')) {
      const yes = this.expression();
      this.expect(':');
      const no = this.expression();
      return { kind: 'conditional', condition, yes, no };
    }
    return condition;
  }

  private static readonly levels = [
    ['||'],
    ['&&'],
    ['==', '!='],
    ['<=', '>=', '<', '>'],
    ['+', '-'],
    ['*', '/', '%'],
  ];

  /** The operator at the cursor when it is one of `ops`; the longest punctuation wins ('<=' over '<'). */
  private operator(ops: string[]): string | undefined {
    this.skip();
    const token = punctuation.find((p) => this.src.startsWith(p, this.pos));
    if (!token || !ops.includes(token)) return undefined;
    this.pos += token.length;
    return token;
  }

  private binary(level: number): Expr {
    if (level >= Parser.levels.length) return this.unary();
    let left = this.binary(level + 1);
    for (;;) {
      const op = this.operator(Parser.levels[level]!);
      if (!op) return left;
      left = { kind: 'binary', op, left, right: this.binary(level + 1) };
    }
  }

  private unary(): Expr {
    if (this.eat('!')) return { kind: 'unary', op: '!', operand: this.unary() };
    if (this.peek('-') && !/\d/.test(this.src[this.pos + 1] ?? '')) {
      this.eat('-');
      return { kind: 'unary', op: '-', operand: this.unary() };
    }
    return this.postfix(this.primary());
  }

  private postfix(expr: Expr): Expr {
    const steps: Step[] = [];
    for (;;) {
      if (this.peek('.') && !this.peek('...')) {
        this.expect('.');
        if (this.eat('*')) steps.push({ kind: 'splat' });
        else {
          this.skip();
          const m = /^(\d+|[A-Za-z_][\w-]*)/.exec(this.src.slice(this.pos));
          if (!m) this.fail('expected an attribute name');
          this.pos += m[0].length;
          if (/^\d+$/.test(m[0]))
            steps.push({ kind: 'index', index: { kind: 'literal', value: Number(m[0]) } });
          else steps.push({ kind: 'attr', name: m[0] });
        }
      } else if (this.peek('[')) {
        this.expect('[');
        if (this.eat('*')) {
          this.expect(']');
          steps.push({ kind: 'splat' });
        } else {
          steps.push({ kind: 'index', index: this.expression() });
          this.expect(']');
        }
      } else break;
    }
    if (steps.length === 0) return expr;
    if (expr.kind === 'traversal') return { ...expr, steps: [...expr.steps, ...steps] };
    return { kind: 'traversal', root: '', steps: [{ kind: 'applied', target: expr }, ...steps] };
  }

  private primary(): Expr {
    this.skip();
    const rest = this.src.slice(this.pos);
    const number = /^-?\d+(\.\d+)?([eE][+-]?\d+)?/.exec(rest);
    if (number) {
      this.pos += number[0].length;
      return { kind: 'literal', value: Number(number[0]) };
    }
    if (this.eat('"')) {
      const t = this.template('"');
      this.expect('"');
      return t;
    }
    if (this.eat('(')) {
      const e = this.expression();
      this.expect(')');
      return e;
    }
    if (this.eat('[')) return this.tupleOrFor();
    if (this.eat('{')) return this.objectOrFor();
    const name = this.identifier();
    if (!name) this.fail('expected a value');
    if (name === 'true' || name === 'false') return { kind: 'literal', value: name === 'true' };
    if (name === 'null') return { kind: 'literal', value: null };
    if (this.peek('(')) {
      this.expect('(');
      const args: Expr[] = [];
      let expand = false;
      while (!this.eat(')')) {
        args.push(this.expression());
        if (this.eat('...')) expand = true;
        if (!this.eat(',')) {
          this.expect(')');
          break;
        }
      }
      return { kind: 'call', name: name.replace(/^provider::[\w-]+::/, ''), args, expand };
    }
    return { kind: 'traversal', root: name, steps: [] };
  }

  private forHeader(): { key?: string; value: string; collection: Expr } {
    const first = this.identifier() ?? this.fail('expected a for variable');
    let key: string | undefined;
    let value = first;
    if (this.eat(',')) {
      key = first;
      value = this.identifier() ?? this.fail('expected a for variable');
    }
    this.expect('in');
    const collection = this.expression();
    this.expect(':');
    return { key, value, collection };
  }

  private tupleOrFor(): Expr {
    if (this.peek('for')) {
      this.expect('for');
      const header = this.forHeader();
      const valueExpr = this.expression();
      const cond = this.eat('if') ? this.expression() : undefined;
      this.expect(']');
      return { kind: 'for', ...header, valueExpr, cond, object: false };
    }
    const items: Expr[] = [];
    while (!this.eat(']')) {
      items.push(this.expression());
      if (!this.eat(',')) {
        this.expect(']');
        break;
      }
    }
    return { kind: 'tuple', items };
  }

  private objectOrFor(): Expr {
    if (this.peek('for')) {
      this.expect('for');
      const header = this.forHeader();
      const keyExpr = this.expression();
      this.expect('=>');
      const valueExpr = this.expression();
      this.eat('...');
      const cond = this.eat('if') ? this.expression() : undefined;
      this.expect('}');
      return { kind: 'for', ...header, keyExpr, valueExpr, cond, object: true };
    }
    const entries: [Expr, Expr][] = [];
    while (!this.eat('}')) {
      this.skip();
      const bare = /^[A-Za-z_][\w-]*/.exec(this.src.slice(this.pos));
      let key: Expr;
      if (bare && /^\s*[=:]/.test(this.src.slice(this.pos + bare[0].length))) {
        this.pos += bare[0].length;
        key = { kind: 'literal', value: bare[0] };
      } else key = this.expression();
      if (!this.eat('=')) this.expect(':');
      entries.push([key, this.expression()]);
      this.eat(',');
    }
    return { kind: 'object', entries };
  }
}

/** The expression a hcl2json string holds: a template, or one interpolation standing alone. */
export function parseTemplate(text: string): Expr {
  const parser = new Parser(text);
  const expr = parser.template();
  return expr;
}

export function parseExpression(text: string): Expr {
  const parser = new Parser(text);
  const expr = parser.expression();
  if (!parser.atEnd()) parser.fail('trailing text');
  return expr;
}

// --- references ----------------------------------------------------------------------------------

/**
 * Every traversal an expression makes, as the names it goes through (indexes and splats left out):
 * "var.x", "module.m.out", "aws_iam_access_key.k.secret" for aws_iam_access_key.k[0].secret. The
 * arguments of the functions named in `skipCalls` (nonsensitive) are not looked into.
 */
export function traversals(expr: Expr, skipCalls: readonly string[] = []): string[] {
  const found: string[] = [];
  const visit = (e: Expr, bound: Set<string>) => {
    switch (e.kind) {
      case 'literal':
        return;
      case 'template':
        for (const p of e.parts) if (typeof p !== 'string') visit(p, bound);
        return;
      case 'traversal': {
        const names = [e.root];
        for (const s of e.steps) if (s.kind === 'attr') names.push(s.name);
        if (e.root && !bound.has(e.root)) found.push(names.join('.'));
        for (const s of e.steps) {
          if (s.kind === 'index') visit(s.index, bound);
          if (s.kind === 'applied') visit(s.target, bound);
        }
        return;
      }
      case 'call':
        if (!skipCalls.includes(e.name)) for (const a of e.args) visit(a, bound);
        return;
      case 'unary':
        visit(e.operand, bound);
        return;
      case 'binary':
        visit(e.left, bound);
        visit(e.right, bound);
        return;
      case 'conditional':
        visit(e.condition, bound);
        visit(e.yes, bound);
        visit(e.no, bound);
        return;
      case 'tuple':
        for (const i of e.items) visit(i, bound);
        return;
      case 'object':
        for (const [k, v] of e.entries) {
          visit(k, bound);
          visit(v, bound);
        }
        return;
      case 'for': {
        visit(e.collection, bound);
        const inner = new Set([...bound, e.value, ...(e.key ? [e.key] : [])]);
        if (e.keyExpr) visit(e.keyExpr, inner);
        visit(e.valueExpr, inner);
        if (e.cond) visit(e.cond, inner);
        return;
      }
    }
  };
  visit(expr, new Set());
  return found;
}

/** The traversals of every expression inside a hcl2json value (strings, lists, objects, blocks). */
export function valueTraversals(json: unknown, skipCalls: readonly string[] = []): string[] {
  if (typeof json === 'string') return json.includes('${') ? traversals(parseTemplate(json), skipCalls) : [];
  if (Array.isArray(json)) return json.flatMap((j) => valueTraversals(j, skipCalls));
  if (json !== null && typeof json === 'object')
    return Object.values(json).flatMap((j) => valueTraversals(j, skipCalls));
  return [];
}

// --- evaluation ----------------------------------------------------------------------------------

export class EvaluationError extends Error {
  override name = 'EvaluationError';
}

/** What a traversal's first name stands for: variables, locals, each/count, for variables. */
export type Resolve = (root: string) => Value | undefined;

const isRef = (v: Value): v is Ref => v instanceof Ref;
const anyRef = (vs: Value[]): boolean => vs.some((v) => isRef(v) || (Array.isArray(v) && anyRef(v)));
export const show = (v: Value): string => (isRef(v) ? v.path : JSON.stringify(v));

function attribute(target: Value, name: string): Value {
  if (isRef(target)) return new Ref(`${target.path}.${name}`);
  if (target !== null && typeof target === 'object' && !Array.isArray(target) && name in target)
    return target[name]!;
  throw new EvaluationError(`no attribute ${name} in ${show(target)}`);
}

function index(target: Value, key: Value): Value {
  if (isRef(target)) return new Ref(`${target.path}[${show(key)}]`);
  if (isRef(key)) return new Ref(`${show(target)}[${key.path}]`);
  if (Array.isArray(target) && typeof key === 'number' && key < target.length) return target[key]!;
  if (target !== null && typeof target === 'object' && !Array.isArray(target) && text(key) in target)
    return target[text(key)]!;
  throw new EvaluationError(`no element ${show(key)} in ${show(target)}`);
}

function equal(a: Value, b: Value): boolean | Ref {
  if (isRef(a) || isRef(b)) {
    if (isRef(a) && isRef(b) && a.path === b.path) return true;
    return new Ref(`(${show(a)} == ${show(b)})`);
  }
  return JSON.stringify(a) === JSON.stringify(b);
}

function truth(v: Value): boolean | Ref {
  if (isRef(v)) return v;
  if (typeof v !== 'boolean') throw new EvaluationError(`not a bool: ${show(v)}`);
  return v;
}

export function text(v: Value): string {
  if (typeof v === 'string') return v;
  if (typeof v === 'number' || typeof v === 'boolean') return String(v);
  throw new EvaluationError(`not a string: ${show(v)}`);
}

const functions: Record<string, (args: Value[]) => Value> = {
  coalesce: (a) => a.find((v) => v !== null && v !== '') ?? null,
  substr: ([s, offset, length]) =>
    [...text(s!)].slice(Number(offset), length === -1 ? undefined : Number(offset) + Number(length)).join(''),
  sha256: ([s]) => createHash('sha256').update(text(s!)).digest('hex'),
  lower: ([s]) => text(s!).toLowerCase(),
  upper: ([s]) => text(s!).toUpperCase(),
  contains: ([list, v]) => (list as Value[]).some((x) => equal(x, v!) === true),
  length: ([v]) =>
    typeof v === 'string' ? [...v].length : Array.isArray(v) ? v.length : Object.keys(v as object).length,
  tostring: ([v]) => (v === null ? null : text(v!)),
  tonumber: ([v]) => Number(v),
  tobool: ([v]) => v === true || v === 'true',
  toset: ([v]) => [...new Map((v as Value[]).map((x) => [JSON.stringify(x), x])).values()].sort(),
  tolist: ([v]) => v as Value[],
  tomap: ([v]) => v!,
  jsonencode: ([v]) => JSON.stringify(v),
  join: ([sep, list]) => (list as Value[]).map(text).join(text(sep!)),
  split: ([sep, s]) => text(s!).split(text(sep!)),
  concat: (a) => a.flatMap((l) => l as Value[]),
  slice: ([list, start, end]) => (list as Value[]).slice(Number(start), Number(end)),
  merge: (a) => Object.assign({}, ...a.filter((x) => x !== null)) as Value,
  keys: ([m]) => Object.keys(m as object).sort(),
  values: ([m]) =>
    Object.keys(m as object)
      .sort()
      .map((k) => (m as Record<string, Value>)[k]!),
  replace: ([s, from, to]) => text(s!).split(text(from!)).join(text(to!)),
  startswith: ([s, p]) => text(s!).startsWith(text(p!)),
  endswith: ([s, p]) => text(s!).endsWith(text(p!)),
  strcontains: ([s, p]) => text(s!).includes(text(p!)),
  trimprefix: ([s, p]) => (text(s!).startsWith(text(p!)) ? text(s!).slice(text(p!).length) : text(s!)),
  regex: ([re, s]) => {
    const m = new RegExp(text(re!)).exec(text(s!));
    if (!m) throw new EvaluationError(`${text(re!)} does not match ${text(s!)}`);
    return m[0];
  },
  format: ([f, ...a]) => {
    let i = 0;
    return text(f!).replace(/%[sdv%]/g, (d) => (d === '%%' ? '%' : text(a[i++]!)));
  },
  base64encode: ([s]) => Buffer.from(text(s!)).toString('base64'),
  base64decode: ([s]) => Buffer.from(text(s!), 'base64').toString(),
};

export function evaluate(expr: Expr, resolve: Resolve): Value {
  const ev = (e: Expr, r: Resolve): Value => {
    switch (e.kind) {
      case 'literal':
        return e.value;
      case 'template': {
        const parts = e.parts.map((p) => (typeof p === 'string' ? p : ev(p, r)));
        if (parts.length === 1 && typeof e.parts[0] !== 'string') return parts[0]!;
        if (anyRef(parts))
          return new Ref(parts.map((p) => (typeof p === 'string' ? p : `\${${show(p)}}`)).join(''));
        return parts.map(text).join('');
      }
      case 'traversal': {
        let value: Value;
        let steps = e.steps;
        if (e.root === '') {
          value = ev((steps[0] as { target: Expr }).target, r);
          steps = steps.slice(1);
        } else {
          const bound = r(e.root);
          if (bound !== undefined) value = bound;
          else {
            // A resource, data source or module: its attributes are the provider's.
            const names = [e.root];
            while (steps[0]?.kind === 'attr' && names.length < (e.root === 'data' ? 3 : 2)) {
              names.push(steps[0].name);
              steps = steps.slice(1);
            }
            value = new Ref(names.join('.'));
          }
        }
        for (const s of steps) {
          if (s.kind === 'attr') value = attribute(value, s.name);
          else if (s.kind === 'index') value = index(value, ev(s.index, r));
          else if (s.kind === 'splat') value = isRef(value) ? new Ref(`${value.path}[*]`) : value;
        }
        return value;
      }
      case 'call': {
        if (e.name === 'try') {
          for (const a of e.args) {
            try {
              return ev(a, r);
            } catch (err) {
              if (!(err instanceof EvaluationError)) throw err;
            }
          }
          throw new EvaluationError('no argument of try() could be evaluated');
        }
        if (e.name === 'can') {
          try {
            const v = ev(e.args[0]!, r);
            return isRef(v) ? v : true;
          } catch (err) {
            if (err instanceof EvaluationError) return false;
            throw err;
          }
        }
        let args = e.args.map((a) => ev(a, r));
        if (e.expand) args = [...args.slice(0, -1), ...(args[args.length - 1] as Value[])];
        const fn = functions[e.name];
        if (!fn || anyRef(args)) return new Ref(`${e.name}(${args.map(show).join(', ')})`);
        return fn(args);
      }
      case 'unary': {
        const v = ev(e.operand, r);
        if (isRef(v)) return new Ref(`${e.op}${v.path}`);
        return e.op === '!' ? !truth(v) : -Number(v);
      }
      case 'binary': {
        const left = ev(e.left, r);
        if (e.op === '||' || e.op === '&&') {
          const l = truth(left);
          if (l === (e.op === '||')) return l;
          const right = truth(ev(e.right, r));
          if (right === (e.op === '||')) return right;
          return isRef(l) || isRef(right) ? new Ref(`(${show(left)} ${e.op} ${show(right)})`) : right;
        }
        const right = ev(e.right, r);
        if (e.op === '==' || e.op === '!=') {
          const eq = equal(left, right);
          return isRef(eq) ? eq : e.op === '==' ? eq : !eq;
        }
        if (isRef(left) || isRef(right)) return new Ref(`(${show(left)} ${e.op} ${show(right)})`);
        const a = Number(left);
        const b = Number(right);
        const ops: Record<string, (x: number, y: number) => Value> = {
          '<': (x, y) => x < y,
          '>': (x, y) => x > y,
          '<=': (x, y) => x <= y,
          '>=': (x, y) => x >= y,
          '+': (x, y) => x + y,
          '-': (x, y) => x - y,
          '*': (x, y) => x * y,
          '/': (x, y) => x / y,
          '%': (x, y) => x % y,
        };
        return ops[e.op]!(a, b);
      }
      case 'conditional': {
        const c = truth(ev(e.condition, r));
        if (isRef(c)) return new Ref(`(${c.path} ? ... : ...)`);
        return ev(c ? e.yes : e.no, r);
      }
      case 'tuple':
        return e.items.map((i) => ev(i, r));
      case 'object':
        return Object.fromEntries(e.entries.map(([k, v]) => [text(ev(k, r)), ev(v, r)]));
      case 'for': {
        const collection = ev(e.collection, r);
        if (isRef(collection)) return new Ref(`[for ... in ${collection.path}]`);
        const pairs: [Value, Value][] = Array.isArray(collection)
          ? collection.map((v, i) => [i, v])
          : Object.entries(collection as Record<string, Value>);
        const out: [Value, Value][] = [];
        for (const [k, v] of pairs) {
          const inner: Resolve = (name) => (name === e.value ? v : name === e.key ? k : r(name));
          if (e.cond) {
            const c = truth(ev(e.cond, inner));
            if (isRef(c)) return new Ref(`[for ... if ${c.path}]`);
            if (!c) continue;
          }
          out.push([e.keyExpr ? ev(e.keyExpr, inner) : k, ev(e.valueExpr, inner)]);
        }
        return e.object ? Object.fromEntries(out.map(([k, v]) => [text(k), v])) : out.map(([, v]) => v);
      }
    }
  };
  return ev(expr, resolve);
}

/** Evaluates a hcl2json value: its strings as templates, its lists and objects element by element. */
export function evaluateJson(json: unknown, resolve: Resolve): Value {
  if (typeof json === 'string') return json.includes('${') ? evaluate(parseTemplate(json), resolve) : json;
  if (Array.isArray(json)) return json.map((j) => evaluateJson(j, resolve));
  if (json !== null && typeof json === 'object')
    return Object.fromEntries(Object.entries(json).map(([k, v]) => [k, evaluateJson(v, resolve)]));
  return json as Value;
}
