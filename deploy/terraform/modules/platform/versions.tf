terraform {
  required_version = ">= 1.6"

  # No required_providers: this module only composes the others, which pin
  # hashicorp/aws ~> 6.0, hashicorp/azurerm ~> 5.0 and hashicorp/random ~> 3.6
  # themselves; the environments configure aws and azurerm.
}
