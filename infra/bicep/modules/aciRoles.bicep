// Custom roles for the ACI provider, narrower than Contributor (which could also rewrite the
// Function App, read storage keys, and so on):
// - container groups: exactly the ARM calls core/providers/aci makes (get, create or update,
//   delete, list, container logs), assignable only to the one resource group that holds
//   Funclet's container groups;
// - ACI usage: the subscription-level quota read behind node capacity and the node's Ready
//   condition (provider health). Without it every virtual node reports NotReady;
// The subnet-join role, for pods in a delegated subnet, is defined where the subnet is
// (subnetJoinRole.bicep), which may be another subscription.
targetScope = 'subscription'

@description('The Function App the roles are for. Role names are unique in the tenant, so each carries it: a second deployment, in this subscription or another, or with Terraform beside Bicep, names its roles apart.')
param appName string
param aciResourceGroupName string
param principalId string

var aciResourceGroupId = '${subscription().id}/resourceGroups/${aciResourceGroupName}'

resource containerGroupsRole 'Microsoft.Authorization/roleDefinitions@2022-04-01' = {
  name: guid(subscription().id, appName, 'funclet-aci-container-groups')
  properties: {
    roleName: 'Funclet ACI container groups (${appName})'
    description: 'Create, read, list, delete container groups and read their logs in one resource group.'
    type: 'CustomRole'
    assignableScopes: [aciResourceGroupId]
    permissions: [
      {
        actions: [
          'Microsoft.ContainerInstance/containerGroups/read'
          'Microsoft.ContainerInstance/containerGroups/write'
          'Microsoft.ContainerInstance/containerGroups/delete'
          'Microsoft.ContainerInstance/containerGroups/containers/logs/read'
        ]
        notActions: []
      }
    ]
  }
}

resource usageRole 'Microsoft.Authorization/roleDefinitions@2022-04-01' = {
  name: guid(subscription().id, appName, 'funclet-aci-usage')
  properties: {
    roleName: 'Funclet ACI usage reader (${appName})'
    description: 'Read Azure Container Instances quota usage per region.'
    type: 'CustomRole'
    assignableScopes: [subscription().id]
    permissions: [
      {
        actions: ['Microsoft.ContainerInstance/locations/usages/read']
        notActions: []
      }
    ]
  }
}

resource usageAssignment 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(subscription().id, principalId, usageRole.id)
  properties: {
    principalId: principalId
    principalType: 'ServicePrincipal'
    roleDefinitionId: usageRole.id
  }
}

output containerGroupsRoleId string = containerGroupsRole.id
