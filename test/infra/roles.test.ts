/**
 * What Azure refuses about roles, checked on the evaluated deployments (test/infra/deployments.ts):
 * a second assignment of the same role to the same principal at the same scope (409
 * RoleAssignmentExists), whichever inputs the guides and examples give; a custom role name that
 * another deployment already took (names are unique in the tenant: RoleDefinitionWithSameNameExists),
 * from another subscription, another resource group, or Bicep and Terraform side by side; a custom
 * role assigned outside its assignable scopes or under another subscription's id (a subnet in
 * another subscription); and a removal that leaves a custom role's assignments behind
 * (RoleDefinitionHasAssignments).
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { bicepDeployment } from './bicep.ts';
import {
  bicepExamples,
  bicepScenarios,
  deployer,
  duplicateGrants,
  evaluateBicep,
  evaluateTerraform,
  operator,
  subnetIn,
  subscriptionA,
  subscriptionB,
  type Evaluated,
  type Scenario,
  terraformExamples,
  terraformScenarios,
  tenant,
} from './deployments.ts';
import type { Value } from './hcl.ts';
import { ModuleEvaluation, canonical, moduleFromText } from './terraform.ts';

describe('role assignments', () => {
  it('a configuration that grants a role twice is reported, so the check can fail', async () => {
    const module = await moduleFromText(
      '/tmp',
      'twice.tf',
      `
      data "azurerm_client_config" "current" {}
      variable "officer" { default = "" }
      resource "azurerm_role_assignment" "always" {
        scope                = azurerm_key_vault.v.id
        role_definition_name = "Key Vault Secrets Officer"
        principal_id         = data.azurerm_client_config.current.object_id
      }
      resource "azurerm_role_assignment" "optional" {
        count                = var.officer == "" ? 0 : 1
        scope                = azurerm_key_vault.v.id
        role_definition_name = "Key Vault Secrets Officer"
        principal_id         = var.officer
      }`,
    );
    const grants = (officer: Value) => {
      const evaluation = new ModuleEvaluation(module, { officer });
      return evaluation.instancesOf('azurerm_role_assignment').map((i) => ({
        where: i.address,
        principal: canonical(evaluation.value(i.block.principal_id, i.resolve)),
        role: canonical(evaluation.value(i.block.role_definition_name, i.resolve)),
        scope: canonical(evaluation.value(i.block.scope, i.resolve)),
      }));
    };
    assert.deepEqual(duplicateGrants(grants('')), []);
    assert.deepEqual(duplicateGrants(grants(operator)), []);
    assert.equal(duplicateGrants(grants(deployer)).length, 1, 'the deployer named as the officer too');

    const dir = mkdtempSync(join(tmpdir(), 'funclet-roles-'));
    try {
      writeFileSync(
        join(dir, 'main.bicep'),
        `targetScope = 'subscription'
param principalId string
var reader = subscriptionResourceId('Microsoft.Authorization/roleDefinitions', 'acdd72a7-3385-48ef-bd42-f606fba81ae7')
resource first 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(subscription().id, principalId, 'first')
  properties: { principalId: principalId, roleDefinitionId: reader }
}
resource second 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(subscription().id, principalId, 'second')
  properties: { principalId: principalId, roleDefinitionId: reader }
}
`,
      );
      const { resources } = bicepDeployment(join(dir, 'main.bicep'), {
        tenantId: tenant,
        scope: { subscriptionId: subscriptionA },
        params: { principalId: 'p' },
      });
      const bicepGrants = resources.map((r) => ({
        where: r.where,
        principal: canonical(r.property('properties.principalId')!),
        role: canonical(r.property('properties.roleDefinitionId')!),
        scope: r.id.replace(/\/providers\/Microsoft\.Authorization\/roleAssignments\/[^/]+$/, ''),
      }));
      assert.equal(duplicateGrants(bicepGrants).length, 1);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  for (const example of bicepExamples)
    for (const scenario of bicepScenarios())
      it(`Bicep, ${example}.parameters.json, ${scenario.label}: no role is assigned twice to one principal at one scope`, () => {
        const { grants } = evaluateBicep(example, scenario);
        assert.ok(grants.length >= 6, `the app's grants are found (${grants.length})`);
        assert.deepEqual(duplicateGrants(grants), []);
      });

  for (const example of terraformExamples)
    for (const scenario of terraformScenarios())
      it(`Terraform, ${example}.tfvars, ${scenario.label}: no role is assigned twice to one principal at one scope`, async () => {
        const { grants } = await evaluateTerraform(example, scenario);
        assert.ok(grants.length >= 6, `the app's grants are found (${grants.length})`);
        assert.deepEqual(duplicateGrants(grants), []);
      });
});

describe('custom roles', () => {
  // Every custom role a deployment defines: ACI nodes, and a subnet to join.
  const withAll = (subscription: string, overrides: Record<string, Value> = {}): Scenario => ({
    label: `in ${subscription}`,
    subscription,
    overrides: { aciSubnetId: subnetIn(subscription), aci_subnet_id: subnetIn(subscription), ...overrides },
  });
  // Each evaluator reads the inputs its configuration declares and ignores the other's.
  const bicep = (s: Scenario) => evaluateBicep('aci', s);
  const terraform = (s: Scenario) => evaluateTerraform('aci', s);
  const names = (e: Evaluated) => e.roles.map((r) => r.roleName);
  const shared = (a: Evaluated, b: Evaluated) => names(a).filter((n) => names(b).includes(n));

  it('the deployments define them (container groups, ACI usage, subnet join)', async () => {
    assert.equal(bicep(withAll(subscriptionA)).roles.length, 3);
    assert.equal((await terraform(withAll(subscriptionA))).roles.length, 3);
  });

  it('Bicep: one deployment names each role apart', () => {
    const n = names(bicep(withAll(subscriptionA)));
    assert.equal(new Set(n).size, n.length, n.join(', '));
  });

  it('Bicep: a deployment in a second subscription names its roles apart from the first', () => {
    assert.deepEqual(shared(bicep(withAll(subscriptionA)), bicep(withAll(subscriptionB))), []);
  });

  it('Bicep: a second deployment in the same subscription (another resource group) names and defines its own roles', () => {
    const first = bicep(withAll(subscriptionA));
    const second = bicep(
      withAll(subscriptionA, {
        appResourceGroupName: 'funclet-2-rg',
        aciResourceGroupName: 'funclet-2-aci-rg',
      }),
    );
    assert.deepEqual(shared(first, second), []);
    assert.deepEqual(
      first.roles.map((r) => r.key).filter((k) => second.roles.some((r) => r.key === k)),
      [],
      'role definition ids',
    );
  });

  it('Terraform: one deployment names each role apart', async () => {
    const n = names(await terraform(withAll(subscriptionA)));
    assert.equal(new Set(n).size, n.length, n.join(', '));
  });

  it('Terraform: a deployment in a second subscription names its roles apart from the first', async () => {
    assert.deepEqual(
      shared(await terraform(withAll(subscriptionA)), await terraform(withAll(subscriptionB))),
      [],
    );
  });

  it('Terraform: a second deployment in the same subscription (another resource group) names its roles apart', async () => {
    const first = await terraform(withAll(subscriptionA));
    const second = await terraform(
      withAll(subscriptionA, {
        app_resource_group_name: 'funclet-2-rg',
        aci_resource_group_name: 'funclet-2-aci-rg',
      }),
    );
    assert.deepEqual(shared(first, second), []);
  });

  it('Bicep and Terraform side by side in one subscription name their roles apart', async () => {
    const t = await terraform(
      withAll(subscriptionA, {
        app_resource_group_name: 'funclet-tf-rg',
        aci_resource_group_name: 'funclet-tf-aci-rg',
      }),
    );
    assert.deepEqual(shared(bicep(withAll(subscriptionA)), t), []);
    assert.deepEqual(shared(bicep(withAll(subscriptionA)), await terraform(withAll(subscriptionA))), []);
  });
});

describe('removing a deployment', () => {
  for (const example of bicepExamples)
    for (const scenario of bicepScenarios())
      it(`Bicep, ${example}.parameters.json, ${scenario.label}: the customRoleIds output names every custom role the deployment defines`, () => {
        const { roles, customRoleIds } = evaluateBicep(example, scenario);
        assert.deepEqual([...customRoleIds!].sort(), roles.map((r) => r.key).sort());
      });

  for (const scenario of terraformScenarios())
    it(`Terraform, aci.tfvars, ${scenario.label}: every assignment of a custom role refers to the role's resource, so destroy removes it first`, async () => {
      const { grants, roles } = await evaluateTerraform('aci', scenario);
      assert.ok(roles.length > 0);
      const custom = grants.filter((g) =>
        /azurerm_role_definition|roleDefinitions\/[0-9a-f-]{36}$/.test(g.role),
      );
      assert.ok(custom.length >= roles.length, 'assignments of the custom roles are found');
      for (const g of custom)
        assert.ok(
          roles.some((r) => r.key === g.role),
          `${g.where} refers to ${g.role}, not to a role definition of this configuration`,
        );
    });
});

describe('custom role assignments', () => {
  const within = (scope: string, assignable: string) =>
    scope === assignable || scope.startsWith(`${assignable}/`);
  const check = (e: Evaluated, bicep: boolean) => {
    const problems: string[] = [];
    for (const g of e.grants) {
      const role = e.roles.find(
        (r) => r.key === g.role || (bicep && r.key.split('/').at(-1) === g.role.split('/').at(-1)),
      );
      if (!role) continue;
      if (!role.assignableScopes.some((a) => within(g.scope, a)))
        problems.push(
          `${g.where}: ${role.roleName} is assigned at ${g.scope}, outside ${role.assignableScopes.join(', ')}`,
        );
      // ARM finds a custom role under the subscription of the scope it is assigned at.
      const sub = /^\/subscriptions\/([^/]+)/.exec(g.scope)?.[1];
      if (bicep && sub && !g.role.startsWith(`/subscriptions/${sub}/`))
        problems.push(
          `${g.where}: ${role.roleName} is referred to as ${g.role} at a scope in subscription ${sub}`,
        );
    }
    return problems;
  };

  it('a role assigned outside its assignable scopes is reported, so the check can fail', () => {
    const roleId = '/subscriptions/a/providers/Microsoft.Authorization/roleDefinitions/g';
    const e: Evaluated = {
      label: 'snippet',
      roles: [{ where: 'r', roleName: 'R', key: roleId, assignableScopes: ['/subscriptions/a'] }],
      grants: [{ where: 'g', principal: 'p', role: roleId, scope: '/subscriptions/b/resourceGroups/n' }],
    };
    assert.equal(check(e, true).length, 2);
  });

  for (const example of bicepExamples)
    for (const scenario of bicepScenarios())
      it(`Bicep, ${example}.parameters.json, ${scenario.label}: every custom role is assigned where it may be, under its own subscription`, () => {
        assert.deepEqual(check(evaluateBicep(example, scenario), true), []);
      });

  for (const scenario of terraformScenarios())
    it(`Terraform, aci.tfvars, ${scenario.label}: every custom role is assigned where it may be`, async () => {
      assert.deepEqual(check(await evaluateTerraform('aci', scenario), false), []);
    });
});
