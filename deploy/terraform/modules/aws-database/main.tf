locals {
  port   = 5432
  family = "postgres${split(".", var.engine_version)[0]}"
}

resource "aws_kms_key" "this" {
  description             = "${var.name} database storage, snapshots and secrets"
  deletion_window_in_days = 30
  enable_key_rotation     = true

  tags = var.tags
}

resource "aws_db_subnet_group" "this" {
  name       = var.name
  subnet_ids = var.subnet_ids

  tags = var.tags
}

resource "aws_security_group" "this" {
  name        = "${var.name}-db"
  description = "Pointsbook PostgreSQL: 5432 from the application"
  vpc_id      = var.vpc_id

  tags = merge(var.tags, { Name = "${var.name}-db" })
}

resource "aws_vpc_security_group_ingress_rule" "from_sg" {
  count = length(var.allowed_security_group_ids)

  security_group_id            = aws_security_group.this.id
  description                  = "PostgreSQL from the application"
  referenced_security_group_id = var.allowed_security_group_ids[count.index]
  from_port                    = local.port
  to_port                      = local.port
  ip_protocol                  = "tcp"
}

resource "aws_vpc_security_group_ingress_rule" "from_cidr" {
  for_each = toset(var.allowed_cidr_blocks)

  security_group_id = aws_security_group.this.id
  description       = "PostgreSQL across the VPN or from the monitoring network"
  cidr_ipv4         = each.value
  from_port         = local.port
  to_port           = local.port
  ip_protocol       = "tcp"
}

resource "aws_db_parameter_group" "this" {
  name   = "${var.name}-${local.family}"
  family = local.family

  parameter {
    name  = "rds.force_ssl"
    value = "1"
  }

  parameter {
    name  = "log_min_duration_statement"
    value = "500"
  }

  tags = var.tags

  lifecycle {
    create_before_destroy = true
  }
}

# URL-safe password: no characters that need escaping in postgres:// URLs.
resource "random_password" "master" {
  length  = 40
  special = false
}

resource "aws_db_instance" "primary" {
  identifier     = var.name
  engine         = "postgres"
  engine_version = var.engine_version
  instance_class = var.instance_class

  db_name  = var.database_name
  username = var.master_username
  password = random_password.master.result
  port     = local.port

  allocated_storage     = var.allocated_storage_gb
  max_allocated_storage = max(var.max_allocated_storage_gb, var.allocated_storage_gb)
  storage_type          = "gp3"
  storage_encrypted     = true
  kms_key_id            = aws_kms_key.this.arn

  multi_az               = true
  db_subnet_group_name   = aws_db_subnet_group.this.name
  vpc_security_group_ids = [aws_security_group.this.id]
  publicly_accessible    = false
  parameter_group_name   = aws_db_parameter_group.this.name

  backup_retention_period         = var.backup_retention_days
  backup_window                   = "02:00-03:00"
  maintenance_window              = "sun:03:30-sun:04:30"
  copy_tags_to_snapshot           = true
  deletion_protection             = var.deletion_protection
  skip_final_snapshot             = !var.deletion_protection
  final_snapshot_identifier       = var.deletion_protection ? "${var.name}-final" : null
  auto_minor_version_upgrade      = true
  enabled_cloudwatch_logs_exports = ["postgresql"]

  performance_insights_enabled        = true
  performance_insights_kms_key_id     = aws_kms_key.this.arn
  iam_database_authentication_enabled = true

  tags = merge(var.tags, { Name = var.name })
}

resource "aws_db_instance" "replica" {
  identifier          = "${var.name}-replica"
  replicate_source_db = aws_db_instance.primary.identifier
  instance_class      = var.replica_instance_class

  # Encryption (and the KMS key) is inherited from the primary.
  storage_encrypted      = true
  vpc_security_group_ids = [aws_security_group.this.id]
  publicly_accessible    = false
  parameter_group_name   = aws_db_parameter_group.this.name

  backup_retention_period    = 0
  skip_final_snapshot        = true
  auto_minor_version_upgrade = true

  performance_insights_enabled        = true
  performance_insights_kms_key_id     = aws_kms_key.this.arn
  iam_database_authentication_enabled = true

  tags = merge(var.tags, { Name = "${var.name}-replica" })
}

# --- connection strings in Secrets Manager --------------------------------------

locals {
  database_url         = "postgres://${var.master_username}:${random_password.master.result}@${aws_db_instance.primary.address}:${local.port}/${var.database_name}?sslmode=require"
  database_replica_url = "postgres://${var.master_username}:${random_password.master.result}@${aws_db_instance.replica.address}:${local.port}/${var.database_name}?sslmode=require"
}

resource "aws_secretsmanager_secret" "database_url" {
  name_prefix             = "${var.name}/PB_DATABASE_URL-"
  description             = "PB_DATABASE_URL of Pointsbook (primary, read-write)"
  kms_key_id              = aws_kms_key.this.arn
  recovery_window_in_days = 7

  tags = var.tags
}

resource "aws_secretsmanager_secret_version" "database_url" {
  secret_id     = aws_secretsmanager_secret.database_url.id
  secret_string = local.database_url
}

resource "aws_secretsmanager_secret" "database_replica_url" {
  name_prefix             = "${var.name}/PB_DATABASE_REPLICA_URL-"
  description             = "PB_DATABASE_REPLICA_URL of Pointsbook (read replica)"
  kms_key_id              = aws_kms_key.this.arn
  recovery_window_in_days = 7

  tags = var.tags
}

resource "aws_secretsmanager_secret_version" "database_replica_url" {
  secret_id     = aws_secretsmanager_secret.database_replica_url.id
  secret_string = local.database_replica_url
}
