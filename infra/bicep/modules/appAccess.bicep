// What the Function App's identity may do inside its own resource group, and nothing more:
// - Storage Table Data Contributor: Funclet's state (FUNCLET_TABLE_ACCOUNT_URL).
// - Storage Blob Data Owner on the host's two containers only (AzureWebJobsStorage: keys, timer
//   schedule and singleton locks; storage.bicep creates them), never on the account.
// - Storage Blob Data Contributor on the deployment container only: Flex Consumption uploads and
//   reads the app package with the app's identity, so this is the one grant that cannot be
//   narrowed further: code running as the app can replace its own package. Nothing else in the
//   account is writable to it (blob versioning and soft delete keep the previous package).
// - Storage Queue Data Contributor: only when grantQueueAccess is set. Funclet has no queue
//   triggers and the host does not need queues for HTTP and timer triggers.
// - Key Vault Secrets User on the vault: resolves the Key Vault references.
// - Key Vault Secrets Officer on funclet-kubeconfig only: the nodes write their renewed
//   certificates back there (core/node/credentialRenewal.ts), and may write no other secret.
// - Monitoring Metrics Publisher on Application Insights: identity-based telemetry ingestion.
// Optionally, an operator principal gets Key Vault Secrets Officer, so that `funclet attach
// --key-vault-secret` can write the nodes' kubeconfig.

param principalId string
param storageAccountName string
param deploymentContainerName string
param hostContainerNames array
param vaultName string
param appInsightsName string
param grantQueueAccess bool

@description('Object id of a user or group allowed to write the vault\'s secrets; empty for none.')
param secretsOfficerPrincipalId string

@allowed(['User', 'Group', 'ServicePrincipal'])
param secretsOfficerPrincipalType string

var roles = {
  storageTableDataContributor: '0a9a7e1f-b9d0-4cc4-a60d-0319b160aaa3'
  storageBlobDataOwner: 'b7e6dc6d-f1e8-4753-8033-0f276bb0955b'
  storageBlobDataContributor: 'ba92f5b4-2d11-453d-a403-e96b0029c9fe'
  storageQueueDataContributor: '974c5e8b-45b9-4653-ba55-5f855dd0fb88'
  keyVaultSecretsUser: '4633458b-17de-408a-b874-0445c86b69e6'
  keyVaultSecretsOfficer: 'b86a8fe4-44ce-4948-aee5-eccb2c155cd7'
  monitoringMetricsPublisher: '3913510d-42f4-4e42-8a64-420c390055eb'
}

resource storage 'Microsoft.Storage/storageAccounts@2023-05-01' existing = {
  name: storageAccountName
}

resource hostContainers 'Microsoft.Storage/storageAccounts/blobServices/containers@2023-05-01' existing = [
  for containerName in hostContainerNames: {
    name: '${storageAccountName}/default/${containerName}'
  }
]

resource deploymentContainer 'Microsoft.Storage/storageAccounts/blobServices/containers@2023-05-01' existing = {
  name: '${storageAccountName}/default/${deploymentContainerName}'
}

resource vault 'Microsoft.KeyVault/vaults@2023-07-01' existing = {
  name: vaultName
}

resource kubeconfigSecret 'Microsoft.KeyVault/vaults/secrets@2023-07-01' existing = {
  parent: vault
  name: 'funclet-kubeconfig'
}

resource appInsights 'Microsoft.Insights/components@2020-02-02' existing = {
  name: appInsightsName
}

resource tables 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  scope: storage
  name: guid(storage.id, principalId, roles.storageTableDataContributor)
  properties: {
    principalId: principalId
    principalType: 'ServicePrincipal'
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roles.storageTableDataContributor)
  }
}

resource hostBlobs 'Microsoft.Authorization/roleAssignments@2022-04-01' = [
  for (containerName, i) in hostContainerNames: {
    scope: hostContainers[i]
    name: guid(hostContainers[i].id, principalId, roles.storageBlobDataOwner)
    properties: {
      principalId: principalId
      principalType: 'ServicePrincipal'
      roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roles.storageBlobDataOwner)
    }
  }
]

resource deploymentBlobs 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  scope: deploymentContainer
  name: guid(deploymentContainer.id, principalId, roles.storageBlobDataContributor)
  properties: {
    principalId: principalId
    principalType: 'ServicePrincipal'
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roles.storageBlobDataContributor)
  }
}

resource queues 'Microsoft.Authorization/roleAssignments@2022-04-01' = if (grantQueueAccess) {
  scope: storage
  name: guid(storage.id, principalId, roles.storageQueueDataContributor)
  properties: {
    principalId: principalId
    principalType: 'ServicePrincipal'
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roles.storageQueueDataContributor)
  }
}

resource secretsUser 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  scope: vault
  name: guid(vault.id, principalId, roles.keyVaultSecretsUser)
  properties: {
    principalId: principalId
    principalType: 'ServicePrincipal'
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roles.keyVaultSecretsUser)
  }
}

resource kubeconfigWriter 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  scope: kubeconfigSecret
  name: guid(kubeconfigSecret.id, principalId, roles.keyVaultSecretsOfficer)
  properties: {
    principalId: principalId
    principalType: 'ServicePrincipal'
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roles.keyVaultSecretsOfficer)
  }
}

resource telemetry 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  scope: appInsights
  name: guid(appInsights.id, principalId, roles.monitoringMetricsPublisher)
  properties: {
    principalId: principalId
    principalType: 'ServicePrincipal'
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roles.monitoringMetricsPublisher)
  }
}

resource secretsOfficer 'Microsoft.Authorization/roleAssignments@2022-04-01' = if (!empty(secretsOfficerPrincipalId)) {
  scope: vault
  name: guid(vault.id, secretsOfficerPrincipalId, roles.keyVaultSecretsOfficer)
  properties: {
    principalId: secretsOfficerPrincipalId
    principalType: secretsOfficerPrincipalType
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roles.keyVaultSecretsOfficer)
  }
}
