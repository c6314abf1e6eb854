// The one storage account of a Funclet deployment: the Functions host's own blobs (keys, timer
// locks), the Flex Consumption deployment package container, and Funclet's tables (one record
// per pod, per node). The host's containers are created here, so that the app's blob roles are
// granted per container (appAccess.bicep). Shared keys are off: every client, the host included,
// authenticates with the app's managed identity.

param name string
param location string
param tags object

@description('Blob container the Flex Consumption plan deploys the app package from.')
param deploymentContainerName string

@description('Prefix of Funclet\'s table names (FUNCLET_TABLE_PREFIX).')
param tablePrefix string

@description('Replication: ZRS keeps the state through a zone outage where the region has zones.')
@allowed(['Standard_LRS', 'Standard_ZRS', 'Standard_GRS', 'Standard_GZRS'])
param skuName string

// The containers the Functions host keeps its state in: timer schedules and singleton locks
// (azure-webjobs-hosts) and function keys (azure-webjobs-secrets). Created here rather than by the
// host, so the app needs no right to create containers.
var hostContainerNames = ['azure-webjobs-hosts', 'azure-webjobs-secrets']

// The tables core/state/tables.ts opens (pods, nodes). The app creates them on first use anyway;
// creating them here makes a deployment's state visible before the first invocation.
var tableSuffixes = ['pods', 'nodes']

resource storage 'Microsoft.Storage/storageAccounts@2023-05-01' = {
  // checkov:skip=CKV_AZURE_35: Flex Consumption without VNet integration reaches its host and deployment storage over the public endpoint; shared keys are off, so access is by Entra ID and RBAC only.
  // checkov:skip=CKV_AZURE_59: as CKV_AZURE_35; blob public access is off (allowBlobPublicAccess: false).
  // checkov:skip=CKV_AZURE_206: zone-redundant (ZRS) by default; geo-replication is not needed because the tables are repairable state: podResync rebuilds records from the API server and the provider's tags.
  name: name
  location: location
  tags: tags
  kind: 'StorageV2'
  sku: {
    name: skuName
  }
  properties: {
    accessTier: 'Hot'
    minimumTlsVersion: 'TLS1_2'
    supportsHttpsTrafficOnly: true
    allowBlobPublicAccess: false
    allowSharedKeyAccess: false
    defaultToOAuthAuthentication: true
    allowCrossTenantReplication: false
    isLocalUserEnabled: false
    isSftpEnabled: false
    // Flex Consumption without VNet integration reaches its storage over the public endpoint;
    // access is by Entra ID only (shared keys off). See docs/deploy-aks.md for the private variant.
    publicNetworkAccess: 'Enabled'
    networkAcls: {
      defaultAction: 'Allow'
      bypass: 'AzureServices'
    }
    encryption: {
      keySource: 'Microsoft.Storage'
      requireInfrastructureEncryption: true
      services: {
        blob: {
          enabled: true
          keyType: 'Account'
        }
        file: {
          enabled: true
          keyType: 'Account'
        }
        table: {
          enabled: true
          keyType: 'Account'
        }
        queue: {
          enabled: true
          keyType: 'Account'
        }
      }
    }
  }
}

resource blobService 'Microsoft.Storage/storageAccounts/blobServices@2023-05-01' = {
  parent: storage
  name: 'default'
  properties: {
    // A replaced app package keeps its previous version (the app's identity may write it).
    isVersioningEnabled: true
    deleteRetentionPolicy: {
      enabled: true
      days: 7
    }
    containerDeleteRetentionPolicy: {
      enabled: true
      days: 7
    }
  }
}

resource deploymentContainer 'Microsoft.Storage/storageAccounts/blobServices/containers@2023-05-01' = {
  parent: blobService
  name: deploymentContainerName
  properties: {
    publicAccess: 'None'
  }
}

resource hostContainers 'Microsoft.Storage/storageAccounts/blobServices/containers@2023-05-01' = [
  for containerName in hostContainerNames: {
    parent: blobService
    name: containerName
    properties: {
      publicAccess: 'None'
    }
  }
]

resource tableService 'Microsoft.Storage/storageAccounts/tableServices@2023-05-01' = {
  parent: storage
  name: 'default'
}

resource tables 'Microsoft.Storage/storageAccounts/tableServices/tables@2023-05-01' = [
  for suffix in tableSuffixes: {
    parent: tableService
    name: '${tablePrefix}${suffix}'
  }
]

output name string = storage.name
output id string = storage.id
output blobEndpoint string = storage.properties.primaryEndpoints.blob
output tableEndpoint string = storage.properties.primaryEndpoints.table
output deploymentContainerName string = deploymentContainer.name
output hostContainerNames array = [for (n, i) in hostContainerNames: hostContainers[i].name]
output deploymentContainerUrl string = '${storage.properties.primaryEndpoints.blob}${deploymentContainer.name}'
