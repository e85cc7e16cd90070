# The whole Pointsbook platform on both clouds: the one composition that
# staging and production instantiate with their own sizes, so the two
# environments cannot drift apart in shape.

locals {
  name  = "pointsbook-${var.environment}"
  sizes = var.sizes
  tags = {
    project     = "pointsbook"
    environment = var.environment
    managed-by  = "terraform"
  }

  image = "${var.image_registry}/${var.image_repository}:${var.image_tag}"

  app_environment = merge({
    PB_LOG_LEVEL          = "info"
    PB_FEED               = "simulator"
    PB_DATABASE_MAX_CONNS = "16"
  }, var.app_environment)

  # Azure VNet layout carved from one block.
  azure_gateway_subnet = cidrsubnet(var.azure_address_space, 27 - tonumber(split("/", var.azure_address_space)[1]), 0)
  azure_dns_subnet     = cidrsubnet(var.azure_address_space, 28 - tonumber(split("/", var.azure_address_space)[1]), 2)
  azure_app_subnet     = cidrsubnet(var.azure_address_space, 24 - tonumber(split("/", var.azure_address_space)[1]), 1)
}


# --- AWS ---------------------------------------------------------------------------------

module "network" {
  source = "../aws-network"

  name               = local.name
  vpc_cidr           = var.aws_vpc_cidr
  az_count           = local.sizes.az_count
  single_nat_gateway = local.sizes.single_nat_gateway
  tags               = local.tags
}

# The database admits the Azure VNet (across the VPN) and the monitoring
# network, where postgres-exporter runs beside Prometheus.
module "database" {
  source = "../aws-database"

  name                       = local.name
  vpc_id                     = module.network.vpc_id
  subnet_ids                 = module.network.private_subnet_ids
  allowed_security_group_ids = [module.app.app_security_group_id]
  allowed_cidr_blocks        = distinct(concat([var.azure_address_space], var.monitoring_cidrs))
  instance_class             = local.sizes.db_instance_class
  replica_instance_class     = local.sizes.db_replica_class
  allocated_storage_gb       = local.sizes.db_storage_gb
  max_allocated_storage_gb   = local.sizes.db_max_storage_gb
  backup_retention_days      = local.sizes.db_backup_days
  deletion_protection        = local.sizes.db_deletion_protect
  tags                       = local.tags
}

module "cache" {
  source = "../aws-cache"

  name                       = local.name
  vpc_id                     = module.network.vpc_id
  subnet_ids                 = module.network.private_subnet_ids
  allowed_security_group_ids = [module.app.app_security_group_id]
  allowed_cidr_blocks        = [var.azure_address_space]
  node_type                  = local.sizes.cache_node_type
  node_count                 = local.sizes.cache_node_count
  tags                       = local.tags
}

module "search" {
  source = "../aws-search"

  name                       = local.name
  vpc_id                     = module.network.vpc_id
  subnet_ids                 = module.network.private_subnet_ids
  allowed_security_group_ids = [module.app.app_security_group_id]
  allowed_cidr_blocks        = [var.azure_address_space]
  instance_type              = local.sizes.search_instance_type
  instance_count             = local.sizes.search_instance_count
  volume_size_gb             = local.sizes.search_volume_gb
  create_service_linked_role = var.create_opensearch_service_linked_role
  tags                       = local.tags
}

module "app" {
  source = "../aws-app"

  name               = local.name
  vpc_id             = module.network.vpc_id
  public_subnet_ids  = module.network.public_subnet_ids
  private_subnet_ids = module.network.private_subnet_ids
  domain_name        = var.hostname
  route53_zone_id    = var.route53_zone_id
  container_image    = local.image
  instance_type      = local.sizes.app_instance_type
  min_size           = local.sizes.app_min_size
  max_size           = local.sizes.app_max_size
  # The ALB reaches the instances from its subnets: trust X-Forwarded-For
  # from the VPC only (docs/operations.md, trusted proxies).
  app_environment = merge({ PB_TRUSTED_PROXIES = var.aws_vpc_cidr }, local.app_environment)
  secret_arns = {
    PB_DATABASE_URL         = module.database.database_url_secret_arn
    PB_DATABASE_REPLICA_URL = module.database.database_replica_url_secret_arn
    PB_REDIS_URL            = module.cache.redis_url_secret_arn
    PB_OPENSEARCH_URL       = module.search.opensearch_url_secret_arn
  }
  secret_kms_key_arns = [
    module.database.kms_key_arn,
    module.cache.kms_key_arn,
    module.search.kms_key_arn,
  ]
  monitoring_cidrs = var.monitoring_cidrs
  tags             = local.tags
}

module "dns" {
  source = "../aws-dns"

  name             = local.name
  zone_id          = var.route53_zone_id
  record_name      = var.hostname
  aws_alb_dns_name = module.app.alb_dns_name
  azure_hostname   = module.azure_app.default_hostname
  # Module inputs and outputs are separate graph nodes, so this does not
  # cycle: the Web App comes first, then this record, then its host name
  # binding (which takes azure_verification_record back).
  azure_domain_verification_id = module.azure_app.custom_domain_verification_id
  azure_continents             = var.azure_continents
  vpc_id                       = module.network.vpc_id
  resolver_subnet_ids          = slice(module.network.private_subnet_ids, 0, 2)
  resolver_subnet_cidrs        = slice(module.network.private_subnet_cidrs, 0, 2)
  azure_address_space          = [var.azure_address_space]
  private_zone_name            = var.private_zone_name
  private_records = {
    db         = module.database.primary_address
    db-replica = module.database.replica_address
    redis      = module.cache.primary_endpoint
    search     = module.search.endpoint
  }
  tags = local.tags
}

# --- Azure ---------------------------------------------------------------------------------

module "azure_network" {
  source = "../azure-network"

  name                     = local.name
  location                 = var.azure_location
  address_space            = [var.azure_address_space]
  app_subnet_cidr          = local.azure_app_subnet
  gateway_subnet_cidr      = local.azure_gateway_subnet
  vpn_gateway_sku          = local.sizes.vpn_gateway_sku
  dns_resolver_subnet_cidr = local.azure_dns_subnet
  dns_forward_domains      = [var.private_zone_name]
  dns_forward_target_ips   = module.dns.resolver_inbound_ips
  tags                     = local.tags
}

module "azure_app" {
  source = "../azure-app"

  name                       = local.name
  resource_group_name        = module.azure_network.resource_group_name
  location                   = module.azure_network.location
  app_subnet_id              = module.azure_network.app_subnet_id
  sku_name                   = local.sizes.azure_sku
  docker_registry_url        = "https://${var.image_registry}"
  docker_image_name          = "${var.image_repository}:${var.image_tag}"
  public_url                 = "https://${var.hostname}"
  custom_hostname            = var.hostname
  domain_verification_record = module.dns.azure_verification_record
  app_settings               = local.app_environment
  # The Azure instances reach the AWS data stores across the VPN.
  # PB_METRICS_TOKEN is the AWS instances' token, so one scraper credential
  # reads both clouds.
  secret_names = ["PB_DATABASE_URL", "PB_DATABASE_REPLICA_URL", "PB_REDIS_URL", "PB_OPENSEARCH_URL", "PB_METRICS_TOKEN"]
  secrets = {
    PB_DATABASE_URL         = module.database.database_url
    PB_DATABASE_REPLICA_URL = module.database.database_replica_url
    PB_REDIS_URL            = module.cache.redis_url
    PB_OPENSEARCH_URL       = module.search.opensearch_url
    PB_METRICS_TOKEN        = module.app.metrics_token
  }
  min_instances         = local.sizes.azure_min_instances
  max_instances         = local.sizes.azure_max_instances
  key_vault_allowed_ips = var.key_vault_allowed_ips
  tags                  = local.tags
}

# --- site-to-site VPN between the clouds ---------------------------------------------------

module "vpn" {
  source = "../vpn"

  name                         = local.name
  aws_vpc_id                   = module.network.vpc_id
  aws_vpc_cidr                 = module.network.vpc_cidr
  aws_route_table_ids          = module.network.private_route_table_ids
  azure_resource_group_name    = module.azure_network.resource_group_name
  azure_location               = module.azure_network.location
  azure_vpn_gateway_id         = module.azure_network.vpn_gateway_id
  azure_vpn_gateway_public_ips = module.azure_network.vpn_gateway_public_ips
  azure_address_space          = module.azure_network.address_space
  tunnel1_preshared_key        = var.vpn_tunnel1_preshared_key
  tunnel2_preshared_key        = var.vpn_tunnel2_preshared_key
  tags                         = local.tags
}
