variable "name" {
  description = "Name prefix for every resource, e.g. pointsbook-production."
  type        = string

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{1,40}[a-z0-9]$", var.name))
    error_message = "name must be 3-42 characters of lower-case letters, digits and hyphens, starting with a letter."
  }
}

variable "aws_vpc_id" {
  description = "ID of the AWS VPC the virtual private gateway attaches to."
  type        = string
}

variable "aws_vpc_cidr" {
  description = "CIDR block of the AWS VPC (routed to AWS by the Azure local network gateways)."
  type        = string

  validation {
    condition     = can(cidrhost(var.aws_vpc_cidr, 0))
    error_message = "aws_vpc_cidr must be a valid CIDR block, e.g. 10.10.0.0/16."
  }
}

variable "aws_route_table_ids" {
  description = "AWS route tables (the private ones) that receive the routes to Azure by propagation."
  type        = list(string)
}

variable "aws_amazon_side_asn" {
  description = "Private ASN of the AWS virtual private gateway."
  type        = number
  default     = 64512

  validation {
    condition     = (var.aws_amazon_side_asn >= 64512 && var.aws_amazon_side_asn <= 65534) || (var.aws_amazon_side_asn >= 4200000000 && var.aws_amazon_side_asn <= 4294967294)
    error_message = "aws_amazon_side_asn must be a private ASN (64512-65534 or 4200000000-4294967294)."
  }
}

variable "azure_resource_group_name" {
  description = "Resource group for the Azure local network gateways and connections."
  type        = string
}

variable "azure_location" {
  description = "Azure region of the VPN gateway."
  type        = string
}

variable "azure_vpn_gateway_id" {
  description = "ID of the Azure VPN gateway (azure-network output vpn_gateway_id)."
  type        = string
}

variable "azure_vpn_gateway_public_ips" {
  description = "Public IPv4 addresses of the active-active Azure VPN gateway (azure-network output vpn_gateway_public_ips); one AWS customer gateway and VPN connection each."
  type        = list(string)

  validation {
    condition     = length(var.azure_vpn_gateway_public_ips) >= 1 && length(var.azure_vpn_gateway_public_ips) <= 2
    error_message = "azure_vpn_gateway_public_ips must list one or two addresses."
  }
}

variable "azure_address_space" {
  description = "Address space of the Azure VNet (static routes on the AWS VPN connections)."
  type        = list(string)

  validation {
    condition     = length(var.azure_address_space) > 0 && alltrue([for c in var.azure_address_space : can(cidrhost(c, 0))])
    error_message = "azure_address_space must list one or more valid CIDR blocks."
  }
}

variable "tunnel1_preshared_key" {
  description = "IPsec pre-shared key of tunnel 1 of every VPN connection: 8-64 letters, digits, periods or underscores, not starting with 0."
  type        = string
  sensitive   = true

  validation {
    condition     = can(regex("^[A-Za-z1-9._][A-Za-z0-9._]{7,63}$", var.tunnel1_preshared_key))
    error_message = "tunnel1_preshared_key must be 8-64 letters, digits, periods or underscores and must not start with 0 (it cannot be empty)."
  }
}

variable "tunnel2_preshared_key" {
  description = "IPsec pre-shared key of tunnel 2 of every VPN connection: 8-64 letters, digits, periods or underscores, not starting with 0."
  type        = string
  sensitive   = true

  validation {
    condition     = can(regex("^[A-Za-z1-9._][A-Za-z0-9._]{7,63}$", var.tunnel2_preshared_key))
    error_message = "tunnel2_preshared_key must be 8-64 letters, digits, periods or underscores and must not start with 0 (it cannot be empty)."
  }
}

variable "tags" {
  description = "Tags added to every resource (AWS and Azure)."
  type        = map(string)
  default     = {}
}
