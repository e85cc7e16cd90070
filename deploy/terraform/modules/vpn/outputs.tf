output "aws_vpn_gateway_id" {
  description = "ID of the AWS virtual private gateway."
  value       = aws_vpn_gateway.this.id
}

output "aws_customer_gateway_ids" {
  description = "IDs of the AWS customer gateways (one per Azure VPN gateway address)."
  value       = aws_customer_gateway.azure[*].id
}

output "aws_vpn_connection_ids" {
  description = "IDs of the AWS site-to-site VPN connections (two tunnels each)."
  value       = aws_vpn_connection.azure[*].id
}

output "aws_tunnel_outside_ips" {
  description = "Outside addresses of the AWS tunnels, keyed c<connection>-t<tunnel> (the Azure local network gateways point at them)."
  value = {
    for k, t in local.tunnels :
    k => t.tunnel == 1 ? aws_vpn_connection.azure[t.connection].tunnel1_address : aws_vpn_connection.azure[t.connection].tunnel2_address
  }
}

output "azure_local_network_gateway_ids" {
  description = "IDs of the Azure local network gateways, keyed like aws_tunnel_outside_ips."
  value       = { for k, g in azurerm_local_network_gateway.aws : k => g.id }
}

output "azure_connection_ids" {
  description = "IDs of the Azure VPN connections, keyed like aws_tunnel_outside_ips."
  value       = { for k, c in azurerm_virtual_network_gateway_connection.aws : k => c.id }
}
