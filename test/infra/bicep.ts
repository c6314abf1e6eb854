/**
 * A Bicep deployment as the checks in test/infra see it: main.bicep with its parameter values,
 * every module it deploys (at the scope it names, with the parameters it passes), and every
 * resource instance they declare, conditions and loops evaluated, expressions evaluated the way
 * ARM would where the value follows from the inputs.
 *
 * What only Azure knows at deployment time (a principal id, an endpoint) is a Ref named after the
 * resource id and property it comes from. guid() and uniqueString() are deterministic stand-ins (a
 * hash of their arguments in the functions' formats): equal arguments give equal values, different
 * ones different values, which is all the checks compare.
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import type Parser from 'tree-sitter';
import { parseBicep } from './appSettings.ts';
import { Ref, type Value } from './hcl.ts';

type Node = Parser.SyntaxNode;

export interface Scope {
  subscriptionId: string;
  resourceGroup?: string;
}

export interface Deployment {
  tenantId: string;
  scope: Scope;
  params: Record<string, Value>;
}

interface Template {
  file: string;
  targetScope: 'subscription' | 'resourceGroup';
  params: Map<string, Node | undefined>;
  vars: Map<string, Node>;
  resources: Map<string, Node>;
  modules: Map<string, Node>;
  outputs: Map<string, Node>;
}

const templates = new Map<string, Template>();

function template(file: string): Template {
  let t = templates.get(file);
  if (t) return t;
  const root = parseBicep(readFileSync(file, 'utf8')).rootNode;
  t = {
    file,
    targetScope: 'resourceGroup',
    params: new Map(),
    vars: new Map(),
    resources: new Map(),
    modules: new Map(),
    outputs: new Map(),
  };
  for (const node of root.namedChildren) {
    const [name, ...rest] = node.namedChildren;
    if (node.type === 'target_scope_assignment')
      t.targetScope = node.namedChildren[0]!.text.includes('subscription') ? 'subscription' : 'resourceGroup';
    else if (node.type === 'parameter_declaration')
      t.params.set(name!.text, rest.length > 1 ? rest[rest.length - 1] : undefined);
    else if (node.type === 'variable_declaration') t.vars.set(name!.text, rest[rest.length - 1]!);
    else if (node.type === 'resource_declaration') t.resources.set(name!.text, node);
    else if (node.type === 'module_declaration') t.modules.set(name!.text, node);
    else if (node.type === 'output_declaration') t.outputs.set(name!.text, rest[rest.length - 1]!);
  }
  templates.set(file, t);
  return t;
}

// --- stand-ins for ARM's functions ---------------------------------------------------------------

const hash = (args: Value[]) => createHash('sha256').update(JSON.stringify(args)).digest();

/** uniqueString(): 13 lowercase letters and digits, as ARM's; a stand-in hash, deterministic. */
export function uniqueString(args: Value[]): string {
  const alphabet = 'abcdefghijklmnopqrstuvwxyz234567';
  return [...hash(args).subarray(0, 13)].map((b) => alphabet[b % 32]).join('');
}

/** guid(): a GUID from its arguments; a stand-in hash, deterministic. */
export function guid(args: Value[]): string {
  const h = hash(['guid', ...args]).toString('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20, 32)}`;
}

const scopeId = (s: Scope) =>
  `/subscriptions/${s.subscriptionId}${s.resourceGroup ? `/resourceGroups/${s.resourceGroup}` : ''}`;

/** A resource id from its type ("Microsoft.A/b/c") and name ("n1/n2"), under a scope id. */
function resourceId(scope: string, type: string, name: string): string {
  const [namespace, ...types] = type.split('/');
  const names = name.split('/');
  return `${scope}/providers/${namespace}/${types.map((t, i) => `${t}/${names[i]}`).join('/')}`;
}

// --- instances -----------------------------------------------------------------------------------

export interface ResourceInstance {
  /** main.bicep, or modules/x.bicep, and the symbolic name, with [i] in a loop. */
  where: string;
  symbol: string;
  type: string;
  existing: boolean;
  /** true when deployed; a Ref when the condition depends on what only Azure knows. */
  condition: boolean | Ref;
  id: string;
  name: string;
  /** Evaluates a property path of the resource's body ("properties.roleName", "scope"). */
  property(path: string): Value | undefined;
}

class ModuleInstance {
  readonly template: Template;
  readonly where: string;
  readonly scope: Scope;
  private readonly args: (name: string) => Value | undefined;
  readonly deployment: Deployment;
  readonly root: string;
  readonly condition: boolean | Ref;
  private readonly cache = new Map<string, Value>();
  private readonly children = new Map<string, ModuleInstance>();

  constructor(
    file: string,
    root: string,
    scope: Scope,
    args: (name: string) => Value | undefined,
    deployment: Deployment,
    condition: boolean | Ref,
  ) {
    this.template = template(file);
    this.root = root;
    this.where = relative(root, file);
    this.scope = scope;
    this.args = args;
    this.deployment = deployment;
    this.condition = condition;
  }

  private fail(node: Node, what: string): never {
    throw new Error(`${this.where}:${node.startPosition.row + 1}: ${what}: ${node.text.slice(0, 80)}`);
  }

  // Parameters, variables, resources and modules by name, each evaluated once.
  identifier(name: string, locals: Map<string, Value>, node: Node): Value {
    if (locals.has(name)) return locals.get(name)!;
    const key = `id:${name}`;
    if (this.cache.has(key)) return this.cache.get(key)!;
    let value: Value;
    if (this.template.params.has(name)) {
      const given = this.args(name);
      const fallback = this.template.params.get(name);
      value =
        given !== undefined
          ? given
          : fallback
            ? this.evaluate(fallback, new Map())
            : new Ref(`param ${this.where}:${name}`);
    } else if (this.template.vars.has(name)) value = this.evaluate(this.template.vars.get(name)!, new Map());
    else if (this.template.resources.has(name)) value = this.resourceValue(name, new Map());
    else if (this.template.modules.has(name)) value = new Ref(`module:${name}`);
    else this.fail(node, `unknown name ${name}`);
    this.cache.set(key, value);
    return value;
  }

  /** A resource symbol as a value: id, name and type known; other properties Refs under its id. */
  private resourceValue(symbol: string, locals: Map<string, Value>): Value {
    const instances = this.resourceInstances(symbol, locals);
    const asValue = (r: ResourceInstance): Value => ({
      id: r.id,
      name: r.name,
      type: r.type,
      [resourceMarker]: r.id,
    });
    const node = this.template.resources.get(symbol)!;
    return node.text.match(/=\s*\[\s*for\b/) ? instances.map(asValue) : asValue(instances[0]!);
  }

  child(symbol: string): ModuleInstance {
    const existing = this.children.get(symbol);
    if (existing) return existing;
    const node = this.template.modules.get(symbol)!;
    const path = /^module\s+\w+\s+'([^']+)'/.exec(node.text)![1]!;
    const { body, condition } = this.bodyOf(node, new Map());
    const props = this.objectProperties(body);
    let scope: Scope = this.scope;
    const childFile = join(dirname(this.template.file), path);
    if (props.has('scope')) {
      const s = this.evaluate(props.get('scope')!, new Map());
      scope = this.scopeOf(s, props.get('scope')!);
    } else if (template(childFile).targetScope === 'resourceGroup' && !this.scope.resourceGroup) {
      this.fail(node, 'a resource-group module needs a scope');
    }
    const params = props.has('params')
      ? this.objectProperties(props.get('params')!)
      : new Map<string, Node>();
    const argCache = new Map<string, Value>();
    const args = (name: string) => {
      if (!params.has(name)) return undefined;
      if (!argCache.has(name)) argCache.set(name, this.evaluate(params.get(name)!, new Map()));
      return argCache.get(name)!;
    };
    const child = new ModuleInstance(
      childFile,
      this.root,
      scope,
      args,
      this.deployment,
      and(this.condition, condition),
    );
    this.children.set(symbol, child);
    return child;
  }

  private scopeOf(value: Value, node: Node): Scope {
    if (value !== null && typeof value === 'object' && !Array.isArray(value) && !(value instanceof Ref)) {
      const id = str((value as Record<string, Value>).id);
      const m = /^\/subscriptions\/([^/]+)(?:\/resourceGroups\/([^/]+))?$/.exec(id);
      if (m) return { subscriptionId: m[1]!, ...(m[2] ? { resourceGroup: m[2] } : {}) };
    }
    this.fail(node, 'a scope that is not a subscription or resource group');
  }

  /** The object body of a resource or module, and its if() condition. */
  private bodyOf(
    node: Node,
    locals: Map<string, Value>,
  ): { body: Node; condition: boolean | Ref; loop?: Node } {
    const last = node.namedChildren[node.namedChildren.length - 1]!;
    if (last.type === 'if_statement') {
      const c = this.evaluate(last.namedChildren[0]!, locals);
      return { body: last.namedChildren[1]!, condition: c instanceof Ref ? c : c === true };
    }
    if (last.type === 'for_statement')
      return { body: last.childForFieldName('body')!, condition: true, loop: last };
    return { body: last, condition: true };
  }

  private objectProperties(node: Node): Map<string, Node> {
    if (node.type !== 'object') this.fail(node, 'expected an object');
    return new Map(
      node.namedChildren
        .filter((p) => p.type === 'object_property')
        .map((p) => [p.namedChildren[0]!.text.replace(/^'|'$/g, ''), p.namedChildren[1]!]),
    );
  }

  private loopBindings(loop: Node, locals: Map<string, Value>): Map<string, Value>[] {
    const params = loop.namedChildren.find((c) => c.type === 'for_loop_parameters');
    const initializer = loop.childForFieldName('initializer');
    const item = params
      ? params.namedChildren.find((c) => c.type === 'loop_variable')!.text
      : initializer!.text;
    const index = params?.namedChildren.find((c) => c.type === 'loop_enumerator')?.text;
    const body = loop.childForFieldName('body')!;
    const others = new Set([params?.id, initializer?.id, body.id]);
    const iterable = loop.namedChildren.filter((c) => !others.has(c.id) && c.type !== 'comment').at(-1)!;
    const items = this.evaluate(iterable, locals);
    if (!Array.isArray(items)) this.fail(loop, 'a loop over something that is not a known array');
    return items.map(
      (v, i) => new Map([...locals, [item, v], ...(index ? [[index, i] as [string, Value]] : [])]),
    );
  }

  resourceInstances(symbol: string, outer: Map<string, Value>): ResourceInstance[] {
    const key = `resources:${symbol}`;
    const cached = this.cache.get(key) as unknown as ResourceInstance[] | undefined;
    if (cached && outer.size === 0) return cached;
    const node = this.template.resources.get(symbol)!;
    const header = /^resource\s+\w+\s+'([^'@]+)@[^']+'\s+(existing\s+)?=/.exec(node.text);
    if (!header) this.fail(node, 'a resource header this model does not read');
    const type = header[1]!;
    const { body, condition, loop } = this.bodyOf(node, outer);
    const bindings = loop ? this.loopBindings(loop, outer) : [outer];
    const instances = bindings.map((locals, i): ResourceInstance => {
      let c: boolean | Ref = condition;
      let inner = body;
      if (inner.type === 'if_statement') {
        const v = this.evaluate(inner.namedChildren[0]!, locals);
        c = v instanceof Ref ? v : v === true;
        inner = inner.namedChildren[1]!;
      }
      const props = this.objectProperties(inner);
      const name = this.text(this.evaluate(props.get('name')!, locals), props.get('name')!);
      let id: string;
      if (props.has('parent')) {
        const parent = this.evaluate(props.get('parent')!, locals) as Record<string, Value>;
        id = `${str(parent.id)}/${type.split('/').at(-1)}/${name}`;
      } else if (props.has('scope')) {
        const s = this.evaluate(props.get('scope')!, locals) as Record<string, Value>;
        id = `${str(s.id)}/providers/${type}/${name}`;
      } else if (type === 'Microsoft.Resources/resourceGroups')
        id = `/subscriptions/${this.scope.subscriptionId}/resourceGroups/${name}`;
      else id = resourceId(scopeId(this.scope), type, name);
      const property = (path: string): Value | undefined => {
        let n: Node | undefined = inner;
        for (const part of path.split('.')) {
          if (n?.type !== 'object') return undefined;
          n = this.objectProperties(n).get(part);
        }
        return n ? this.evaluate(n, locals) : undefined;
      };
      return {
        where: `${this.where}:${symbol}${loop ? `[${i}]` : ''}`,
        symbol,
        type,
        existing: !!header[2],
        condition: and(this.condition, c),
        id,
        name,
        property,
      };
    });
    if (outer.size === 0) this.cache.set(key, instances as unknown as Value);
    return instances;
  }

  private text(v: Value, node: Node): string {
    if (typeof v === 'string') return v;
    if (v instanceof Ref) return `<${v.path}>`;
    this.fail(node, 'expected a string');
  }

  output(name: string): Value {
    const node = this.template.outputs.get(name);
    if (!node) throw new Error(`${this.where} has no output ${name}`);
    return this.evaluate(node, new Map());
  }

  evaluate(node: Node, locals: Map<string, Value>): Value {
    const ev = (n: Node) => this.evaluate(n, locals);
    switch (node.type) {
      case 'string': {
        const parts = node.namedChildren.map((part): Value => {
          if (part.type === 'interpolation') return ev(part.namedChildren[0]!);
          if (part.type === 'escape_sequence')
            return (
              ({ n: '\n', t: '\t', '\\': '\\', "'": "'", $: '$' } as Record<string, string>)[
                part.text.slice(1)
              ] ?? part.text.slice(1)
            );
          return part.text;
        });
        if (parts.some((p) => p instanceof Ref))
          return new Ref(parts.map((p) => (p instanceof Ref ? `<${p.path}>` : str(p))).join(''));
        return parts
          .map((p) =>
            typeof p === 'string'
              ? p
              : typeof p === 'number' || typeof p === 'boolean'
                ? str(p)
                : JSON.stringify(p),
          )
          .join('');
      }
      case 'number':
        return Number(node.text);
      case 'boolean':
        return node.text === 'true';
      case 'null':
        return null;
      case 'array':
        return this.arrayItems(
          node.namedChildren.filter((c) => c.type !== 'comment'),
          locals,
        );
      case 'object':
        return Object.fromEntries([...this.objectProperties(node)].map(([k, v]) => [k, ev(v)]));
      case 'parenthesized_expression':
        return ev(node.namedChildren[0]!);
      case 'identifier':
        return this.identifier(node.text, locals, node);
      case 'for_statement': {
        const body = node.childForFieldName('body')!;
        return this.loopBindings(node, locals).map((l) => this.evaluate(body, l));
      }
      case 'ternary_expression': {
        const c = ev(node.childForFieldName('condition')!);
        if (c instanceof Ref) return new Ref(`(${c.path} ? ... : ...)`);
        return ev(node.childForFieldName(c === true ? 'consequence' : 'alternative')!);
      }
      case 'unary_expression': {
        const v = ev(node.namedChildren[0]!);
        return v instanceof Ref ? new Ref(`!${v.path}`) : !v;
      }
      case 'binary_expression': {
        const op = node.children.find((c) => !c.isNamed)!.text;
        const left = ev(node.childForFieldName('left')!);
        if (op === '??')
          return left === null || left === undefined ? ev(node.childForFieldName('right')!) : left;
        if (op === '&&' && left === false) return false;
        if (op === '||' && left === true) return true;
        const right = ev(node.childForFieldName('right')!);
        if (op === '&&' || op === '||')
          return left instanceof Ref || right instanceof Ref
            ? new Ref(`(${show(left)} ${op} ${show(right)})`)
            : right;
        if (op === '==' || op === '!=') {
          if (left instanceof Ref || right instanceof Ref) {
            if (left instanceof Ref && right instanceof Ref && left.path === right.path) return op === '==';
            return new Ref(`(${show(left)} ${op} ${show(right)})`);
          }
          return (JSON.stringify(left) === JSON.stringify(right)) === (op === '==');
        }
        if (left instanceof Ref || right instanceof Ref)
          return new Ref(`(${show(left)} ${op} ${show(right)})`);
        const ops: Record<string, (a: number, b: number) => Value> = {
          '+': (a, b) => a + b,
          '-': (a, b) => a - b,
          '*': (a, b) => a * b,
          '<': (a, b) => a < b,
          '>': (a, b) => a > b,
          '<=': (a, b) => a <= b,
          '>=': (a, b) => a >= b,
        };
        if (!ops[op]) this.fail(node, `operator ${op}`);
        return ops[op](Number(left), Number(right));
      }
      case 'member_expression': {
        const object = node.childForFieldName('object')!;
        const property = node.childForFieldName('property')!.text;
        const safe = node.children.some((c) => !c.isNamed && c.text === '.?');
        if (
          object.type === 'identifier' &&
          this.template.modules.has(object.text) &&
          !locals.has(object.text) &&
          property === 'outputs'
        )
          return { [moduleMarker]: object.text };
        const target = ev(object);
        return member(
          target,
          property,
          safe,
          (m, out) => this.child(m).output(out),
          () => this.fail(node, `no property ${property}`),
        );
      }
      case 'subscript_expression': {
        const target = ev(node.childForFieldName('object')!);
        const index = ev(node.childForFieldName('index')!);
        if (target instanceof Ref) return new Ref(`${target.path}[${show(index)}]`);
        if (Array.isArray(target) && typeof index === 'number')
          return target[index] ?? this.fail(node, 'index out of range');
        if (target && typeof target === 'object' && !Array.isArray(target) && typeof index === 'string')
          return (target as Record<string, Value>)[index] ?? null;
        this.fail(node, 'an index this model does not read');
      }
      // eslint-disable-next-line no-fallthrough
      case 'call_expression': {
        const fn = node.childForFieldName('function')!.text;
        const argNodes = node
          .childForFieldName('arguments')!
          .namedChildren.filter((c) => c.type !== 'comment');
        const lambda = argNodes[1]?.type === 'lambda_expression' ? argNodes[1] : undefined;
        if (lambda && (fn === 'filter' || fn === 'map')) {
          const items = ev(argNodes[0]!);
          if (!Array.isArray(items)) this.fail(node, `${fn} over something that is not a known array`);
          const [variable, body] = lambda.namedChildren;
          const apply = (item: Value) => this.evaluate(body!, new Map([...locals, [variable!.text, item]]));
          return fn === 'map' ? items.map(apply) : items.filter((item) => apply(item) === true);
        }
        return this.call(fn, argNodes.map(ev), node);
      }
      default:
        this.fail(node, `an expression this model does not read (${node.type})`);
    }
  }

  /**
   * Array items. tree-sitter-bicep reads a call inside an array, [subscription().id], as two items:
   * the function's name and a member expression on "()"; an identifier that its neighbour starts
   * right after is put back together as the call it is.
   */
  private arrayItems(items: Node[], locals: Map<string, Value>): Value[] {
    const values: Value[] = [];
    for (let i = 0; i < items.length; i++) {
      const item = items[i]!;
      const next = items[i + 1];
      if (item.type === 'identifier' && next && next.startIndex === item.endIndex) {
        let paren = next;
        while (paren.type !== 'parenthesized_expression')
          paren = paren.childForFieldName('object') ?? this.fail(next, 'a call this model does not read');
        const result = this.call(
          item.text,
          paren.namedChildren.map((a) => this.evaluate(a, locals)),
          paren,
        );
        const chain = (n: Node): Value => {
          if (n.id === paren.id) return result;
          const object = chain(n.childForFieldName('object')!);
          if (n.type === 'member_expression')
            return member(
              object,
              n.childForFieldName('property')!.text,
              false,
              (m, o) => this.child(m).output(o),
              () => this.fail(n, 'no such property'),
            );
          return (object as Value[])[Number(this.evaluate(n.childForFieldName('index')!, locals))]!;
        };
        values.push(chain(next));
        i++;
      } else values.push(this.evaluate(item, locals));
    }
    return values;
  }

  private call(fn: string, args: Value[], node: Node): Value {
    const s = this.scope;
    const strings = () => args.map((a) => (typeof a === 'string' ? a : show(a)));
    switch (fn) {
      case 'subscription':
        if (args.length)
          return {
            id: `/subscriptions/${str(args[0])}`,
            subscriptionId: args[0]!,
            tenantId: this.deployment.tenantId,
          };
        return {
          id: `/subscriptions/${s.subscriptionId}`,
          subscriptionId: s.subscriptionId,
          tenantId: this.deployment.tenantId,
        };
      case 'resourceGroup': {
        if (args.length === 0) {
          if (!s.resourceGroup) this.fail(node, 'resourceGroup() at subscription scope');
          return { id: scopeId(s), name: s.resourceGroup };
        }
        const [sub, rg] = args.length === 2 ? [str(args[0]), str(args[1])] : [s.subscriptionId, str(args[0])];
        return { id: `/subscriptions/${sub}/resourceGroups/${rg}`, name: rg };
      }
      case 'subscriptionResourceId': {
        const [sub, type, ...names] =
          args.length > 2 && !str(args[0]).includes('/') ? args : [s.subscriptionId, ...args];
        return resourceId(`/subscriptions/${str(sub)}`, str(type), names.map(String).join('/'));
      }
      case 'environment':
        return {
          name: 'AzureCloud',
          suffixes: { keyvaultDns: '.vault.azure.net', storage: 'core.windows.net' },
        };
      case 'guid':
        return args.some((a) => a instanceof Ref) ? new Ref(`guid(${strings().join(', ')})`) : guid(args);
      case 'uniqueString':
        return args.some((a) => a instanceof Ref)
          ? new Ref(`uniqueString(${strings().join(', ')})`)
          : uniqueString(args);
      case 'take':
        return typeof args[0] === 'string'
          ? args[0].slice(0, Number(args[1]))
          : (args[0] as Value[]).slice(0, Number(args[1]));
      case 'toLower':
        return str(args[0]).toLowerCase();
      case 'empty':
        return (
          args[0] === '' ||
          args[0] === null ||
          (Array.isArray(args[0]) && args[0].length === 0) ||
          (typeof args[0] === 'object' &&
            args[0] !== null &&
            !(args[0] instanceof Ref) &&
            Object.keys(args[0]).length === 0)
        );
      case 'contains':
        return Array.isArray(args[0])
          ? args[0].some((x) => JSON.stringify(x) === JSON.stringify(args[1]))
          : str(args[0]).includes(str(args[1]));
      case 'concat':
        return args.every(Array.isArray) ? args.flat() : strings().join('');
      case 'union':
        return Object.assign({}, ...args) as Value;
      case 'string':
        return typeof args[0] === 'string' ? args[0] : JSON.stringify(args[0]);
      case 'join':
        return (args[0] as Value[]).map(String).join(str(args[1]));
      case 'split':
        return str(args[0]).split(str(args[1]));
      case 'length':
        return Array.isArray(args[0]) || typeof args[0] === 'string'
          ? args[0].length
          : Object.keys(args[0] as object).length;
      case 'last':
        return typeof args[0] === 'string' ? args[0].slice(-1) : (args[0] as Value[]).at(-1)!;
      case 'first':
        return typeof args[0] === 'string' ? args[0].slice(0, 1) : ((args[0] as Value[])[0] ?? null);
      case 'range':
        return Array.from({ length: Number(args[1]) }, (_, i) => Number(args[0]) + i);
      case 'substring':
        return str(args[0]).slice(
          Number(args[1]),
          args[2] === undefined ? undefined : Number(args[1]) + Number(args[2]),
        );
      default:
        if (args.some((a) => a instanceof Ref)) return new Ref(`${fn}(${strings().join(', ')})`);
        this.fail(node, `function ${fn}`);
    }
  }

  /** Every resource instance of this module and the modules it deploys. */
  allResources(): ResourceInstance[] {
    const own = [...this.template.resources.keys()].flatMap((r) => this.resourceInstances(r, new Map()));
    const nested = [...this.template.modules.keys()].flatMap((m) => {
      const child = this.child(m);
      return child.condition === false ? [] : child.allResources();
    });
    return [...own, ...nested];
  }
}

const resourceMarker = '\u0000resource';
const moduleMarker = '\u0000module';

function member(
  target: Value,
  property: string,
  safe: boolean,
  moduleOutput: (module: string, output: string) => Value,
  fail: () => never,
): Value {
  if (target instanceof Ref) return new Ref(`${target.path}.${property}`);
  if (target !== null && typeof target === 'object' && !Array.isArray(target)) {
    const record = target as Record<string, Value>;
    if (moduleMarker in record) return moduleOutput(str(record[moduleMarker]), property);
    if (property in record) return record[property]!;
    // Anything else of a resource is known to Azure only.
    if (resourceMarker in record) return new Ref(`${str(record[resourceMarker])}.${property}`);
    if (safe) return null;
  }
  if (safe && target === null) return null;
  return fail();
}

function and(a: boolean | Ref, b: boolean | Ref): boolean | Ref {
  if (a === false || b === false) return false;
  if (a instanceof Ref) return a;
  return b;
}

const str = (v: Value | undefined): string => (typeof v === 'string' ? v : show(v ?? null));

const show = (v: Value): string =>
  v instanceof Ref ? `<${v.path}>` : typeof v === 'string' ? v : JSON.stringify(v);

/** main.bicep (or another subscription-scope template) deployed with these parameter values. */
export function bicepDeployment(
  file: string,
  deployment: Deployment,
): { resources: ResourceInstance[]; output: (name: string) => Value } {
  const main = new ModuleInstance(
    file,
    dirname(file),
    deployment.scope,
    (name) => deployment.params[name],
    deployment,
    true,
  );
  return { resources: main.allResources(), output: (name) => main.output(name) };
}
