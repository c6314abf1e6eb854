/**
 * Every template parses: the Bicep files with tree-sitter-bicep (no ERROR or MISSING node
 * anywhere), the Terraform files with hcl2json. Neither the Bicep CLI nor terraform can be
 * installed offline; these catch the syntax slips they would. Each check is first shown to fail
 * on a broken snippet, so a passing run means something.
 */
import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, it } from 'node:test';
import { parse as parseHcl } from '@cdktf/hcl2json';
import type Parser from 'tree-sitter';
import { parseBicep } from './appSettings.ts';

const root = fileURLToPath(new URL('../../', import.meta.url));

function filesUnder(dir: string, pattern: RegExp): string[] {
  return readdirSync(join(root, dir), { recursive: true, encoding: 'utf8' })
    .filter((f) => pattern.test(f) && !f.split('/').includes('.terraform'))
    .map((f) => join(root, dir, f))
    .sort();
}

/** Where tree-sitter gave up: ERROR nodes and tokens it had to invent (MISSING). */
function syntaxErrors(tree: Parser.Tree): string[] {
  const found: string[] = [];
  const visit = (node: Parser.SyntaxNode) => {
    if (node.type === 'ERROR' || node.isMissing)
      found.push(
        `${node.isMissing ? 'missing ' : ''}${node.type} at ${node.startPosition.row + 1}:${node.startPosition.column + 1}`,
      );
    if (node.hasError || node.isMissing) for (const child of node.children) visit(child);
  };
  visit(tree.rootNode);
  return found;
}

describe('the Bicep templates', () => {
  it('a broken snippet is reported, so the check can fail', () => {
    const broken = "resource site 'Microsoft.Web/sites@2024-04-01' = {\n  name: \n  kind: 'functionapp'\n";
    assert.notDeepEqual(syntaxErrors(parseBicep(broken)), []);
    assert.notDeepEqual(syntaxErrors(parseBicep("param x string = 'unterminated\n")), []);
  });

  const files = filesUnder('infra/bicep', /\.bicep$/);
  it('are all found (main.bicep and its modules)', () => {
    assert.ok(files.some((f) => f.endsWith('main.bicep')));
    assert.ok(files.length >= 5, files.join(', '));
  });

  for (const file of files) {
    it(`${relative(root, file)} parses without error nodes`, () => {
      assert.deepEqual(syntaxErrors(parseBicep(readFileSync(file, 'utf8'))), []);
    });
  }

  it('every module main.bicep names exists', () => {
    const main = readFileSync(join(root, 'infra/bicep/main.bicep'), 'utf8');
    const modules = [...main.matchAll(/^module \w+ '([^']+)'/gm)].map((m) => m[1]!);
    assert.ok(modules.length > 0);
    for (const m of modules) assert.ok(files.includes(join(root, 'infra/bicep', m)), `${m} exists`);
  });
});

describe('the Terraform configuration', () => {
  it('a broken snippet is reported, so the check can fail', async () => {
    await assert.rejects(parseHcl('broken.tf', 'resource "azurerm_resource_group" "x" {\n  name = \n'));
  });

  const files = filesUnder('infra/terraform', /\.(tf|tfvars)$/);
  it('is all found (root, modules, examples)', () => {
    for (const dir of ['infra/terraform/main.tf', 'modules/aws-ecs/', 'modules/cluster/', 'examples/'])
      assert.ok(
        files.some((f) => f.includes(dir)),
        `a file under ${dir}`,
      );
  });

  for (const file of files) {
    it(`${relative(root, file)} parses with hcl2json`, async () => {
      const json = (await parseHcl(file, readFileSync(file, 'utf8'))) as Record<string, unknown>;
      assert.ok(Object.keys(json).length > 0, 'declares something');
    });
  }
});
