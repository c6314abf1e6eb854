/**
 * Reads the Function App settings the Bicep and Terraform templates would set, as an
 * environment: literal values as written, parameters and variables from an example parameter
 * file, and placeholders where only Azure knows the value (resource ids, endpoints). Key Vault
 * references stand for the secret they name, as the platform resolves them.
 *
 * This is a small evaluator for the expressions the templates use in their settings, not for
 * Bicep or HCL in general: what it cannot evaluate becomes a placeholder string, which is what a
 * required setting needs to be present, and a URL where the expression names an endpoint.
 */
import { readFileSync } from 'node:fs';
import { parse as parseHcl } from '@cdktf/hcl2json';
import Parser from 'tree-sitter';
import Bicep from 'tree-sitter-bicep';

export type Value = string | number | boolean | null | Value[] | { [key: string]: Value };
export type Env = Record<string, string>;

export const placeholder = 'placeholder';
export const placeholderUrl = 'https://placeholder.example.net/';

/** What a Key Vault reference resolves to: the secret's stand-in value, by secret name. */
export type SecretValues = Record<string, string>;

function keyVaultReference(text: string, secrets: SecretValues): string | undefined {
  const match = /^@Microsoft\.KeyVault\(SecretUri=.*\/secrets\/([A-Za-z0-9-]+)\/?\)$/.exec(text);
  if (!match) return undefined;
  const value = secrets[match[1]!];
  if (value === undefined) throw new Error(`no stand-in value for Key Vault secret ${match[1]!}`);
  return value;
}

function asSetting(value: Value): string {
  if (typeof value === 'string') return value;
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  return JSON.stringify(value);
}

// --- Bicep ---------------------------------------------------------------------------------------

type Node = Parser.SyntaxNode;

export interface BicepTemplate {
  params: Map<string, Node | undefined>;
  vars: Map<string, Node>;
  text: string;
}

export function parseBicep(text: string): Parser.Tree {
  const parser = new Parser();
  parser.setLanguage(Bicep as unknown as Parser.Language);
  return parser.parse(text);
}

export function bicepTemplate(path: string): BicepTemplate {
  const text = readFileSync(path, 'utf8');
  const root = parseBicep(text).rootNode;
  const params = new Map<string, Node | undefined>();
  const vars = new Map<string, Node>();
  for (const node of root.namedChildren) {
    const [name, ...rest] = node.namedChildren;
    if (node.type === 'parameter_declaration' && name) {
      // identifier, type, then the default value when there is one
      params.set(name.text, rest.length > 1 ? rest[rest.length - 1] : undefined);
    } else if (node.type === 'variable_declaration' && name && rest[0]) {
      vars.set(name.text, rest[rest.length - 1]!);
    }
  }
  return { params, vars, text };
}

/** Evaluates the named variables of a Bicep template, each an array of { name, value }, to an env. */
export function bicepSettings(
  template: BicepTemplate,
  variables: readonly string[],
  paramValues: Record<string, Value>,
  secrets: SecretValues,
): Env {
  const evaluate = (node: Node): Value => {
    switch (node.type) {
      case 'string': {
        const text = node.namedChildren
          .map((part) => {
            if (part.type === 'interpolation') return asSetting(evaluate(part.namedChildren[0]!));
            if (part.type === 'escape_sequence') return part.text.slice(1);
            return part.text;
          })
          .join('');
        return keyVaultReference(text, secrets) ?? text;
      }
      case 'number':
        return Number(node.text);
      case 'boolean':
        return node.text === 'true';
      case 'null':
        return null;
      case 'array':
        return node.namedChildren.map(evaluate);
      case 'object':
        return Object.fromEntries(
          node.namedChildren
            .filter((p) => p.type === 'object_property')
            .map((p) => [p.namedChildren[0]!.text.replace(/^'|'$/g, ''), evaluate(p.namedChildren[1]!)]),
        );
      case 'parenthesized_expression':
        return evaluate(node.namedChildren[0]!);
      case 'identifier': {
        const name = node.text;
        if (name in paramValues) return paramValues[name]!;
        const fallback = template.params.get(name) ?? template.vars.get(name);
        return fallback ? evaluate(fallback) : placeholder;
      }
      case 'ternary_expression': {
        const condition = evaluate(node.childForFieldName('condition')!);
        return evaluate(node.childForFieldName(condition === true ? 'consequence' : 'alternative')!);
      }
      case 'call_expression': {
        const fn = node.childForFieldName('function')!.text;
        const args = node.childForFieldName('arguments')!.namedChildren.map(evaluate);
        if (fn === 'string') return asSetting(args[0]!);
        if (fn === 'join' && Array.isArray(args[0])) return args[0].map(asSetting).join(asSetting(args[1]!));
        if (fn === 'concat') return args.flatMap((a): Value[] => (Array.isArray(a) ? a : [a]));
        if (fn === 'empty') return args[0] === '' || (Array.isArray(args[0]) && args[0].length === 0);
        return placeholder;
      }
      default:
        // member access (module outputs, subscription().subscriptionId, ...): known to Azure only
        return placeholder;
    }
  };

  const env: Env = {};
  for (const variable of variables) {
    const node = template.vars.get(variable);
    if (!node) throw new Error(`the template has no variable ${variable}`);
    const settings = evaluate(node);
    if (!Array.isArray(settings)) throw new Error(`variable ${variable} is not an array of settings`);
    for (const setting of settings) {
      const { name, value } = setting as { name: string; value: Value };
      env[name] = asSetting(value);
    }
  }
  return env;
}

/** Parameter values of an ARM deployment parameters file. */
export function armParameterValues(path: string): Record<string, Value> {
  const file = JSON.parse(readFileSync(path, 'utf8')) as { parameters: Record<string, { value: Value }> };
  return Object.fromEntries(Object.entries(file.parameters).map(([k, v]) => [k, v.value]));
}

// --- Terraform -----------------------------------------------------------------------------------

type Hcl = Record<string, unknown>;

export async function parseTerraform(path: string): Promise<Hcl> {
  return (await parseHcl(path, readFileSync(path, 'utf8'))) as Hcl;
}

/** Variable values: a .tfvars file over the variables' defaults, optional() object attributes included. */
export async function terraformVariables(
  variablesFile: string,
  tfvarsFile: string,
): Promise<Record<string, Value>> {
  const declared = (await parseTerraform(variablesFile)).variable as Record<string, Hcl[]>;
  const given = (await parseTerraform(tfvarsFile)) as Record<string, Value>;
  const values: Record<string, Value> = {};
  for (const [name, [declaration]] of Object.entries(declared)) {
    let value = (given[name] ?? declaration?.default ?? null) as Value;
    // object({ x = optional(string, "") ... }): fill the attributes the object leaves out.
    const type = typeof declaration?.type === 'string' ? declaration.type : '';
    if (value !== null && typeof value === 'object' && !Array.isArray(value)) {
      const filled: Record<string, Value> = { ...value };
      for (const m of type.matchAll(/(\w+)\s*=\s*optional\(([^,()]+(?:\([^)]*\))?),\s*([^)]*)\)/g)) {
        filled[m[1]!] ??= JSON.parse(m[3]!.trim()) as Value;
      }
      value = filled;
    }
    values[name] = value;
  }
  return values;
}

/** Evaluates the named locals (maps of setting name to expression) of a Terraform file to an env. */
export async function terraformSettings(
  settingsFile: string,
  localNames: readonly string[],
  variables: Record<string, Value>,
  secrets: SecretValues,
): Promise<Env> {
  const locals = Object.assign({}, ...((await parseTerraform(settingsFile)).locals as Hcl[])) as Hcl;

  const lookup = (path: string): Value | undefined => {
    let value: Value | undefined = variables;
    for (const key of path.split('.')) {
      if (value === null || typeof value !== 'object' || Array.isArray(value)) return undefined;
      value = value[key];
    }
    return value;
  };
  const inner = (expr: string): Value => {
    const e = expr.trim();
    let m: RegExpExecArray | null;
    if ((m = /^var\.([\w.]+)$/.exec(e))) return lookup(m[1]!) ?? placeholder;
    if ((m = /^local\.(\w+)$/.exec(e))) {
      const local = locals[m[1]!];
      return typeof local === 'string' ? template(local) : placeholder;
    }
    if ((m = /^jsonencode\((.+)\)$/s.exec(e))) return JSON.stringify(inner(m[1]!));
    if ((m = /^tostring\((.+)\)$/s.exec(e))) return asSetting(inner(m[1]!));
    if ((m = /^join\("([^"]*)",\s*(.+)\)$/s.exec(e))) {
      const list = inner(m[2]!);
      return Array.isArray(list) ? list.map(asSetting).join(m[1]) : placeholder;
    }
    // A resource attribute: known to Azure only.
    if (/^[a-z]\w*\.\w+\.\w*(endpoint|uri|url)$/.test(e)) return placeholderUrl;
    return placeholder;
  };
  const template = (text: string): Value => {
    const whole = /^\$\{([^{}]*(?:\{[^{}]*\}[^{}]*)*)\}$/s.exec(text);
    if (whole) return inner(whole[1]!);
    const rendered = text.replace(/\$\{([^}]*)\}/g, (_, e: string) => asSetting(inner(e)));
    return keyVaultReference(rendered, secrets) ?? rendered;
  };

  const env: Env = {};
  for (const name of localNames) {
    const settings = locals[name];
    if (settings === null || typeof settings !== 'object')
      throw new Error(`local.${name} is not a map of settings`);
    for (const [setting, expr] of Object.entries(settings as Record<string, unknown>)) {
      env[setting] = asSetting(typeof expr === 'string' ? template(expr) : (expr as Value));
    }
  }
  return env;
}
