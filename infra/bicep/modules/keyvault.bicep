// The vault holding Funclet's secrets. The Function App reads them through Key Vault references
// (`@Microsoft.KeyVault(SecretUri=...)`) with its managed identity and the Key Vault Secrets
// User role; nobody reads them through access policies (RBAC authorization only).
//
// funclet-kubeconfig holds the ServiceAccount kubeconfig that `funclet attach` prints. It is
// usually set after the first deployment (the cluster attach needs the app's webhook URL), so
// the secret is created here only when the kubeconfig parameter is given; until then the app
// setting resolves to nothing usable and every function fails naming FUNCLET_KUBECONFIG.

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

resource kubeconfigValue 'Microsoft.KeyVault/vaults/secrets@2023-07-01' = if (!empty(kubeconfig)) {
  parent: vault
  // checkov:skip=CKV_AZURE_41: the token inside has its own lifetime (funclet attach); a vault expiry would stop every virtual node at an unrelated date.
  // checkov:skip=CKV_AZURE_114: false positive: contentType is set below; checkov does not read the properties of a conditional (if) resource.
  name: 'funclet-kubeconfig'
  properties: {
    value: kubeconfig
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
