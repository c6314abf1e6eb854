/**
 * What the Function App's identity is granted, read from the templates: never blob rights over
 * the whole storage account (its package could be replaced and every container read), the host's
 * containers only, and the deployment container for the package.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, it } from 'node:test';
import { parse as parseHcl } from '@cdktf/hcl2json';
import { parseBicep } from './appSettings.ts';

const path = (p: string) => fileURLToPath(new URL(`../../${p}`, import.meta.url));

interface Grant {
  name: string;
  role: string;
  scope: string;
}

/** Each role assignment of a Bicep file: its symbolic name, the role key of `roles.<key>`, and its scope. */
function bicepGrants(file: string): Grant[] {
  const root = parseBicep(readFileSync(path(file), 'utf8')).rootNode;
  return root.namedChildren
    .filter(
      (n) =>
        n.type === 'resource_declaration' && n.text.includes("'Microsoft.Authorization/roleAssignments@"),
    )
    .map((n) => ({
      name: n.namedChildren[0]?.text ?? '?',
      role: /roleDefinitions', roles\.(\w+)\)/.exec(n.text)?.[1] ?? '?',
      scope: /\n\s*scope: ([^\n]+)/.exec(n.text)?.[1]?.trim() ?? '?',
    }));
}

async function terraformGrants(file: string): Promise<Grant[]> {
  const json = (await parseHcl(file, readFileSync(path(file), 'utf8'))) as {
    resource?: {
      azurerm_role_assignment?: Record<string, { role_definition_name?: string; scope: string }[]>;
    };
  };
  return Object.entries(json.resource?.azurerm_role_assignment ?? {}).map(([name, [r]]) => ({
    name,
    role: r?.role_definition_name ?? '?',
    scope: r?.scope ?? '?',
  }));
}

describe("the Function App's Key Vault grants", () => {
  it('Bicep: read on the vault, write on funclet-kubeconfig alone', () => {
    const vault = bicepGrants('infra/bicep/modules/appAccess.bicep').filter((g) => /keyVault/.test(g.role));
    assert.deepEqual(
      vault
        .filter((g) => g.name !== 'secretsOfficer')
        .map((g) => [g.role, g.scope])
        .sort(),
      [
        ['keyVaultSecretsOfficer', 'kubeconfigSecret'],
        ['keyVaultSecretsUser', 'vault'],
      ],
    );
    const text = readFileSync(path('infra/bicep/modules/appAccess.bicep'), 'utf8');
    assert.match(
      text,
      /resource kubeconfigSecret '[^']+' existing = \{\s*parent: vault\s*name: 'funclet-kubeconfig'/,
    );
  });

  it('Terraform: the same grants', async () => {
    const grants = (await terraformGrants('infra/terraform/access.tf')).filter(
      (g) => /Key Vault/.test(g.role) && g.name !== 'secrets_officer',
    );
    assert.deepEqual(grants.map((g) => [g.role, g.scope]).sort(), [
      ['Key Vault Secrets Officer', '${azurerm_key_vault_secret.kubeconfig.resource_versionless_id}'],
      ['Key Vault Secrets User', '${azurerm_key_vault.funclet.id}'],
    ]);
  });
});

describe("the Function App's storage grants", () => {
  it('Bicep: blob rights on the host containers and the deployment container, never on the account', () => {
    const grants = bicepGrants('infra/bicep/modules/appAccess.bicep');
    const blobs = grants.filter((g) => /storageBlob/.test(g.role));
    assert.ok(blobs.length > 0, 'blob grants are found');
    assert.deepEqual(
      blobs.filter((g) => g.scope === 'storage'),
      [],
      'no blob role on the storage account',
    );
    assert.deepEqual(blobs.map((g) => [g.role, g.scope]).sort(), [
      ['storageBlobDataContributor', 'deploymentContainer'],
      ['storageBlobDataOwner', 'hostContainers[i]'],
    ]);
  });

  it('Terraform: the same grants', async () => {
    const grants = await terraformGrants('infra/terraform/access.tf');
    const blobs = grants.filter((g) => /Storage Blob/.test(g.role));
    assert.ok(blobs.length > 0, 'blob grants are found');
    assert.deepEqual(
      blobs.filter((g) => g.scope.includes('azurerm_storage_account.funclet.id')),
      [],
      'no blob role on the storage account',
    );
    assert.deepEqual(blobs.map((g) => [g.role, g.scope]).sort(), [
      ['Storage Blob Data Contributor', '${azurerm_storage_container.deployment.id}'],
      ['Storage Blob Data Owner', '${each.value.id}'],
    ]);
  });
});
