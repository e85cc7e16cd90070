variable "name" {
  description = "Name prefix for every resource, e.g. pointsbook-production (at most 35 characters: replication group IDs are limited to 40)."
  type        = string

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{1,33}[a-z0-9]$", var.name))
    error_message = "name must be 3-35 characters of lower-case letters, digits and hyphens, starting with a letter."
  }
}

variable "vpc_id" {
  description = "ID of the VPC (aws-network output vpc_id)."
  type        = string
}

variable "subnet_ids" {
  description = "Private subnets of the cache subnet group, in two or more availability zones."
  type        = list(string)

  validation {
    condition     = length(var.subnet_ids) >= 2
    error_message = "subnet_ids must list at least two subnets (Multi-AZ failover)."
  }
}

variable "allowed_security_group_ids" {
  description = "Security groups allowed to connect on port 6379 (the application instances)."
  type        = list(string)
  default     = []
}

variable "allowed_cidr_blocks" {
  description = "CIDR blocks allowed to connect on port 6379, e.g. the Azure VNet across the VPN."
  type        = list(string)
  default     = []

  validation {
    condition     = alltrue([for c in var.allowed_cidr_blocks : can(cidrhost(c, 0))])
    error_message = "allowed_cidr_blocks must contain valid CIDR blocks, e.g. 10.20.0.0/16."
  }
}

variable "node_type" {
  description = "ElastiCache node type."
  type        = string

  validation {
    condition     = contains(["cache.t4g.micro", "cache.t4g.small", "cache.t4g.medium", "cache.m7g.large", "cache.m7g.xlarge", "cache.r7g.large", "cache.r7g.xlarge"], var.node_type)
    error_message = "node_type must be one of cache.t4g.micro, cache.t4g.small, cache.t4g.medium, cache.m7g.large, cache.m7g.xlarge, cache.r7g.large, cache.r7g.xlarge."
  }
}

variable "node_count" {
  description = "Nodes in the replication group: one primary and node_count-1 replicas (2 or more for automatic failover)."
  type        = number
  default     = 2

  validation {
    condition     = var.node_count >= 2 && var.node_count <= 6
    error_message = "node_count must be from 2 to 6."
  }
}

variable "engine_version" {
  description = "Redis OSS engine version."
  type        = string
  default     = "7.1"

  validation {
    condition     = can(regex("^[67]\\.[0-9]+$", var.engine_version))
    error_message = "engine_version must be a Redis 6.x or 7.x version such as 7.1."
  }
}

variable "snapshot_retention_days" {
  description = "Days of daily snapshots kept (0 disables them)."
  type        = number
  default     = 1

  validation {
    condition     = var.snapshot_retention_days >= 0 && var.snapshot_retention_days <= 35
    error_message = "snapshot_retention_days must be from 0 to 35."
  }
}

variable "tags" {
  description = "Tags added to every resource."
  type        = map(string)
  default     = {}
}
