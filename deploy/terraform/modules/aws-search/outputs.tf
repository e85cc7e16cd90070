output "endpoint" {
  description = "Host name of the domain's HTTPS endpoint (inside the VPC); PB_OPENSEARCH_URL is https://<endpoint> plus credentials."
  value       = aws_opensearch_domain.this.endpoint
}

output "dashboards_endpoint" {
  description = "Host name and path of OpenSearch Dashboards."
  value       = aws_opensearch_domain.this.dashboard_endpoint
}

output "domain_arn" {
  description = "ARN of the OpenSearch domain."
  value       = aws_opensearch_domain.this.arn
}

output "opensearch_url_secret_arn" {
  description = "ARN of the Secrets Manager secret holding PB_OPENSEARCH_URL (https with the master user)."
  value       = aws_secretsmanager_secret.opensearch_url.arn
}

output "opensearch_url" {
  description = "PB_OPENSEARCH_URL itself, with credentials (for the Azure Key Vault, across the VPN)."
  value       = local.opensearch_url
  sensitive   = true
}

output "security_group_id" {
  description = "Security group of the domain's network interfaces."
  value       = aws_security_group.this.id
}

output "kms_key_arn" {
  description = "KMS key encrypting the search data and the secret."
  value       = aws_kms_key.this.arn
}
