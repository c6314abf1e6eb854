variable "subscription_id" {
  description = "Subscription of the Function App and (for ACI nodes) the container groups."
  type        = string
}

variable "location" {
  description = "Region of the Function App, its storage, vault and monitoring."
  type        = string
}

variable "name_prefix" {
  description = "Prefix of every resource name: 3-11 lowercase letters and digits."
  type        = string
  default     = "funclet"

  validation {
    condition     = can(regex("^[a-z][a-z0-9]{2,10}$", var.name_prefix))
    error_message = "name_prefix must be 3-11 lowercase letters and digits, starting with a letter."
  }
}

variable "app_resource_group_name" {
  description = "Resource group of the Function App, storage, vault and monitoring (created). Default: <name_prefix>-rg."
  type        = string
  default     = null
}

variable "aci_resource_group_name" {
  description = "Resource group of the pods' container groups (created when a node uses ACI); Funclet's alone. Default: <name_prefix>-aci-rg."
  type        = string
  default     = null
}

variable "cluster_name" {
  description = "Names the cluster in provider tags (FUNCLET_CLUSTER_NAME)."
  type        = string
}

variable "nodes" {
  description = <<-EOT
    The virtual nodes (FUNCLET_NODES), written to the setting as JSON exactly as given:
    [{ name, provider = "aci" | "ecs" | "mock", os?, labels?, taints?, capacity? }].
    Funclet validates each field at startup and names any bad one.
  EOT
  # any, not a list of objects with optional attributes: those would reach the JSON as nulls.
  type = any

  validation {
    condition     = can(length(var.nodes)) && length(var.nodes) > 0 && alltrue([for n in var.nodes : can(n.name) && contains(["aci", "ecs", "mock"], try(n.provider, "mock"))])
    error_message = "nodes needs at least one node, each with a name and provider aci, ecs or mock."
  }
}

variable "webhook_secret" {
  description = "HMAC secret shared by podEvents and the relay (FUNCLET_WEBHOOK_SECRET), e.g. `openssl rand -hex 32`."
  type        = string
  sensitive   = true

  validation {
    condition     = length(var.webhook_secret) >= 32
    error_message = "webhook_secret must be at least 32 characters."
  }
}

variable "kubeconfig" {
  description = "FUNCLET_KUBECONFIG for the first apply; usually empty: `funclet attach --key-vault-secret` writes it to the vault, and the nodes renew it there (later applies never change it)."
  type        = string
  default     = ""
  sensitive   = true
}

variable "aci_region" {
  description = "Region the container groups run in (FUNCLET_ACI_REGION). Default: location."
  type        = string
  default     = null
}

variable "aci_subnet_id" {
  description = "Delegated subnet for the container groups (FUNCLET_ACI_SUBNET_ID); empty for public IPs."
  type        = string
  default     = ""
}

variable "ecs" {
  description = "ECS settings (FUNCLET_ECS_*), from modules/aws-ecs; cluster, region and subnets are required when a node uses ECS."
  type = object({
    cluster            = optional(string, "")
    region             = optional(string, "")
    subnets            = optional(list(string), [])
    security_groups    = optional(list(string), [])
    assign_public_ip   = optional(bool, false)
    execution_role_arn = optional(string, "")
    task_role_arn      = optional(string, "")
    task_roles         = optional(map(string), {})
    log_group          = optional(string, "")
  })
  default  = {}
  nullable = false
}

variable "aws_access_key_id" {
  description = "Access key of the IAM user modules/aws-ecs creates; stored in the vault. Empty to set the vault secret yourself."
  type        = string
  default     = ""
  sensitive   = true
}

variable "aws_secret_access_key" {
  description = "Its secret access key; stored in the vault."
  type        = string
  default     = ""
  sensitive   = true
}

variable "table_prefix" {
  description = "Prefix of Funclet's table names (FUNCLET_TABLE_PREFIX)."
  type        = string
  default     = "funclet"
}

variable "storage_replication_type" {
  description = "ZRS keeps the state through a zone outage; the tables are repairable, so geo-replication is optional."
  type        = string
  default     = "ZRS"
}

variable "log_retention_days" {
  description = "Days Log Analytics keeps the functions' logs."
  type        = number
  default     = 90
}

variable "maximum_instance_count" {
  description = "Upper bound of Flex Consumption instances. Timers are singletons; only podEvents fans out."
  type        = number
  default     = 40
}

variable "instance_memory_in_mb" {
  description = "Memory of each Flex Consumption instance: 512, 2048 or 4096 MB."
  type        = number
  default     = 2048
}

variable "grant_queue_access" {
  description = "Grant Storage Queue Data Contributor too; Funclet's HTTP and timer triggers do not need it."
  type        = bool
  default     = false
}

variable "secrets_officer_principal_id" {
  description = "Object id of another operator allowed to write the vault's secrets (the kubeconfig after `funclet attach`); empty for none. The deploying principal has that right already."
  type        = string
  default     = ""
}

variable "tags" {
  description = "Tags for every resource; funclet-cluster is added."
  type        = map(string)
  default     = {}
}
