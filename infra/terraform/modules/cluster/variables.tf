variable "cluster_endpoint" {
  description = "The API server URL the functions call (the `server` of the kubeconfig this module outputs)."
  type        = string
}

variable "cluster_ca_certificate" {
  description = "The cluster CA, PEM (e.g. base64decode of the AKS or EKS certificate authority data)."
  type        = string
}

variable "relay_image" {
  description = "The relay image built from infra/relay/Dockerfile, pinned by digest (<registry>/funclet-relay@sha256:...). Empty: no relay; podResync alone carries the pods, at up to a minute's delay."
  type        = string
  default     = ""
}

variable "webhook_url" {
  description = "podEvents' URL with its key: <pod_events_url>?code=<function key>."
  type        = string
  default     = ""
  sensitive   = true
}

variable "webhook_secret" {
  description = "The HMAC secret, the same as the Function App's FUNCLET_WEBHOOK_SECRET."
  type        = string
  default     = ""
  sensitive   = true
}

variable "nodes" {
  description = "Names of the virtual nodes the relay watches (FUNCLET_RELAY_NODES)."
  type        = list(string)
  default     = []
}
