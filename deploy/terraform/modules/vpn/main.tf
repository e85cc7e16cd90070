locals {
  # One AWS VPN connection per Azure gateway address; each has two tunnels,
  # and Azure gets one local network gateway + connection per tunnel.
  connection_count = length(var.azure_vpn_gateway_public_ips)
  tunnels = {
    for pair in setproduct(range(local.connection_count), [1, 2]) :
    "c${pair[0]}-t${pair[1]}" => { connection = pair[0], tunnel = pair[1] }
  }
  aws_routes = {
    for pair in setproduct(range(local.connection_count), var.azure_address_space) :
    "c${pair[0]}-${pair[1]}" => { connection = pair[0], cidr = pair[1] }
  }
}

# --- AWS side -----------------------------------------------------------------------

resource "aws_vpn_gateway" "this" {
  vpc_id          = var.aws_vpc_id
  amazon_side_asn = var.aws_amazon_side_asn

  tags = merge(var.tags, { Name = var.name })
}

resource "aws_vpn_gateway_route_propagation" "this" {
  count = length(var.aws_route_table_ids)

  vpn_gateway_id = aws_vpn_gateway.this.id
  route_table_id = var.aws_route_table_ids[count.index]
}

resource "aws_customer_gateway" "azure" {
  count = local.connection_count

  # Static routing: the ASN is required by the API but not used.
  bgp_asn    = 65000
  ip_address = var.azure_vpn_gateway_public_ips[count.index]
  type       = "ipsec.1"

  tags = merge(var.tags, { Name = "${var.name}-azure-${count.index}" })
}

resource "aws_vpn_connection" "azure" {
  count = local.connection_count

  vpn_gateway_id      = aws_vpn_gateway.this.id
  customer_gateway_id = aws_customer_gateway.azure[count.index].id
  type                = "ipsec.1"
  static_routes_only  = true

  tunnel1_preshared_key = var.tunnel1_preshared_key
  tunnel2_preshared_key = var.tunnel2_preshared_key

  # Same proposal as the Azure custom IPsec policy below.
  tunnel1_ike_versions                 = ["ikev2"]
  tunnel1_phase1_encryption_algorithms = ["AES256"]
  tunnel1_phase1_integrity_algorithms  = ["SHA2-256"]
  tunnel1_phase1_dh_group_numbers      = [14]
  tunnel1_phase2_encryption_algorithms = ["AES256"]
  tunnel1_phase2_integrity_algorithms  = ["SHA2-256"]
  tunnel1_phase2_dh_group_numbers      = [14]
  tunnel1_phase2_lifetime_seconds      = 3600

  tunnel2_ike_versions                 = ["ikev2"]
  tunnel2_phase1_encryption_algorithms = ["AES256"]
  tunnel2_phase1_integrity_algorithms  = ["SHA2-256"]
  tunnel2_phase1_dh_group_numbers      = [14]
  tunnel2_phase2_encryption_algorithms = ["AES256"]
  tunnel2_phase2_integrity_algorithms  = ["SHA2-256"]
  tunnel2_phase2_dh_group_numbers      = [14]
  tunnel2_phase2_lifetime_seconds      = 3600

  tags = merge(var.tags, { Name = "${var.name}-azure-${count.index}" })
}

resource "aws_vpn_connection_route" "azure" {
  for_each = local.aws_routes

  vpn_connection_id      = aws_vpn_connection.azure[each.value.connection].id
  destination_cidr_block = each.value.cidr
}

# --- Azure side -----------------------------------------------------------------------

resource "azurerm_local_network_gateway" "aws" {
  for_each = local.tunnels

  name                = "lgw-${var.name}-aws-${each.key}"
  resource_group_name = var.azure_resource_group_name
  location            = var.azure_location
  gateway_address     = each.value.tunnel == 1 ? aws_vpn_connection.azure[each.value.connection].tunnel1_address : aws_vpn_connection.azure[each.value.connection].tunnel2_address
  address_space       = [var.aws_vpc_cidr]

  tags = var.tags
}

resource "azurerm_virtual_network_gateway_connection" "aws" {
  for_each = local.tunnels

  name                       = "cn-${var.name}-aws-${each.key}"
  resource_group_name        = var.azure_resource_group_name
  location                   = var.azure_location
  type                       = "IPsec"
  virtual_network_gateway_id = var.azure_vpn_gateway_id
  local_network_gateway_id   = azurerm_local_network_gateway.aws[each.key].id
  shared_key                 = each.value.tunnel == 1 ? var.tunnel1_preshared_key : var.tunnel2_preshared_key
  connection_protocol        = "IKEv2"

  ipsec_policy {
    ike_encryption   = "AES256"
    ike_integrity    = "SHA256"
    dh_group         = "DHGroup14"
    ipsec_encryption = "AES256"
    ipsec_integrity  = "SHA256"
    pfs_group        = "PFS2048"
    sa_lifetime      = 3600
  }

  tags = var.tags
}
