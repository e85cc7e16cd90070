data "azurerm_client_config" "current" {}

locals {
  # Key Vault names are global, 3-24 characters.
  key_vault_name = "kv${substr(replace(var.name, "-", ""), 0, 14)}${substr(md5("${data.azurerm_client_config.current.subscription_id}/${var.name}"), 0, 6)}"

  base_settings = merge(var.app_settings, {
    PB_HTTP_ADDR                        = ":8080"
    PB_PUBLIC_URL                       = var.public_url
    WEBSITES_PORT                       = "8080"
    WEBSITES_ENABLE_APP_SERVICE_STORAGE = "false"
  })

  secret_references = {
    for k in var.secret_names :
    k => "@Microsoft.KeyVault(SecretUri=${azurerm_key_vault_secret.this[k].versionless_id})"
  }

  app_settings = merge(local.base_settings, local.secret_references)
}

# --- identity and Key Vault -------------------------------------------------------

resource "azurerm_user_assigned_identity" "app" {
  name                = "id-${var.name}"
  resource_group_name = var.resource_group_name
  location            = var.location
  tags                = var.tags
}

resource "azurerm_key_vault" "this" {
  name                       = local.key_vault_name
  resource_group_name        = var.resource_group_name
  location                   = var.location
  tenant_id                  = data.azurerm_client_config.current.tenant_id
  sku_name                   = "standard"
  rbac_authorization_enabled = true
  purge_protection_enabled   = true
  soft_delete_retention_days = 30

  network_acls {
    default_action             = "Deny"
    bypass                     = "AzureServices"
    ip_rules                   = var.key_vault_allowed_ips
    virtual_network_subnet_ids = [var.app_subnet_id]
  }

  tags = var.tags
}

# Terraform itself writes the secrets; the app's identity only reads them.
resource "azurerm_role_assignment" "deployer_secrets_officer" {
  scope                = azurerm_key_vault.this.id
  role_definition_name = "Key Vault Secrets Officer"
  principal_id         = data.azurerm_client_config.current.object_id
}

resource "azurerm_role_assignment" "app_secrets_user" {
  scope                = azurerm_key_vault.this.id
  role_definition_name = "Key Vault Secrets User"
  principal_id         = azurerm_user_assigned_identity.app.principal_id
  principal_type       = "ServicePrincipal"
}

resource "azurerm_key_vault_secret" "this" {
  for_each = toset(var.secret_names)

  # Key Vault secret names allow letters, digits and hyphens only.
  name         = lower(replace(each.value, "_", "-"))
  value        = var.secrets[each.value]
  key_vault_id = azurerm_key_vault.this.id
  content_type = "text/plain"

  depends_on = [azurerm_role_assignment.deployer_secrets_officer]
}

# --- plan, web app and the staging slot ---------------------------------------------

resource "azurerm_service_plan" "this" {
  name                = "asp-${var.name}"
  resource_group_name = var.resource_group_name
  location            = var.location
  os_type             = "Linux"
  sku_name            = var.sku_name
  worker_count        = var.min_instances
  tags                = var.tags
}

resource "azurerm_linux_web_app" "this" {
  name                            = "app-${var.name}"
  resource_group_name             = var.resource_group_name
  location                        = var.location
  service_plan_id                 = azurerm_service_plan.this.id
  https_only                      = true
  virtual_network_subnet_id       = var.app_subnet_id
  key_vault_reference_identity_id = azurerm_user_assigned_identity.app.id
  app_settings                    = local.app_settings

  identity {
    type         = "UserAssigned"
    identity_ids = [azurerm_user_assigned_identity.app.id]
  }

  site_config {
    always_on                         = true
    health_check_path                 = "/readyz"
    health_check_eviction_time_in_min = 5
    websockets_enabled                = true
    http2_enabled                     = true
    minimum_tls_version               = "1.2"
    ftps_state                        = "Disabled"
    vnet_route_all_enabled            = true

    application_stack {
      docker_registry_url = var.docker_registry_url
      docker_image_name   = var.docker_image_name
    }
  }

  logs {
    http_logs {
      file_system {
        retention_in_days = 7
        retention_in_mb   = 100
      }
    }
  }

  tags = var.tags

  # Releases deploy to the staging slot and swap; the image running in
  # production is then whatever was swapped in, not this configuration.
  lifecycle {
    ignore_changes = [site_config[0].application_stack]
  }

  depends_on = [azurerm_role_assignment.app_secrets_user]
}

resource "azurerm_linux_web_app_slot" "staging" {
  name                            = "staging"
  app_service_id                  = azurerm_linux_web_app.this.id
  https_only                      = true
  virtual_network_subnet_id       = var.app_subnet_id
  key_vault_reference_identity_id = azurerm_user_assigned_identity.app.id
  app_settings                    = merge(local.app_settings, { PB_PUBLIC_URL = "https://app-${var.name}-staging.azurewebsites.net" })

  identity {
    type         = "UserAssigned"
    identity_ids = [azurerm_user_assigned_identity.app.id]
  }

  site_config {
    always_on                         = true
    health_check_path                 = "/readyz"
    health_check_eviction_time_in_min = 5
    websockets_enabled                = true
    http2_enabled                     = true
    minimum_tls_version               = "1.2"
    ftps_state                        = "Disabled"
    vnet_route_all_enabled            = true

    application_stack {
      docker_registry_url = var.docker_registry_url
      docker_image_name   = var.docker_image_name
    }
  }

  tags = var.tags

  lifecycle {
    ignore_changes = [site_config[0].application_stack]
  }
}

# --- CPU autoscale of the plan ----------------------------------------------------------

resource "azurerm_monitor_autoscale_setting" "this" {
  name                = "autoscale-${var.name}"
  resource_group_name = var.resource_group_name
  location            = var.location
  target_resource_id  = azurerm_service_plan.this.id

  profile {
    name = "cpu"

    capacity {
      default = var.min_instances
      minimum = var.min_instances
      maximum = max(var.max_instances, var.min_instances)
    }

    rule {
      metric_trigger {
        metric_name        = "CpuPercentage"
        metric_resource_id = azurerm_service_plan.this.id
        time_grain         = "PT1M"
        statistic          = "Average"
        time_window        = "PT10M"
        time_aggregation   = "Average"
        operator           = "GreaterThan"
        threshold          = var.cpu_scale_out_percent
      }

      scale_action {
        direction = "Increase"
        type      = "ChangeCount"
        value     = "1"
        cooldown  = "PT5M"
      }
    }

    rule {
      metric_trigger {
        metric_name        = "CpuPercentage"
        metric_resource_id = azurerm_service_plan.this.id
        time_grain         = "PT1M"
        statistic          = "Average"
        time_window        = "PT10M"
        time_aggregation   = "Average"
        operator           = "LessThan"
        threshold          = var.cpu_scale_in_percent
      }

      scale_action {
        direction = "Decrease"
        type      = "ChangeCount"
        value     = "1"
        cooldown  = "PT10M"
      }
    }
  }

  tags = var.tags
}

# --- custom host name with a managed certificate ------------------------------
# DNS sends some players to Azure under the public host name, so the Web App
# must answer for it with a valid certificate. App Service proves ownership
# through the asuid TXT record (created in Route 53 by aws-dns); the managed
# certificate is free and renewed by Azure.

resource "azurerm_app_service_custom_hostname_binding" "this" {
  hostname            = var.custom_hostname
  app_service_name    = azurerm_linux_web_app.this.name
  resource_group_name = var.resource_group_name

  lifecycle {
    # Set by the certificate binding below, not here.
    ignore_changes = [ssl_state, thumbprint]

    # Also orders the binding after the TXT record it depends on.
    precondition {
      condition     = var.domain_verification_record == "asuid.${var.custom_hostname}"
      error_message = "domain_verification_record must be asuid.${var.custom_hostname}."
    }
  }
}

resource "azurerm_app_service_managed_certificate" "this" {
  custom_hostname_binding_id = azurerm_app_service_custom_hostname_binding.this.id
  tags                       = var.tags
}

resource "azurerm_app_service_certificate_binding" "this" {
  hostname_binding_id = azurerm_app_service_custom_hostname_binding.this.id
  certificate_id      = azurerm_app_service_managed_certificate.this.id
  ssl_state           = "SniEnabled"
}
