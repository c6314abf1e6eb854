# What the Function App's identity may do, and nothing more (as infra/bicep/modules/appAccess.bicep
# and aciRoles.bicep):
# - Storage Table Data Contributor: Funclet's state (FUNCLET_TABLE_ACCOUNT_URL).
# - Storage Blob Data Owner on the host's two containers only (AzureWebJobsStorage: keys, timer
#   schedule and singleton locks; main.tf creates them), never on the account.
# - Storage Blob Data Contributor on the deployment container only: Flex Consumption uploads and
#   reads the package with the app's identity, so code running as the app can replace its own
#   package; that is the one grant that cannot be narrowed further.
# - Storage Queue Data Contributor only with grant_queue_access (no queue triggers in Funclet).
# - Key Vault Secrets User on the vault; Key Vault Secrets Officer on funclet-kubeconfig only
#   (the nodes write their renewed certificates back); Monitoring Metrics Publisher on
#   Application Insights.
# - ACI: custom roles, not Contributor: container groups in the one ACI resource group, the
#   subscription's ACI usage (node capacity and Ready), and joining the delegated subnet.

locals {
  principal_id = azurerm_function_app_flex_consumption.funclet.identity[0].principal_id
}

resource "azurerm_role_assignment" "tables" {
  scope                = azurerm_storage_account.funclet.id
  role_definition_name = "Storage Table Data Contributor"
  principal_id         = local.principal_id
  principal_type       = "ServicePrincipal"
}

resource "azurerm_role_assignment" "host_blobs" {
  for_each             = azurerm_storage_container.host
  scope                = each.value.id
  role_definition_name = "Storage Blob Data Owner"
  principal_id         = local.principal_id
  principal_type       = "ServicePrincipal"
}

resource "azurerm_role_assignment" "deployment_blobs" {
  scope                = azurerm_storage_container.deployment.id
  role_definition_name = "Storage Blob Data Contributor"
  principal_id         = local.principal_id
  principal_type       = "ServicePrincipal"
}

resource "azurerm_role_assignment" "queues" {
  count                = var.grant_queue_access ? 1 : 0
  scope                = azurerm_storage_account.funclet.id
  role_definition_name = "Storage Queue Data Contributor"
  principal_id         = local.principal_id
  principal_type       = "ServicePrincipal"
}

resource "azurerm_role_assignment" "secrets_user" {
  scope                = azurerm_key_vault.funclet.id
  role_definition_name = "Key Vault Secrets User"
  principal_id         = local.principal_id
  principal_type       = "ServicePrincipal"
}

# Write on the one secret the nodes renew their credentials in, and no other.
resource "azurerm_role_assignment" "kubeconfig_writer" {
  scope                = azurerm_key_vault_secret.kubeconfig.resource_versionless_id
  role_definition_name = "Key Vault Secrets Officer"
  principal_id         = local.principal_id
  principal_type       = "ServicePrincipal"
}

resource "azurerm_role_assignment" "telemetry" {
  scope                = azurerm_application_insights.funclet.id
  role_definition_name = "Monitoring Metrics Publisher"
  principal_id         = local.principal_id
  principal_type       = "ServicePrincipal"
}

# The deployer already holds Secrets Officer on the vault (main.tf): naming it here as well would be
# a second, identical assignment, which Azure refuses (409 RoleAssignmentExists).
resource "azurerm_role_assignment" "secrets_officer" {
  count                = var.secrets_officer_principal_id == "" || var.secrets_officer_principal_id == data.azurerm_client_config.current.object_id ? 0 : 1
  scope                = azurerm_key_vault.funclet.id
  role_definition_name = "Key Vault Secrets Officer"
  principal_id         = var.secrets_officer_principal_id
}

# --- ACI ---------------------------------------------------------------------------------------

# Custom role names are unique in the tenant, so each carries the app's name: a deployment in
# another subscription, another of this one, or Bicep's beside this one names its roles apart.

resource "azurerm_role_definition" "aci_container_groups" {
  count       = local.uses_aci ? 1 : 0
  name        = "Funclet ACI container groups (${local.app_name})"
  scope       = azurerm_resource_group.aci[0].id
  description = "Create, read, list, delete container groups and read their logs in one resource group."

  permissions {
    actions = [
      "Microsoft.ContainerInstance/containerGroups/read",
      "Microsoft.ContainerInstance/containerGroups/write",
      "Microsoft.ContainerInstance/containerGroups/delete",
      "Microsoft.ContainerInstance/containerGroups/containers/logs/read",
    ]
    not_actions = []
  }

  assignable_scopes = [azurerm_resource_group.aci[0].id]
}

resource "azurerm_role_assignment" "aci_container_groups" {
  count              = local.uses_aci ? 1 : 0
  scope              = azurerm_resource_group.aci[0].id
  role_definition_id = azurerm_role_definition.aci_container_groups[0].role_definition_resource_id
  principal_id       = local.principal_id
  principal_type     = "ServicePrincipal"
}

# The quota read behind node capacity and the node's Ready condition (provider health): without
# it every ACI node reports NotReady. Usage is a subscription-level API.
resource "azurerm_role_definition" "aci_usage" {
  count       = local.uses_aci ? 1 : 0
  name        = "Funclet ACI usage reader (${local.app_name})"
  scope       = "/subscriptions/${var.subscription_id}"
  description = "Read Azure Container Instances quota usage per region."

  permissions {
    actions     = ["Microsoft.ContainerInstance/locations/usages/read"]
    not_actions = []
  }

  assignable_scopes = ["/subscriptions/${var.subscription_id}"]
}

resource "azurerm_role_assignment" "aci_usage" {
  count              = local.uses_aci ? 1 : 0
  scope              = "/subscriptions/${var.subscription_id}"
  role_definition_id = azurerm_role_definition.aci_usage[0].role_definition_resource_id
  principal_id       = local.principal_id
  principal_type     = "ServicePrincipal"
}

# Defined and assignable in the subnet's resource group, in whichever subscription the network is:
# a role is assignable only within its assignable scopes.
locals {
  aci_subnet_resource_group_id = join("/", slice(split("/", var.aci_subnet_id), 0, 5))
}

resource "azurerm_role_definition" "aci_subnet_join" {
  count       = local.uses_aci && var.aci_subnet_id != "" ? 1 : 0
  name        = "Funclet ACI subnet join (${local.app_name})"
  scope       = local.aci_subnet_resource_group_id
  description = "Place container groups in a delegated subnet."

  permissions {
    actions = [
      "Microsoft.Network/virtualNetworks/subnets/read",
      "Microsoft.Network/virtualNetworks/subnets/join/action",
    ]
    not_actions = []
  }

  assignable_scopes = [local.aci_subnet_resource_group_id]
}

resource "azurerm_role_assignment" "aci_subnet_join" {
  count              = local.uses_aci && var.aci_subnet_id != "" ? 1 : 0
  scope              = var.aci_subnet_id
  role_definition_id = azurerm_role_definition.aci_subnet_join[0].role_definition_resource_id
  principal_id       = local.principal_id
  principal_type     = "ServicePrincipal"
}
