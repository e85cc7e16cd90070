provider "aws" {
  region = var.aws_region

  default_tags {
    tags = local.tags
  }
}

provider "azurerm" {
  subscription_id = var.azure_subscription_id

  features {
    key_vault {
      purge_soft_delete_on_destroy = false
    }
  }
}

locals {
  environment = "staging"
  tags = {
    project     = "pointsbook"
    environment = local.environment
    managed-by  = "terraform"
  }

  # Staging is the pre-production test bed: the same modules as production,
  # smaller and cheaper (one NAT gateway, single search node, no deletion protection).
  sizes = {
    az_count              = 2
    single_nat_gateway    = true
    app_instance_type     = "t3.small"
    app_min_size          = 1
    app_max_size          = 3
    db_instance_class     = "db.t4g.small"
    db_replica_class      = "db.t4g.small"
    db_storage_gb         = 20
    db_max_storage_gb     = 50
    db_backup_days        = 3
    db_deletion_protect   = false
    cache_node_type       = "cache.t4g.micro"
    cache_node_count      = 2
    search_instance_type  = "t3.medium.search"
    search_instance_count = 1
    search_volume_gb      = 10
    azure_sku             = "S1"
    azure_min_instances   = 1
    azure_max_instances   = 3
    vpn_gateway_sku       = "VpnGw1AZ"
  }
}

module "platform" {
  source = "../../modules/platform"

  environment = local.environment
  sizes       = local.sizes

  azure_location                        = var.azure_location
  aws_vpc_cidr                          = var.aws_vpc_cidr
  azure_address_space                   = var.azure_address_space
  route53_zone_id                       = var.route53_zone_id
  hostname                              = var.hostname
  private_zone_name                     = var.private_zone_name
  image_registry                        = var.image_registry
  image_repository                      = var.image_repository
  image_tag                             = var.image_tag
  app_environment                       = var.app_environment
  azure_continents                      = var.azure_continents
  key_vault_allowed_ips                 = var.key_vault_allowed_ips
  create_opensearch_service_linked_role = var.create_opensearch_service_linked_role
  monitoring_cidrs                      = var.monitoring_cidrs
  vpn_tunnel1_preshared_key             = var.vpn_tunnel1_preshared_key
  vpn_tunnel2_preshared_key             = var.vpn_tunnel2_preshared_key
}
