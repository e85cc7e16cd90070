variable "name" {
  description = "Domain name of the OpenSearch domain, e.g. pointsbook-production (3-28 characters)."
  type        = string

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{2,27}$", var.name))
    error_message = "name must be 3-28 characters of lower-case letters, digits and hyphens, starting with a letter."
  }
}

variable "vpc_id" {
  description = "ID of the VPC (aws-network output vpc_id)."
  type        = string
}

variable "subnet_ids" {
  description = "Private subnets for the domain's network interfaces; the first one (single node) or the first two (zone awareness) are used."
  type        = list(string)

  validation {
    condition     = length(var.subnet_ids) >= 2
    error_message = "subnet_ids must list at least two subnets."
  }
}

variable "allowed_security_group_ids" {
  description = "Security groups allowed to reach the domain on port 443 (the application instances)."
  type        = list(string)
  default     = []
}

variable "allowed_cidr_blocks" {
  description = "CIDR blocks allowed to reach the domain on port 443, e.g. the Azure VNet across the VPN."
  type        = list(string)
  default     = []

  validation {
    condition     = alltrue([for c in var.allowed_cidr_blocks : can(cidrhost(c, 0))])
    error_message = "allowed_cidr_blocks must contain valid CIDR blocks, e.g. 10.20.0.0/16."
  }
}

variable "engine_version" {
  description = "OpenSearch engine version, e.g. OpenSearch_2.17."
  type        = string
  default     = "OpenSearch_2.17"

  validation {
    condition     = can(regex("^OpenSearch_[0-9]+\\.[0-9]+$", var.engine_version))
    error_message = "engine_version must look like OpenSearch_2.17."
  }
}

variable "instance_type" {
  description = "Instance type of the data nodes."
  type        = string

  validation {
    condition     = contains(["t3.medium.search", "m6g.large.search", "m7g.large.search", "r6g.large.search", "r7g.large.search", "m7g.xlarge.search", "r7g.xlarge.search"], var.instance_type)
    error_message = "instance_type must be one of t3.medium.search, m6g.large.search, m7g.large.search, r6g.large.search, r7g.large.search, m7g.xlarge.search, r7g.xlarge.search."
  }
}

variable "instance_count" {
  description = "Data nodes: 1 (no zone awareness) or an even number spread over two availability zones."
  type        = number

  validation {
    condition     = var.instance_count == 1 || (var.instance_count >= 2 && var.instance_count <= 10 && var.instance_count % 2 == 0)
    error_message = "instance_count must be 1 or an even number from 2 to 10."
  }
}

variable "volume_size_gb" {
  description = "EBS volume of each data node, in GiB."
  type        = number
  default     = 20

  validation {
    condition     = var.volume_size_gb >= 10 && var.volume_size_gb <= 1024
    error_message = "volume_size_gb must be from 10 to 1024."
  }
}

variable "master_user_name" {
  description = "Fine-grained access control master user; its password is generated and kept in Secrets Manager."
  type        = string
  default     = "pointsbook"

  validation {
    condition     = can(regex("^[a-z][a-z0-9_-]{2,31}$", var.master_user_name))
    error_message = "master_user_name must be 3-32 lower-case letters, digits, underscores or hyphens, starting with a letter."
  }
}

variable "create_service_linked_role" {
  description = "Create the account-wide OpenSearch service-linked role needed for VPC domains (only once per account: true in one environment)."
  type        = bool
  default     = false
}

variable "tags" {
  description = "Tags added to every resource."
  type        = map(string)
  default     = {}
}
