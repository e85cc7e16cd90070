variable "environment" {
  type        = string
  description = "Environment name (staging or production); prefixes resource names and tags."

  validation {
    condition     = contains(["staging", "production"], var.environment)
    error_message = "environment must be staging or production."
  }
}

variable "sizes" {
  type = object({
    az_count              = number,
    single_nat_gateway    = bool,
    app_instance_type     = string,
    app_min_size          = number,
    app_max_size          = number,
    db_instance_class     = string,
    db_replica_class      = string,
    db_storage_gb         = number,
    db_max_storage_gb     = number,
    db_backup_days        = number,
    db_deletion_protect   = bool,
    cache_node_type       = string,
    cache_node_count      = number,
    search_instance_type  = string,
    search_instance_count = number,
    search_volume_gb      = number,
    azure_sku             = string,
    azure_min_instances   = number,
    azure_max_instances   = number,
    vpn_gateway_sku       = string
  })
  description = "Sizes of everything that differs between environments: zones, NAT, instance classes and counts, storage, backups, deletion protection, SKUs."
}

variable "azure_location" {
  description = "Azure region of the staging environment."
  type        = string
  default     = "westeurope"

  validation {
    condition     = can(regex("^[a-z][a-z0-9]+$", var.azure_location))
    error_message = "azure_location must be an Azure region name such as westeurope."
  }
}

variable "aws_vpc_cidr" {
  description = "CIDR block of the AWS VPC; must not overlap azure_address_space."
  type        = string
  default     = "10.30.0.0/16"

  validation {
    condition     = can(cidrhost(var.aws_vpc_cidr, 0))
    error_message = "aws_vpc_cidr must be a valid CIDR block, e.g. 10.10.0.0/16."
  }
}

variable "azure_address_space" {
  description = "CIDR block of the Azure VNet (a /16-/22: the gateway, DNS resolver and app subnets are carved from it); must not overlap aws_vpc_cidr."
  type        = string
  default     = "10.40.0.0/16"

  validation {
    condition     = can(cidrhost(var.azure_address_space, 0)) && tonumber(split("/", var.azure_address_space)[1]) <= 22
    error_message = "azure_address_space must be a valid CIDR block of /22 or larger, e.g. 10.20.0.0/16."
  }
}

variable "route53_zone_id" {
  description = "ID of the existing public Route 53 hosted zone that holds hostname (certificate validation, geolocation and failover records)."
  type        = string

  validation {
    condition     = can(regex("^Z[A-Z0-9]+$", var.route53_zone_id))
    error_message = "route53_zone_id must be a Route 53 hosted zone ID such as Z0123456789ABCDEFGHIJ."
  }
}

variable "hostname" {
  description = "Public host name of the staging site, below the zone apex, e.g. staging.pointsbook.example."
  type        = string

  validation {
    condition     = can(regex("^([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\\.){2,}[a-z]{2,63}$", var.hostname))
    error_message = "hostname must be a lower-case DNS name below the zone apex, such as play.pointsbook.example."
  }
}

variable "private_zone_name" {
  description = "Private Route 53 zone for AWS service names, resolvable from Azure over the VPN."
  type        = string
  default     = "aws.staging.pointsbook.internal"

  validation {
    condition     = can(regex("^([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\\.)+[a-z][a-z0-9-]{1,62}$", var.private_zone_name))
    error_message = "private_zone_name must be a lower-case DNS name such as aws.staging.pointsbook.internal."
  }
}

variable "image_registry" {
  description = "Container registry host of the Pointsbook image."
  type        = string
  default     = "ghcr.io"

  validation {
    condition     = can(regex("^[a-z0-9]([a-z0-9.-]*[a-z0-9])?(:[0-9]{1,5})?$", var.image_registry))
    error_message = "image_registry must be a registry host (optionally :port) without scheme or path, such as ghcr.io."
  }
}

variable "image_repository" {
  description = "Repository of the Pointsbook image inside the registry, e.g. example/pointsbook."
  type        = string

  validation {
    condition     = can(regex("^[a-z0-9]+([._/-][a-z0-9]+)*$", var.image_repository))
    error_message = "image_repository must be a lower-case repository path such as example/pointsbook."
  }
}

variable "image_tag" {
  description = "Tag of the Pointsbook image to run (CI normally rolls new tags out; this is the initial one)."
  type        = string

  validation {
    condition     = can(regex("^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$", var.image_tag))
    error_message = "image_tag must be a valid image tag."
  }
}

variable "app_environment" {
  description = "Extra non-secret PB_* settings for both clouds, merged over the environment's defaults."
  type        = map(string)
  default     = {}

  validation {
    condition     = alltrue([for k in keys(var.app_environment) : can(regex("^PB_[A-Z0-9_]+$", k))])
    error_message = "app_environment keys must be PB_* setting names (upper case, digits, underscores)."
  }

  validation {
    condition     = length(setintersection(keys(var.app_environment), ["PB_DATABASE_URL", "PB_DATABASE_REPLICA_URL", "PB_REDIS_URL", "PB_OPENSEARCH_URL", "PB_OPENSEARCH_PASSWORD", "PB_OPENSEARCH_API_KEY", "PB_METRICS_TOKEN", "PB_ADMIN_PASSWORD", "PB_APISPORTS_KEY"])) == 0
    error_message = "app_environment is for non-secret settings: connection URLs are generated by the modules, and passwords or keys belong in the secret stores, not in plain app settings."
  }
}

variable "azure_continents" {
  description = "Continents whose players go to Azure first (AWS serves everyone else first)."
  type        = list(string)
  default     = ["EU", "AF"]

  validation {
    condition     = alltrue([for c in var.azure_continents : contains(["AF", "AN", "AS", "EU", "NA", "OC", "SA"], c)])
    error_message = "azure_continents must hold Route 53 continent codes: AF, AN, AS, EU, NA, OC or SA."
  }

  validation {
    condition     = length(distinct(var.azure_continents)) == length(var.azure_continents) && length(var.azure_continents) < 7
    error_message = "azure_continents must not repeat a continent or list all seven (AWS must stay first somewhere)."
  }
}

variable "key_vault_allowed_ips" {
  description = "Public addresses (the machine or CI runner applying Terraform) allowed through the Key Vault firewall."
  type        = list(string)
  default     = []

  validation {
    condition     = alltrue([for ip in var.key_vault_allowed_ips : can(cidrhost(strcontains(ip, "/") ? ip : "${ip}/32", 0)) && !startswith(ip, "0.0.0.0")])
    error_message = "key_vault_allowed_ips must be IPv4 addresses or CIDR blocks (not 0.0.0.0/0), such as 203.0.113.7 or 203.0.113.0/28."
  }
}

variable "create_opensearch_service_linked_role" {
  description = "Create the account-wide OpenSearch service-linked role (true in exactly one environment per AWS account, unless it already exists)."
  type        = bool
  default     = false
}

variable "monitoring_cidrs" {
  description = "Networks of the Prometheus servers (and postgres-exporter) that scrape the AWS instances and read the database; reached directly or across the VPN. Empty: no scraping from outside the load balancer."
  type        = list(string)
  default     = []

  validation {
    condition     = alltrue([for c in var.monitoring_cidrs : can(cidrhost(c, 0)) && !startswith(c, "0.0.0.0")])
    error_message = "monitoring_cidrs must contain valid CIDR blocks of the monitoring network (not 0.0.0.0/0)."
  }
}

variable "vpn_tunnel1_preshared_key" {
  description = "Pre-shared key of tunnel 1 of the site-to-site VPN; pass it as TF_VAR_vpn_tunnel1_preshared_key, never in a file in the repository."
  type        = string
  sensitive   = true

  validation {
    condition     = length(var.vpn_tunnel1_preshared_key) >= 8
    error_message = "vpn_tunnel1_preshared_key must be set (8-64 characters)."
  }
}

variable "vpn_tunnel2_preshared_key" {
  description = "Pre-shared key of tunnel 2 of the site-to-site VPN; pass it as TF_VAR_vpn_tunnel2_preshared_key, never in a file in the repository."
  type        = string
  sensitive   = true

  validation {
    condition     = length(var.vpn_tunnel2_preshared_key) >= 8
    error_message = "vpn_tunnel2_preshared_key must be set (8-64 characters)."
  }
}
