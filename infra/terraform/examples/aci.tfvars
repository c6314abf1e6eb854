# An AKS cluster with one virtual node whose pods run on ACI. Pass subscription_id and
# webhook_secret on the command line (docs/deploy-aks.md).
location     = "westeurope"
cluster_name = "aks-prod"
nodes = [
  {
    name     = "funclet-aci"
    provider = "aci"
    labels   = { "funclet.io/pool" = "burst" }
  },
]
aci_region = "westeurope"
