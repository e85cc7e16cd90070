variable "name" {
  description = "Name prefix for every resource, e.g. pointsbook-production."
  type        = string

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{1,40}[a-z0-9]$", var.name))
    error_message = "name must be 3-42 characters of lower-case letters, digits and hyphens, starting with a letter."
  }
}

variable "vpc_id" {
  description = "ID of the VPC (aws-network output vpc_id)."
  type        = string
}

variable "subnet_ids" {
  description = "Private subnets of the DB subnet group, in two or more availability zones."
  type        = list(string)

  validation {
    condition     = length(var.subnet_ids) >= 2
    error_message = "subnet_ids must list at least two subnets (Multi-AZ)."
  }
}

variable "allowed_security_group_ids" {
  description = "Security groups allowed to connect on port 5432 (the application instances)."
  type        = list(string)
  default     = []
}

variable "allowed_cidr_blocks" {
  description = "CIDR blocks allowed to connect on port 5432, e.g. the Azure VNet across the VPN and the monitoring network (postgres-exporter)."
  type        = list(string)
  default     = []

  validation {
    condition     = alltrue([for c in var.allowed_cidr_blocks : can(cidrhost(c, 0))])
    error_message = "allowed_cidr_blocks must contain valid CIDR blocks, e.g. 10.20.0.0/16."
  }
}

variable "instance_class" {
  description = "RDS instance class of the primary."
  type        = string

  validation {
    condition     = contains(["db.t4g.small", "db.t4g.medium", "db.t4g.large", "db.m7g.large", "db.m7g.xlarge", "db.m7g.2xlarge", "db.r7g.large", "db.r7g.xlarge"], var.instance_class)
    error_message = "instance_class must be one of db.t4g.small, db.t4g.medium, db.t4g.large, db.m7g.large, db.m7g.xlarge, db.m7g.2xlarge, db.r7g.large, db.r7g.xlarge."
  }
}

variable "replica_instance_class" {
  description = "RDS instance class of the read replica."
  type        = string

  validation {
    condition     = contains(["db.t4g.small", "db.t4g.medium", "db.t4g.large", "db.m7g.large", "db.m7g.xlarge", "db.m7g.2xlarge", "db.r7g.large", "db.r7g.xlarge"], var.replica_instance_class)
    error_message = "replica_instance_class must be one of db.t4g.small, db.t4g.medium, db.t4g.large, db.m7g.large, db.m7g.xlarge, db.m7g.2xlarge, db.r7g.large, db.r7g.xlarge."
  }
}

variable "engine_version" {
  description = "PostgreSQL major version (15 or later)."
  type        = string
  default     = "16"

  validation {
    condition     = can(regex("^1[5-9](\\.[0-9]+)?$", var.engine_version))
    error_message = "engine_version must be PostgreSQL 15 or later, e.g. 16 or 16.4."
  }
}

variable "allocated_storage_gb" {
  description = "Initial storage of the primary, in GiB."
  type        = number
  default     = 50

  validation {
    condition     = var.allocated_storage_gb >= 20 && var.allocated_storage_gb <= 65536
    error_message = "allocated_storage_gb must be from 20 to 65536."
  }
}

variable "max_allocated_storage_gb" {
  description = "Upper limit of storage autoscaling, in GiB (at least allocated_storage_gb)."
  type        = number
  default     = 200

  validation {
    condition     = var.max_allocated_storage_gb >= 20 && var.max_allocated_storage_gb <= 65536
    error_message = "max_allocated_storage_gb must be from 20 to 65536."
  }
}

variable "database_name" {
  description = "Name of the database Pointsbook uses."
  type        = string
  default     = "pointsbook"

  validation {
    condition     = can(regex("^[a-z][a-z0-9_]{0,62}$", var.database_name))
    error_message = "database_name must start with a letter and contain only lower-case letters, digits and underscores."
  }
}

variable "master_username" {
  description = "Master user name; its password is generated and kept in Secrets Manager."
  type        = string
  default     = "pointsbook"

  validation {
    condition     = can(regex("^[a-z][a-z0-9_]{0,15}$", var.master_username)) && !contains(["admin", "postgres", "rdsadmin"], var.master_username)
    error_message = "master_username must be 1-16 lower-case letters, digits or underscores, starting with a letter, and not a reserved name."
  }
}

variable "backup_retention_days" {
  description = "Days of automated backups kept (point-in-time recovery window)."
  type        = number
  default     = 7

  validation {
    condition     = var.backup_retention_days >= 1 && var.backup_retention_days <= 35
    error_message = "backup_retention_days must be from 1 to 35 (a read replica needs backups)."
  }
}

variable "deletion_protection" {
  description = "Refuse to delete the primary and take a final snapshot on destroy."
  type        = bool
  default     = true
}

variable "tags" {
  description = "Tags added to every resource."
  type        = map(string)
  default     = {}
}
