/**
 * Every Terraform output that reaches a sensitive value is marked sensitive, as plan demands
 * ("Output refers to sensitive values"): in infra/terraform, its modules, and the configurations
 * the guides have their reader write. Sensitive are variables marked so, module outputs marked so
 * (and a whole module holding one), and the provider attributes listed with their sources in
 * fixtures/sensitive-attributes.json; locals pass sensitivity on; nonsensitive() lifts it.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { isAbsolute, join, relative, resolve } from 'node:path';
import { describe, it } from 'node:test';
import { guideFiles, guideTerraform } from './guides.ts';
import { path } from './deployments.ts';
import { valueTraversals } from './hcl.ts';
import { loadModule, moduleFromText, type TerraformModule } from './terraform.ts';

const fixture = JSON.parse(readFileSync(path('test/infra/fixtures/sensitive-attributes.json'), 'utf8')) as {
  types: Record<string, { attributes: string[]; source: string }>;
};

const modules = new Map<string, Promise<TerraformModule>>();
const load = (dir: string) => {
  if (!modules.has(dir)) modules.set(dir, loadModule(dir));
  return modules.get(dir)!;
};

/** The names of the outputs of `module` that are sensitive, marked or not. */
async function sensitiveOutputs(module: TerraformModule): Promise<Set<string>> {
  const { sensitive } = await analyse(module);
  return sensitive;
}

/** Outputs that reach a sensitive value without being marked sensitive, and every sensitive output. */
async function analyse(module: TerraformModule): Promise<{ unmarked: string[]; sensitive: Set<string> }> {
  const children = new Map<string, Set<string>>();
  for (const [name, call] of Object.entries(module.modules)) {
    const source = String(call.source);
    if (!source.startsWith('.') && !isAbsolute(source))
      throw new Error(`module ${name}: a registry source this check does not read`);
    children.set(name, await sensitiveOutputs(await load(resolve(module.dir, source))));
  }
  const reaches = (json: unknown, seen: Set<string>): string[] =>
    valueTraversals(json, ['nonsensitive']).flatMap((t) => {
      const [root, a, b, c] = t.split('.');
      if (root === 'var') return module.variables[a!]?.sensitive === true ? [t] : [];
      if (root === 'local') {
        if (seen.has(a!)) return [];
        return reaches(module.locals[a!], new Set([...seen, a!])).length ? [t] : [];
      }
      if (root === 'module') {
        const outs = children.get(a!) ?? new Set();
        return (b === undefined ? outs.size > 0 : outs.has(b)) ? [t] : [];
      }
      const [type, attribute] = root === 'data' ? [`data.${a}`, c] : [root!, b];
      const known = fixture.types[type];
      if (!known) return [];
      return attribute === undefined || known.attributes.includes(attribute) ? [t] : [];
    });
  const unmarked: string[] = [];
  const sensitive = new Set<string>();
  for (const [name, output] of Object.entries(module.outputs)) {
    const found = reaches(output.value, new Set());
    if (output.sensitive === true) sensitive.add(name);
    else if (found.length)
      unmarked.push(`output "${name}" reaches ${found.join(', ')} and is not marked sensitive`);
  }
  return { unmarked, sensitive };
}

describe('Terraform outputs', () => {
  it('an output that reaches a sensitive value unmarked is reported, so the check can fail', async () => {
    const module = await moduleFromText(
      path('infra/terraform'),
      'snippet.tf',
      `
      variable "secret" {
        type      = string
        sensitive = true
      }
      locals { wrapped = "x-\${var.secret}" }
      resource "aws_iam_access_key" "k" { user = "u" }
      output "leaks_var" { value = local.wrapped }
      output "leaks_key" { value = aws_iam_access_key.k[0].secret }
      output "leaks_module" { value = module.ecs }
      output "id_only" { value = aws_iam_access_key.k[0].id }
      output "marked" {
        value     = var.secret
        sensitive = true
      }
      output "lifted" { value = nonsensitive(var.secret) }
      output "one_output" { value = module.ecs.cluster_name }
      module "ecs" { source = "./modules/aws-ecs" }
      `,
    );
    const { unmarked } = await analyse(module);
    assert.deepEqual(unmarked.map((u) => /^output "(\w+)"/.exec(u)![1]).sort(), [
      'leaks_key',
      'leaks_module',
      'leaks_var',
    ]);
  });

  for (const dir of ['infra/terraform', 'infra/terraform/modules/aws-ecs', 'infra/terraform/modules/cluster'])
    it(`${dir}: every output that reaches a sensitive value is marked sensitive`, async () => {
      const module = await load(path(dir));
      assert.ok(Object.keys(module.outputs).length > 0, 'outputs are found');
      assert.deepEqual((await analyse(module)).unmarked, []);
    });

  const snippets = guideFiles().flatMap(guideTerraform);
  it('the guides have Terraform to check', () => {
    assert.ok(snippets.length >= 2, snippets.map((s) => s.where).join(', '));
  });
  for (const snippet of snippets)
    it(`the configuration at ${snippet.where}: every output that reaches a sensitive value is marked sensitive`, async () => {
      const module = await moduleFromText(
        path('.'),
        relative(path('.'), join(path('.'), 'snippet.tf')),
        snippet.text,
      );
      assert.deepEqual((await analyse(module)).unmarked, []);
    });
});
