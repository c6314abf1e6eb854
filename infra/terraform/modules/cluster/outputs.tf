output "function_kubeconfig" {
  description = "The kubeconfig for FUNCLET_KUBECONFIG: server, CA and the funclet ServiceAccount's token, nothing else. Store it in the Key Vault as funclet-kubeconfig."
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
      user = { token = kubernetes_secret_v1.function_token.data["token"] }
    }]
    contexts = [{
      name    = "funclet"
      context = { cluster = "funclet", user = "funclet" }
    }]
    "current-context" = "funclet"
  })
}

output "namespace" {
  value = kubernetes_namespace_v1.funclet.metadata[0].name
}
