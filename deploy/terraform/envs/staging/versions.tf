terraform {
  required_version = ">= 1.6"

  # hashicorp/random (~> 3.6) is pinned by the modules that generate
  # passwords; it needs no configuration here.
  required_providers {
    aws = {
      source  = "hashicorp/aws"
      version = "~> 6.0"
    }
    azurerm = {
      source  = "hashicorp/azurerm"
      version = "~> 5.0"
    }
  }
}
