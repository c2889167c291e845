// The soup pipeline on Azure, in one resource group: two storage accounts (the Functions host's own, and the
// pipeline's data; Entra ID only, closed to the internet), the virtual network the app and the workers reach them
// through, monitoring, the Functions app on Flex Consumption, the GPU workers as an event-driven Container Apps job,
// and the Event Grid system topic on the data account. The topic's subscription to checkpoint landings is made after the code is published (eventgrid.bicep):
// its webhook answers only once the app runs. See README.md, "Deploy to Azure".

targetScope = 'resourceGroup'

import { builtInRoles } from 'modules/roles.bicep'

@description('Azure region of every resource. Serverless GPUs (T4, A100) are offered in a few regions only, e.g. westus3, australiaeast, swedencentral (check the Container Apps documentation).')
param location string = resourceGroup().location

@description('Short name of this deployment, the prefix of every resource name (letters and digits).')
@minLength(2)
@maxLength(10)
param baseName string = 'soup'

@description('Serverless GPU of the workers: T4 (cheaper, 16 GB) or A100 (80 GB).')
@allowed(['T4', 'A100'])
param gpu string = 'T4'

@description('Worker image pinned by digest, e.g. <registry>.azurecr.io/soup-worker@sha256:<64 hex digits> (az acr repository show --image soup-worker:<tag> --query digest); a tag alone fails the deployment. Empty on the first deployment: a placeholder until the image is built into the registry this template creates.')
param workerImage string = ''

@description('Most GPU workers (job executions) at once.')
@minValue(1)
@maxValue(100)
param maxWorkers int = 4

@description('Longest a worker execution may run, in seconds: one training job (members.steps of the largest spec) plus its evaluation, with room. 4 h by default.')
@minValue(600)
@maxValue(86400)
param workerTimeoutSeconds int = 14400

@description('Times Container Apps retries a failed worker execution (a job itself is redelivered by the queue: MaxDeliveries).')
@minValue(0)
@maxValue(10)
param workerRetryLimit int = 1

@description('Most Functions instances (Flex Consumption).')
@minValue(1)
@maxValue(1000)
param maxFunctionInstances int = 40

@description('Memory of each Functions instance in MB (merges stream tensor by tensor; 2048 suits checkpoints of a few GB).')
@allowed([512, 2048, 4096])
param functionInstanceMemoryMB int = 2048

@description('.NET version of the Functions isolated worker.')
param dotnetVersion string = '10.0'

@description('Durable task hub name (setting TaskHubName).')
param taskHubName string = 'souphub'

@description('CRON expression (6 fields, UTC) of scheduled retraining (setting RetrainSchedule).')
param retrainSchedule string = '0 0 3 * * 0'

@description('CRON expression (6 fields, UTC) of retention: expired checkpoints deleted, ended instances purged (setting RetentionSchedule).')
param retentionSchedule string = '0 0 4 * * *'

@description('Days an ended pipeline\'s Durable instances are kept (setting RetentionInstanceDays).')
@minValue(0)
@maxValue(36500)
param retentionInstanceDays int = 30

@description('Days member checkpoints are kept after their round\'s soup landed; at most retentionInstanceDays (setting RetentionMemberDays).')
@minValue(0)
@maxValue(36500)
param retentionMemberDays int = 14

@description('Days deleted or overwritten blobs can be restored.')
@minValue(1)
@maxValue(365)
param softDeleteDays int = 7

@description('Days logs are kept.')
@minValue(30)
@maxValue(730)
param logRetentionDays int = 30

@description('Object id of a user or group who uploads datasets and specs with their own sign-in (e.g. az ad signed-in-user show --query id). Empty: nobody; grant access separately.')
param operatorPrincipalId string = ''

@description('Public IP addresses or CIDR ranges let through the storage accounts\' firewalls, e.g. the operator\'s address for uploading datasets and specs. Empty: only the app\'s and the workers\' subnets and trusted Azure services.')
param allowedIpRanges string[] = []

@description('Reach both storage accounts through private endpoints in the virtual network (private DNS zones included) and turn their public network access off (unless allowedIpRanges is given).')
param privateEndpoints bool = false

@description('Address space of the virtual network (a /16; subnets: functions x.x.0.0/24, workers x.x.2.0/23, private endpoints x.x.4.0/24).')
param vnetAddressPrefix string = '10.40.0.0/16'

@description('Application (client) id of a Microsoft Entra app registration: when given, the HTTP API also requires an Entra ID bearer token for it (App Service authentication), besides the function key. Empty: function keys only.')
param authClientId string = ''

@description('Tenant of that app registration (default: the deployment\'s tenant).')
param authTenantId string = tenant().tenantId

@description('Kind of principal operatorPrincipalId is.')
@allowed(['User', 'Group'])
param operatorPrincipalType string = 'User'

@description('Tags put on every resource.')
param tags object = {
  workload: 'soup-pipeline'
}

// Names of the pipeline's containers and queue: the code's defaults (PipelineOptions), passed to every component.
var checkpointsContainer = 'checkpoints'
var datasetsContainer = 'datasets'
var specsContainer = 'specs'
var reportsContainer = 'reports'
var deploymentContainer = 'app-package'
var deadLetterContainer = 'eventgrid-deadletter'
var jobsQueue = 'soup-jobs'
// Where the blobs extension puts a landing that failed five times: a queue of the account the blob is in.
var landingPoisonQueue = 'webjobs-blobtrigger-poison'

// Lowercase: storage, registry and Container Apps names allow no capitals.
var prefix = toLower(baseName)
var suffix = uniqueString(resourceGroup().id, prefix)
var storageName = take('st${prefix}${suffix}', 24)
var hostStorageName = take('sth${prefix}${suffix}', 24)
// The virtual network's and subnets' names (network.bicep), known before deployment for the storage network rules.
var vnetName = 'vnet-${prefix}'
var functionsSubnet = 'snet-functions'
var workersSubnet = 'snet-workers'
var registryName = take('cr${prefix}${suffix}', 50)
var appName = 'func-${prefix}-${suffix}'
// Known before deployment (not module outputs), so that What-If can predict the resources that name them.
var insightsName = 'appi-${prefix}'

module network 'modules/network.bicep' = {
  name: 'network'
  params: {
    name: vnetName
    functionsSubnetName: functionsSubnet
    workersSubnetName: workersSubnet
    location: location
    tags: tags
    addressPrefix: vnetAddressPrefix
  }
}

// The pipeline's data: checkpoints (versioned: an overwritten or deleted checkpoint can be restored), datasets, specs,
// reports, Event Grid's dead letters, the jobs queue and its poison queue. Every read, write and delete is logged.
module storage 'modules/storage.bicep' = {
  name: 'storage'
  params: {
    name: storageName
    location: location
    tags: tags
    containers: [checkpointsContainer, datasetsContainer, specsContainer, reportsContainer, deadLetterContainer]
    queues: [jobsQueue, '${jobsQueue}-poison', landingPoisonQueue]
    softDeleteDays: softDeleteDays
    versioning: true
    vnetName: vnetName
    allowedSubnets: [functionsSubnet, workersSubnet]
    allowedIpRanges: allowedIpRanges
    privateEndpoints: privateEndpoints
    logs: true
    workspaceId: monitoring.outputs.workspaceId
  }
  dependsOn: [
    network
  ]
}

// The Functions host's own storage (AzureWebJobsStorage): the Durable task hub's queues, tables and leases, keys, the
// deployment package. Its logs are left off: Durable polls its queues every few seconds.
module hostStorage 'modules/storage.bicep' = {
  name: 'hostStorage'
  params: {
    name: hostStorageName
    location: location
    tags: tags
    containers: [deploymentContainer]
    queues: []
    softDeleteDays: softDeleteDays
    versioning: false
    vnetName: vnetName
    allowedSubnets: [functionsSubnet]
    allowedIpRanges: allowedIpRanges
    privateEndpoints: privateEndpoints
    logs: false
    workspaceId: ''
  }
  dependsOn: [
    network
  ]
}

module endpoints 'modules/privateEndpoints.bicep' = if (privateEndpoints) {
  name: 'privateEndpoints'
  params: {
    location: location
    tags: tags
    vnetId: network.outputs.vnetId
    subnetId: network.outputs.privateEndpointsSubnetId
    endpoints: [
      { accountId: storage.outputs.id, service: 'blob' }
      { accountId: storage.outputs.id, service: 'queue' }
      { accountId: hostStorage.outputs.id, service: 'blob' }
      { accountId: hostStorage.outputs.id, service: 'queue' }
      { accountId: hostStorage.outputs.id, service: 'table' }
    ]
  }
}

// Operators upload specs and datasets (az storage blob upload --auth-mode login): write access to those two only.
module operatorAccess 'modules/storageGrants.bicep' = if (!empty(operatorPrincipalId)) {
  name: 'operatorAccess'
  params: {
    storageAccountName: storageName
    principalId: operatorPrincipalId
    assignmentKey: operatorPrincipalId
    principalType: operatorPrincipalType
    blobGrants: [
      { container: datasetsContainer, role: builtInRoles.storageBlobDataContributor }
      { container: specsContainer, role: builtInRoles.storageBlobDataContributor }
    ]
    queueGrants: []
  }
  dependsOn: [
    storage
  ]
}

module monitoring 'modules/monitoring.bicep' = {
  name: 'monitoring'
  params: {
    name: prefix
    insightsName: insightsName
    location: location
    tags: tags
    retentionDays: logRetentionDays
  }
}

module functionApp 'modules/functionApp.bicep' = {
  name: 'functionApp'
  params: {
    name: appName
    location: location
    tags: tags
    hostStorageAccountName: hostStorageName
    dataStorageAccountName: storageName
    datasetsContainer: datasetsContainer
    subnetId: network.outputs.functionsSubnetId
    authClientId: authClientId
    authTenantId: authTenantId
    deploymentContainer: deploymentContainer
    insightsName: insightsName
    taskHubName: taskHubName
    checkpointsContainer: checkpointsContainer
    jobsQueue: jobsQueue
    landingPoisonQueue: landingPoisonQueue
    specsContainer: specsContainer
    reportsContainer: reportsContainer
    retrainSchedule: retrainSchedule
    retentionSchedule: retentionSchedule
    retentionInstanceDays: retentionInstanceDays
    retentionMemberDays: retentionMemberDays
    maximumInstanceCount: maxFunctionInstances
    instanceMemoryMB: functionInstanceMemoryMB
    dotnetVersion: dotnetVersion
  }
  dependsOn: [
    storage
    hostStorage
    endpoints
    monitoring
  ]
}

module workers 'modules/workerJob.bicep' = {
  name: 'workers'
  params: {
    name: prefix
    location: location
    tags: tags
    registryName: registryName
    gpu: gpu
    image: workerImage
    workspaceId: monitoring.outputs.workspaceId
    storageAccountName: storageName
    subnetId: network.outputs.workersSubnetId
    checkpointsContainer: checkpointsContainer
    datasetsContainer: datasetsContainer
    specsContainer: specsContainer
    reportsContainer: reportsContainer
    jobsQueue: jobsQueue
    replicaTimeout: workerTimeoutSeconds
    replicaRetryLimit: workerRetryLimit
    maxExecutions: maxWorkers
  }
  dependsOn: [
    storage
    endpoints
  ]
}

// Blob events of the storage account. Its subscription (BlobCreated in the checkpoints container, to the Functions
// blob trigger's Event Grid webhook) is eventgrid.bicep, deployed after the code: Event Grid validates a webhook when
// the subscription is made, and the blobs extension's key exists only once the app runs.
resource blobEvents 'Microsoft.EventGrid/systemTopics@2025-02-15' = {
  name: 'evgt-${prefix}-${suffix}'
  location: location
  tags: tags
  // Dead-letters undeliverable events into the data account with this identity (a trusted service: the firewall lets
  // it through).
  identity: {
    type: 'SystemAssigned'
  }
  properties: {
    source: storage.outputs.id
    topicType: 'Microsoft.Storage.StorageAccounts'
  }
}

module deadLetterAccess 'modules/storageGrants.bicep' = {
  name: 'deadLetterAccess'
  params: {
    storageAccountName: storageName
    principalId: blobEvents.identity.principalId
    assignmentKey: blobEvents.id
    principalType: 'ServicePrincipal'
    blobGrants: [
      { container: deadLetterContainer, role: builtInRoles.storageBlobDataContributor }
    ]
    queueGrants: []
  }
}

@description('Name of the data storage account (datasets and specs are uploaded there; az storage blob upload --auth-mode login).')
output storageAccountName string = storage.outputs.name

@description('Name of the function app (func azure functionapp publish / az functionapp deployment source config-zip).')
output functionAppName string = functionApp.outputs.name

@description('Host name of the function app: the HTTP API is https://<host>/api/pipelines.')
output functionAppHostName string = functionApp.outputs.hostName

@description('Name of the container registry (az acr build --registry).')
output registryName string = workers.outputs.registryName

@description('Login server of the container registry: the worker image is <server>/soup-worker:<tag>.')
output registryServer string = workers.outputs.registryServer

@description('Name of the worker job (az containerapp job execution list).')
output workerJobName string = workers.outputs.jobName

@description('Name of the Event Grid system topic (parameter systemTopicName of eventgrid.bicep).')
output systemTopicName string = blobEvents.name

@description('Name of the checkpoints container (parameter checkpointsContainer of eventgrid.bicep).')
output checkpointsContainer string = checkpointsContainer

@description('Resource id of the data storage account (parameter storageAccountId of eventgrid.bicep: dead letters).')
output storageAccountId string = storage.outputs.id

@description('Container of Event Grid\'s dead letters (parameter deadLetterContainer of eventgrid.bicep).')
output deadLetterContainer string = deadLetterContainer
