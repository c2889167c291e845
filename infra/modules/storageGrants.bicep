// Role assignments of one identity on single blob containers and queues of a storage account: the narrowest scope a
// storage data role can have. The containers and queues must exist (storage.bicep makes them).

@description('Name of the storage account.')
param storageAccountName string

@description('Object id of the identity (principal) given the roles.')
param principalId string

@description('A value known before deployment that stands for the principal in the role assignments\' names (e.g. the identity\'s resource id), so that What-If can predict them.')
param assignmentKey string

@description('Kind of principal: ServicePrincipal for managed identities; User or Group for operators.')
@allowed(['ServicePrincipal', 'User', 'Group'])
param principalType string

@description('Container roles: objects { container: name, role: built-in role definition id (roles.bicep) }.')
param blobGrants object[]

@description('Queue roles: objects { queue: name, role: built-in role definition id (roles.bicep) }.')
param queueGrants object[]

resource storage 'Microsoft.Storage/storageAccounts@2025-01-01' existing = {
  name: storageAccountName

  resource blobs 'blobServices' existing = {
    name: 'default'
  }

  resource queues 'queueServices' existing = {
    name: 'default'
  }
}

resource containers 'Microsoft.Storage/storageAccounts/blobServices/containers@2025-01-01' existing = [
  for grant in blobGrants: {
    parent: storage::blobs
    name: grant.container
  }
]

resource queues 'Microsoft.Storage/storageAccounts/queueServices/queues@2025-01-01' existing = [
  for grant in queueGrants: {
    parent: storage::queues
    name: grant.queue
  }
]

resource containerAccess 'Microsoft.Authorization/roleAssignments@2022-04-01' = [
  for (grant, i) in blobGrants: {
    name: guid(containers[i].id, assignmentKey, grant.role)
    scope: containers[i]
    properties: {
      roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', grant.role)
      principalId: principalId
      principalType: principalType
    }
  }
]

resource queueAccess 'Microsoft.Authorization/roleAssignments@2022-04-01' = [
  for (grant, i) in queueGrants: {
    name: guid(queues[i].id, assignmentKey, grant.role)
    scope: queues[i]
    properties: {
      roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', grant.role)
      principalId: principalId
      principalType: principalType
    }
  }
]
