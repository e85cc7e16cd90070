variable "name" {
  description = "Name prefix, e.g. pointsbook-production; the web app is app-<name> (its default host name is app-<name>.azurewebsites.net)."
  type        = string

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{1,40}[a-z0-9]$", var.name))
    error_message = "name must be 3-42 characters of lower-case letters, digits and hyphens, starting with a letter."
  }
}

variable "resource_group_name" {
  description = "Resource group for the plan, web app and Key Vault (azure-network output resource_group_name)."
  type        = string
}

variable "location" {
  description = "Azure region (azure-network output location)."
  type        = string
}

variable "app_subnet_id" {
  description = "Subnet delegated to App Service for VNet integration (azure-network output app_subnet_id)."
  type        = string
}

variable "sku_name" {
  description = "App Service plan SKU (Standard or Premium: deployment slots and autoscale need them)."
  type        = string

  validation {
    condition     = contains(["S1", "S2", "S3", "P0v3", "P1v3", "P2v3", "P3v3", "P1mv3", "P2mv3"], var.sku_name)
    error_message = "sku_name must be one of S1, S2, S3, P0v3, P1v3, P2v3, P3v3, P1mv3, P2mv3."
  }
}

variable "docker_registry_url" {
  description = "Registry of the container image, e.g. https://ghcr.io."
  type        = string
  default     = "https://ghcr.io"

  validation {
    condition     = can(regex("^https://[^/\\s]+$", var.docker_registry_url))
    error_message = "docker_registry_url must be https://<registry host> without a path."
  }
}

variable "docker_image_name" {
  description = "Image and tag inside the registry, e.g. example/pointsbook:1.2.3."
  type        = string

  validation {
    condition     = length(trimspace(var.docker_image_name)) > 0 && !can(regex("\\s", var.docker_image_name))
    error_message = "docker_image_name must be a non-empty image reference without spaces."
  }
}

variable "public_url" {
  description = "Public base URL of the site (PB_PUBLIC_URL), e.g. https://play.pointsbook.example."
  type        = string

  validation {
    condition     = startswith(var.public_url, "https://")
    error_message = "public_url must start with https://."
  }
}

variable "app_settings" {
  description = "Non-secret PB_* settings of the container (PB_HTTP_ADDR and PB_PUBLIC_URL are set by the module)."
  type        = map(string)
  default     = {}

  validation {
    condition     = alltrue([for k, v in var.app_settings : can(regex("^PB_[A-Z0-9_]+$", k))])
    error_message = "app_settings keys must be PB_* names."
  }
}

variable "secret_names" {
  description = "Names of the secret PB_* settings (the keys of secrets), listed separately because the keys of a sensitive map cannot drive for_each."
  type        = list(string)
  default     = []

  validation {
    condition     = alltrue([for k in var.secret_names : can(regex("^PB_[A-Z0-9_]+$", k))])
    error_message = "secret_names must be PB_* names."
  }
}

variable "secrets" {
  description = "Secret PB_* settings (e.g. PB_DATABASE_URL): name => value; stored in Key Vault and given to the app as Key Vault references."
  type        = map(string)
  default     = {}
  sensitive   = true

  validation {
    condition     = alltrue([for k, v in var.secrets : length(v) > 0])
    error_message = "Every secret must have a non-empty value."
  }
}

variable "min_instances" {
  description = "Fewest instances the autoscale setting keeps."
  type        = number

  validation {
    condition     = var.min_instances >= 1 && var.min_instances <= 30
    error_message = "min_instances must be from 1 to 30."
  }
}

variable "max_instances" {
  description = "Most instances the autoscale setting adds (at least min_instances)."
  type        = number

  validation {
    condition     = var.max_instances >= 1 && var.max_instances <= 30
    error_message = "max_instances must be from 1 to 30."
  }
}

variable "cpu_scale_out_percent" {
  description = "Average CPU over 10 minutes above which one instance is added."
  type        = number
  default     = 70

  validation {
    condition     = var.cpu_scale_out_percent > 0 && var.cpu_scale_out_percent <= 100
    error_message = "cpu_scale_out_percent must be from 1 to 100."
  }
}

variable "cpu_scale_in_percent" {
  description = "Average CPU over 10 minutes below which one instance is removed."
  type        = number
  default     = 25

  validation {
    condition     = var.cpu_scale_in_percent >= 0 && var.cpu_scale_in_percent < 100
    error_message = "cpu_scale_in_percent must be from 0 to 99."
  }
}

variable "key_vault_allowed_ips" {
  description = "Public IPv4 addresses or ranges (e.g. the CI runner) allowed to reach the Key Vault besides the app subnet."
  type        = list(string)
  default     = []

  validation {
    condition     = alltrue([for c in var.key_vault_allowed_ips : can(cidrhost(strcontains(c, "/") ? c : "${c}/32", 0))])
    error_message = "key_vault_allowed_ips must contain IPv4 addresses or CIDR blocks."
  }
}

variable "tags" {
  description = "Tags added to every resource."
  type        = map(string)
  default     = {}
}

variable "custom_hostname" {
  description = "Public host name players use (the same as on AWS, e.g. play.pointsbook.example): bound to the Web App with a free App Service managed certificate, so requests routed to Azure by DNS are served under it."
  type        = string

  validation {
    condition     = can(regex("^([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\\.){2,}[a-z]{2,63}$", var.custom_hostname))
    error_message = "custom_hostname must be a lower-case DNS name below the zone apex, such as play.pointsbook.example."
  }
}

variable "domain_verification_record" {
  description = "FQDN of the asuid.<custom_hostname> TXT record carrying this app's custom_domain_verification_id (aws-dns output azure_verification_record). The hostname binding is created only after it exists."
  type        = string

  validation {
    condition     = startswith(var.domain_verification_record, "asuid.")
    error_message = "domain_verification_record must be the asuid.<host name> TXT record App Service checks."
  }
}
