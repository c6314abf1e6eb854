// Deployed into the resource group that holds Funclet's container groups
// (FUNCLET_ACI_RESOURCE_GROUP): the app's identity gets the container-groups role here and
// nowhere else. Keep this group for Funclet alone; anything else in it is the app's to delete.

param principalId string
param roleDefinitionId string

resource assignment 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(resourceGroup().id, principalId, roleDefinitionId)
  properties: {
    principalId: principalId
    principalType: 'ServicePrincipal'
    roleDefinitionId: roleDefinitionId
  }
}
