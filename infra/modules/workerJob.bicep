// The GPU workers: a container registry, a Container Apps environment with a serverless GPU workload profile, and an
// event-driven Container Apps job that KEDA's azure-queue scaler starts while the jobs queue holds messages. The job
// pulls its image and reads the queue with its own user-assigned identity: no registry passwords, no storage keys.

import { builtInRoles } from 'roles.bicep'

@description('Name prefix of the resources.')
param name string

@description('Azure region (serverless GPUs are offered in a few regions only; see README).')
param location string

@description('Tags put on every resource.')
param tags object

@description('Name of the container registry (5-50 letters and digits, globally unique).')
param registryName string

@description('Serverless GPU of the workers: T4 (NC8as T4: 8 vCPU, 56 GiB) or A100 (NC24 A100: 24 vCPU, 220 GiB).')
@allowed(['T4', 'A100'])
param gpu string

@description('Worker image. Empty: a public placeholder, until the worker image is built into the registry (README, Deploy to Azure).')
param image string

@description('Resource id of the Log Analytics workspace the environment\'s logs go to.')
param workspaceId string

@description('Name of the storage account.')
param storageAccountName string

@description('Blob container of checkpoints (setting CheckpointsContainer): workers write checkpoints, evaluations, progress and failure records there.')
param checkpointsContainer string

@description('Blob container of datasets (read only for the workers).')
param datasetsContainer string

@description('Blob container of specs (setting SpecsContainer; bound by the shared options, not used by workers).')
param specsContainer string

@description('Blob container of reports (setting ReportsContainer; bound by the shared options).')
param reportsContainer string

@description('Queue of jobs (setting JobsQueue) that scales the job and feeds the workers.')
param jobsQueue string

@description('Longest one execution may run, in seconds (a training job, its evaluation and the idle wait before it exits).')
@minValue(600)
@maxValue(86400)
param replicaTimeout int

@description('Times a failed execution is retried by Container Apps (a job whose worker died is also redelivered by the queue).')
@minValue(0)
@maxValue(10)
param replicaRetryLimit int

@description('Most executions (GPUs) at once.')
@minValue(1)
@maxValue(100)
param maxExecutions int

var gpuProfiles = {
  T4: { type: 'Consumption-GPU-NC8as-T4', cpu: json('8.0'), memory: '56Gi' }
  A100: { type: 'Consumption-GPU-NC24-A100', cpu: json('24.0'), memory: '220Gi' }
}

// A public image that starts and exits, so that the job can be created before the worker image exists.
var placeholderImage = 'mcr.microsoft.com/k8se/quickstart-jobs:latest'

resource storage 'Microsoft.Storage/storageAccounts@2025-01-01' existing = {
  name: storageAccountName

  resource blobs 'blobServices' existing = {
    name: 'default'

    resource checkpoints 'containers' existing = {
      name: checkpointsContainer
    }

    resource datasets 'containers' existing = {
      name: datasetsContainer
    }
  }

  resource queues 'queueServices' existing = {
    name: 'default'

    resource jobs 'queues' existing = {
      name: jobsQueue
    }

    resource jobsPoison 'queues' existing = {
      name: '${jobsQueue}-poison'
    }
  }
}

resource identity 'Microsoft.ManagedIdentity/userAssignedIdentities@2024-11-30' = {
  name: 'id-${name}-worker'
  location: location
  tags: tags
}

resource registry 'Microsoft.ContainerRegistry/registries@2025-04-01' = {
  name: registryName
  location: location
  tags: tags
  sku: {
    name: 'Basic'
  }
  properties: {
    adminUserEnabled: false
    anonymousPullEnabled: false
  }
}

// Least privilege for the worker: write in the checkpoints container only, read datasets only, and work the jobs
// queue only (receive, renew the lease, release, delete; KEDA reads its length with the same identity).
resource checkpointsAccess 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(storage::blobs::checkpoints.id, identity.id, builtInRoles.storageBlobDataContributor)
  scope: storage::blobs::checkpoints
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', builtInRoles.storageBlobDataContributor)
    principalId: identity.properties.principalId
    principalType: 'ServicePrincipal'
  }
}

resource datasetsAccess 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(storage::blobs::datasets.id, identity.id, builtInRoles.storageBlobDataReader)
  scope: storage::blobs::datasets
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', builtInRoles.storageBlobDataReader)
    principalId: identity.properties.principalId
    principalType: 'ServicePrincipal'
  }
}

resource queueAccess 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(storage::queues::jobs.id, identity.id, builtInRoles.storageQueueDataContributor)
  scope: storage::queues::jobs
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', builtInRoles.storageQueueDataContributor)
    principalId: identity.properties.principalId
    principalType: 'ServicePrincipal'
  }
}

// Messages that are not jobs are moved to the poison queue with the reason.
resource poisonAccess 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(storage::queues::jobsPoison.id, identity.id, builtInRoles.storageQueueDataContributor)
  scope: storage::queues::jobsPoison
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', builtInRoles.storageQueueDataContributor)
    principalId: identity.properties.principalId
    principalType: 'ServicePrincipal'
  }
}

resource pullAccess 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(registry.id, identity.id, builtInRoles.acrPull)
  scope: registry
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', builtInRoles.acrPull)
    principalId: identity.properties.principalId
    principalType: 'ServicePrincipal'
  }
}

resource environment 'Microsoft.App/managedEnvironments@2025-01-01' = {
  name: 'cae-${name}'
  location: location
  tags: tags
  properties: {
    // Logs go through Azure Monitor (diagnostic settings below), so the environment holds no workspace key.
    appLogsConfiguration: {
      destination: 'azure-monitor'
    }
    workloadProfiles: [
      {
        name: 'Consumption'
        workloadProfileType: 'Consumption'
      }
      {
        name: 'gpu'
        workloadProfileType: gpuProfiles[gpu].type
      }
    ]
  }
}

resource environmentLogs 'Microsoft.Insights/diagnosticSettings@2021-05-01-preview' = {
  name: 'logs'
  scope: environment
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

resource job 'Microsoft.App/jobs@2025-01-01' = {
  name: 'job-${name}-worker'
  location: location
  tags: tags
  identity: {
    type: 'UserAssigned'
    userAssignedIdentities: {
      '${identity.id}': {}
    }
  }
  properties: {
    environmentId: environment.id
    workloadProfileName: 'gpu'
    configuration: {
      triggerType: 'Event'
      replicaTimeout: replicaTimeout
      replicaRetryLimit: replicaRetryLimit
      eventTriggerConfig: {
        parallelism: 1
        replicaCompletionCount: 1
        scale: {
          minExecutions: 0
          maxExecutions: maxExecutions
          pollingInterval: 30
          rules: [
            {
              // One execution per queued job (queueLength 1). KEDA counts messages being worked on too and subtracts
              // the running executions, so a job in training does not start a second GPU.
              name: 'jobs-queue'
              type: 'azure-queue'
              metadata: {
                accountName: storage.name
                queueName: jobsQueue
                queueLength: '1'
              }
              identity: identity.id
            }
          ]
        }
      }
      registries: [
        {
          server: registry.properties.loginServer
          identity: identity.id
        }
      ]
    }
    template: {
      containers: [
        {
          name: 'worker'
          image: empty(image) ? placeholderImage : image
          resources: {
            cpu: gpuProfiles[gpu].cpu
            memory: gpuProfiles[gpu].memory
          }
          // Every setting the worker reads, by name (a test compares this list with the code and the README).
          // WorkerName is left to its default, the replica's host name.
          env: [
            { name: 'SoupStorage__blobServiceUri', value: storage.properties.primaryEndpoints.blob }
            { name: 'SoupStorage__queueServiceUri', value: storage.properties.primaryEndpoints.queue }
            { name: 'SoupStorage__credential', value: 'managedidentity' }
            { name: 'SoupStorage__clientId', value: identity.properties.clientId }
            { name: 'CheckpointsContainer', value: checkpointsContainer }
            { name: 'JobsQueue', value: jobsQueue }
            { name: 'SpecsContainer', value: specsContainer }
            { name: 'ReportsContainer', value: reportsContainer }
            { name: 'DatasetContainers', value: datasetsContainer }
            { name: 'DataRoot', value: '/data' }
            { name: 'DataCache', value: '/home/soup/data-cache' }
            // A blob dataset over these fails its job before anything is downloaded (the replica's disk is the bound).
            { name: 'MaxDatasetFiles', value: '2000000' }
            { name: 'MaxDatasetBytes', value: string(64 * 1024 * 1024 * 1024) }
            { name: 'WorkerParallelism', value: '1' }
            { name: 'ShutdownTimeout', value: '00:01:00' }
            { name: 'QueuePollInterval', value: '00:00:02' }
            { name: 'JobVisibilityTimeout', value: '00:02:00' }
            { name: 'MaxDeliveries', value: '5' }
            // A running job rewrites its progress.json this often: its heartbeat (GPU jobs last hours).
            { name: 'HeartbeatInterval', value: '00:00:30' }
            { name: 'HeartbeatTimeout', value: '00:02:00' }
            // Every job reads its pipeline's cancellation marker this often: 1,024 jobs make 34 reads/s on one blob.
            { name: 'CancellationCheckInterval', value: '00:00:30' }
            { name: 'StorageRetryLimit', value: '00:10:00' }
            // An execution ends once the queue has been empty this long, so that an idle GPU is released.
            { name: 'IdleShutdown', value: '00:02:00' }
          ]
        }
      ]
    }
  }
  dependsOn: [
    checkpointsAccess
    datasetsAccess
    queueAccess
    pullAccess
  ]
}

@description('Name of the container registry (az acr build --registry).')
output registryName string = registry.name

@description('Login server of the container registry (image names start with it).')
output registryServer string = registry.properties.loginServer

@description('Name of the worker job.')
output jobName string = job.name

@description('Principal id of the worker identity.')
output principalId string = identity.properties.principalId
