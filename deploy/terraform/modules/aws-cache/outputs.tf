output "primary_endpoint" {
  description = "Host name of the Redis primary (writes)."
  value       = aws_elasticache_replication_group.this.primary_endpoint_address
}

output "reader_endpoint" {
  description = "Host name spreading reads over the replicas."
  value       = aws_elasticache_replication_group.this.reader_endpoint_address
}

output "port" {
  description = "Redis port (TLS only)."
  value       = local.port
}

output "redis_url_secret_arn" {
  description = "ARN of the Secrets Manager secret holding PB_REDIS_URL (rediss:// with the AUTH token)."
  value       = aws_secretsmanager_secret.redis_url.arn
}

output "redis_url" {
  description = "PB_REDIS_URL itself (for the Azure Key Vault, across the VPN)."
  value       = local.redis_url
  sensitive   = true
}

output "security_group_id" {
  description = "Security group of the cache nodes."
  value       = aws_security_group.this.id
}

output "kms_key_arn" {
  description = "KMS key encrypting the cache data and the secret."
  value       = aws_kms_key.this.arn
}
