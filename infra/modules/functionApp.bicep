// The Functions app on Flex Consumption (.NET isolated): HTTP API, Durable orchestrations and activities, the
// checkpoint-landing blob trigger (Event Grid source) and the retraining timer. It reaches storage and Application
// Insights with its own user-assigned identity only: no connection strings, no keys. The Functions host has a storage
// account of its own (AzureWebJobsStorage: task hub, leases, the deployment package); on the data account
// (SoupStorage) the identity holds roles on single containers and queues only.

import { builtInRoles } from 'roles.bicep'

@description('Name of the function app (the first label of its default host name).')
param name string

@description('Azure region.')
param location string

@description('Tags put on every resource.')
param tags object

@description('Name of the Functions host\'s storage account (AzureWebJobsStorage: the Durable task hub, blob-trigger receipts, the deployment package).')
param hostStorageAccountName string

@description('Name of the pipeline\'s data storage account (SoupStorage: checkpoints, datasets, specs, reports, the jobs queue).')
param dataStorageAccountName string

@description('Blob container of datasets: the only one blob datasets may be read from (setting DatasetContainers; specs naming another are refused), and the one the dataset version of scheduled retraining lists.')
param datasetsContainer string

@description('Resource id of the subnet the app is integrated with (its outbound traffic, storage included, goes through it).')
param subnetId string

@description('Application (client) id of the Microsoft Entra app registration that protects the HTTP API. Empty: function keys only.')
param authClientId string

@description('Tenant of that app registration.')
param authTenantId string

@description('Blob container the app package is deployed to (Flex Consumption one-deploy).')
param deploymentContainer string

@description('Name of the Application Insights component.')
param insightsName string

@description('Durable task hub name (setting TaskHubName, read by host.json).')
param taskHubName string

@description('Blob container of checkpoints (setting CheckpointsContainer).')
param checkpointsContainer string

@description('Queue of jobs for the workers (setting JobsQueue).')
param jobsQueue string

@description('Queue the blobs extension puts landings that failed five times on (webjobs-blobtrigger-poison, in the account of the blob).')
param landingPoisonQueue string

@description('Blob container of specs for scheduled retraining (setting SpecsContainer).')
param specsContainer string

@description('Blob container of pipeline reports (setting ReportsContainer).')
param reportsContainer string

@description('CRON expression (6 fields, UTC) of scheduled retraining (setting RetrainSchedule).')
param retrainSchedule string

@description('CRON expression (6 fields, UTC) of retention: expired checkpoints deleted, ended instances purged (setting RetentionSchedule).')
param retentionSchedule string

@description('Days an ended pipeline\'s Durable instances are kept (setting RetentionInstanceDays).')
@minValue(0)
@maxValue(36500)
param retentionInstanceDays int

@description('Days member checkpoints are kept after their round\'s soup landed; at most retentionInstanceDays (setting RetentionMemberDays).')
@minValue(0)
@maxValue(36500)
param retentionMemberDays int

@description('Most training steps one pipeline may plan, summed over all its jobs (setting MaxPipelineTrainingSteps; the code\'s default).')
@minValue(1)
param maxPipelineTrainingSteps int = 5000000

@description('Most checkpoints one pipeline may write (setting MaxPipelineCheckpoints; the code\'s default).')
@minValue(1)
param maxPipelineCheckpoints int = 5000

@description('Most pipelines running at once; a start beyond it is answered 429 (setting MaxRunningPipelines; the code\'s default).')
@minValue(1)
param maxRunningPipelines int = 20

@description('Most instances the app scales out to.')
@minValue(1)
@maxValue(1000)
param maximumInstanceCount int

@description('Memory of each instance in MB (Flex Consumption sizes: 512, 2048, 4096).')
@allowed([512, 2048, 4096])
param instanceMemoryMB int

@description('.NET version of the isolated worker.')
param dotnetVersion string

resource hostStorage 'Microsoft.Storage/storageAccounts@2025-01-01' existing = {
  name: hostStorageAccountName
}

resource dataStorage 'Microsoft.Storage/storageAccounts@2025-01-01' existing = {
  name: dataStorageAccountName
}

resource insights 'Microsoft.Insights/components@2020-02-02' existing = {
  name: insightsName
}

resource identity 'Microsoft.ManagedIdentity/userAssignedIdentities@2024-11-30' = {
  name: 'id-${name}'
  location: location
  tags: tags
}

resource plan 'Microsoft.Web/serverfarms@2025-03-01' = {
  name: 'plan-${name}'
  location: location
  tags: tags
  kind: 'functionapp'
  sku: {
    name: 'FC1'
    tier: 'FlexConsumption'
  }
  properties: {
    reserved: true
  }
}

// The Functions host's own account (AzureWebJobsStorage: Durable task hub, blob-trigger receipts, keys, the package).
// The host needs these three roles on the whole account (Durable creates its queues, tables and lease containers from
// the task hub name); the account holds nothing of the pipeline's.
var storageRoles = [
  builtInRoles.storageBlobDataOwner
  builtInRoles.storageQueueDataContributor
  builtInRoles.storageTableDataContributor
]

resource storageAccess 'Microsoft.Authorization/roleAssignments@2022-04-01' = [
  for role in storageRoles: {
    name: guid(hostStorage.id, identity.id, role)
    scope: hostStorage
    properties: {
      roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', role)
      principalId: identity.properties.principalId
      principalType: 'ServicePrincipal'
    }
  }
]

// The data account, container by container, as the code uses it (README, "Security"): checkpoints (job blobs, specs by
// hash, merges, cancellation markers, retention's deletes) and reports are read and written; specs (scheduled
// retraining) and datasets (their version) are only read; jobs are only sent. The app never reads the jobs queue and
// creates no container (they are made by storage.bicep; the code tolerates a 403 on CreateIfNotExists). The blobs
// extension writes failed landings to its poison queue in the data account (Queue Data Contributor on that queue
// alone, as the extension may ensure it exists first).
module dataAccess 'storageGrants.bicep' = {
  name: 'dataAccess-functions'
  params: {
    storageAccountName: dataStorage.name
    principalId: identity.properties.principalId
    assignmentKey: identity.id
    principalType: 'ServicePrincipal'
    blobGrants: [
      { container: checkpointsContainer, role: builtInRoles.storageBlobDataContributor }
      { container: reportsContainer, role: builtInRoles.storageBlobDataContributor }
      { container: specsContainer, role: builtInRoles.storageBlobDataReader }
      { container: datasetsContainer, role: builtInRoles.storageBlobDataReader }
    ]
    queueGrants: [
      { queue: jobsQueue, role: builtInRoles.storageQueueDataMessageSender }
      { queue: landingPoisonQueue, role: builtInRoles.storageQueueDataContributor }
    ]
  }
}

resource telemetryAccess 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(insights.id, identity.id, builtInRoles.monitoringMetricsPublisher)
  scope: insights
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', builtInRoles.monitoringMetricsPublisher)
    principalId: identity.properties.principalId
    principalType: 'ServicePrincipal'
  }
}

resource app 'Microsoft.Web/sites@2025-03-01' = {
  name: name
  location: location
  tags: tags
  kind: 'functionapp,linux'
  identity: {
    type: 'UserAssigned'
    userAssignedIdentities: {
      '${identity.id}': {}
    }
  }
  properties: {
    serverFarmId: plan.id
    httpsOnly: true
    // Outbound through the virtual network: the storage accounts admit this subnet only (service endpoints), or are
    // reached through their private endpoints.
    virtualNetworkSubnetId: subnetId
    siteConfig: {
      minTlsVersion: '1.2'
      ftpsState: 'Disabled'
      // Every setting the code reads, by name (a test compares this list with the code, local.settings.sample.json
      // and the README). Connections are identity-based (the Functions convention <connection>__<property>): the
      // host, the Durable extension and the blob trigger read them, and so does the pipeline code (SoupStorage).
      // FUNCTIONS_WORKER_RUNTIME and FUNCTIONS_EXTENSION_VERSION are not set: Flex Consumption takes the runtime from
      // functionAppConfig.runtime and rejects them.
      appSettings: [
        { name: 'AzureWebJobsStorage__blobServiceUri', value: hostStorage.properties.primaryEndpoints.blob }
        { name: 'AzureWebJobsStorage__queueServiceUri', value: hostStorage.properties.primaryEndpoints.queue }
        { name: 'AzureWebJobsStorage__tableServiceUri', value: hostStorage.properties.primaryEndpoints.table }
        { name: 'AzureWebJobsStorage__credential', value: 'managedidentity' }
        { name: 'AzureWebJobsStorage__clientId', value: identity.properties.clientId }
        { name: 'SoupStorage__blobServiceUri', value: dataStorage.properties.primaryEndpoints.blob }
        { name: 'SoupStorage__queueServiceUri', value: dataStorage.properties.primaryEndpoints.queue }
        { name: 'SoupStorage__credential', value: 'managedidentity' }
        { name: 'SoupStorage__clientId', value: identity.properties.clientId }
        { name: 'APPLICATIONINSIGHTS_CONNECTION_STRING', value: insights.properties.ConnectionString }
        { name: 'APPLICATIONINSIGHTS_AUTHENTICATION_STRING', value: 'ClientId=${identity.properties.clientId};Authorization=AAD' }
        { name: 'TaskHubName', value: taskHubName }
        { name: 'CheckpointsContainer', value: checkpointsContainer }
        { name: 'JobsQueue', value: jobsQueue }
        { name: 'SpecsContainer', value: specsContainer }
        { name: 'ReportsContainer', value: reportsContainer }
        { name: 'DatasetContainers', value: datasetsContainer }
        { name: 'RetrainSchedule', value: retrainSchedule }
        // An eighth of the instance's memory per merge: host.json lets 4 activities run at once, so merges take at most
        // half; 256 MiB (the code's default) on 2,048 MB instances, 512 MiB on 4,096 MB ones.
        { name: 'MergeMemoryBudgetMiB', value: string(instanceMemoryMB / 8) }
        { name: 'RetentionSchedule', value: retentionSchedule }
        { name: 'RetentionInstanceDays', value: string(retentionInstanceDays) }
        { name: 'RetentionMemberDays', value: string(retentionMemberDays) }
        { name: 'MaxPipelineTrainingSteps', value: string(maxPipelineTrainingSteps) }
        { name: 'MaxPipelineCheckpoints', value: string(maxPipelineCheckpoints) }
        { name: 'MaxRunningPipelines', value: string(maxRunningPipelines) }
        // Event Grid delivers landings to the Event Grid blob trigger. The polling one (Azurite's) is not in the Release
        // package at all: Flex Consumption refuses to load a polling blob trigger, even a disabled one.
      ]
    }
    functionAppConfig: {
      deployment: {
        storage: {
          type: 'blobContainer'
          value: '${hostStorage.properties.primaryEndpoints.blob}${deploymentContainer}'
          authentication: {
            type: 'UserAssignedIdentity'
            userAssignedIdentityResourceId: identity.id
          }
        }
      }
      scaleAndConcurrency: {
        maximumInstanceCount: maximumInstanceCount
        instanceMemoryMB: instanceMemoryMB
      }
      runtime: {
        name: 'dotnet-isolated'
        version: dotnetVersion
      }
    }
  }
  dependsOn: [
    storageAccess
    dataAccess
    telemetryAccess
  ]
}

// Optional Microsoft Entra ID authentication in front of the HTTP API (App Service authentication): a request needs a
// bearer token for the app registration, and still the function key. The blobs extension's webhook is left out, since
// Event Grid authenticates with its system key only.
resource auth 'Microsoft.Web/sites/config@2025-03-01' = if (!empty(authClientId)) {
  parent: app
  name: 'authsettingsV2'
  properties: {
    platform: {
      enabled: true
    }
    globalValidation: {
      requireAuthentication: true
      unauthenticatedClientAction: 'Return401'
      excludedPaths: [
        '/runtime/webhooks/blobs'
      ]
    }
    httpSettings: {
      requireHttps: true
    }
    identityProviders: {
      azureActiveDirectory: {
        enabled: true
        registration: {
          clientId: authClientId
          openIdIssuer: '${environment().authentication.loginEndpoint}${authTenantId}/v2.0'
        }
        validation: {
          allowedAudiences: [
            authClientId
            'api://${authClientId}'
          ]
        }
      }
    }
    login: {
      tokenStore: {
        enabled: false
      }
    }
  }
}

// Basic-auth publishing (FTP, SCM) off: deployments authenticate with Entra ID (az functionapp deployment).
resource ftp 'Microsoft.Web/sites/basicPublishingCredentialsPolicies@2025-03-01' = {
  parent: app
  name: 'ftp'
  properties: {
    allow: false
  }
}

resource scm 'Microsoft.Web/sites/basicPublishingCredentialsPolicies@2025-03-01' = {
  parent: app
  name: 'scm'
  properties: {
    allow: false
  }
}

@description('Name of the function app.')
output name string = app.name

@description('Default host name of the function app (the Event Grid webhook and the HTTP API live there).')
output hostName string = app.properties.defaultHostName

@description('Principal id of the function app\'s identity.')
output principalId string = identity.properties.principalId
