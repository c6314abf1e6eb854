# The Function App's settings, assembled as in infra/bicep/main.bicep. loadConfig
# (core/config.ts) requires FUNCLET_NODES, FUNCLET_KUBECONFIG and a table account; the ACI and
# ECS groups are required when a node uses that provider. test/infra checks that every setting
# loadConfig requires is here.

locals {
  providers = [for n in var.nodes : try(n.provider, "mock")]
  uses_aci  = contains(local.providers, "aci")
  uses_ecs  = contains(local.providers, "ecs")

  # Versionless secret URIs: the app picks up a new secret version on restart (or within 24 h).
  vault_uri = azurerm_key_vault.funclet.vault_uri

  # Tables are reached with the managed identity: FUNCLET_TABLE_ACCOUNT_URL, not a connection
  # string. The host's own storage too (AzureWebJobsStorage__*).
  core_settings = {
    AzureWebJobsStorage__accountName          = azurerm_storage_account.funclet.name
    AzureWebJobsStorage__credential           = "managedidentity"
    APPLICATIONINSIGHTS_AUTHENTICATION_STRING = "Authorization=AAD"
    FUNCLET_NODES                             = jsonencode(var.nodes)
    FUNCLET_CLUSTER_NAME                      = var.cluster_name
    FUNCLET_KUBECONFIG                        = "@Microsoft.KeyVault(SecretUri=${local.vault_uri}secrets/funclet-kubeconfig)"
    FUNCLET_KUBECONFIG_SECRET_URI             = "${local.vault_uri}secrets/funclet-kubeconfig"
    FUNCLET_WEBHOOK_SECRET                    = "@Microsoft.KeyVault(SecretUri=${local.vault_uri}secrets/funclet-webhook-secret)"
    FUNCLET_TABLE_ACCOUNT_URL                 = azurerm_storage_account.funclet.primary_table_endpoint
    FUNCLET_TABLE_PREFIX                      = var.table_prefix
  }

  aci_settings = {
    FUNCLET_ACI_SUBSCRIPTION_ID = var.subscription_id
    FUNCLET_ACI_RESOURCE_GROUP  = local.aci_resource_group_name
    FUNCLET_ACI_REGION          = local.aci_region
    FUNCLET_ACI_SUBNET_ID       = var.aci_subnet_id
  }

  # The AWS SDK's default chain reads the IAM user's key from the two AWS_ settings.
  ecs_settings = {
    FUNCLET_ECS_CLUSTER            = var.ecs.cluster
    FUNCLET_ECS_REGION             = var.ecs.region
    FUNCLET_ECS_SUBNETS            = join(",", var.ecs.subnets)
    FUNCLET_ECS_SECURITY_GROUPS    = join(",", var.ecs.security_groups)
    FUNCLET_ECS_ASSIGN_PUBLIC_IP   = tostring(var.ecs.assign_public_ip)
    FUNCLET_ECS_EXECUTION_ROLE_ARN = var.ecs.execution_role_arn
    FUNCLET_ECS_TASK_ROLE_ARN      = var.ecs.task_role_arn
    FUNCLET_ECS_TASK_ROLES         = jsonencode(var.ecs.task_roles)
    FUNCLET_ECS_LOG_GROUP          = var.ecs.log_group
    AWS_ACCESS_KEY_ID              = "@Microsoft.KeyVault(SecretUri=${local.vault_uri}secrets/funclet-aws-access-key-id)"
    AWS_SECRET_ACCESS_KEY          = "@Microsoft.KeyVault(SecretUri=${local.vault_uri}secrets/funclet-aws-secret-access-key)"
  }

  app_settings = merge(
    local.core_settings,
    local.uses_aci ? local.aci_settings : {},
    local.uses_ecs ? local.ecs_settings : {},
  )

  # azurerm keeps the Application Insights connection string in site_config; the settings PUT
  # in main.tf must carry it too, since it replaces the whole set.
  effective_app_settings = merge(local.app_settings, {
    APPLICATIONINSIGHTS_CONNECTION_STRING = azurerm_application_insights.funclet.connection_string
  })
}
