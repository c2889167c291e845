// Logs and telemetry: one Log Analytics workspace (Application Insights and the Container Apps environment write to
// it) and Application Insights with local (instrumentation-key) authentication off: only Entra ID identities holding
// Monitoring Metrics Publisher can send telemetry.

@description('Name prefix of the workspace (log-<name>).')
param name string

@description('Name of the Application Insights component.')
param insightsName string

@description('Azure region.')
param location string

@description('Tags put on every resource.')
param tags object

@description('Days logs are kept.')
@minValue(30)
@maxValue(730)
param retentionDays int

resource workspace 'Microsoft.OperationalInsights/workspaces@2025-02-01' = {
  name: 'log-${name}'
  location: location
  tags: tags
  properties: {
    sku: {
      name: 'PerGB2018'
    }
    retentionInDays: retentionDays
    features: {
      disableLocalAuth: true
    }
  }
}

resource insights 'Microsoft.Insights/components@2020-02-02' = {
  name: insightsName
  location: location
  tags: tags
  kind: 'web'
  properties: {
    Application_Type: 'web'
    WorkspaceResourceId: workspace.id
    DisableLocalAuth: true
    IngestionMode: 'LogAnalytics'
  }
}

@description('Resource id of the Log Analytics workspace.')
output workspaceId string = workspace.id

@description('Name of the Application Insights component.')
output insightsName string = insights.name

@description('Application Insights connection string (an endpoint and an identifier, not a secret: local auth is off, so it only works with an Entra ID token).')
output insightsConnectionString string = insights.properties.ConnectionString
