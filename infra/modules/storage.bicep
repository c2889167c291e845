// The pipeline's storage account: checkpoints, datasets, specs, reports, the jobs queue, the Durable task hub and the
// Functions deployment package. Entra ID only: shared-key (and so SAS and connection-string) access is disabled.

import { builtInRoles } from 'roles.bicep'

@description('Name of the storage account (3-24 lowercase letters and digits, globally unique).')
@minLength(3)
@maxLength(24)
param name string

@description('Azure region of the account.')
param location string

@description('Tags put on every resource.')
param tags object

@description('Blob container of checkpoints, evaluations, failure records and cancellation markers (setting CheckpointsContainer).')
param checkpointsContainer string

@description('Blob container of datasets that workers download (`blob:<container>/<prefix>` in specs).')
param datasetsContainer string

@description('Blob container of specs that scheduled retraining starts (setting SpecsContainer).')
param specsContainer string

@description('Blob container of pipeline reports (setting ReportsContainer).')
param reportsContainer string

@description('Blob container the Flex Consumption app is deployed from (its zip package).')
param deploymentContainer string

@description('Queue of jobs for the GPU workers (setting JobsQueue).')
param jobsQueue string

@description('Object id of a user or group who uploads datasets and specs with their own sign-in (Storage Blob Data Contributor on those two containers). Empty: nobody.')
param operatorPrincipalId string

@description('Days a deleted or overwritten blob can be restored (blob and container soft delete).')
@minValue(1)
@maxValue(365)
param softDeleteDays int

resource account 'Microsoft.Storage/storageAccounts@2025-01-01' = {
  name: name
  location: location
  tags: tags
  kind: 'StorageV2'
  sku: {
    name: 'Standard_LRS'
  }
  properties: {
    accessTier: 'Hot'
    allowBlobPublicAccess: false
    allowCrossTenantReplication: false
    allowSharedKeyAccess: false
    defaultToOAuthAuthentication: true
    minimumTlsVersion: 'TLS1_2'
    supportsHttpsTrafficOnly: true
    publicNetworkAccess: 'Enabled'
    networkAcls: {
      defaultAction: 'Allow'
      bypass: 'AzureServices'
    }
  }
}

resource blobs 'Microsoft.Storage/storageAccounts/blobServices@2025-01-01' = {
  parent: account
  name: 'default'
  properties: {
    deleteRetentionPolicy: {
      enabled: true
      days: softDeleteDays
    }
    containerDeleteRetentionPolicy: {
      enabled: true
      days: softDeleteDays
    }
  }
}

resource containers 'Microsoft.Storage/storageAccounts/blobServices/containers@2025-01-01' = [
  for container in [checkpointsContainer, datasetsContainer, specsContainer, reportsContainer, deploymentContainer]: {
    parent: blobs
    name: container
    properties: {
      publicAccess: 'None'
    }
  }
]

// Operators upload specs and datasets (az storage blob upload --auth-mode login): write access to those two only.
resource operatorAccess 'Microsoft.Authorization/roleAssignments@2022-04-01' = [
  for (container, i) in [datasetsContainer, specsContainer]: if (!empty(operatorPrincipalId)) {
    name: guid(account.id, container, operatorPrincipalId, builtInRoles.storageBlobDataContributor)
    scope: operatorContainers[i]
    properties: {
      roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', builtInRoles.storageBlobDataContributor)
      principalId: operatorPrincipalId
    }
    dependsOn: [
      containers
    ]
  }
]

resource operatorContainers 'Microsoft.Storage/storageAccounts/blobServices/containers@2025-01-01' existing = [
  for container in [datasetsContainer, specsContainer]: {
    parent: blobs
    name: container
  }
]

resource queues 'Microsoft.Storage/storageAccounts/queueServices@2025-01-01' = {
  parent: account
  name: 'default'
}

resource jobs 'Microsoft.Storage/storageAccounts/queueServices/queues@2025-01-01' = {
  parent: queues
  name: jobsQueue
}

// Where workers put messages that are not jobs, each with the reason (the name Functions queue triggers use).
resource jobsPoison 'Microsoft.Storage/storageAccounts/queueServices/queues@2025-01-01' = {
  parent: queues
  name: '${jobsQueue}-poison'
}

@description('Name of the storage account.')
output name string = account.name

@description('Resource id of the storage account.')
output id string = account.id

@description('Blob endpoint, e.g. https://<account>.blob.core.windows.net/.')
output blobEndpoint string = account.properties.primaryEndpoints.blob

@description('Queue endpoint.')
output queueEndpoint string = account.properties.primaryEndpoints.queue

@description('Table endpoint (the Durable task hub keeps its history and instances in tables).')
output tableEndpoint string = account.properties.primaryEndpoints.table
