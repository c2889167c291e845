// A storage account of the deployment (main.bicep makes two: the Functions host's own, and the pipeline's data).
// Entra ID only: shared-key (and so SAS and connection-string) access is disabled. Closed to the internet by default:
// only the given subnets (service endpoints), IP ranges and trusted Azure services (bypass, e.g. Event Grid's
// dead-lettering with its identity) get in; with private endpoints, public network access is off altogether unless IP
// ranges are given.

@description('Name of the storage account (3-24 lowercase letters and digits, globally unique).')
@minLength(3)
@maxLength(24)
param name string

@description('Azure region of the account.')
param location string

@description('Tags put on every resource.')
param tags object

@description('Blob containers to create. Every container the code uses is made here: no identity is given the right to create one.')
param containers string[]

@description('Queues to create.')
param queues string[]

@description('Days a deleted or overwritten blob can be restored (blob and container soft delete; previous blob versions are deleted after as many days).')
@minValue(1)
@maxValue(365)
param softDeleteDays int

@description('Keep a version of every blob overwritten or deleted (blob versioning), removed by a lifecycle rule after softDeleteDays.')
param versioning bool

@description('Name of the virtual network (in this resource group) whose subnets are allowed in.')
param vnetName string

@description('Names of the subnets allowed in (virtual network rules; the subnets need the Microsoft.Storage service endpoint).')
param allowedSubnets string[]

@description('Public IP addresses or CIDR ranges allowed in (e.g. an operator who uploads datasets). Empty: none.')
param allowedIpRanges string[]

@description('True when the account is reached through private endpoints: public network access is then off unless allowedIpRanges is given.')
param privateEndpoints bool

@description('Send the blob, queue and table services\' logs to the Log Analytics workspace.')
param logs bool

@description('Resource id of the Log Analytics workspace (used when logs is true).')
param workspaceId string

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
    publicNetworkAccess: privateEndpoints && empty(allowedIpRanges) ? 'Disabled' : 'Enabled'
    networkAcls: {
      defaultAction: 'Deny'
      // Trusted Azure services that authenticate with a managed identity (Event Grid dead-lettering, Azure Monitor).
      bypass: 'AzureServices'
      virtualNetworkRules: [
        for subnet in allowedSubnets: {
          id: resourceId('Microsoft.Network/virtualNetworks/subnets', vnetName, subnet)
          action: 'Allow'
        }
      ]
      ipRules: [
        for range in allowedIpRanges: {
          value: range
          action: 'Allow'
        }
      ]
    }
  }
}

resource blobs 'Microsoft.Storage/storageAccounts/blobServices@2025-01-01' = {
  parent: account
  name: 'default'
  properties: {
    isVersioningEnabled: versioning
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

resource blobContainers 'Microsoft.Storage/storageAccounts/blobServices/containers@2025-01-01' = [
  for container in containers: {
    parent: blobs
    name: container
    properties: {
      publicAccess: 'None'
    }
  }
]

resource queueService 'Microsoft.Storage/storageAccounts/queueServices@2025-01-01' = {
  parent: account
  name: 'default'
}

resource accountQueues 'Microsoft.Storage/storageAccounts/queueServices/queues@2025-01-01' = [
  for queue in queues: {
    parent: queueService
    name: queue
  }
]

resource tableService 'Microsoft.Storage/storageAccounts/tableServices@2025-01-01' = {
  parent: account
  name: 'default'
}

// Versions pile up with every overwrite (progress reports, resumption checkpoints) and survive the retention's
// deletes: they are deleted once they are softDeleteDays old, so that retention still frees the space.
resource lifecycle 'Microsoft.Storage/storageAccounts/managementPolicies@2025-01-01' = if (versioning) {
  parent: account
  name: 'default'
  properties: {
    policy: {
      rules: [
        {
          name: 'expire-previous-versions'
          enabled: true
          type: 'Lifecycle'
          definition: {
            filters: {
              blobTypes: [
                'blockBlob'
              ]
            }
            actions: {
              version: {
                delete: {
                  daysAfterCreationGreaterThan: softDeleteDays
                }
              }
            }
          }
        }
      ]
    }
  }
  dependsOn: [
    blobs
  ]
}

// Every read, write and delete of the blob, queue and table services (categories StorageRead, StorageWrite,
// StorageDelete), to Log Analytics.
resource blobLogs 'Microsoft.Insights/diagnosticSettings@2021-05-01-preview' = if (logs) {
  name: 'logs'
  scope: blobs
  properties: {
    workspaceId: workspaceId
    logs: [
      {
        categoryGroup: 'allLogs'
        enabled: true
      }
    ]
  }
}

resource queueLogs 'Microsoft.Insights/diagnosticSettings@2021-05-01-preview' = if (logs) {
  name: 'logs'
  scope: queueService
  properties: {
    workspaceId: workspaceId
    logs: [
      {
        categoryGroup: 'allLogs'
        enabled: true
      }
    ]
  }
}

resource tableLogs 'Microsoft.Insights/diagnosticSettings@2021-05-01-preview' = if (logs) {
  name: 'logs'
  scope: tableService
  properties: {
    workspaceId: workspaceId
    logs: [
      {
        categoryGroup: 'allLogs'
        enabled: true
      }
    ]
  }
}

@description('Name of the storage account.')
output name string = account.name

@description('Resource id of the storage account.')
output id string = account.id

@description('Blob endpoint, e.g. https://<account>.blob.core.windows.net/.')
output blobEndpoint string = account.properties.primaryEndpoints.blob

@description('Queue endpoint.')
output queueEndpoint string = account.properties.primaryEndpoints.queue

@description('Table endpoint.')
output tableEndpoint string = account.properties.primaryEndpoints.table
