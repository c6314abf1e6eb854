/**
 * The deployments set every setting Funclet needs: the environment the Bicep and Terraform
 * templates give the Function App, with their example parameters, loads through loadConfig
 * (core/config.ts) itself, and every setting loadConfig requires is set by name.
 */
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import { describe, it } from 'node:test';
import { loadConfig, Setting } from '../../core/config.ts';
import { ConfigError } from '../../core/errors.ts';
import { kubeconfigDocument } from '../../core/kube/kubeconfig.ts';
import {
  armParameterValues,
  bicepSettings,
  bicepTemplate,
  terraformSettings,
  terraformVariables,
  type Env,
  type SecretValues,
} from './appSettings.ts';

const path = (p: string) => fileURLToPath(new URL(`../../${p}`, import.meta.url));

// What the Key Vault references resolve to once the secrets are stored.
const secrets: SecretValues = {
  'funclet-kubeconfig': kubeconfigDocument({
    server: 'https://aks-prod.hcp.westeurope.azmk8s.io:443',
    caPem: '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n',
    user: 'funclet',
    token: 'a-service-account-token',
  }),
  'funclet-webhook-secret': 'f'.repeat(64),
  'funclet-aws-access-key-id': 'AKIAIOSFODNN7EXAMPLE',
  'funclet-aws-secret-access-key': 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY',
};

/** The settings loadConfig refuses to start without, for a deployment whose nodes use `provider`. */
function requiredSettings(provider: 'aci' | 'ecs'): string[] {
  const named = new Set<string>();
  for (const env of [{}, { [Setting.nodes]: JSON.stringify([{ name: 'vk', provider }]) }]) {
    try {
      loadConfig(env);
    } catch (err) {
      assert.ok(err instanceof ConfigError);
      for (const s of err.settings) named.add(s.replace(/\[\d+\].*$/, ''));
    }
  }
  // Tables are reached with the app's identity: the account URL stands for the connection string.
  named.delete(Setting.tableConnectionString);
  named.add(Setting.tableAccountUrl);
  // Not required to start, but podEvents answers 503 without it: the relay depends on it.
  named.add(Setting.webhookSecret);
  return [...named].sort();
}

function assertLoads(env: Env, provider: 'aci' | 'ecs', nodeName: string): void {
  for (const setting of requiredSettings(provider))
    assert.ok(env[setting]?.trim(), `${setting} is set (settings: ${Object.keys(env).join(', ')})`);
  const config = loadConfig(env);
  assert.deepEqual(
    config.nodes.map((n) => [n.name, n.provider]),
    [[nodeName, provider]],
  );
  assert.equal(config.tables.kind, 'accountUrl', 'tables through the managed identity');
  assert.equal(env[Setting.tableConnectionString], undefined, 'no storage connection string anywhere');
  assert.equal(env.AzureWebJobsStorage, undefined, 'the host uses its identity, not a connection string');
  assert.equal(env.AzureWebJobsStorage__credential, 'managedidentity');
  assert.ok(config.webhookSecret && config.webhookSecret.length >= 32);
  if (provider === 'aci')
    assert.ok(config.aci?.subscriptionId && config.aci.resourceGroup && config.aci.region);
  if (provider === 'ecs')
    assert.ok(config.ecs?.cluster && config.ecs.region && config.ecs.subnets.length > 0);
}

describe('the settings the deployments give the Function App', () => {
  it('names every setting loadConfig requires (derived from loadConfig itself)', () => {
    assert.deepEqual(requiredSettings('aci'), [
      'FUNCLET_ACI_REGION',
      'FUNCLET_ACI_RESOURCE_GROUP',
      'FUNCLET_ACI_SUBSCRIPTION_ID',
      'FUNCLET_KUBECONFIG',
      'FUNCLET_NODES',
      'FUNCLET_TABLE_ACCOUNT_URL',
      'FUNCLET_WEBHOOK_SECRET',
    ]);
    assert.deepEqual(requiredSettings('ecs'), [
      'FUNCLET_ECS_CLUSTER',
      'FUNCLET_ECS_REGION',
      'FUNCLET_ECS_SUBNETS',
      'FUNCLET_KUBECONFIG',
      'FUNCLET_NODES',
      'FUNCLET_TABLE_ACCOUNT_URL',
      'FUNCLET_WEBHOOK_SECRET',
    ]);
  });

  describe('Bicep (infra/bicep/main.bicep)', () => {
    const template = bicepTemplate(path('infra/bicep/main.bicep'));
    const examples = {
      aci: armParameterValues(path('infra/bicep/examples/aci.parameters.json')),
      ecs: armParameterValues(path('infra/bicep/examples/ecs.parameters.json')),
    };

    it("assembles the app settings from the core group and each provider's group", () => {
      const appSettings = template.vars.get('appSettings')?.text.replace(/\s+/g, ' ');
      assert.equal(
        appSettings,
        'concat(coreSettings, usesAci ? aciSettings : [], usesEcs ? ecsSettings : [])',
      );
      assert.match(template.text, /appSettings: appSettings/);
    });

    it('for ACI nodes (examples/aci.parameters.json), loads through loadConfig', () => {
      const env = bicepSettings(template, ['coreSettings', 'aciSettings'], examples.aci, secrets);
      assertLoads(env, 'aci', 'funclet-aci');
      assert.equal(
        env[Setting.aciResourceGroup],
        'funclet-aci-rg',
        'the ACI resource group defaults from namePrefix',
      );
      assert.equal(env[Setting.aciRegion], 'westeurope');
    });

    it('for ECS nodes (examples/ecs.parameters.json), loads through loadConfig', () => {
      const env = bicepSettings(template, ['coreSettings', 'ecsSettings'], examples.ecs, secrets);
      assertLoads(env, 'ecs', 'funclet-fargate');
      assert.equal(
        env[Setting.ecsAssignPublicIp],
        'false',
        'a bool setting is spelled as loadConfig wants it',
      );
      assert.equal(env[Setting.ecsSubnets], 'subnet-0123456789abcdef0,subnet-0fedcba9876543210');
      assert.equal(env.AWS_ACCESS_KEY_ID, secrets['funclet-aws-access-key-id']);
    });
  });

  describe('Terraform (infra/terraform)', () => {
    const settingsFile = path('infra/terraform/settings.tf');
    const variablesFile = path('infra/terraform/variables.tf');

    it('for ACI nodes (examples/aci.tfvars), loads through loadConfig', async () => {
      const variables = await terraformVariables(variablesFile, path('infra/terraform/examples/aci.tfvars'));
      const env = await terraformSettings(
        settingsFile,
        ['core_settings', 'aci_settings'],
        variables,
        secrets,
      );
      assertLoads(env, 'aci', 'funclet-aci');
    });

    it('for ECS nodes (examples/ecs.tfvars), loads through loadConfig', async () => {
      const variables = await terraformVariables(variablesFile, path('infra/terraform/examples/ecs.tfvars'));
      const env = await terraformSettings(
        settingsFile,
        ['core_settings', 'ecs_settings'],
        variables,
        secrets,
      );
      assertLoads(env, 'ecs', 'funclet-fargate');
      assert.equal(env[Setting.ecsAssignPublicIp], 'false');
    });

    it('sets the same settings as Bicep', async () => {
      const tf = await terraformSettings(
        settingsFile,
        ['core_settings', 'aci_settings', 'ecs_settings'],
        await terraformVariables(variablesFile, path('infra/terraform/examples/ecs.tfvars')),
        secrets,
      );
      const bicep = bicepSettings(
        bicepTemplate(path('infra/bicep/main.bicep')),
        ['coreSettings', 'aciSettings', 'ecsSettings'],
        armParameterValues(path('infra/bicep/examples/ecs.parameters.json')),
        secrets,
      );
      // Terraform sets the Application Insights connection string through site_config.
      const names = (env: Env) =>
        Object.keys(env)
          .filter((k) => k !== 'APPLICATIONINSIGHTS_CONNECTION_STRING')
          .sort();
      assert.deepEqual(names(tf), names(bicep));
    });
  });
});
