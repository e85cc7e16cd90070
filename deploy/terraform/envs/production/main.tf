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
  environment = "production"
  tags = {
    project     = "pointsbook"
    environment = local.environment
    managed-by  = "terraform"
  }

  # Production: NAT gateway per zone, three zones, clustered search,
  # deletion protection and longer backups.
  sizes = {
    az_count              = 3
    single_nat_gateway    = false
    app_instance_type     = "m7i.large"
    app_min_size          = 2
    app_max_size          = 12
    db_instance_class     = "db.m7g.large"
    db_replica_class      = "db.m7g.large"
    db_storage_gb         = 100
    db_max_storage_gb     = 1000
    db_backup_days        = 14
    db_deletion_protect   = true
    cache_node_type       = "cache.m7g.large"
    cache_node_count      = 3
    search_instance_type  = "m7g.large.search"
    search_instance_count = 2
    search_volume_gb      = 100
    azure_sku             = "P1v3"
    azure_min_instances   = 2
    azure_max_instances   = 10
    vpn_gateway_sku       = "VpnGw2AZ"
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
