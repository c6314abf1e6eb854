variable "name" {
  description = "Name of the ECS cluster (FUNCLET_ECS_CLUSTER) and prefix of the IAM names."
  type        = string
  default     = "funclet"
}

variable "log_retention_days" {
  description = "Days CloudWatch Logs keeps the pods' stdout and stderr."
  type        = number
  default     = 90
}

variable "log_kms_key_arn" {
  description = "KMS key for the log group; null for CloudWatch Logs' own encryption."
  type        = string
  default     = null
}

variable "task_role_arns" {
  description = "Task roles pods may run with (FUNCLET_ECS_TASK_ROLE_ARN and the roles of FUNCLET_ECS_TASK_ROLES): the functions may pass exactly these."
  type        = list(string)
  default     = []
}

variable "funclet_cluster_name" {
  description = "Funclet's cluster name (FUNCLET_CLUSTER_NAME): the pods' Secrets Manager secrets are under funclet/<this>/."
  type        = string
  default     = "default"
}

variable "vpc_id" {
  description = "VPC of the tasks (usually the EKS cluster's). When set, a security group for the tasks is created in it."
  type        = string
  default     = null
}

variable "task_ingress_cidrs" {
  description = "CIDRs that may reach the tasks (e.g. the cluster's pod and node ranges); empty for none."
  type        = list(string)
  default     = []
}

variable "create_access_key" {
  description = "Create the functions' access key here. Off by default: the secret would be stored in the Terraform state; create it with the AWS CLI instead (docs/deploy-eks.md)."
  type        = bool
  default     = false
}

variable "tags" {
  description = "Tags for every resource; funclet.io/component is added."
  type        = map(string)
  default     = {}
}
