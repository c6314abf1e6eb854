output "function_kubeconfig" {
  description = "The ServiceAccount fallback's kubeconfig for FUNCLET_KUBECONFIG: server, CA and an expiring token of the funclet ServiceAccount, nothing else. Store it in the Key Vault as funclet-kubeconfig (ignore later changes: the functions renew it). Prefer node identity: run funclet attach."
  sensitive   = true
  value = jsonencode({
    apiVersion = "v1"
    kind       = "Config"
    clusters = [{
      name = "funclet"
      cluster = {
        server                       = var.cluster_endpoint
        "certificate-authority-data" = base64encode(var.cluster_ca_certificate)
      }
    }]
    users = [{
      name = "funclet"
      user = { token = kubernetes_token_request_v1.function.token }
    }]
    contexts = [{
      name    = "funclet"
      context = { cluster = "funclet", user = "funclet" }
    }]
    "current-context" = "funclet"
  })
}

output "namespace" {
  description = "The namespace Funclet runs in (funclet-system)."
  value       = kubernetes_namespace_v1.funclet.metadata[0].name
}
