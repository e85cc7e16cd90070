variable "name" {
  description = "Name prefix for every resource, e.g. pointsbook-production."
  type        = string

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{1,40}[a-z0-9]$", var.name))
    error_message = "name must be 3-42 characters of lower-case letters, digits and hyphens, starting with a letter."
  }
}

variable "location" {
  description = "Azure region, e.g. westeurope."
  type        = string

  validation {
    condition     = can(regex("^[a-z][a-z0-9]+$", var.location))
    error_message = "location must be an Azure region name such as westeurope."
  }
}

variable "resource_group_name" {
  description = "Existing resource group to use; null creates rg-<name>."
  type        = string
  default     = null
}

variable "address_space" {
  description = "Address space of the VNet; must not overlap the AWS VPC (the VPN routes both)."
  type        = list(string)

  validation {
    condition     = length(var.address_space) > 0 && alltrue([for c in var.address_space : can(cidrhost(c, 0))])
    error_message = "address_space must list one or more valid CIDR blocks, e.g. [\"10.20.0.0/16\"]."
  }
}

variable "app_subnet_cidr" {
  description = "Subnet delegated to App Service for VNet integration (/26 or larger), inside address_space."
  type        = string

  validation {
    condition     = can(cidrhost(var.app_subnet_cidr, 0)) && tonumber(split("/", var.app_subnet_cidr)[1]) <= 26
    error_message = "app_subnet_cidr must be a valid CIDR block of /26 or larger."
  }
}

variable "gateway_subnet_cidr" {
  description = "GatewaySubnet of the VPN gateway (/27 or larger), inside address_space."
  type        = string

  validation {
    condition     = can(cidrhost(var.gateway_subnet_cidr, 0)) && tonumber(split("/", var.gateway_subnet_cidr)[1]) <= 27
    error_message = "gateway_subnet_cidr must be a valid CIDR block of /27 or larger."
  }
}

variable "vpn_gateway_sku" {
  description = "SKU of the (zone-redundant, active-active) VPN gateway."
  type        = string
  default     = "VpnGw1AZ"

  validation {
    condition     = contains(["VpnGw1AZ", "VpnGw2AZ", "VpnGw3AZ", "VpnGw4AZ", "VpnGw5AZ"], var.vpn_gateway_sku)
    error_message = "vpn_gateway_sku must be one of VpnGw1AZ, VpnGw2AZ, VpnGw3AZ, VpnGw4AZ, VpnGw5AZ."
  }
}

variable "dns_resolver_subnet_cidr" {
  description = "Subnet (/28 or larger) for the outbound endpoint of the Azure DNS private resolver that forwards AWS names; null when dns_forward_domains is empty."
  type        = string
  default     = null

  validation {
    condition     = var.dns_resolver_subnet_cidr == null || can(cidrhost(var.dns_resolver_subnet_cidr, 0))
    error_message = "dns_resolver_subnet_cidr must be null or a valid CIDR block."
  }
}

variable "dns_forward_domains" {
  description = "DNS domains (e.g. the AWS private zone) forwarded to dns_forward_target_ips across the VPN."
  type        = list(string)
  default     = []
}

variable "dns_forward_target_ips" {
  description = "DNS servers the forwarded domains are sent to (the Route 53 inbound resolver addresses)."
  type        = list(string)
  default     = []

  validation {
    condition     = alltrue([for ip in var.dns_forward_target_ips : can(cidrhost("${ip}/32", 0))])
    error_message = "dns_forward_target_ips must contain IPv4 addresses."
  }
}

variable "tags" {
  description = "Tags added to every resource."
  type        = map(string)
  default     = {}
}
