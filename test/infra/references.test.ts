/**
 * What the Terraform in infra/terraform and in the guides refers to: no provider attribute that is
 * deprecated (fixtures/deprecated-attributes.json, with the provider's note), and, in the
 * configurations the guides have their reader write, no variable that is not declared and no
 * resource of a provider the configuration does not configure (validate refuses the first; the
 * second silently uses an unconfigured provider).
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { parse as parseHcl } from '@cdktf/hcl2json';
import { path } from './deployments.ts';
import { guideFiles, guideTerraform } from './guides.ts';
import { valueTraversals } from './hcl.ts';
import { loadModule, moduleFromText, type Block, type TerraformModule } from './terraform.ts';

const deprecated = JSON.parse(
  readFileSync(path('test/infra/fixtures/deprecated-attributes.json'), 'utf8'),
) as {
  types: Record<string, { attributes: Record<string, string>; source: string }>;
};

/** Every expression of the module: resources, data sources, locals, outputs, module calls. */
function allValues(module: TerraformModule): unknown[] {
  return [
    ...module.resources.values(),
    module.locals,
    ...Object.values(module.outputs),
    ...Object.values(module.modules),
  ];
}

function deprecatedUses(module: TerraformModule): string[] {
  return allValues(module)
    .flatMap((v) => valueTraversals(v))
    .flatMap((t) => {
      const [root, a, , c] = t.split('.');
      const [type, attribute] = root === 'data' ? [`data.${a}`, c] : [root!, t.split('.')[2]];
      const replacement = attribute === undefined ? undefined : deprecated.types[type]?.attributes[attribute];
      return replacement ? [`${t} is deprecated: use ${replacement}`] : [];
    });
}

function undeclaredVariables(module: TerraformModule): string[] {
  const used = new Set(
    allValues(module)
      .flatMap((v) => valueTraversals(v))
      .filter((t) => t.startsWith('var.'))
      .map((t) => t.split('.')[1]!),
  );
  return [...used].filter((v) => !(v in module.variables)).map((v) => `var.${v} is not declared`);
}

/** Resource and data source types whose provider the configuration has no block for. */
function unconfiguredProviders(module: TerraformModule, providers: string[]): string[] {
  const types = [...module.resources.keys()].map((a) => a.replace(/^data\./, '').split('.')[0]!);
  return [...new Set(types.map((t) => t.split('_')[0]!))]
    .filter((p) => !providers.includes(p))
    .map((p) => `${p} resources with no provider "${p}" block`);
}

describe('Terraform references', () => {
  it('a deprecated attribute, an undeclared variable and a missing provider block are reported, so the checks can fail', async () => {
    const module = await moduleFromText(
      path('.'),
      'snippet.tf',
      `
      data "aws_region" "current" {}
      output "region" { value = data.aws_region.current.name }
      resource "azurerm_key_vault_secret" "s" { key_vault_id = var.key_vault_id }
      `,
    );
    assert.deepEqual(deprecatedUses(module), ['data.aws_region.current.name is deprecated: use region']);
    assert.deepEqual(undeclaredVariables(module), ['var.key_vault_id is not declared']);
    assert.deepEqual(unconfiguredProviders(module, ['aws']), [
      'azurerm resources with no provider "azurerm" block',
    ]);
  });

  for (const dir of ['infra/terraform', 'infra/terraform/modules/aws-ecs', 'infra/terraform/modules/cluster'])
    it(`${dir} reads no deprecated provider attribute`, async () => {
      assert.deepEqual(deprecatedUses(await loadModule(path(dir))), []);
    });

  for (const snippet of guideFiles().flatMap(guideTerraform))
    it(`the configuration at ${snippet.where} declares every variable and provider it uses, and reads nothing deprecated`, async () => {
      const module = await moduleFromText(path('.'), 'snippet.tf', snippet.text);
      const providers = Object.keys(((await parseHcl('snippet.tf', snippet.text)) as Block).provider ?? {});
      assert.deepEqual(
        [
          ...deprecatedUses(module),
          ...undeclaredVariables(module),
          ...unconfiguredProviders(module, providers),
        ],
        [],
      );
    });
});
