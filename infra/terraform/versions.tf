terraform {
  required_version = ">= 1.6"

  required_providers {
    azurerm = {
      source = "hashicorp/azurerm"
      # azurerm_function_app_flex_consumption, and rbac_authorization_enabled on the vault (4.42).
      version = ">= 4.42, < 5.0"
    }
    azapi = {
      source  = "azure/azapi"
      version = "~> 2.0"
    }
  }
}

provider "azurerm" {
  subscription_id = var.subscription_id
  # The storage account has shared keys off: the provider's data-plane calls use Entra ID too.
  storage_use_azuread = true

  features {
    key_vault {
      # Purge protection is on; a destroyed vault stays recoverable for its retention period.
      purge_soft_delete_on_destroy = false
    }
  }
}

provider "azapi" {
  subscription_id = var.subscription_id
}
