// Built-in role definition ids (the same in every tenant), named once here for every role assignment.

@export()
@description('Built-in Azure roles used by the templates.')
var builtInRoles = {
  // Storage Blob Data Owner: blobs and containers, with ACL/ownership (the Functions host's own storage account needs it).
  storageBlobDataOwner: 'b7e6dc6d-f1e8-4753-8033-0f276bb0955b'
  // Storage Blob Data Contributor: read, write, delete blobs and containers.
  storageBlobDataContributor: 'ba92f5b4-2d11-453d-a403-e96b0029c9fe'
  // Storage Blob Data Reader: read and list blobs.
  storageBlobDataReader: '2a2b9908-6ea1-4ae2-8e65-a410df84e7d1'
  // Storage Queue Data Contributor: queues and their messages (peek, receive, update, delete, send).
  storageQueueDataContributor: '974c5e8b-45b9-4653-ba55-5f855dd0fb88'
  // Storage Queue Data Message Sender: add messages only (no read, no delete, no queue creation).
  storageQueueDataMessageSender: 'c6a89b2d-59bc-44d0-9896-0f6e12d7b80a'
  // Storage Table Data Contributor: tables and entities (the Durable task hub's history and instances).
  storageTableDataContributor: '0a9a7e1f-b9d0-4cc4-a60d-0319b160aaa3'
  // Monitoring Metrics Publisher: send telemetry to Application Insights with local auth off.
  monitoringMetricsPublisher: '3913510d-42f4-4e42-8a64-420c390055eb'
  // AcrPull: pull images from a container registry.
  acrPull: '7f951dda-4ed3-4680-a7ca-43fe172d538d'
}
