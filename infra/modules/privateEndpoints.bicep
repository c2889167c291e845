// Private endpoints of the storage accounts in the deployment's virtual network, with the private DNS zones that make
// <account>.blob|queue|table.core.windows.net resolve to them inside it (main.bicep parameter privateEndpoints).

@description('Azure region.')
param location string

@description('Tags put on every resource.')
param tags object

@description('Resource id of the virtual network the zones are linked to.')
param vnetId string

@description('Resource id of the subnet the endpoints are put in.')
param subnetId string

@description('The endpoints: objects { accountId: storage account resource id, service: blob | queue | table }.')
param endpoints object[]

var services = ['blob', 'queue', 'table']

resource zones 'Microsoft.Network/privateDnsZones@2024-06-01' = [
  for service in services: {
    name: 'privatelink.${service}.${environment().suffixes.storage}'
    location: 'global'
    tags: tags
  }
]

resource links 'Microsoft.Network/privateDnsZones/virtualNetworkLinks@2024-06-01' = [
  for (service, i) in services: {
    parent: zones[i]
    name: 'vnet'
    location: 'global'
    tags: tags
    properties: {
      registrationEnabled: false
      virtualNetwork: {
        id: vnetId
      }
    }
  }
]

resource privateEndpoints 'Microsoft.Network/privateEndpoints@2024-05-01' = [
  for endpoint in endpoints: {
    name: 'pe-${last(split(endpoint.accountId, '/'))}-${endpoint.service}'
    location: location
    tags: tags
    properties: {
      subnet: {
        id: subnetId
      }
      privateLinkServiceConnections: [
        {
          name: endpoint.service
          properties: {
            privateLinkServiceId: endpoint.accountId
            groupIds: [
              endpoint.service
            ]
          }
        }
      ]
    }
  }
]

resource dnsGroups 'Microsoft.Network/privateEndpoints/privateDnsZoneGroups@2024-05-01' = [
  for (endpoint, i) in endpoints: {
    parent: privateEndpoints[i]
    name: 'default'
    properties: {
      privateDnsZoneConfigs: [
        {
          name: endpoint.service
          properties: {
            privateDnsZoneId: zones[indexOf(services, endpoint.service)].id
          }
        }
      ]
    }
  }
]
