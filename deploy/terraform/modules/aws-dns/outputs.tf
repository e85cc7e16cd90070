output "record_fqdn" {
  description = "Public host name players use (geolocation over two failover pairs)."
  value       = var.record_name
}

output "aws_primary_fqdn" {
  description = "Failover name answering with AWS while it is healthy, else Azure."
  value       = local.aws_name
}

output "azure_primary_fqdn" {
  description = "Failover name answering with Azure while it is healthy, else AWS."
  value       = local.azure_name
}

output "aws_health_check_id" {
  description = "ID of the Route 53 health check on the AWS load balancer."
  value       = aws_route53_health_check.aws.id
}

output "azure_health_check_id" {
  description = "ID of the Route 53 health check on the Azure front end."
  value       = aws_route53_health_check.azure.id
}

output "private_zone_id" {
  description = "ID of the private hosted zone of AWS service names."
  value       = aws_route53_zone.private.zone_id
}

output "private_zone_name" {
  description = "Name of the private hosted zone; Azure forwards it to resolver_inbound_ips."
  value       = var.private_zone_name
}

output "resolver_inbound_ips" {
  description = "Addresses of the Route 53 inbound resolver endpoint (DNS servers for Azure's forwarding rule)."
  value       = local.resolver_ips
}

output "resolver_endpoint_id" {
  description = "ID of the Route 53 inbound resolver endpoint."
  value       = aws_route53_resolver_endpoint.inbound.id
}

output "azure_verification_record" {
  description = "FQDN of the asuid TXT record Azure App Service checks before binding record_name to the Web App."
  value       = aws_route53_record.azure_verification.fqdn
}
