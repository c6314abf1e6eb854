output "function_app_name" {
  description = "The Function App: func azure functionapp publish <this> --javascript."
  value       = azurerm_function_app_flex_consumption.funclet.name
}

output "resource_group_name" {
  description = "The resource group of the app, its storage, vault and monitoring."
  value       = azurerm_resource_group.app.name
}

output "key_vault_name" {
  description = "The vault whose funclet-kubeconfig secret funclet attach writes."
  value       = azurerm_key_vault.funclet.name
}

output "storage_account_name" {
  description = "The app's storage account: Funclet's tables, the host's blobs, the deployment package."
  value       = azurerm_storage_account.funclet.name
}

output "app_insights_name" {
  description = "Application Insights, where the functions log (docs/observe.md)."
  value       = azurerm_application_insights.funclet.name
}

output "principal_id" {
  description = "The Function App's system-assigned identity."
  value       = local.principal_id
}

output "pod_events_url" {
  description = "The relay's FUNCLET_WEBHOOK_URL without its key: podEvents has authLevel function, so append ?code=<key> (pod_events_key_command prints it once the code is published)."
  value       = "https://${azurerm_function_app_flex_consumption.funclet.default_hostname}/api/podEvents"
}

output "pod_events_key_command" {
  description = "Prints podEvents' function key. Keys exist once the app's code is published."
  value       = "az functionapp function keys list --resource-group ${azurerm_resource_group.app.name} --name ${azurerm_function_app_flex_consumption.funclet.name} --function-name podEvents --query default --output tsv"
}
