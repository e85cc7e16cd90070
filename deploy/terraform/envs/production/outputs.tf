output "public_url" {
  description = "Public URL of the site (geolocation and failover across both clouds)."
  value       = module.platform.public_url
}

output "aws_alb_dns_name" {
  description = "DNS name of the AWS load balancer."
  value       = module.platform.aws_alb_dns_name
}

output "aws_autoscaling_group_name" {
  description = "Auto Scaling group CI starts instance refreshes on."
  value       = module.platform.aws_autoscaling_group_name
}

output "database_url_secret_arn" {
  description = "Secrets Manager ARN of PB_DATABASE_URL."
  value       = module.platform.database_url_secret_arn
}

output "database_replica_url_secret_arn" {
  description = "Secrets Manager ARN of PB_DATABASE_REPLICA_URL."
  value       = module.platform.database_replica_url_secret_arn
}

output "opensearch_endpoint" {
  description = "OpenSearch endpoint (PB_OPENSEARCH_URL without credentials)."
  value       = module.platform.opensearch_endpoint
}

output "azure_resource_group_name" {
  description = "Azure resource group of the environment."
  value       = module.platform.azure_resource_group_name
}

output "azure_web_app_name" {
  description = "Azure web app CI deploys to (staging slot) and swaps."
  value       = module.platform.azure_web_app_name
}

output "azure_default_hostname" {
  description = "Default host name of the Azure production slot."
  value       = module.platform.azure_default_hostname
}

output "azure_staging_slot_hostname" {
  description = "Default host name of the Azure staging slot (smoke test before a swap)."
  value       = module.platform.azure_staging_slot_hostname
}

output "azure_vpn_gateway_public_ips" {
  description = "Public addresses of the Azure VPN gateway."
  value       = module.platform.azure_vpn_gateway_public_ips
}

output "aws_tunnel_outside_ips" {
  description = "Outside addresses of the AWS VPN tunnels."
  value       = module.platform.aws_tunnel_outside_ips
}

output "resolver_inbound_ips" {
  description = "Route 53 inbound resolver addresses Azure forwards the private AWS zone to."
  value       = module.platform.resolver_inbound_ips
}

output "metrics_token" {
  description = "Bearer token of /metrics on every instance of both clouds (Prometheus: authorization credentials); terraform output -raw metrics_token."
  value       = module.platform.metrics_token
  sensitive   = true
}
