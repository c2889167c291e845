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

@description('Worker image pinned by digest, <server>/soup-worker@sha256:<64 hex digits>. Empty: a public placeholder, until the worker image is built into the registry (README, Deploy to Azure).')
param image string

@description('Resource id of the Log Analytics workspace the environment\'s logs go to.')
param workspaceId string

@description('Name of the pipeline\'s data storage account.')
param storageAccountName string

@description('Resource id of the infrastructure subnet of the Container Apps environment (delegated to Microsoft.App/environments).')
param subnetId string

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

// A public image that starts and exits, so that the job can be created before the worker image exists (the only
// image used by tag; it has no access to anything the worker identity can reach but the queue length).
var placeholderImage = 'mcr.microsoft.com/k8se/quickstart-jobs:latest'

// Images are referenced by digest, never by a tag that can be moved: anything else fails the deployment (ARM fail()).
var digest = last(split(image, '@sha256:'))
var pinnedImage = empty(image)
  ? placeholderImage
  : contains(image, '@sha256:') && length(digest) == 64
      ? image
      : fail('workerImage must be pinned by digest: <registry>.azurecr.io/soup-worker@sha256:<64 hex digits> (README, Deploy to Azure).')

resource storage 'Microsoft.Storage/storageAccounts@2025-01-01' existing = {
  name: storageAccountName
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

// Least privilege for the worker, container by container and queue by queue: checkpoints read and written
// (checkpoints, evaluations, progress, failure records; cancellation markers read), datasets read, the jobs queue
// worked (receive, renew the lease and release = Update Message, delete, send a job again: Queue Data Contributor, as
// Message Processor has no update and no add; KEDA reads its length with the same identity), the poison queue only
// sent to. No container or queue can be created by the worker: storage.bicep makes them.
module dataAccess 'storageGrants.bicep' = {
  name: 'dataAccess-worker'
  params: {
    storageAccountName: storage.name
    principalId: identity.properties.principalId
    assignmentKey: identity.id
    principalType: 'ServicePrincipal'
    blobGrants: [
      { container: checkpointsContainer, role: builtInRoles.storageBlobDataContributor }
      { container: datasetsContainer, role: builtInRoles.storageBlobDataReader }
    ]
    queueGrants: [
      { queue: jobsQueue, role: builtInRoles.storageQueueDataContributor }
      { queue: '${jobsQueue}-poison', role: builtInRoles.storageQueueDataMessageSender }
    ]
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
    // Workers reach storage from this subnet (the storage accounts admit it, or resolve to private endpoints in it).
    vnetConfiguration: {
      infrastructureSubnetId: subnetId
      internal: false
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
          image: pinnedImage
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
            // Periodic resumption checkpoints at least this far apart (SIGTERM always saves): each writes the optimizer's state.
            { name: 'ResumeInterval', value: '00:05:00' }
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
    dataAccess
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
