// The Function App on the Flex Consumption plan: Node 22 on Linux, deployed from a blob container
// it reads with its own system-assigned identity. An idle Flex app costs nothing but its
// executions; Funclet's timers (10 s lease, 60 s status and resync) are its only steady load.

param name string
param location string
param tags object

@description('Blob container URL the deployment package is read from (storage.bicep).')
param deploymentContainerUrl string

@description('App settings, as [{ name, value }] (main.bicep assembles and documents them).')
param appSettings array

@description('Upper bound of instances. Timers are singletons; only podEvents fans out.')
@minValue(40)
@maxValue(1000)
param maximumInstanceCount int

@allowed([512, 2048, 4096])
param instanceMemoryMB int

resource plan 'Microsoft.Web/serverfarms@2024-04-01' = {
  // checkov:skip=CKV_AZURE_225: Flex Consumption places instances itself and zone redundancy is not offered in every Flex region; the virtual nodes tolerate a lost instance (the next timer tick runs on another).
  name: '${name}-plan'
  location: location
  tags: tags
  kind: 'functionapp'
  sku: {
    name: 'FC1'
    tier: 'FlexConsumption'
  }
  properties: {
    reserved: true // Linux
  }
}

resource site 'Microsoft.Web/sites@2024-04-01' = {
  // checkov:skip=CKV_AZURE_78: Flex Consumption has no FTP endpoint and rejects siteConfig.ftpsState ("invalid for Flex Consumption sites"), so the property this check reads cannot be set.
  // checkov:skip=CKV_AZURE_222: the relay in the cluster (AKS or EKS, anywhere) must reach podEvents; every request needs the function key and a valid HMAC signature.
  // checkov:skip=CKV_AZURE_17: the relay authenticates with the function key and an HMAC signature over the body; client certificates would add a second secret to distribute and rotate.
  // checkov:skip=CKV_AZURE_212: Flex Consumption scales from zero; timers and HTTP requests start instances on demand, so a minimum instance count buys nothing.
  // checkov:skip=CKV_AZURE_213: no HTTP health endpoint to probe: the app is timers and one webhook, and the host manages instance health on Flex Consumption.
  name: name
  location: location
  tags: tags
  kind: 'functionapp,linux'
  identity: {
    type: 'SystemAssigned'
  }
  properties: {
    serverFarmId: plan.id
    httpsOnly: true
    clientCertEnabled: false
    publicNetworkAccess: 'Enabled' // the relay in the cluster POSTs to podEvents
    keyVaultReferenceIdentity: 'SystemAssigned'
    siteConfig: {
      minTlsVersion: '1.2'
      scmMinTlsVersion: '1.2'
      // No ftpsState: Flex Consumption rejects it (there is no FTP on Flex at all).
      http20Enabled: true
      appSettings: appSettings
    }
    functionAppConfig: {
      deployment: {
        storage: {
          type: 'blobContainer'
          value: deploymentContainerUrl
          authentication: {
            type: 'SystemAssignedIdentity'
          }
        }
      }
      scaleAndConcurrency: {
        maximumInstanceCount: maximumInstanceCount
        instanceMemoryMB: instanceMemoryMB
      }
      runtime: {
        name: 'node'
        version: '22'
      }
    }
  }
}

// Deployments go through Entra ID (az / func with the deployer's login), never basic auth.
resource scmCredentials 'Microsoft.Web/sites/basicPublishingCredentialsPolicies@2024-04-01' = {
  parent: site
  name: 'scm'
  properties: {
    allow: false
  }
}

output name string = site.name
output id string = site.id
output principalId string = site.identity.principalId
output defaultHostName string = site.properties.defaultHostName
