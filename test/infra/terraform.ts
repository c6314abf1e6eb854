/**
 * A Terraform module as the checks in test/infra see it: every .tf file of one directory merged
 * (as Terraform merges them), its variables given values, its locals evaluated on demand, and each
 * resource expanded into the instances its count or for_each makes.
 */
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { parse as parseHcl } from '@cdktf/hcl2json';
import {
  EvaluationError,
  text,
  Ref,
  evaluate,
  evaluateJson,
  parseTemplate,
  type Expr,
  type Resolve,
  type Value,
} from './hcl.ts';

export type Block = Record<string, unknown>;

export interface TerraformModule {
  dir: string;
  variables: Record<string, Block>;
  locals: Record<string, unknown>;
  outputs: Record<string, Block>;
  modules: Record<string, Block>;
  /** "type.name" -> the block, for resources and (as "data.type.name") data sources. */
  resources: Map<string, Block>;
}

function merge(json: Block[]): Omit<TerraformModule, 'dir'> {
  const module: Omit<TerraformModule, 'dir'> = {
    variables: {},
    locals: {},
    outputs: {},
    modules: {},
    resources: new Map(),
  };
  for (const file of json) {
    for (const [name, [block]] of Object.entries((file.variable ?? {}) as Record<string, Block[]>))
      module.variables[name] = block!;
    for (const locals of (file.locals ?? []) as Block[]) Object.assign(module.locals, locals);
    for (const [name, [block]] of Object.entries((file.output ?? {}) as Record<string, Block[]>))
      module.outputs[name] = block!;
    for (const [name, [block]] of Object.entries((file.module ?? {}) as Record<string, Block[]>))
      module.modules[name] = block!;
    for (const [kind, prefix] of [
      ['resource', ''],
      ['data', 'data.'],
    ] as const) {
      for (const [type, byName] of Object.entries(
        (file[kind] ?? {}) as Record<string, Record<string, Block[]>>,
      ))
        for (const [name, [block]] of Object.entries(byName))
          module.resources.set(`${prefix}${type}.${name}`, block!);
    }
  }
  return module;
}

/** The .tf files of `dir` (not its subdirectories), merged. */
export async function loadModule(dir: string): Promise<TerraformModule> {
  const files = readdirSync(dir)
    .filter((f) => f.endsWith('.tf'))
    .sort();
  const json = await Promise.all(
    files.map(async (f) => (await parseHcl(f, readFileSync(join(dir, f), 'utf8'))) as Block),
  );
  return { dir, ...merge(json) };
}

/** A configuration given as text (a guide's snippet), as if it were the only file of `dir`. */
export async function moduleFromText(dir: string, name: string, text: string): Promise<TerraformModule> {
  return { dir, ...merge([(await parseHcl(name, text)) as Block]) };
}

const expr = (json: unknown): Expr | undefined =>
  typeof json === 'string' ? parseTemplate(json) : undefined;

/** The defaults a variable's object type fills in: object({ a = optional(string, "x") }) gives { a: "x" }. */
function optionalDefaults(type: unknown): Record<string, Value> {
  const t = expr(type);
  if (t?.kind !== 'call' || t.name !== 'object' || t.args[0]?.kind !== 'object') return {};
  const defaults: Record<string, Value> = {};
  for (const [key, attribute] of t.args[0].entries) {
    if (attribute.kind === 'call' && attribute.name === 'optional' && attribute.args[1] && key.kind !== 'for')
      defaults[text(evaluate(key, () => undefined))] = evaluate(attribute.args[1], () => undefined);
  }
  return defaults;
}

/** Variable values as Terraform sees them: given values over defaults, optional attributes filled. */
export function variableValues(module: TerraformModule, given: Record<string, Value>): Record<string, Value> {
  const values: Record<string, Value> = {};
  for (const [name, block] of Object.entries(module.variables)) {
    let value =
      name in given ? given[name]! : 'default' in block ? (block.default as Value) : new Ref(`var.${name}`);
    if (value !== null && typeof value === 'object' && !Array.isArray(value) && !(value instanceof Ref))
      value = { ...optionalDefaults(block.type), ...value };
    values[name] = value;
  }
  return values;
}

export interface Instance {
  address: string;
  block: Block;
  resolve: Resolve;
  /** false when its count or for_each depends on what only the provider knows: it may exist. */
  certain: boolean;
}

/** Evaluation of one module with one set of variable values. */
export class ModuleEvaluation {
  readonly module: TerraformModule;
  readonly vars: Record<string, Value>;
  private readonly localValues = new Map<string, Value>();
  private readonly evaluating = new Set<string>();

  constructor(module: TerraformModule, given: Record<string, Value>) {
    this.module = module;
    this.vars = variableValues(module, given);
  }

  private local(name: string): Value {
    if (!this.localValues.has(name)) {
      if (this.evaluating.has(name)) throw new Error(`local.${name} refers to itself`);
      this.evaluating.add(name);
      try {
        this.localValues.set(name, evaluateJson(this.module.locals[name], this.resolve));
      } finally {
        this.evaluating.delete(name);
      }
    }
    return this.localValues.get(name)!;
  }

  /** Names a traversal can start with inside this module (resources and modules become Refs). */
  readonly resolve: Resolve = (root) => {
    if (root === 'var') return this.vars;
    if (root === 'local') {
      const target: Record<string, Value> = {};
      return new Proxy(target, {
        has: (_, key) => typeof key === 'string' && key in this.module.locals,
        get: (_, key) => (typeof key === 'string' ? this.local(key) : undefined),
      });
    }
    if (root === 'path') return { module: this.module.dir, root: this.module.dir, cwd: this.module.dir };
    if (root === 'terraform') return { workspace: 'default' };
    return undefined;
  };

  value(json: unknown, resolve: Resolve = this.resolve): Value {
    return evaluateJson(json, resolve);
  }

  /** The instances of a resource ("type.name" or "data.type.name"), each with its count.index or each.key/value. */
  instances(address: string): Instance[] {
    const block = this.module.resources.get(address);
    if (!block) throw new Error(`${this.module.dir} has no ${address}`);
    const scoped =
      (extra: Record<string, Value>): Resolve =>
      (root) =>
        root in extra ? extra[root] : this.resolve(root);
    if ('count' in block) {
      const count = this.value(block.count);
      if (count instanceof Ref)
        return [
          {
            address: `${address}[?]`,
            block,
            resolve: scoped({ count: { index: new Ref(`${address}.count`) } }),
            certain: false,
          },
        ];
      return Array.from({ length: Number(count) }, (_, i) => ({
        address: `${address}[${i}]`,
        block,
        resolve: scoped({ count: { index: i } }),
        certain: true,
      }));
    }
    if ('for_each' in block) {
      let collection = this.value(block.for_each);
      // for_each over another resource: one instance per instance of it, each.value that instance.
      if (collection instanceof Ref && this.module.resources.has(collection.path)) {
        const of = collection.path;
        collection = Object.fromEntries(
          this.instances(of).map((i) => {
            const key = /\["(.*)"\]$/.exec(i.address)?.[1] ?? i.address;
            return [key, new Ref(`${of}[${JSON.stringify(key)}]`)];
          }),
        );
      }
      if (collection instanceof Ref)
        return [
          {
            address: `${address}[?]`,
            block,
            resolve: scoped({ each: { key: new Ref(`${address}.key`), value: new Ref(`${address}.value`) } }),
            certain: false,
          },
        ];
      const entries: [string, Value][] = Array.isArray(collection)
        ? collection.map((v) => [canonical(v), v])
        : Object.entries(collection as Record<string, Value>);
      return entries.map(([key, value]) => ({
        address: `${address}[${JSON.stringify(key)}]`,
        block,
        resolve: scoped({ each: { key, value } }),
        certain: true,
      }));
    }
    return [{ address, block, resolve: this.resolve, certain: true }];
  }

  /** All instances of every resource of `type`. */
  instancesOf(type: string): Instance[] {
    return [...this.module.resources.keys()]
      .filter((a) => a.startsWith(`${type}.`))
      .flatMap((a) => this.instances(a));
  }
}

/** A value as one comparable string: strings as they are, what only the provider knows by its Ref. */
export function canonical(value: Value): string {
  if (typeof value === 'string') return value;
  if (value instanceof Ref) return `<${value.path}>`;
  return JSON.stringify(value, (_, v: unknown) => (v instanceof Ref ? `<${v.path}>` : v));
}

export { EvaluationError };
