output "public_url" {
  description = "Public URL of the site (geolocation and failover across both clouds)."
  value       = "https://${var.hostname}"
}

output "aws_alb_dns_name" {
  description = "DNS name of the AWS load balancer."
  value       = module.app.alb_dns_name
}

output "aws_autoscaling_group_name" {
  description = "Auto Scaling group CI starts instance refreshes on."
  value       = module.app.autoscaling_group_name
}

output "database_url_secret_arn" {
  description = "Secrets Manager ARN of PB_DATABASE_URL."
  value       = module.database.database_url_secret_arn
}

output "database_replica_url_secret_arn" {
  description = "Secrets Manager ARN of PB_DATABASE_REPLICA_URL."
  value       = module.database.database_replica_url_secret_arn
}

output "opensearch_endpoint" {
  description = "OpenSearch endpoint (PB_OPENSEARCH_URL without credentials)."
  value       = "https://${module.search.endpoint}"
}

output "azure_resource_group_name" {
  description = "Azure resource group of the environment."
  value       = module.azure_network.resource_group_name
}

output "azure_web_app_name" {
  description = "Azure web app CI deploys to (staging slot) and swaps."
  value       = module.azure_app.web_app_name
}

output "azure_default_hostname" {
  description = "Default host name of the Azure production slot."
  value       = module.azure_app.default_hostname
}

output "azure_staging_slot_hostname" {
  description = "Default host name of the Azure staging slot (smoke test before a swap)."
  value       = module.azure_app.staging_slot_hostname
}

output "azure_vpn_gateway_public_ips" {
  description = "Public addresses of the Azure VPN gateway."
  value       = module.azure_network.vpn_gateway_public_ips
}

output "aws_tunnel_outside_ips" {
  description = "Outside addresses of the AWS VPN tunnels."
  value       = module.vpn.aws_tunnel_outside_ips
}

output "resolver_inbound_ips" {
  description = "Route 53 inbound resolver addresses Azure forwards the private AWS zone to."
  value       = module.dns.resolver_inbound_ips
}

output "metrics_token" {
  description = "Bearer token of /metrics on every instance of both clouds (Prometheus: authorization credentials); terraform output -raw metrics_token."
  value       = module.app.metrics_token
  sensitive   = true
}
