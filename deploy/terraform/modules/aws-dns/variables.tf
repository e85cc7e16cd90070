variable "name" {
  description = "Name prefix for every resource, e.g. pointsbook-production."
  type        = string

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{1,40}[a-z0-9]$", var.name))
    error_message = "name must be 3-42 characters of lower-case letters, digits and hyphens, starting with a letter."
  }
}

variable "zone_id" {
  description = "ID of the public Route 53 hosted zone holding record_name."
  type        = string
}

variable "record_name" {
  description = "Public host name players use, e.g. play.pointsbook.example (not the zone apex: it is a CNAME)."
  type        = string

  validation {
    condition     = can(regex("^([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\\.){2,}[a-z]{2,63}$", var.record_name))
    error_message = "record_name must be a lower-case DNS name below the zone apex, such as play.pointsbook.example."
  }
}

variable "aws_alb_dns_name" {
  description = "DNS name of the AWS application load balancer (aws-app output alb_dns_name)."
  type        = string
}

variable "azure_hostname" {
  description = "Host name of the Azure front end (azure-app output default_hostname)."
  type        = string
}

variable "azure_domain_verification_id" {
  description = "custom_domain_verification_id of the Azure Web App (azure-app output): published as the asuid.<record_name> TXT record so App Service accepts record_name as a custom host name."
  type        = string
  sensitive   = true

  validation {
    condition     = length(var.azure_domain_verification_id) > 0
    error_message = "azure_domain_verification_id must not be empty."
  }
}

variable "health_check_path" {
  description = "Path the Route 53 health checks request over HTTPS on both front ends."
  type        = string
  default     = "/readyz"

  validation {
    condition     = startswith(var.health_check_path, "/")
    error_message = "health_check_path must start with a slash."
  }
}

variable "azure_continents" {
  description = "Continent codes whose players are sent to Azure first (AWS is the fallback); everyone else goes to AWS first."
  type        = list(string)
  default     = ["EU", "AF"]

  validation {
    condition     = alltrue([for c in var.azure_continents : contains(["AF", "AN", "AS", "EU", "NA", "OC", "SA"], c)])
    error_message = "azure_continents may only contain AF, AN, AS, EU, NA, OC and SA."
  }
}

variable "vpc_id" {
  description = "ID of the VPC the inbound resolver endpoint and the private zone belong to."
  type        = string
}

variable "resolver_subnet_ids" {
  description = "Two private subnets (different availability zones) for the inbound resolver endpoint."
  type        = list(string)

  validation {
    condition     = length(var.resolver_subnet_ids) >= 2
    error_message = "resolver_subnet_ids must list at least two subnets."
  }
}

variable "resolver_subnet_cidrs" {
  description = "CIDR blocks of resolver_subnet_ids, in the same order; the endpoint takes host .10 of each so its addresses are known before apply."
  type        = list(string)

  validation {
    condition     = length(var.resolver_subnet_cidrs) >= 2 && alltrue([for c in var.resolver_subnet_cidrs : can(cidrhost(c, 10))])
    error_message = "resolver_subnet_cidrs must list at least two valid CIDR blocks with room for host 10."
  }
}

variable "azure_address_space" {
  description = "Azure VNet address space allowed to query the inbound resolver across the VPN."
  type        = list(string)

  validation {
    condition     = length(var.azure_address_space) > 0 && alltrue([for c in var.azure_address_space : can(cidrhost(c, 0))])
    error_message = "azure_address_space must list one or more valid CIDR blocks."
  }
}

variable "private_zone_name" {
  description = "Private hosted zone for names of AWS services, resolvable from Azure through the inbound endpoint, e.g. aws.internal.pointsbook.example."
  type        = string

  validation {
    condition     = can(regex("^([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\\.)+[a-z]{2,63}$", var.private_zone_name))
    error_message = "private_zone_name must be a lower-case DNS name."
  }
}

variable "private_records" {
  description = "CNAME records in the private zone: label => target host name (e.g. db => the RDS address)."
  type        = map(string)
  default     = {}
}

variable "tags" {
  description = "Tags added to every resource."
  type        = map(string)
  default     = {}
}
