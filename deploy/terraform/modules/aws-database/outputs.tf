output "primary_address" {
  description = "Host name of the PostgreSQL primary (resolves to a private address)."
  value       = aws_db_instance.primary.address
}

output "replica_address" {
  description = "Host name of the PostgreSQL read replica."
  value       = aws_db_instance.replica.address
}

output "port" {
  description = "PostgreSQL port."
  value       = local.port
}

output "database_url_secret_arn" {
  description = "ARN of the Secrets Manager secret holding PB_DATABASE_URL."
  value       = aws_secretsmanager_secret.database_url.arn
}

output "database_replica_url_secret_arn" {
  description = "ARN of the Secrets Manager secret holding PB_DATABASE_REPLICA_URL."
  value       = aws_secretsmanager_secret.database_replica_url.arn
}

output "database_url" {
  description = "PB_DATABASE_URL itself (for the Azure Key Vault, across the VPN)."
  value       = local.database_url
  sensitive   = true
}

output "database_replica_url" {
  description = "PB_DATABASE_REPLICA_URL itself (for the Azure Key Vault, across the VPN)."
  value       = local.database_replica_url
  sensitive   = true
}

output "security_group_id" {
  description = "Security group of the database instances."
  value       = aws_security_group.this.id
}

output "kms_key_arn" {
  description = "KMS key encrypting the storage, snapshots and secrets."
  value       = aws_kms_key.this.arn
}
