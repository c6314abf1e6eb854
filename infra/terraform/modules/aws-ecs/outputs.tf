# The values the Funclet deployment's ecs settings take (infra/terraform var.ecs, or the
# ecs* parameters of infra/bicep/main.bicep).

output "cluster_name" {
  description = "The ECS cluster (FUNCLET_ECS_CLUSTER, ecs.cluster)."
  value       = aws_ecs_cluster.funclet.name
}

output "cluster_arn" {
  description = "The ECS cluster's ARN."
  value       = aws_ecs_cluster.funclet.arn
}

output "region" {
  description = "The cluster's region (FUNCLET_ECS_REGION, ecs.region)."
  value       = local.region
}

output "execution_role_arn" {
  description = "The tasks' execution role (FUNCLET_ECS_EXECUTION_ROLE_ARN, ecs.execution_role_arn)."
  value       = aws_iam_role.task_execution.arn
}

output "log_group_name" {
  description = "The pods' log group (FUNCLET_ECS_LOG_GROUP, ecs.log_group)."
  value       = aws_cloudwatch_log_group.tasks.name
}

output "security_group_id" {
  description = "The tasks' security group when vpc_id is set (FUNCLET_ECS_SECURITY_GROUPS, ecs.security_groups); null otherwise."
  value       = var.vpc_id == null ? null : aws_security_group.tasks[0].id
}

output "functions_user_name" {
  description = "Create its access key with `aws iam create-access-key --user-name <this>` and store it in the Funclet Key Vault."
  value       = aws_iam_user.functions.name
}

output "functions_policy_arn" {
  description = "The policy of the functions' IAM identity."
  value       = aws_iam_policy.functions.arn
}

output "access_key_id" {
  description = "The functions' access key id when create_access_key is set; null otherwise."
  value       = var.create_access_key ? aws_iam_access_key.functions[0].id : null
}

output "secret_access_key" {
  description = "Its secret, when create_access_key is set (then also in the state)."
  value       = var.create_access_key ? aws_iam_access_key.functions[0].secret : null
  sensitive   = true
}
