// The virtual network the Functions app and the worker environment reach storage through, so that the storage
// accounts can deny every other network. Two delegated subnets with the Microsoft.Storage service endpoint (storage
// network rules name them), and one for private endpoints, used when privateEndpoints.bicep is deployed.

@description('Name of the virtual network.')
param name string

@description('Name of the Functions app\'s integration subnet.')
param functionsSubnetName string

@description('Name of the Container Apps environment\'s infrastructure subnet.')
param workersSubnetName string

@description('Azure region.')
param location string

@description('Tags put on every resource.')
param tags object

@description('Address space of the virtual network (a /16 or larger, not overlapping any network it will be peered with).')
param addressPrefix string

resource vnet 'Microsoft.Network/virtualNetworks@2024-05-01' = {
  name: name
  location: location
  tags: tags
  properties: {
    addressSpace: {
      addressPrefixes: [
        addressPrefix
      ]
    }
    subnets: [
      {
        // Flex Consumption VNet integration: a subnet delegated to Microsoft.App/environments.
        name: functionsSubnetName
        properties: {
          addressPrefix: cidrSubnet(addressPrefix, 24, 0)
          delegations: [
            {
              name: 'functions'
              properties: {
                serviceName: 'Microsoft.App/environments'
              }
            }
          ]
          serviceEndpoints: [
            {
              service: 'Microsoft.Storage'
            }
          ]
        }
      }
      {
        // Infrastructure subnet of the Container Apps environment (workload profiles: /27 at least, delegated).
        name: workersSubnetName
        properties: {
          addressPrefix: cidrSubnet(addressPrefix, 23, 1)
          delegations: [
            {
              name: 'workers'
              properties: {
                serviceName: 'Microsoft.App/environments'
              }
            }
          ]
          serviceEndpoints: [
            {
              service: 'Microsoft.Storage'
            }
          ]
        }
      }
      {
        name: 'snet-private-endpoints'
        properties: {
          addressPrefix: cidrSubnet(addressPrefix, 24, 4)
        }
      }
    ]
  }
}

@description('Resource id of the virtual network.')
output vnetId string = vnet.id

@description('Resource id of the Functions app\'s integration subnet.')
output functionsSubnetId string = vnet.properties.subnets[0].id

@description('Resource id of the Container Apps environment\'s infrastructure subnet.')
output workersSubnetId string = vnet.properties.subnets[1].id

@description('Resource id of the private endpoints\' subnet.')
output privateEndpointsSubnetId string = vnet.properties.subnets[2].id
