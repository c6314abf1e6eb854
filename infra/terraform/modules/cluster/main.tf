# The cluster side of Funclet with the kubernetes provider: the namespace, the relay's
# ServiceAccount and RBAC, optionally the relay with its Secret, and the ServiceAccount fallback
# (the RBAC of infra/k8s/clusterrole.yaml with the node names filled in, and an expiring token
# output as a kubeconfig for the Key Vault, which the functions renew themselves).
#
# Node identity, the stronger default, is not made here: each node's private key would sit in
# the Terraform state. Run `funclet attach` after this module instead (docs/deploy-aks.md,
# docs/deploy-eks.md); it installs infra/k8s/node-identity.yaml and removes the fallback's
# bindings.
#
# The RBAC rules are read from infra/k8s itself, so the two can never drift apart.

locals {
  k8s_dir   = "${path.module}/../../../k8s"
  namespace = "funclet-system"
  labels    = { "app.kubernetes.io/part-of" = "funclet" }

  # Multi-document YAML files, one object per document.
  documents = {
    for f in ["clusterrole.yaml", "node-lease-role.yaml", "relay-rbac.yaml"] :
    f => [for d in split("\n---\n", file("${local.k8s_dir}/${f}")) : yamldecode(d)]
  }
  # resourceNames of VIRTUAL_NODES name the virtual nodes, as `funclet attach` fills them in.
  function_rules = [
    for r in local.documents["clusterrole.yaml"][0].rules : merge(r, {
      resourceNames = contains(try(r.resourceNames, []), "VIRTUAL_NODES") ? var.nodes : try(r.resourceNames, null)
    })
  ]
  node_lease_rules = [
    for r in [for d in local.documents["node-lease-role.yaml"] : d if d.kind == "Role"][0].rules : merge(r, {
      resourceNames = contains(try(r.resourceNames, []), "VIRTUAL_NODES") ? var.nodes : try(r.resourceNames, null)
    })
  ]
  relay_rules = [for d in local.documents["relay-rbac.yaml"] : d if d.kind == "ClusterRole"][0].rules

  relay_enabled = var.relay_image != ""
}

resource "kubernetes_namespace_v1" "funclet" {
  metadata {
    name   = local.namespace
    labels = local.labels
  }
}

# --- the functions' identity -------------------------------------------------------------------

resource "kubernetes_service_account_v1" "funclet" {
  metadata {
    name      = "funclet"
    namespace = kubernetes_namespace_v1.funclet.metadata[0].name
    labels    = local.labels
  }
}

resource "kubernetes_cluster_role_v1" "funclet" {
  metadata {
    name   = "funclet"
    labels = local.labels
  }

  dynamic "rule" {
    for_each = local.function_rules
    content {
      api_groups     = rule.value.apiGroups
      resources      = rule.value.resources
      verbs          = rule.value.verbs
      resource_names = rule.value.resourceNames
    }
  }
}

resource "kubernetes_cluster_role_binding_v1" "funclet" {
  metadata {
    name   = "funclet"
    labels = local.labels
  }
  role_ref {
    api_group = "rbac.authorization.k8s.io"
    kind      = "ClusterRole"
    name      = kubernetes_cluster_role_v1.funclet.metadata[0].name
  }
  subject {
    kind      = "ServiceAccount"
    name      = kubernetes_service_account_v1.funclet.metadata[0].name
    namespace = local.namespace
  }
}

resource "kubernetes_role_v1" "node_lease" {
  metadata {
    name      = "funclet-node-lease"
    namespace = "kube-node-lease"
    labels    = local.labels
  }

  dynamic "rule" {
    for_each = local.node_lease_rules
    content {
      api_groups     = rule.value.apiGroups
      resources      = rule.value.resources
      verbs          = rule.value.verbs
      resource_names = rule.value.resourceNames
    }
  }
}

resource "kubernetes_role_binding_v1" "node_lease" {
  metadata {
    name      = "funclet-node-lease"
    namespace = "kube-node-lease"
    labels    = local.labels
  }
  role_ref {
    api_group = "rbac.authorization.k8s.io"
    kind      = "Role"
    name      = kubernetes_role_v1.node_lease.metadata[0].name
  }
  subject {
    kind      = "ServiceAccount"
    name      = kubernetes_service_account_v1.funclet.metadata[0].name
    namespace = local.namespace
  }
}

# An expiring TokenRequest token: the functions renew it themselves past 70% of its lifetime
# (core/node/credentialRenewal.ts) and write the renewed kubeconfig to the Key Vault secret, so
# the vault secret must not be reset to this first token by later applies (ignore_changes on its
# value; docs/deploy-eks.md).
resource "kubernetes_token_request_v1" "function" {
  metadata {
    name      = kubernetes_service_account_v1.funclet.metadata[0].name
    namespace = local.namespace
  }
  spec {
    audiences          = []
    expiration_seconds = var.token_expiration_seconds
  }
}

# --- the relay ---------------------------------------------------------------------------------

resource "kubernetes_service_account_v1" "relay" {
  metadata {
    name      = "funclet-relay"
    namespace = kubernetes_namespace_v1.funclet.metadata[0].name
    labels    = local.labels
  }
}

resource "kubernetes_cluster_role_v1" "relay" {
  metadata {
    name   = "funclet-relay"
    labels = local.labels
  }

  dynamic "rule" {
    for_each = local.relay_rules
    content {
      api_groups = rule.value.apiGroups
      resources  = rule.value.resources
      verbs      = rule.value.verbs
    }
  }
}

resource "kubernetes_cluster_role_binding_v1" "relay" {
  metadata {
    name   = "funclet-relay"
    labels = local.labels
  }
  role_ref {
    api_group = "rbac.authorization.k8s.io"
    kind      = "ClusterRole"
    name      = kubernetes_cluster_role_v1.relay.metadata[0].name
  }
  subject {
    kind      = "ServiceAccount"
    name      = kubernetes_service_account_v1.relay.metadata[0].name
    namespace = local.namespace
  }
}

# The relay reads the API server's client CA (kube-system/extension-apiserver-authentication) to
# authenticate callers of the kubelet endpoints, through the Role the API server creates for it.
resource "kubernetes_role_binding_v1" "relay_authentication_reader" {
  metadata {
    name      = "funclet-relay-authentication-reader"
    namespace = "kube-system"
    labels    = local.labels
  }
  role_ref {
    api_group = "rbac.authorization.k8s.io"
    kind      = "Role"
    name      = "extension-apiserver-authentication-reader"
  }
  subject {
    kind      = "ServiceAccount"
    name      = kubernetes_service_account_v1.relay.metadata[0].name
    namespace = local.namespace
  }
}

# Its namespace by reference: nothing else here orders the Secret after the namespace.
resource "kubernetes_secret_v1" "relay" {
  count = local.relay_enabled ? 1 : 0
  metadata {
    name      = "funclet-relay"
    namespace = kubernetes_namespace_v1.funclet.metadata[0].name
    labels    = local.labels
  }
  data = {
    FUNCLET_WEBHOOK_URL    = var.webhook_url
    FUNCLET_WEBHOOK_SECRET = var.webhook_secret
    FUNCLET_FUNCTION_KEY   = var.function_key
  }

  lifecycle {
    precondition {
      condition     = length(var.nodes) > 0 && can(regex("^https://", var.webhook_url)) && !strcontains(var.webhook_url, "code=") && length(var.webhook_secret) >= 32
      error_message = "The relay needs nodes, webhook_url (podEvents' https URL, without ?code=: the key goes in function_key) and a webhook_secret of at least 32 characters."
    }
  }
}

# As infra/k8s/relay-deployment.yaml, with the image and nodes set.
resource "kubernetes_deployment_v1" "relay" {
  count = local.relay_enabled ? 1 : 0
  #checkov:skip=CKV_K8S_11: no CPU limit on purpose: throttling a watch-and-forward loop only delays pokes; the request (10m) places it.
  #checkov:skip=CKV_K8S_14: relay_image is the operator's, documented as pinned by digest; there is no public image to pin here.
  #checkov:skip=CKV_K8S_43: as CKV_K8S_14: relay_image is given pinned by digest (<registry>/funclet-relay@sha256:...).

  metadata {
    name      = "funclet-relay"
    namespace = local.namespace
    labels    = merge(local.labels, { "app.kubernetes.io/name" = "funclet-relay" })
  }

  spec {
    replicas = 1
    # The relay holds no state that matters: replace it rather than run two side by side.
    strategy {
      type = "Recreate"
    }
    selector {
      match_labels = { "app.kubernetes.io/name" = "funclet-relay" }
    }

    template {
      metadata {
        labels = merge(local.labels, { "app.kubernetes.io/name" = "funclet-relay" })
        annotations = {
          # A new webhook URL or secret rolls the pod: env from a Secret is read at start only.
          "funclet.io/relay-secret-sha256" = sha256("${var.webhook_url}\n${var.webhook_secret}\n${var.function_key}")
        }
      }

      spec {
        service_account_name             = kubernetes_service_account_v1.relay.metadata[0].name
        automount_service_account_token  = true
        termination_grace_period_seconds = 10
        enable_service_links             = false

        security_context {
          run_as_non_root = true
          run_as_user     = 65532
          run_as_group    = 65532
          seccomp_profile {
            type = "RuntimeDefault"
          }
        }

        affinity {
          node_affinity {
            # A real node: the relay must not run on the virtual nodes it serves.
            required_during_scheduling_ignored_during_execution {
              node_selector_term {
                match_expressions {
                  key      = "type"
                  operator = "NotIn"
                  values   = ["virtual-kubelet"]
                }
              }
            }
          }
        }

        container {
          name              = "relay"
          image             = var.relay_image
          image_pull_policy = "Always"
          args              = ["relay"]

          env {
            name  = "FUNCLET_RELAY_NODES"
            value = join(",", var.nodes)
          }
          env {
            name  = "FUNCLET_RELAY_PORT"
            value = "8080"
          }
          env {
            name  = "FUNCLET_RELAY_MAX_IN_FLIGHT"
            value = tostring(var.relay_max_in_flight)
          }
          env {
            name = "FUNCLET_WEBHOOK_URL"
            value_from {
              secret_key_ref {
                name = kubernetes_secret_v1.relay[0].metadata[0].name
                key  = "FUNCLET_WEBHOOK_URL"
              }
            }
          }
          env {
            name = "FUNCLET_WEBHOOK_SECRET"
            value_from {
              secret_key_ref {
                name = kubernetes_secret_v1.relay[0].metadata[0].name
                key  = "FUNCLET_WEBHOOK_SECRET"
              }
            }
          }
          # The function key, sent as x-functions-key (never in the URL).
          env {
            name = "FUNCLET_FUNCTION_KEY"
            value_from {
              secret_key_ref {
                name     = kubernetes_secret_v1.relay[0].metadata[0].name
                key      = "FUNCLET_FUNCTION_KEY"
                optional = true
              }
            }
          }
          # The virtual nodes' kubelet endpoints: the nodes post this pod's IP as their
          # InternalIP; node i of FUNCLET_RELAY_NODES is served on FUNCLET_KUBELET_PORT + i.
          env {
            name = "FUNCLET_KUBELET_ADDRESS"
            value_from {
              field_ref {
                field_path = "status.podIP"
              }
            }
          }
          env {
            name  = "FUNCLET_KUBELET_PORT"
            value = "10250"
          }
          # Keep the V8 heap inside the memory limit, so it collects instead of being OOM-killed.
          env {
            name  = "NODE_OPTIONS"
            value = "--max-old-space-size=80"
          }

          port {
            name           = "probes"
            container_port = 8080
          }
          port {
            name           = "kubelet"
            container_port = 10250
          }

          liveness_probe {
            http_get {
              path = "/healthz"
              port = "probes"
            }
            initial_delay_seconds = 10
            period_seconds        = 20
            failure_threshold     = 3
          }

          readiness_probe {
            http_get {
              path = "/readyz"
              port = "probes"
            }
            period_seconds    = 5
            failure_threshold = 2
          }

          resources {
            requests = {
              cpu    = "10m"
              memory = "64Mi"
            }
            limits = {
              memory = "128Mi"
            }
          }

          security_context {
            run_as_non_root            = true
            run_as_user                = 65532
            allow_privilege_escalation = false
            read_only_root_filesystem  = true
            capabilities {
              drop = ["ALL"]
            }
            seccomp_profile {
              type = "RuntimeDefault"
            }
          }
        }
      }
    }
  }
}
