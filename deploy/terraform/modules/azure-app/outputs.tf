output "web_app_id" {
  description = "ID of the Linux web app."
  value       = azurerm_linux_web_app.this.id
}

output "web_app_name" {
  description = "Name of the Linux web app (CI swaps its staging slot into production)."
  value       = azurerm_linux_web_app.this.name
}

output "default_hostname" {
  description = "Default host name of the production slot (the Route 53 health check and failover target)."
  value       = azurerm_linux_web_app.this.default_hostname
}

output "staging_slot_hostname" {
  description = "Default host name of the staging slot (smoke-tested before a swap)."
  value       = azurerm_linux_web_app_slot.staging.default_hostname
}

output "service_plan_id" {
  description = "ID of the App Service plan (the autoscale target)."
  value       = azurerm_service_plan.this.id
}

output "key_vault_id" {
  description = "ID of the Key Vault holding the secret settings."
  value       = azurerm_key_vault.this.id
}

output "key_vault_uri" {
  description = "URI of the Key Vault holding the secret settings."
  value       = azurerm_key_vault.this.vault_uri
}

output "identity_principal_id" {
  description = "Principal ID of the app's user-assigned managed identity."
  value       = azurerm_user_assigned_identity.app.principal_id
}

output "custom_domain_verification_id" {
  description = "Value of the asuid TXT record that proves ownership when a custom host name is bound to the app."
  value       = azurerm_linux_web_app.this.custom_domain_verification_id
  sensitive   = true
}

output "outbound_ip_addresses" {
  description = "Outbound addresses of the web app (traffic to AWS goes through the VNet and the VPN instead)."
  value       = azurerm_linux_web_app.this.possible_outbound_ip_addresses
}

output "custom_hostname" {
  description = "Public host name bound to the Web App, served with the managed certificate."
  value       = azurerm_app_service_certificate_binding.this.hostname
}
