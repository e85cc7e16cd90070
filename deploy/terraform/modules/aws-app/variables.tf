variable "name" {
  description = "Name prefix for every resource, e.g. pointsbook-production (at most 28 characters: load balancer names are limited)."
  type        = string

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{1,26}[a-z0-9]$", var.name))
    error_message = "name must be 3-28 characters of lower-case letters, digits and hyphens, starting with a letter."
  }
}

variable "vpc_id" {
  description = "ID of the VPC (aws-network output vpc_id)."
  type        = string
}

variable "public_subnet_ids" {
  description = "Public subnets for the load balancer, in two or more availability zones."
  type        = list(string)

  validation {
    condition     = length(var.public_subnet_ids) >= 2
    error_message = "public_subnet_ids must list at least two subnets (an ALB needs two availability zones)."
  }
}

variable "private_subnet_ids" {
  description = "Private subnets for the instances of the Auto Scaling group."
  type        = list(string)

  validation {
    condition     = length(var.private_subnet_ids) >= 2
    error_message = "private_subnet_ids must list at least two subnets."
  }
}

variable "domain_name" {
  description = "Public host name served over HTTPS, e.g. play.pointsbook.example; the ACM certificate is issued for it."
  type        = string

  validation {
    condition     = can(regex("^([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\\.)+[a-z]{2,63}$", var.domain_name))
    error_message = "domain_name must be a lower-case DNS name such as play.pointsbook.example."
  }
}

variable "subject_alternative_names" {
  description = "Further host names the certificate covers."
  type        = list(string)
  default     = []
}

variable "route53_zone_id" {
  description = "ID of the public Route 53 hosted zone the ACM DNS validation records are written to."
  type        = string
}

variable "container_image" {
  description = "Container image of Pointsbook to run, with tag or digest, e.g. ghcr.io/example/pointsbook:1.2.3."
  type        = string

  validation {
    condition     = length(trimspace(var.container_image)) > 0 && !can(regex("\\s", var.container_image))
    error_message = "container_image must be a non-empty image reference without spaces."
  }
}

variable "instance_type" {
  description = "EC2 instance type of the application servers."
  type        = string

  validation {
    condition     = contains(["t3.small", "t3.medium", "t3.large", "m6i.large", "m7i.large", "m7i.xlarge", "c7i.large", "c7i.xlarge"], var.instance_type)
    error_message = "instance_type must be one of t3.small, t3.medium, t3.large, m6i.large, m7i.large, m7i.xlarge, c7i.large, c7i.xlarge."
  }
}

variable "min_size" {
  description = "Fewest instances in the Auto Scaling group."
  type        = number

  validation {
    condition     = var.min_size >= 1
    error_message = "min_size must be at least 1."
  }
}

variable "max_size" {
  description = "Most instances in the Auto Scaling group (must be at least min_size)."
  type        = number

  validation {
    condition     = var.max_size >= 1 && var.max_size <= 50
    error_message = "max_size must be from 1 to 50."
  }
}

variable "cpu_target_percent" {
  description = "Average CPU utilisation the target-tracking policy keeps the group at."
  type        = number
  default     = 60

  validation {
    condition     = var.cpu_target_percent >= 20 && var.cpu_target_percent <= 90
    error_message = "cpu_target_percent must be from 20 to 90."
  }
}

variable "idle_timeout_seconds" {
  description = "ALB idle timeout; long so that idle WebSocket connections are not cut."
  type        = number
  default     = 3600

  validation {
    condition     = var.idle_timeout_seconds >= 60 && var.idle_timeout_seconds <= 4000
    error_message = "idle_timeout_seconds must be from 60 to 4000 (the ALB maximum)."
  }
}

variable "app_environment" {
  description = "Non-secret PB_* environment variables of the container (PB_HTTP_ADDR and PB_PUBLIC_URL are set by the module)."
  type        = map(string)
  default     = {}

  validation {
    condition     = alltrue([for k, v in var.app_environment : can(regex("^PB_[A-Z0-9_]+$", k)) && !can(regex("[\\n'\"]", v))])
    error_message = "app_environment keys must be PB_* names and values must not contain quotes or newlines."
  }
}

variable "secret_arns" {
  description = "Secret environment variables: PB_* name => ARN of the Secrets Manager secret whose value the instance fetches at boot (e.g. PB_DATABASE_URL)."
  type        = map(string)
  default     = {}

  validation {
    condition     = alltrue([for k, v in var.secret_arns : can(regex("^PB_[A-Z0-9_]+$", k))])
    error_message = "secret_arns keys must be PB_* names."
  }
}

variable "secret_kms_key_arns" {
  description = "KMS keys the secrets in secret_arns are encrypted with; the instances may decrypt with them."
  type        = list(string)
  default     = []
}

variable "allowed_ingress_cidrs" {
  description = "CIDR blocks allowed to reach the load balancer on ports 80 and 443."
  type        = list(string)
  default     = ["0.0.0.0/0"]

  validation {
    condition     = alltrue([for c in var.allowed_ingress_cidrs : can(cidrhost(c, 0))])
    error_message = "allowed_ingress_cidrs must contain valid CIDR blocks."
  }
}

variable "monitoring_cidrs" {
  description = "CIDR blocks of the Prometheus servers that scrape the instances (application /metrics on 8080, node-exporter on 9100); empty admits nobody but the load balancer."
  type        = list(string)
  default     = []

  validation {
    condition     = alltrue([for c in var.monitoring_cidrs : can(cidrhost(c, 0)) && !startswith(c, "0.0.0.0")])
    error_message = "monitoring_cidrs must contain valid CIDR blocks of the monitoring network (not 0.0.0.0/0)."
  }
}

variable "tags" {
  description = "Tags added to every resource."
  type        = map(string)
  default     = {}
}
