// Log Analytics workspace and the workspace-based Application Insights component the Function
// App logs to. Local (instrumentation-key) authentication is off: the app sends telemetry with its
// managed identity (APPLICATIONINSIGHTS_AUTHENTICATION_STRING=Authorization=AAD and the
// Monitoring Metrics Publisher role, see appAccess.bicep), so the connection string it holds is
// an address, not a credential.

param namePrefix string
param location string
param tags object

@description('Days Log Analytics keeps Funclet\'s traces.')
@minValue(30)
@maxValue(730)
param retentionInDays int

resource workspace 'Microsoft.OperationalInsights/workspaces@2023-09-01' = {
  name: '${namePrefix}-logs'
  location: location
  tags: tags
  properties: {
    sku: {
      name: 'PerGB2018'
    }
    retentionInDays: retentionInDays
    features: {
      disableLocalAuth: true
    }
  }
}

resource appInsights 'Microsoft.Insights/components@2020-02-02' = {
  name: '${namePrefix}-insights'
  location: location
  tags: tags
  kind: 'web'
  properties: {
    Application_Type: 'web'
    WorkspaceResourceId: workspace.id
    IngestionMode: 'LogAnalytics'
    DisableLocalAuth: true
  }
}

output appInsightsName string = appInsights.name
output connectionString string = appInsights.properties.ConnectionString
output workspaceId string = workspace.id
