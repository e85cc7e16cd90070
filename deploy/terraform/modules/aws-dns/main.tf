locals {
  aws_name   = "aws-primary.${var.record_name}"
  azure_name = "azure-primary.${var.record_name}"
  resolver_ips = [
    for i in range(2) : cidrhost(var.resolver_subnet_cidrs[i], 10)
  ]
}

# --- health checks on both front ends -------------------------------------------

resource "aws_route53_health_check" "aws" {
  fqdn              = var.aws_alb_dns_name
  type              = "HTTPS"
  port              = 443
  resource_path     = var.health_check_path
  request_interval  = 30
  failure_threshold = 3
  measure_latency   = true

  tags = merge(var.tags, { Name = "${var.name}-aws" })
}

resource "aws_route53_health_check" "azure" {
  fqdn              = var.azure_hostname
  type              = "HTTPS"
  port              = 443
  resource_path     = var.health_check_path
  request_interval  = 30
  failure_threshold = 3
  measure_latency   = true
  enable_sni        = true

  tags = merge(var.tags, { Name = "${var.name}-azure" })
}

# --- ownership proof of record_name for Azure App Service ----------------------

resource "aws_route53_record" "azure_verification" {
  zone_id = var.zone_id
  name    = "asuid.${var.record_name}"
  type    = "TXT"
  ttl     = 300
  records = [var.azure_domain_verification_id]
}

# --- failover pairs: each cloud first, the other one as the fallback ----------------

resource "aws_route53_record" "aws_primary" {
  zone_id         = var.zone_id
  name            = local.aws_name
  type            = "CNAME"
  ttl             = 60
  records         = [var.aws_alb_dns_name]
  set_identifier  = "aws"
  health_check_id = aws_route53_health_check.aws.id

  failover_routing_policy {
    type = "PRIMARY"
  }
}

resource "aws_route53_record" "aws_primary_fallback" {
  zone_id         = var.zone_id
  name            = local.aws_name
  type            = "CNAME"
  ttl             = 60
  records         = [var.azure_hostname]
  set_identifier  = "azure"
  health_check_id = aws_route53_health_check.azure.id

  failover_routing_policy {
    type = "SECONDARY"
  }
}

resource "aws_route53_record" "azure_primary" {
  zone_id         = var.zone_id
  name            = local.azure_name
  type            = "CNAME"
  ttl             = 60
  records         = [var.azure_hostname]
  set_identifier  = "azure"
  health_check_id = aws_route53_health_check.azure.id

  failover_routing_policy {
    type = "PRIMARY"
  }
}

resource "aws_route53_record" "azure_primary_fallback" {
  zone_id         = var.zone_id
  name            = local.azure_name
  type            = "CNAME"
  ttl             = 60
  records         = [var.aws_alb_dns_name]
  set_identifier  = "aws"
  health_check_id = aws_route53_health_check.aws.id

  failover_routing_policy {
    type = "SECONDARY"
  }
}

# --- geolocation: the chosen continents to Azure first, everyone else to AWS first ---

resource "aws_route53_record" "geo_azure" {
  for_each = toset(var.azure_continents)

  zone_id        = var.zone_id
  name           = var.record_name
  type           = "CNAME"
  ttl            = 60
  records        = [local.azure_name]
  set_identifier = "geo-${lower(each.value)}"

  geolocation_routing_policy {
    continent = each.value
  }

  depends_on = [aws_route53_record.azure_primary, aws_route53_record.azure_primary_fallback]
}

resource "aws_route53_record" "geo_default" {
  zone_id        = var.zone_id
  name           = var.record_name
  type           = "CNAME"
  ttl            = 60
  records        = [local.aws_name]
  set_identifier = "geo-default"

  geolocation_routing_policy {
    country = "*"
  }

  depends_on = [aws_route53_record.aws_primary, aws_route53_record.aws_primary_fallback]
}

# --- private names of AWS services, resolvable from Azure over the VPN -------------

resource "aws_route53_zone" "private" {
  name          = var.private_zone_name
  comment       = "Private names of ${var.name} (VPC and, through the inbound resolver, Azure)"
  force_destroy = false

  vpc {
    vpc_id = var.vpc_id
  }

  tags = var.tags
}

resource "aws_route53_record" "private" {
  for_each = var.private_records

  zone_id = aws_route53_zone.private.zone_id
  name    = "${each.key}.${var.private_zone_name}"
  type    = "CNAME"
  ttl     = 60
  records = [each.value]
}

resource "aws_security_group" "resolver" {
  name        = "${var.name}-resolver"
  description = "Route 53 inbound resolver: DNS from the Azure VNet"
  vpc_id      = var.vpc_id

  tags = merge(var.tags, { Name = "${var.name}-resolver" })
}

resource "aws_vpc_security_group_ingress_rule" "resolver" {
  for_each = { for pair in setproduct(var.azure_address_space, ["udp", "tcp"]) : "${pair[0]}-${pair[1]}" => pair }

  security_group_id = aws_security_group.resolver.id
  description       = "DNS from Azure (${each.value[1]})"
  cidr_ipv4         = each.value[0]
  from_port         = 53
  to_port           = 53
  ip_protocol       = each.value[1]
}

resource "aws_route53_resolver_endpoint" "inbound" {
  name               = "${var.name}-inbound"
  direction          = "INBOUND"
  security_group_ids = [aws_security_group.resolver.id]
  protocols          = ["Do53"]

  dynamic "ip_address" {
    for_each = range(2)

    content {
      subnet_id = var.resolver_subnet_ids[ip_address.value]
      ip        = local.resolver_ips[ip_address.value]
    }
  }

  tags = var.tags
}
