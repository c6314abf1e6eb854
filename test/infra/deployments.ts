/**
 * The deployments the infra checks evaluate: infra/bicep/main.bicep and infra/terraform with each
 * example's inputs and the variations the guides and a second deployment bring (a vault operator
 * who is or is not the deployer, a delegated subnet in the same or another subscription, another
 * subscription, another resource group), and what they grant: role assignments and custom roles.
 */
import { fileURLToPath } from 'node:url';
import { armParameterValues, parseTerraform } from './appSettings.ts';
import { bicepDeployment } from './bicep.ts';
import { Ref, type Value } from './hcl.ts';
import { ModuleEvaluation, canonical, loadModule, type TerraformModule } from './terraform.ts';

export const path = (p: string) => fileURLToPath(new URL(`../../${p}`, import.meta.url));

export const subscriptionA = '00000000-0000-0000-0000-00000000000a';
export const subscriptionB = '00000000-0000-0000-0000-00000000000b';
export const tenant = '00000000-0000-0000-0000-0000000000f0';

/** The principal Terraform runs as; the guides' `az ad signed-in-user show` when the user runs it. */
export const deployer = new Ref('data.azurerm_client_config.current.object_id');
export const operator = '00000000-0000-0000-0000-0000000000c1';

export const subnetIn = (subscription: string) =>
  `/subscriptions/${subscription}/resourceGroups/network-rg/providers/Microsoft.Network/virtualNetworks/aks-vnet/subnets/aci`;

/** A role assignment, its principal, role and scope as comparable strings. */
export interface Grant {
  where: string;
  principal: string;
  role: string;
  scope: string;
}

/** A custom role: its display name (unique in the tenant), its id or GUID, where it may be assigned. */
export interface CustomRole {
  where: string;
  roleName: string;
  key: string;
  assignableScopes: string[];
}

export interface Evaluated {
  label: string;
  grants: Grant[];
  roles: CustomRole[];
  /** Bicep: the customRoleIds output, which the guide's removal steps read. */
  customRoleIds?: string[];
}

export interface Scenario {
  label: string;
  subscription: string;
  overrides: Record<string, Value>;
}

// --- Bicep ---------------------------------------------------------------------------------------

export const bicepExamples = ['aci', 'ecs'] as const;

export function bicepScenarios(): Scenario[] {
  const scenarios: Scenario[] = [];
  for (const officer of ['', operator])
    for (const subnet of ['', subnetIn(subscriptionA), subnetIn(subscriptionB)])
      scenarios.push({
        label: `secretsOfficerPrincipalId=${officer || "''"} aciSubnetId=${subnet ? subnet.split('/')[2] : "''"}`,
        subscription: subscriptionA,
        overrides: { secretsOfficerPrincipalId: officer, aciSubnetId: subnet },
      });
  return scenarios;
}

export function evaluateBicep(example: string, scenario: Scenario): Evaluated {
  const params = {
    ...armParameterValues(path(`infra/bicep/examples/${example}.parameters.json`)),
    location: 'westeurope',
    clusterName: 'prod',
    webhookSecret: 'w'.repeat(64),
    ...scenario.overrides,
  };
  const { resources, output } = bicepDeployment(path('infra/bicep/main.bicep'), {
    tenantId: tenant,
    scope: { subscriptionId: scenario.subscription },
    params,
  });
  const deployed = resources.filter((r) => !r.existing && r.condition !== false);
  const grants = deployed
    .filter((r) => r.type === 'Microsoft.Authorization/roleAssignments')
    .map((r) => ({
      where: r.where,
      principal: canonical(r.property('properties.principalId') ?? null),
      role: canonical(r.property('properties.roleDefinitionId') ?? null),
      scope: r.id.replace(/\/providers\/Microsoft\.Authorization\/roleAssignments\/[^/]+$/, ''),
    }));
  const roles = deployed
    .filter((r) => r.type === 'Microsoft.Authorization/roleDefinitions')
    .map((r) => ({
      where: r.where,
      roleName: canonical(r.property('properties.roleName') ?? null),
      key: r.id,
      assignableScopes: ((r.property('properties.assignableScopes') ?? []) as Value[]).map(canonical),
    }));
  const customRoleIds = (output('customRoleIds') as Value[]).map(canonical);
  return {
    label: `${example}.parameters.json ${scenario.label} in ${scenario.subscription}`,
    grants,
    roles,
    customRoleIds,
  };
}

// --- Terraform -----------------------------------------------------------------------------------

export const terraformExamples = ['aci', 'ecs'] as const;

export function terraformScenarios(): Scenario[] {
  const scenarios: Scenario[] = [];
  for (const [name, officer] of [
    ["''", ''],
    ['the deployer', deployer],
    ['another operator', operator],
  ] as const)
    for (const subnet of ['', subnetIn(subscriptionA), subnetIn(subscriptionB)])
      scenarios.push({
        label: `secrets_officer_principal_id=${name} aci_subnet_id=${subnet ? subnet.split('/')[2] : "''"}`,
        subscription: subscriptionA,
        overrides: { secrets_officer_principal_id: officer, aci_subnet_id: subnet },
      });
  return scenarios;
}

let rootModule: Promise<TerraformModule> | undefined;

export async function evaluateTerraform(example: string, scenario: Scenario): Promise<Evaluated> {
  rootModule ??= loadModule(path('infra/terraform'));
  const module = await rootModule;
  const tfvars = (await parseTerraform(path(`infra/terraform/examples/${example}.tfvars`))) as Record<
    string,
    Value
  >;
  const evaluation = new ModuleEvaluation(module, {
    location: 'westeurope',
    cluster_name: 'prod',
    webhook_secret: 'w'.repeat(64),
    ...tfvars,
    subscription_id: scenario.subscription,
    ...scenario.overrides,
  });
  const grants = evaluation.instancesOf('azurerm_role_assignment').map((i) => {
    const v = (key: string) => canonical(evaluation.value(i.block[key], i.resolve));
    return {
      where: i.address,
      principal: v('principal_id'),
      role: 'role_definition_id' in i.block ? v('role_definition_id') : v('role_definition_name'),
      scope: v('scope'),
    };
  });
  const roles = evaluation.instancesOf('azurerm_role_definition').map((i) => ({
    where: i.address,
    roleName: canonical(evaluation.value(i.block.name, i.resolve)),
    key: `<${i.address}.role_definition_resource_id>`,
    assignableScopes: ((evaluation.value(i.block.assignable_scopes, i.resolve) ?? []) as Value[]).map(
      canonical,
    ),
  }));
  return { label: `${example}.tfvars ${scenario.label} in ${scenario.subscription}`, grants, roles };
}

/** Grants that another grant in the same configuration repeats: same principal, role and scope. */
export function duplicateGrants(grants: Grant[]): string[] {
  const seen = new Map<string, string>();
  const duplicates: string[] = [];
  for (const g of grants) {
    const key = JSON.stringify([g.principal, g.role, g.scope]);
    const first = seen.get(key);
    if (first) duplicates.push(`${first} and ${g.where}: ${g.role} for ${g.principal} on ${g.scope}`);
    else seen.set(key, g.where);
  }
  return duplicates;
}
