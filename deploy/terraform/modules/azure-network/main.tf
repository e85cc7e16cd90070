locals {
  resource_group_name = var.resource_group_name != null ? var.resource_group_name : azurerm_resource_group.this[0].name
  dns_forwarding      = length(var.dns_forward_domains) > 0
}

resource "azurerm_resource_group" "this" {
  count = var.resource_group_name == null ? 1 : 0

  name     = "rg-${var.name}"
  location = var.location
  tags     = var.tags
}

resource "azurerm_virtual_network" "this" {
  name                = "vnet-${var.name}"
  resource_group_name = local.resource_group_name
  location            = var.location
  address_space       = var.address_space
  tags                = var.tags
}

resource "azurerm_subnet" "app" {
  name                 = "snet-app"
  resource_group_name  = local.resource_group_name
  virtual_network_name = azurerm_virtual_network.this.name
  address_prefixes     = [var.app_subnet_cidr]

  # The Key Vault firewall admits this subnet (azure-app).
  service_endpoint {
    service = "Microsoft.KeyVault"
  }

  delegation {
    name = "app-service"

    service_delegation {
      name    = "Microsoft.Web/serverFarms"
      actions = ["Microsoft.Network/virtualNetworks/subnets/action"]
    }
  }
}

# The name is fixed by Azure.
resource "azurerm_subnet" "gateway" {
  name                 = "GatewaySubnet"
  resource_group_name  = local.resource_group_name
  virtual_network_name = azurerm_virtual_network.this.name
  address_prefixes     = [var.gateway_subnet_cidr]
}

# --- VPN gateway: active-active, one public address per instance -------------

resource "azurerm_public_ip" "vpn" {
  count = 2

  name                = "pip-${var.name}-vpn-${count.index}"
  resource_group_name = local.resource_group_name
  location            = var.location
  allocation_method   = "Static"
  sku                 = "Standard"
  zones               = ["1", "2", "3"]
  tags                = var.tags
}

resource "azurerm_virtual_network_gateway" "this" {
  name                = "vgw-${var.name}"
  resource_group_name = local.resource_group_name
  location            = var.location
  type                = "Vpn"
  vpn_type            = "RouteBased"
  active_active       = true
  sku                 = var.vpn_gateway_sku
  generation          = var.vpn_gateway_sku == "VpnGw1AZ" ? "Generation1" : "Generation2"

  dynamic "ip_configuration" {
    for_each = range(2)

    content {
      name                          = "ipconfig-${ip_configuration.value}"
      public_ip_address_id          = azurerm_public_ip.vpn[ip_configuration.value].id
      private_ip_address_allocation = "Dynamic"
      subnet_id                     = azurerm_subnet.gateway.id
    }
  }

  tags = var.tags
}

# --- DNS: forward the AWS private names to the Route 53 inbound resolver ---------

resource "azurerm_subnet" "dns_outbound" {
  count = local.dns_forwarding ? 1 : 0

  name                 = "snet-dns-outbound"
  resource_group_name  = local.resource_group_name
  virtual_network_name = azurerm_virtual_network.this.name
  address_prefixes     = [var.dns_resolver_subnet_cidr]

  delegation {
    name = "dns-resolver"

    service_delegation {
      name    = "Microsoft.Network/dnsResolvers"
      actions = ["Microsoft.Network/virtualNetworks/subnets/join/action"]
    }
  }
}

resource "azurerm_private_dns_resolver" "this" {
  count = local.dns_forwarding ? 1 : 0

  name                = "dnspr-${var.name}"
  resource_group_name = local.resource_group_name
  location            = var.location
  virtual_network_id  = azurerm_virtual_network.this.id
  tags                = var.tags
}

resource "azurerm_private_dns_resolver_outbound_endpoint" "this" {
  count = local.dns_forwarding ? 1 : 0

  name                    = "outbound"
  private_dns_resolver_id = azurerm_private_dns_resolver.this[0].id
  location                = var.location
  subnet_id               = azurerm_subnet.dns_outbound[0].id
  tags                    = var.tags
}

resource "azurerm_private_dns_resolver_dns_forwarding_ruleset" "this" {
  count = local.dns_forwarding ? 1 : 0

  name                                       = "dnsfrs-${var.name}"
  resource_group_name                        = local.resource_group_name
  location                                   = var.location
  private_dns_resolver_outbound_endpoint_ids = [azurerm_private_dns_resolver_outbound_endpoint.this[0].id]
  tags                                       = var.tags
}

resource "azurerm_private_dns_resolver_forwarding_rule" "this" {
  for_each = toset(var.dns_forward_domains)

  name                      = replace(trimsuffix(each.value, "."), ".", "-")
  dns_forwarding_ruleset_id = azurerm_private_dns_resolver_dns_forwarding_ruleset.this[0].id
  domain_name               = "${trimsuffix(each.value, ".")}."
  enabled                   = true

  dynamic "target_dns_servers" {
    for_each = var.dns_forward_target_ips

    content {
      ip_address = target_dns_servers.value
      port       = 53
    }
  }
}

resource "azurerm_private_dns_resolver_virtual_network_link" "this" {
  count = local.dns_forwarding ? 1 : 0

  name                      = "vnet-${var.name}"
  dns_forwarding_ruleset_id = azurerm_private_dns_resolver_dns_forwarding_ruleset.this[0].id
  virtual_network_id        = azurerm_virtual_network.this.id
}
