// Custom roles for the ACI provider, narrower than Contributor (which could also rewrite the
// Function App, read storage keys, and so on):
// - container groups: exactly the ARM calls core/providers/aci makes (get, create or update,
//   delete, list, container logs), assignable only to the one resource group that holds
//   Funclet's container groups;
// - ACI usage: the subscription-level quota read behind node capacity and the node's Ready
//   condition (provider health). Without it every virtual node reports NotReady;
// - subnet join: only when pods run in a delegated subnet (FUNCLET_ACI_SUBNET_ID).
targetScope = 'subscription'

@description('The Function App the roles are for. Role names are unique in the tenant, so each carries it: a second deployment, in this subscription or another, or with Terraform beside Bicep, names its roles apart.')
param appName string
param aciResourceGroupName string
param principalId string
param useSubnet bool

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

resource subnetJoinRole 'Microsoft.Authorization/roleDefinitions@2022-04-01' = if (useSubnet) {
  name: guid(subscription().id, appName, 'funclet-aci-subnet-join')
  properties: {
    roleName: 'Funclet ACI subnet join (${appName})'
    description: 'Place container groups in a delegated subnet.'
    type: 'CustomRole'
    assignableScopes: [subscription().id]
    permissions: [
      {
        actions: [
          'Microsoft.Network/virtualNetworks/subnets/read'
          'Microsoft.Network/virtualNetworks/subnets/join/action'
        ]
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
output subnetJoinRoleId string = useSubnet ? subnetJoinRole.id : ''
