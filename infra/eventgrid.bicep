// Post-deployment step: the Event Grid subscription that delivers checkpoint landings (BlobCreated in the checkpoints
// container) to the Functions blob trigger with the Event Grid source. Deploy it after main.bicep and after the code is
// published: Event Grid validates the webhook when the subscription is made, and the blobs extension key exists only
// once the app has started. README.md, "Deploy to Azure", gives the commands.

@description('Name of the Event Grid system topic on the storage account (output systemTopicName of main.bicep).')
param systemTopicName string

@description('Host name of the function app (output functionAppHostName of main.bicep).')
param functionAppHostName string

@description('Name of the Event Grid-sourced blob-trigger function.')
param functionName string = 'CheckpointLanded'

@description('Name of the checkpoints container (output checkpointsContainer of main.bicep).')
param checkpointsContainer string = 'checkpoints'

@description('The function app\'s blobs_extension system key (az functionapp keys list ... --query systemKeys.blobs_extension). Passed at deployment time, never stored in a file.')
@secure()
param blobsExtensionKey string

@description('Resource id of the data storage account (output storageAccountId of main.bicep): undeliverable events are dead-lettered there.')
param storageAccountId string

@description('Container of dead letters (output deadLetterContainer of main.bicep); the system topic\'s identity may write it.')
param deadLetterContainer string = 'eventgrid-deadletter'

@description('Minutes Event Grid keeps retrying a delivery before the event is dead-lettered (the pipeline also lists the container at each deadline, so a lost landing is found later).')
@minValue(1)
@maxValue(1440)
param eventTimeToLiveMinutes int = 1440

@description('Most delivery attempts of one event before it is dead-lettered.')
@minValue(1)
@maxValue(30)
param maxDeliveryAttempts int = 30

resource topic 'Microsoft.EventGrid/systemTopics@2025-02-15' existing = {
  name: systemTopicName
}

resource landings 'Microsoft.EventGrid/systemTopics/eventSubscriptions@2025-02-15' = {
  parent: topic
  name: 'checkpoint-landings'
  properties: {
    destination: {
      endpointType: 'WebHook'
      properties: {
        // The URL carries the key: it is built from the secure parameter at deployment time, and Event Grid returns
        // only its base (endpointBaseUrl), so the key shows neither in the template nor in the deployment history.
        #disable-next-line use-secure-value-for-secure-inputs
        endpointUrl: 'https://${functionAppHostName}/runtime/webhooks/blobs?functionName=Host.Functions.${functionName}&code=${blobsExtensionKey}'
        maxEventsPerBatch: 1
        preferredBatchSizeInKilobytes: 64
      }
    }
    eventDeliverySchema: 'EventGridSchema'
    filter: {
      includedEventTypes: [
        'Microsoft.Storage.BlobCreated'
      ]
      subjectBeginsWith: '/blobServices/default/containers/${checkpointsContainer}/blobs/'
      // Only the files that complete a job (CheckpointLayout): progress reports and resumption checkpoints, which
      // workers overwrite while they train, raise no event.
      advancedFilters: [
        {
          operatorType: 'StringEndsWith'
          key: 'subject'
          values: [
            '/model.safetensors'
            '/results.json'
            '/failed.json'
          ]
        }
      ]
    }
    // Explicit retries (Event Grid backs off between attempts), then the event is written as a blob to the dead-letter
    // container with the system topic's managed identity (no storage key; a trusted service for the firewall).
    retryPolicy: {
      maxDeliveryAttempts: maxDeliveryAttempts
      eventTimeToLiveInMinutes: eventTimeToLiveMinutes
    }
    deadLetterWithResourceIdentity: {
      identity: {
        type: 'SystemAssigned'
      }
      deadLetterDestination: {
        endpointType: 'StorageBlob'
        properties: {
          resourceId: storageAccountId
          blobContainerName: deadLetterContainer
        }
      }
    }
  }
}

@description('Name of the event subscription.')
output subscriptionName string = landings.name
