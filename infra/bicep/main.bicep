// Funclet in Azure: a Function App on the Flex Consumption plan, its storage (Funclet's tables,
// the host's blobs, the deployment package), Application Insights on Log Analytics, a Key Vault
// for the kubeconfig and webhook secret, and the least-privilege roles of the app's
// system-assigned identity. Pods of ACI nodes run in a resource group of their own.
//
//   az deployment sub create --location westeurope \
//     --template-file infra/bicep/main.bicep \
//     --parameters infra/bicep/examples/aci.parameters.json \
//     --parameters webhookSecret="$(openssl rand -hex 32)"
//
// Step by step, with the cluster side (`funclet attach`): docs/deploy-aks.md, docs/deploy-eks.md.
targetScope = 'subscription'

@description('Region of the Function App, its storage, vault and monitoring.')
param location string

@description('Prefix of every resource name: 3-11 lowercase letters and digits, starting with a letter (what storage account and Key Vault names allow).')
@minLength(3)
@maxLength(11)
param namePrefix string = 'funclet'

@description('Resource group of the Function App, storage, vault and monitoring (created).')
param appResourceGroupName string = '${namePrefix}-rg'

@description('Resource group of the pods\' container groups (created when a node uses ACI). Funclet\'s alone: the app may delete anything in it.')
param aciResourceGroupName string = '${namePrefix}-aci-rg'

@description('Names the cluster in provider tags (FUNCLET_CLUSTER_NAME), so two clusters sharing a subscription or AWS account stay apart.')
@minLength(1)
param clusterName string

@description('The virtual nodes (FUNCLET_NODES): [{ name, provider: aci|ecs|mock, os?, labels?, taints?, capacity? }].')
@minLength(1)
param nodes array

@description('HMAC secret shared by podEvents and the relay (FUNCLET_WEBHOOK_SECRET); at least 32 characters, e.g. `openssl rand -hex 32`.')
@secure()
@minLength(32)
param webhookSecret string

@description('FUNCLET_KUBECONFIG for the first deployment; usually left empty: `funclet attach --key-vault-secret` writes it to the vault, and the nodes renew it there.')
@secure()
param kubeconfig string = ''

@description('Set on every deployment after the first: the vault\'s funclet-kubeconfig is then left as it is (it holds renewed certificates).')
param kubeconfigExists bool = false

@description('Region the container groups run in (FUNCLET_ACI_REGION).')
param aciRegion string = location

@description('Delegated subnet for the container groups (FUNCLET_ACI_SUBNET_ID); empty for public IPs.')
param aciSubnetId string = ''

@description('ECS cluster name (FUNCLET_ECS_CLUSTER), from infra/terraform/modules/aws-ecs. Needed when a node uses ECS.')
param ecsCluster string = ''

@description('AWS region of the ECS cluster (FUNCLET_ECS_REGION).')
param ecsRegion string = ''

@description('Subnet ids the Fargate tasks run in (FUNCLET_ECS_SUBNETS).')
param ecsSubnets array = []

@description('Security group ids of the tasks (FUNCLET_ECS_SECURITY_GROUPS).')
param ecsSecurityGroups array = []

@description('Give tasks a public IP (FUNCLET_ECS_ASSIGN_PUBLIC_IP): needed in public subnets without a NAT gateway to pull images.')
param ecsAssignPublicIp bool = false

@description('Task execution role ARN (FUNCLET_ECS_EXECUTION_ROLE_ARN).')
param ecsExecutionRoleArn string = ''

@description('Default task role ARN (FUNCLET_ECS_TASK_ROLE_ARN); empty for none.')
param ecsTaskRoleArn string = ''

@description('Task roles by the pod\'s ServiceAccount (FUNCLET_ECS_TASK_ROLES): keys "namespace/serviceaccount" or "namespace", values role ARNs.')
param ecsTaskRoles object = {}

@description('CloudWatch log group of the tasks (FUNCLET_ECS_LOG_GROUP).')
param ecsLogGroup string = ''

@description('Access key of the IAM user modules/aws-ecs creates. Stored in the vault; may instead be set there later.')
@secure()
param awsAccessKeyId string = ''

@description('Its secret access key. Stored in the vault; may instead be set there later.')
@secure()
param awsSecretAccessKey string = ''

@description('Prefix of Funclet\'s table names (FUNCLET_TABLE_PREFIX).')
param tablePrefix string = 'funclet'

@allowed(['Standard_LRS', 'Standard_ZRS', 'Standard_GRS', 'Standard_GZRS'])
param storageSku string = 'Standard_ZRS'

@minValue(30)
@maxValue(730)
param logRetentionDays int = 90

@minValue(40)
@maxValue(1000)
param maximumInstanceCount int = 40

@allowed([512, 2048, 4096])
param instanceMemoryMB int = 2048

@description('Grant Storage Queue Data Contributor too; Funclet\'s HTTP and timer triggers do not need it.')
param grantQueueAccess bool = false

@description('Object id of the operator (user or group) who stores the kubeconfig in the vault after `funclet attach`; empty to manage vault access yourself.')
param secretsOfficerPrincipalId string = ''

@allowed(['User', 'Group', 'ServicePrincipal'])
param secretsOfficerPrincipalType string = 'User'

param tags object = {}

// A node without a provider is a mock node (core/config.ts).
var providers = [for node in nodes: node.?provider ?? 'mock']
var usesAci = contains(providers, 'aci')
var usesEcs = contains(providers, 'ecs')

// Bicep has no pattern decorator, so namePrefix is checked here: when it would make an invalid
// storage account or vault name, the resource groups are given this sentence as their name,
// which ARM refuses (it has spaces) before it creates anything, naming the parameter.
var lowercaseLetters = 'abcdefghijklmnopqrstuvwxyz'
var namePrefixCharacters = [for i in range(0, length(namePrefix)): contains('${lowercaseLetters}0123456789', substring(namePrefix, i, 1))]
var namePrefixIsValid = contains(lowercaseLetters, first(namePrefix)) && !contains(namePrefixCharacters, false)
var namePrefixProblem = 'namePrefix ${namePrefix} is not 3-11 lowercase letters and digits starting with a letter'

var suffix = uniqueString(subscription().id, appResourceGroupName, namePrefix)
var appName = '${namePrefix}-${suffix}'
var storageAccountName = take('${namePrefix}${suffix}', 24)
var vaultName = take('${namePrefix}-kv-${suffix}', 24)
var allTags = union(tags, { 'funclet-cluster': clusterName })

// Versionless secret URIs: the app picks up a new secret version on restart (or within 24 h).
var vaultUri = 'https://${vaultName}${environment().suffixes.keyvaultDns}'

// Settings every deployment needs. loadConfig (core/config.ts) requires FUNCLET_NODES,
// FUNCLET_KUBECONFIG and a table account; FUNCLET_WEBHOOK_SECRET switches podEvents on. Tables
// are reached with the managed identity: FUNCLET_TABLE_ACCOUNT_URL, not a connection string.
var coreSettings = [
  { name: 'AzureWebJobsStorage__accountName', value: storageAccountName }
  { name: 'AzureWebJobsStorage__credential', value: 'managedidentity' }
  { name: 'APPLICATIONINSIGHTS_CONNECTION_STRING', value: monitoring.outputs.connectionString }
  { name: 'APPLICATIONINSIGHTS_AUTHENTICATION_STRING', value: 'Authorization=AAD' }
  { name: 'FUNCLET_NODES', value: string(nodes) }
  { name: 'FUNCLET_CLUSTER_NAME', value: clusterName }
  { name: 'FUNCLET_KUBECONFIG', value: '@Microsoft.KeyVault(SecretUri=${vaultUri}/secrets/funclet-kubeconfig)' }
  { name: 'FUNCLET_KUBECONFIG_SECRET_URI', value: '${vaultUri}/secrets/funclet-kubeconfig' }
  { name: 'FUNCLET_WEBHOOK_SECRET', value: '@Microsoft.KeyVault(SecretUri=${vaultUri}/secrets/funclet-webhook-secret)' }
  { name: 'FUNCLET_TABLE_ACCOUNT_URL', value: 'https://${storageAccountName}.table.${environment().suffixes.storage}' }
  { name: 'FUNCLET_TABLE_PREFIX', value: tablePrefix }
]

// Required by loadConfig when any node's provider is aci.
var aciSettings = [
  { name: 'FUNCLET_ACI_SUBSCRIPTION_ID', value: subscription().subscriptionId }
  { name: 'FUNCLET_ACI_RESOURCE_GROUP', value: aciResourceGroupName }
  { name: 'FUNCLET_ACI_REGION', value: aciRegion }
  { name: 'FUNCLET_ACI_SUBNET_ID', value: aciSubnetId }
]

// Required by loadConfig when any node's provider is ecs (cluster, region, at least one
// subnet). The AWS SDK's default chain reads the IAM user's key from the two AWS_ settings.
var ecsSettings = [
  { name: 'FUNCLET_ECS_CLUSTER', value: ecsCluster }
  { name: 'FUNCLET_ECS_REGION', value: ecsRegion }
  { name: 'FUNCLET_ECS_SUBNETS', value: join(ecsSubnets, ',') }
  { name: 'FUNCLET_ECS_SECURITY_GROUPS', value: join(ecsSecurityGroups, ',') }
  { name: 'FUNCLET_ECS_ASSIGN_PUBLIC_IP', value: ecsAssignPublicIp ? 'true' : 'false' }
  { name: 'FUNCLET_ECS_EXECUTION_ROLE_ARN', value: ecsExecutionRoleArn }
  { name: 'FUNCLET_ECS_TASK_ROLE_ARN', value: ecsTaskRoleArn }
  { name: 'FUNCLET_ECS_TASK_ROLES', value: string(ecsTaskRoles) }
  { name: 'FUNCLET_ECS_LOG_GROUP', value: ecsLogGroup }
  { name: 'AWS_ACCESS_KEY_ID', value: '@Microsoft.KeyVault(SecretUri=${vaultUri}/secrets/funclet-aws-access-key-id)' }
  { name: 'AWS_SECRET_ACCESS_KEY', value: '@Microsoft.KeyVault(SecretUri=${vaultUri}/secrets/funclet-aws-secret-access-key)' }
]

// Custom role ids (GUIDs) exactly as aciRoles.bicep derives them, and the subnet-join role's,
// which subnetJoinRole.bicep is given: reading them from the conditional modules' outputs would
// make every use of them conditional too.
var aciContainerGroupsRoleName = guid(subscription().id, appName, 'funclet-aci-container-groups')
var aciUsageRoleName = guid(subscription().id, appName, 'funclet-aci-usage')
var aciSubnetJoinRoleName = guid(subscription().id, appName, 'funclet-aci-subnet-join')
var aciContainerGroupsRoleId = subscriptionResourceId('Microsoft.Authorization/roleDefinitions', aciContainerGroupsRoleName)
var aciUsageRoleId = subscriptionResourceId('Microsoft.Authorization/roleDefinitions', aciUsageRoleName)
// The subnet's subscription and resource group ([2], [4]); a placeholder keeps the unused scope
// expressions valid when there is no subnet. The subnet-join role lives in the subnet's
// subscription (subnetJoinRole.bicep), which may be another than the app's.
var subnetParts = split(empty(aciSubnetId) ? '${subscription().id}/resourceGroups/${aciResourceGroupName}' : aciSubnetId, '/')
var aciSubnetJoinRoleId = subscriptionResourceId(subnetParts[2], 'Microsoft.Authorization/roleDefinitions', aciSubnetJoinRoleName)

var appSettings = concat(coreSettings, usesAci ? aciSettings : [], usesEcs ? ecsSettings : [])

resource appRg 'Microsoft.Resources/resourceGroups@2024-03-01' = {
  name: namePrefixIsValid ? appResourceGroupName : namePrefixProblem
  location: location
  tags: allTags
}

resource aciRg 'Microsoft.Resources/resourceGroups@2024-03-01' = if (usesAci) {
  name: namePrefixIsValid ? aciResourceGroupName : namePrefixProblem
  location: aciRegion
  tags: allTags
}

module monitoring 'modules/monitoring.bicep' = {
  scope: appRg
  name: 'funclet-monitoring'
  params: {
    namePrefix: namePrefix
    location: location
    tags: allTags
    retentionInDays: logRetentionDays
  }
}

module storage 'modules/storage.bicep' = {
  scope: appRg
  name: 'funclet-storage'
  params: {
    name: storageAccountName
    location: location
    tags: allTags
    deploymentContainerName: 'app-package'
    tablePrefix: tablePrefix
    skuName: storageSku
  }
}

module vault 'modules/keyvault.bicep' = {
  scope: appRg
  name: 'funclet-keyvault'
  params: {
    name: vaultName
    location: location
    tags: allTags
    webhookSecret: webhookSecret
    kubeconfig: kubeconfig
    kubeconfigExists: kubeconfigExists
    awsAccessKeyId: awsAccessKeyId
    awsSecretAccessKey: awsSecretAccessKey
  }
}

module app 'modules/functionapp.bicep' = {
  scope: appRg
  name: 'funclet-functionapp'
  params: {
    name: appName
    location: location
    tags: allTags
    deploymentContainerUrl: storage.outputs.deploymentContainerUrl
    appSettings: appSettings
    maximumInstanceCount: maximumInstanceCount
    instanceMemoryMB: instanceMemoryMB
  }
  dependsOn: [vault]
}

module appAccess 'modules/appAccess.bicep' = {
  scope: appRg
  name: 'funclet-app-access'
  params: {
    principalId: app.outputs.principalId
    storageAccountName: storage.outputs.name
    deploymentContainerName: storage.outputs.deploymentContainerName
    hostContainerNames: storage.outputs.hostContainerNames
    vaultName: vault.outputs.name
    appInsightsName: monitoring.outputs.appInsightsName
    grantQueueAccess: grantQueueAccess
    secretsOfficerPrincipalId: secretsOfficerPrincipalId
    secretsOfficerPrincipalType: secretsOfficerPrincipalType
  }
}

module aciRoles 'modules/aciRoles.bicep' = if (usesAci) {
  name: 'funclet-aci-roles'
  params: {
    appName: appName
    aciResourceGroupName: aciResourceGroupName
    principalId: app.outputs.principalId
  }
  dependsOn: [aciRg]
}

module aciSubnetJoinRole 'modules/subnetJoinRole.bicep' = if (usesAci && !empty(aciSubnetId)) {
  scope: subscription(subnetParts[2])
  name: 'funclet-aci-subnet-join-role'
  params: {
    roleGuid: aciSubnetJoinRoleName
    appName: appName
    subnetResourceGroupName: subnetParts[4]
  }
}

module aciGroupAccess 'modules/aciGroupAccess.bicep' = if (usesAci) {
  scope: resourceGroup(aciResourceGroupName)
  name: 'funclet-aci-group-access'
  params: {
    principalId: app.outputs.principalId
    roleDefinitionId: aciContainerGroupsRoleId
  }
  dependsOn: [aciRg, aciRoles]
}

module aciSubnetJoin 'modules/subnetJoin.bicep' = if (usesAci && !empty(aciSubnetId)) {
  scope: resourceGroup(subnetParts[2], subnetParts[4])
  name: 'funclet-aci-subnet-join'
  params: {
    subnetId: aciSubnetId
    principalId: app.outputs.principalId
    roleDefinitionId: aciSubnetJoinRoleId
  }
  dependsOn: [aciSubnetJoinRole]
}

output functionAppName string = app.outputs.name
output resourceGroupName string = appRg.name
output keyVaultName string = vault.outputs.name
output storageAccountName string = storage.outputs.name
output appInsightsName string = monitoring.outputs.appInsightsName
output principalId string = app.outputs.principalId

@description('The relay\'s FUNCLET_WEBHOOK_URL without its key: podEvents has authLevel function, so append ?code=<key> (podEventsKeyCommand prints the key once the code is published).')
output podEventsUrl string = 'https://${app.outputs.defaultHostName}/api/podEvents'

@description('Prints podEvents\' function key. Keys exist once the app\'s code is published.')
output podEventsKeyCommand string = 'az functionapp function keys list --resource-group ${appRg.name} --name ${app.outputs.name} --function-name podEvents --query default --output tsv'

@description('The custom roles this deployment defines. Removing it deletes their assignments first (ACI usage is granted at the subscription and a subnet join in the network\'s resource group, so both outlive the resource groups), then the roles: docs/deploy-aks.md, "Removing it".')
output customRoleIds array = usesAci ? concat([aciContainerGroupsRoleId, aciUsageRoleId], empty(aciSubnetId) ? [] : [aciSubnetJoinRoleId]) : []
