// The custom role that lets the app place container groups in the delegated subnet
// (FUNCLET_ACI_SUBNET_ID). Deployed to the subnet's subscription, which need not be the app's:
// a role is assignable only where its assignable scopes say, and is referred to under the
// subscription of the scope it is assigned at. Assignable in the subnet's resource group only;
// subnetJoin.bicep assigns it on the subnet itself.
targetScope = 'subscription'

@description('The role\'s id (a GUID), derived by main.bicep.')
param roleGuid string

@description('The Function App the role is for; role names are unique in the tenant.')
param appName string

@description('Resource group of the virtual network whose subnet the container groups join.')
param subnetResourceGroupName string

resource subnetJoinRole 'Microsoft.Authorization/roleDefinitions@2022-04-01' = {
  name: roleGuid
  properties: {
    roleName: 'Funclet ACI subnet join (${appName})'
    description: 'Place container groups in a delegated subnet.'
    type: 'CustomRole'
    assignableScopes: ['${subscription().id}/resourceGroups/${subnetResourceGroupName}']
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

output id string = subnetJoinRole.id
