# The values the Funclet deployment's ecs settings take (infra/terraform var.ecs, or the
# ecs* parameters of infra/bicep/main.bicep).

output "cluster_name" {
  value = aws_ecs_cluster.funclet.name
}

output "cluster_arn" {
  value = aws_ecs_cluster.funclet.arn
}

output "region" {
  value = local.region
}

output "execution_role_arn" {
  value = aws_iam_role.task_execution.arn
}

output "log_group_name" {
  value = aws_cloudwatch_log_group.tasks.name
}

output "security_group_id" {
  value = var.vpc_id == null ? null : aws_security_group.tasks[0].id
}

output "functions_user_name" {
  description = "Create its access key with `aws iam create-access-key --user-name <this>` and store it in the Funclet Key Vault."
  value       = aws_iam_user.functions.name
}

output "functions_policy_arn" {
  value = aws_iam_policy.functions.arn
}

output "access_key_id" {
  value = var.create_access_key ? aws_iam_access_key.functions[0].id : null
}

output "secret_access_key" {
  value     = var.create_access_key ? aws_iam_access_key.functions[0].secret : null
  sensitive = true
}
