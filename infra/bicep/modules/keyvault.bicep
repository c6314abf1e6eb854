// The vault holding Funclet's secrets. The Function App reads them through Key Vault references
// (`@Microsoft.KeyVault(SecretUri=...)`) with its managed identity and the Key Vault Secrets
// User role; nobody reads them through access policies (RBAC authorization only).
//
// funclet-kubeconfig holds the nodes' credentials that `funclet attach` writes, and that the
// nodes renew and write back themselves. It is created here empty, once: a deployment finding it
// there keeps its value (so redeploying never resets renewed certificates), and the app's write
// grant is scoped to it (appAccess.bicep). Until attach writes it, every function fails naming
// FUNCLET_KUBECONFIG.

param name string
param location string
param tags object

@secure()
@minLength(32)
param webhookSecret string

@secure()
param kubeconfig string

@secure()
param awsAccessKeyId string

@secure()
param awsSecretAccessKey string

resource vault 'Microsoft.KeyVault/vaults@2023-07-01' = {
  // checkov:skip=CKV_AZURE_109: Key Vault references of an app without VNet integration resolve over the public endpoint, which a deny-by-default firewall blocks (App Service is not a trusted service); access is RBAC-only.
  // checkov:skip=CKV_AZURE_189: as CKV_AZURE_109: public network access stays on for Key Vault references; private endpoints need the app's VNet integration (docs/deploy-aks.md).
  name: name
  location: location
  tags: tags
  properties: {
    tenantId: subscription().tenantId
    sku: {
      family: 'A'
      name: 'standard'
    }
    enableRbacAuthorization: true
    enableSoftDelete: true
    softDeleteRetentionInDays: 90
    enablePurgeProtection: true
    // Key Vault references of an app without VNet integration resolve over the public endpoint,
    // and App Service is not a "trusted service" that a deny-by-default firewall lets through.
    publicNetworkAccess: 'Enabled'
    networkAcls: {
      defaultAction: 'Allow'
      bypass: 'AzureServices'
    }
  }
}

resource webhookSecretValue 'Microsoft.KeyVault/vaults/secrets@2023-07-01' = {
  parent: vault
  // checkov:skip=CKV_AZURE_41: an expiry would switch podEvents off at a date unrelated to the secret's strength; it is rotated with the relay's Secret (docs/deploy-aks.md).
  name: 'funclet-webhook-secret'
  properties: {
    value: webhookSecret
    contentType: 'text/plain'
  }
}

@description('True when the vault already holds funclet-kubeconfig (main.bicep passes it on redeploys): it is then left as it is.')
param kubeconfigExists bool

resource kubeconfigValue 'Microsoft.KeyVault/vaults/secrets@2023-07-01' = if (!kubeconfigExists) {
  parent: vault
  // checkov:skip=CKV_AZURE_41: the credentials inside have their own lifetimes and are renewed by the functions; a vault expiry would stop every virtual node at an unrelated date.
  // checkov:skip=CKV_AZURE_114: false positive: contentType is set below; checkov does not read the properties of a conditional (if) resource.
  name: 'funclet-kubeconfig'
  properties: {
    value: empty(kubeconfig) ? '{}' : kubeconfig
    contentType: 'application/json'
  }
}

resource awsAccessKeyIdValue 'Microsoft.KeyVault/vaults/secrets@2023-07-01' = if (!empty(awsAccessKeyId)) {
  parent: vault
  // checkov:skip=CKV_AZURE_41: the IAM access key's rotation is AWS-side (docs/deploy-eks.md); a vault expiry would stop the ECS nodes at an unrelated date.
  // checkov:skip=CKV_AZURE_114: false positive: contentType is set below; checkov does not read the properties of a conditional (if) resource.
  name: 'funclet-aws-access-key-id'
  properties: {
    value: awsAccessKeyId
    contentType: 'text/plain'
  }
}

resource awsSecretAccessKeyValue 'Microsoft.KeyVault/vaults/secrets@2023-07-01' = if (!empty(awsSecretAccessKey)) {
  parent: vault
  // checkov:skip=CKV_AZURE_41: the IAM access key's rotation is AWS-side (docs/deploy-eks.md); a vault expiry would stop the ECS nodes at an unrelated date.
  // checkov:skip=CKV_AZURE_114: false positive: contentType is set below; checkov does not read the properties of a conditional (if) resource.
  name: 'funclet-aws-secret-access-key'
  properties: {
    value: awsSecretAccessKey
    contentType: 'text/plain'
  }
}

output name string = vault.name
output id string = vault.id
output uri string = vault.properties.vaultUri
