// Deployed into the resource group of the virtual network whose delegated subnet the container
// groups join (FUNCLET_ACI_SUBNET_ID): the join right is granted on that one subnet.

@description('Resource id of the delegated subnet (Microsoft.ContainerInstance/containerGroups).')
param subnetId string
param principalId string
param roleDefinitionId string

resource vnet 'Microsoft.Network/virtualNetworks@2024-01-01' existing = {
  name: split(subnetId, '/')[8]
}

resource subnet 'Microsoft.Network/virtualNetworks/subnets@2024-01-01' existing = {
  parent: vnet
  name: split(subnetId, '/')[10]
}

resource assignment 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  scope: subnet
  name: guid(subnet.id, principalId, roleDefinitionId)
  properties: {
    principalId: principalId
    principalType: 'ServicePrincipal'
    roleDefinitionId: roleDefinitionId
  }
}
