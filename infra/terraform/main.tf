# Funclet in Azure with Terraform: the same deployment as infra/bicep/main.bicep. A Function App on
# the Flex Consumption plan, its storage (Funclet's tables, the host's blobs, the deployment
# package), Application Insights on Log Analytics, a Key Vault for the kubeconfig and webhook
# secret; the app's least-privilege roles are in access.tf, its settings in settings.tf.
#
#   terraform -chdir=infra/terraform init
#   terraform -chdir=infra/terraform apply -var-file=examples/aci.tfvars \
#     -var subscription_id="$(az account show --query id -o tsv)" \
#     -var webhook_secret="$(openssl rand -hex 32)"
#
# Step by step, with the cluster side: docs/deploy-aks.md, docs/deploy-eks.md.

locals {
  app_resource_group_name = coalesce(var.app_resource_group_name, "${var.name_prefix}-rg")
  aci_resource_group_name = coalesce(var.aci_resource_group_name, "${var.name_prefix}-aci-rg")
  aci_region              = coalesce(var.aci_region, var.location)

  suffix               = substr(sha256("${var.subscription_id}/${local.app_resource_group_name}/${var.name_prefix}"), 0, 13)
  app_name             = "${var.name_prefix}-${local.suffix}"
  storage_account_name = substr("${var.name_prefix}${local.suffix}", 0, 24)
  vault_name           = substr("${var.name_prefix}-kv-${local.suffix}", 0, 24)
  tags                 = merge(var.tags, { "funclet-cluster" = var.cluster_name })
}

data "azurerm_client_config" "current" {}

resource "azurerm_resource_group" "app" {
  name     = local.app_resource_group_name
  location = var.location
  tags     = local.tags
}

# The pods' container groups, apart from everything else: the app may delete anything here.
resource "azurerm_resource_group" "aci" {
  count    = local.uses_aci ? 1 : 0
  name     = local.aci_resource_group_name
  location = local.aci_region
  tags     = local.tags
}

# --- monitoring --------------------------------------------------------------------------------

resource "azurerm_log_analytics_workspace" "funclet" {
  name                         = "${var.name_prefix}-logs"
  resource_group_name          = azurerm_resource_group.app.name
  location                     = var.location
  sku                          = "PerGB2018"
  retention_in_days            = var.log_retention_days
  local_authentication_enabled = false
  tags                         = local.tags
}

# Local (instrumentation-key) authentication is off: the app sends telemetry with its identity
# (APPLICATIONINSIGHTS_AUTHENTICATION_STRING and Monitoring Metrics Publisher, access.tf).
resource "azurerm_application_insights" "funclet" {
  name                          = "${var.name_prefix}-insights"
  resource_group_name           = azurerm_resource_group.app.name
  location                      = var.location
  workspace_id                  = azurerm_log_analytics_workspace.funclet.id
  application_type              = "web"
  local_authentication_disabled = true
  tags                          = local.tags
}

# --- storage -----------------------------------------------------------------------------------

# The host's blobs (keys, timer locks), the deployment package and Funclet's tables, and nothing
# else. The app's blob roles are granted per container (access.tf). Shared keys are off.
resource "azurerm_storage_account" "funclet" {
  #checkov:skip=CKV_AZURE_35: Flex Consumption without VNet integration reaches its host and deployment storage over the public endpoint; shared keys are off, so access is by Entra ID and RBAC only.
  #checkov:skip=CKV_AZURE_59: as CKV_AZURE_35; blob public access is off (allow_nested_items_to_be_public = false).
  #checkov:skip=CKV_AZURE_206: zone-redundant (ZRS) by default; geo-replication is not needed because the tables are repairable state: podResync rebuilds records from the API server and the provider's tags.
  #checkov:skip=CKV2_AZURE_1: customer-managed keys would add a key and its rotation to operate; the account holds pod bookkeeping and the app package, encrypted at rest with Microsoft-managed keys and infrastructure encryption.
  #checkov:skip=CKV_AZURE_33: Funclet has no queue triggers and the host needs no queues for HTTP and timer triggers, so the queue service is unused and has nothing to log.
  #checkov:skip=CKV2_AZURE_33: a private endpoint needs the app's VNet integration, which this deployment does not create (see docs/deploy-aks.md for the private variant).
  name                              = local.storage_account_name
  resource_group_name               = azurerm_resource_group.app.name
  location                          = var.location
  account_kind                      = "StorageV2"
  account_tier                      = "Standard"
  account_replication_type          = var.storage_replication_type
  access_tier                       = "Hot"
  min_tls_version                   = "TLS1_2"
  https_traffic_only_enabled        = true
  allow_nested_items_to_be_public   = false
  shared_access_key_enabled         = false
  default_to_oauth_authentication   = true
  cross_tenant_replication_enabled  = false
  local_user_enabled                = false
  sftp_enabled                      = false
  infrastructure_encryption_enabled = true
  public_network_access_enabled     = true
  tags                              = local.tags

  network_rules {
    default_action = "Allow"
    bypass         = ["AzureServices"]
  }

  blob_properties {
    # A replaced app package keeps its previous version (the app's identity may write it).
    versioning_enabled = true
    delete_retention_policy {
      days = 7
    }
    container_delete_retention_policy {
      days = 7
    }
  }

  # No SAS can be signed (shared keys are off); the policy bounds any that a future change enables.
  sas_policy {
    expiration_period = "00.01:00:00"
  }
}

# The Flex Consumption deployment package container. Tables are created by the app on first use
# (core/state/tables.ts), which Storage Table Data Contributor allows.
resource "azurerm_storage_container" "deployment" {
  #checkov:skip=CKV2_AZURE_21: blob read logging would record every package read at each instance start; the account's activity is in the storage resource logs when wanted.
  name                  = "app-package"
  storage_account_id    = azurerm_storage_account.funclet.id
  container_access_type = "private"
}

# The containers the Functions host keeps its state in (timer schedules and singleton locks;
# function keys), created here so the app needs no right to create containers.
resource "azurerm_storage_container" "host" {
  #checkov:skip=CKV2_AZURE_21: the host reads its locks and keys many times a minute; logging each read would be noise, and the account's activity is in the storage resource logs when wanted.
  for_each              = toset(["azure-webjobs-hosts", "azure-webjobs-secrets"])
  name                  = each.key
  storage_account_id    = azurerm_storage_account.funclet.id
  container_access_type = "private"
}

# --- key vault ---------------------------------------------------------------------------------

resource "azurerm_key_vault" "funclet" {
  #checkov:skip=CKV_AZURE_109: Key Vault references of an app without VNet integration resolve over the public endpoint, which a deny-by-default firewall blocks (App Service is not a trusted service); access is RBAC-only.
  #checkov:skip=CKV_AZURE_189: as CKV_AZURE_109: public network access stays on for Key Vault references.
  #checkov:skip=CKV2_AZURE_32: a private endpoint needs the app's VNet integration, which this deployment does not create.
  name                          = local.vault_name
  resource_group_name           = azurerm_resource_group.app.name
  location                      = var.location
  tenant_id                     = data.azurerm_client_config.current.tenant_id
  sku_name                      = "standard"
  rbac_authorization_enabled    = true
  purge_protection_enabled      = true
  soft_delete_retention_days    = 90
  public_network_access_enabled = true
  tags                          = local.tags

  network_acls {
    default_action = "Allow"
    bypass         = "AzureServices"
  }
}

# Terraform itself writes the secrets, so the deploying principal needs Secrets Officer first.
resource "azurerm_role_assignment" "deployer_secrets_officer" {
  scope                = azurerm_key_vault.funclet.id
  role_definition_name = "Key Vault Secrets Officer"
  principal_id         = data.azurerm_client_config.current.object_id
}

resource "azurerm_key_vault_secret" "webhook_secret" {
  #checkov:skip=CKV_AZURE_41: an expiry would switch podEvents off at a date unrelated to the secret's strength; it is rotated with the relay's Secret (docs/deploy-aks.md).
  name         = "funclet-webhook-secret"
  key_vault_id = azurerm_key_vault.funclet.id
  value        = var.webhook_secret
  content_type = "text/plain"
  depends_on   = [azurerm_role_assignment.deployer_secrets_officer]
}

# FUNCLET_KUBECONFIG: created here (empty until `funclet attach` writes the nodes' credentials,
# docs/deploy-aks.md; until then every function fails naming FUNCLET_KUBECONFIG) so that the
# app's write grant can be scoped to this one secret (access.tf). The nodes renew their
# certificates and write new versions themselves: Terraform never writes it again.
resource "azurerm_key_vault_secret" "kubeconfig" {
  #checkov:skip=CKV_AZURE_41: the credentials inside have their own lifetimes and are renewed by the functions; a vault expiry would stop every virtual node at an unrelated date.
  name         = "funclet-kubeconfig"
  key_vault_id = azurerm_key_vault.funclet.id
  value        = var.kubeconfig == "" ? "{}" : var.kubeconfig
  content_type = "application/json"
  depends_on   = [azurerm_role_assignment.deployer_secrets_officer]

  lifecycle {
    ignore_changes = [value]
  }
}

resource "azurerm_key_vault_secret" "aws_access_key_id" {
  #checkov:skip=CKV_AZURE_41: the IAM access key's rotation is AWS-side (docs/deploy-eks.md); a vault expiry would stop the ECS nodes at an unrelated date.
  count        = var.aws_access_key_id == "" ? 0 : 1
  name         = "funclet-aws-access-key-id"
  key_vault_id = azurerm_key_vault.funclet.id
  value        = var.aws_access_key_id
  content_type = "text/plain"
  depends_on   = [azurerm_role_assignment.deployer_secrets_officer]
}

resource "azurerm_key_vault_secret" "aws_secret_access_key" {
  #checkov:skip=CKV_AZURE_41: the IAM access key's rotation is AWS-side (docs/deploy-eks.md); a vault expiry would stop the ECS nodes at an unrelated date.
  count        = var.aws_secret_access_key == "" ? 0 : 1
  name         = "funclet-aws-secret-access-key"
  key_vault_id = azurerm_key_vault.funclet.id
  value        = var.aws_secret_access_key
  content_type = "text/plain"
  depends_on   = [azurerm_role_assignment.deployer_secrets_officer]
}

# --- function app ------------------------------------------------------------------------------

resource "azurerm_service_plan" "funclet" {
  #checkov:skip=CKV_AZURE_225: Flex Consumption places instances itself and zone redundancy is not offered in every Flex region; the virtual nodes tolerate a lost instance (the next timer tick runs on another).
  #checkov:skip=CKV_AZURE_212: Flex Consumption scales from zero; timers and HTTP requests start instances on demand.
  name                = "${local.app_name}-plan"
  resource_group_name = azurerm_resource_group.app.name
  location            = var.location
  os_type             = "Linux"
  sku_name            = "FC1"
  tags                = local.tags
}

resource "azurerm_function_app_flex_consumption" "funclet" {
  name                = local.app_name
  resource_group_name = azurerm_resource_group.app.name
  location            = var.location
  service_plan_id     = azurerm_service_plan.funclet.id

  storage_container_type      = "blobContainer"
  storage_container_endpoint  = "${azurerm_storage_account.funclet.primary_blob_endpoint}${azurerm_storage_container.deployment.name}"
  storage_authentication_type = "SystemAssignedIdentity"
  runtime_name                = "node"
  runtime_version             = "22"
  maximum_instance_count      = var.maximum_instance_count
  instance_memory_in_mb       = var.instance_memory_in_mb

  https_only                                     = true
  public_network_access_enabled                  = true # the relay in the cluster POSTs to podEvents
  client_certificate_enabled                     = false
  webdeploy_publish_basic_authentication_enabled = false

  identity {
    type = "SystemAssigned"
  }

  site_config {
    minimum_tls_version                    = "1.2"
    scm_minimum_tls_version                = "1.2"
    http2_enabled                          = true
    application_insights_connection_string = azurerm_application_insights.funclet.connection_string
  }

  app_settings = local.app_settings
  tags         = local.tags

  lifecycle {
    precondition {
      condition     = !local.uses_ecs || (var.ecs.cluster != "" && var.ecs.region != "" && length(var.ecs.subnets) > 0)
      error_message = "A node uses ECS: set ecs.cluster, ecs.region and at least one of ecs.subnets (outputs of modules/aws-ecs)."
    }
  }
}

# azurerm gives a Flex Consumption app an AzureWebJobsStorage setting even when its storage
# authentication is an identity: a connection string it builds from the storage access key, which
# is empty here ("DefaultEndpointsProtocol=https;AccountName=<account>;AccountKey=;..."). The host
# takes AzureWebJobsStorage over AzureWebJobsStorage__accountName and cannot reach its storage
# with it (hashicorp/terraform-provider-azurerm#29693, #30732). This PUT replaces the settings with
# exactly Funclet's, after every change of the app.
resource "azapi_resource_action" "app_settings" {
  type        = "Microsoft.Web/sites/config@2024-04-01"
  resource_id = "${azurerm_function_app_flex_consumption.funclet.id}/config/appsettings"
  method      = "PUT"
  body = {
    properties = local.effective_app_settings
  }

  lifecycle {
    replace_triggered_by = [azurerm_function_app_flex_consumption.funclet]
  }
}
