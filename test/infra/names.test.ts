/**
 * Resource names: every name prefix the templates accept gives names Azure accepts (storage
 * account, Key Vault, Function App, resource groups), and one they cannot use is refused before
 * anything is created, naming the setting: Terraform's validation of name_prefix, and in Bicep
 * (which has no pattern decorator) resource group names ARM refuses, which say what is wrong.
 *
 * The naming rules are Azure's, from
 * https://learn.microsoft.com/azure/azure-resource-manager/management/resource-name-rules.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { bicepDeployment } from './bicep.ts';
import { armParameterValues } from './appSettings.ts';
import { path, subscriptionA, tenant } from './deployments.ts';
import { parseTemplate, evaluate, text } from './hcl.ts';
import { ModuleEvaluation, loadModule } from './terraform.ts';

const rules: Record<string, RegExp> = {
  // Microsoft.Storage/storageAccounts: 3-24 lowercase letters and numbers.
  'Microsoft.Storage/storageAccounts': /^[a-z0-9]{3,24}$/,
  // Microsoft.KeyVault/vaults: 3-24 alphanumerics and hyphens, starting with a letter, ending with
  // a letter or digit, no consecutive hyphens.
  'Microsoft.KeyVault/vaults': /^(?!.*--)[a-zA-Z][a-zA-Z0-9-]{1,22}[a-zA-Z0-9]$/,
  // Microsoft.Web/sites: 2-60 alphanumerics and hyphens, not starting or ending with a hyphen.
  'Microsoft.Web/sites': /^[a-zA-Z0-9][a-zA-Z0-9-]{0,58}[a-zA-Z0-9]$/,
  // Microsoft.Resources/resourceGroups: 1-90 letters, digits, underscores, hyphens, periods and
  // parentheses, not ending with a period.
  'Microsoft.Resources/resourceGroups': /^[-\w.()]{0,89}[-\w()]$/,
};

const valid = ['funclet', 'abc', 'a1b2c3d4e5f', 'prod2'];
const invalid = ['Funclet', '9lives', 'my-app', 'fun_clet'];

function bicepNames(namePrefix: string) {
  const { resources } = bicepDeployment(path('infra/bicep/main.bicep'), {
    tenantId: tenant,
    scope: { subscriptionId: subscriptionA },
    params: {
      ...armParameterValues(path('infra/bicep/examples/aci.parameters.json')),
      clusterName: 'prod',
      webhookSecret: 'w'.repeat(64),
      namePrefix,
      appResourceGroupName: `${namePrefix}-rg`,
      aciResourceGroupName: `${namePrefix}-aci-rg`,
    },
  });
  return resources.filter((r) => !r.existing && r.condition !== false && r.type in rules);
}

describe('resource names', () => {
  it('the naming rules reject what Azure rejects, so the check can fail', () => {
    assert.ok(!rules['Microsoft.Storage/storageAccounts']!.test('Funclet123'));
    assert.ok(!rules['Microsoft.KeyVault/vaults']!.test('9lives-kv-abc'));
    assert.ok(!rules['Microsoft.KeyVault/vaults']!.test('a--b'));
    assert.ok(!rules['Microsoft.Resources/resourceGroups']!.test('namePrefix x is not valid'));
  });

  for (const prefix of valid) {
    it(`Bicep, namePrefix ${prefix}: every storage account, vault, app and resource group name is one Azure accepts`, () => {
      const named = bicepNames(prefix);
      assert.deepEqual(new Set(named.map((r) => r.type)), new Set(Object.keys(rules)));
      for (const r of named) assert.match(r.name, rules[r.type]!, `${r.where}: ${r.type} ${r.name}`);
    });

    it(`Terraform, name_prefix ${prefix}: the validation accepts it and the names are ones Azure accepts`, async () => {
      const module = await loadModule(path('infra/terraform'));
      const evaluation = new ModuleEvaluation(module, {
        subscription_id: subscriptionA,
        name_prefix: prefix,
      });
      const validation = (module.variables.name_prefix!.validation as { condition: string }[])[0]!;
      assert.equal(evaluation.value(validation.condition), true);
      const local = (name: string) => text(evaluate(parseTemplate(`\${local.${name}}`), evaluation.resolve));
      assert.match(local('storage_account_name'), rules['Microsoft.Storage/storageAccounts']!);
      assert.match(local('vault_name'), rules['Microsoft.KeyVault/vaults']!);
      assert.match(local('app_name'), rules['Microsoft.Web/sites']!);
      assert.match(local('app_resource_group_name'), rules['Microsoft.Resources/resourceGroups']!);
    });
  }

  for (const prefix of invalid) {
    it(`Bicep, namePrefix ${prefix}: the resource groups get a name ARM refuses, which names namePrefix`, () => {
      const groups = bicepNames(prefix).filter((r) => r.type === 'Microsoft.Resources/resourceGroups');
      assert.equal(groups.length, 2, 'the app and ACI resource groups');
      for (const g of groups) {
        assert.doesNotMatch(g.name, rules['Microsoft.Resources/resourceGroups']!);
        assert.match(
          g.name,
          /^namePrefix .+ is not 3-11 lowercase letters and digits starting with a letter$/,
        );
      }
    });

    it(`Terraform, name_prefix ${prefix}: the validation refuses it with a message naming name_prefix`, async () => {
      const module = await loadModule(path('infra/terraform'));
      const evaluation = new ModuleEvaluation(module, {
        subscription_id: subscriptionA,
        name_prefix: prefix,
      });
      const validation = (
        module.variables.name_prefix!.validation as { condition: string; error_message: string }[]
      )[0]!;
      assert.equal(evaluation.value(validation.condition), false);
      assert.match(validation.error_message, /name_prefix/);
    });
  }
});
