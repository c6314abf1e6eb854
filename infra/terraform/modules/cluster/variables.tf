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

variable "relay_max_in_flight" {
  description = "podEvents requests the relay keeps in flight per node (1-32). Lower it for a small function app."
  type        = number
  default     = 4
  validation {
    condition     = var.relay_max_in_flight >= 1 && var.relay_max_in_flight <= 32 && floor(var.relay_max_in_flight) == var.relay_max_in_flight
    error_message = "relay_max_in_flight must be a whole number from 1 to 32."
  }
}

variable "webhook_url" {
  description = "podEvents' URL, https and without its key (<pod_events_url>); the key goes in function_key."
  type        = string
  default     = ""
}

variable "function_key" {
  description = "podEvents' function key, which the relay sends as x-functions-key."
  type        = string
  default     = ""
  sensitive   = true
}

variable "token_expiration_seconds" {
  description = "Lifetime of the ServiceAccount fallback's first token (at least 600); the functions renew it past 70% of it."
  type        = number
  default     = 86400
  validation {
    condition     = var.token_expiration_seconds >= 600
    error_message = "token_expiration_seconds must be at least 600, the API server's minimum."
  }
}

variable "webhook_secret" {
  description = "The HMAC secret, the same as the Function App's FUNCLET_WEBHOOK_SECRET."
  type        = string
  default     = ""
  sensitive   = true
}

variable "nodes" {
  description = "Names of the virtual nodes: the relay watches them (FUNCLET_RELAY_NODES) and the fallback's RBAC names them."
  type        = list(string)
  default     = []
}
