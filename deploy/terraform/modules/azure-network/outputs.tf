output "resource_group_name" {
  description = "Resource group holding the network (and, by default, the app)."
  value       = local.resource_group_name
}

output "location" {
  description = "Azure region of the network."
  value       = var.location
}

output "vnet_id" {
  description = "ID of the virtual network."
  value       = azurerm_virtual_network.this.id
}

output "vnet_name" {
  description = "Name of the virtual network."
  value       = azurerm_virtual_network.this.name
}

output "address_space" {
  description = "Address space of the virtual network (routed to AWS over the VPN)."
  value       = var.address_space
}

output "app_subnet_id" {
  description = "ID of the subnet delegated to App Service VNet integration."
  value       = azurerm_subnet.app.id
}

output "gateway_subnet_id" {
  description = "ID of the GatewaySubnet."
  value       = azurerm_subnet.gateway.id
}

output "vpn_gateway_id" {
  description = "ID of the active-active VPN gateway."
  value       = azurerm_virtual_network_gateway.this.id
}

output "vpn_gateway_public_ips" {
  description = "The two public IPv4 addresses of the VPN gateway (the AWS customer gateways point at them)."
  value       = azurerm_public_ip.vpn[*].ip_address
}
