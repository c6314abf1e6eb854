# AWS side of Funclet's ECS provider: the Fargate cluster the pods run in, the task execution
# role, the pods' log group, and the identity the functions (in Azure) call ECS with, allowed
# exactly the calls core/providers/ecs makes.
#
# The functions run in Azure and have no AWS identity of their own, so they use an IAM user's
# access key, kept in the Funclet Key Vault (AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY settings).

data "aws_caller_identity" "current" {}
data "aws_region" "current" {}
data "aws_partition" "current" {}

locals {
  account   = data.aws_caller_identity.current.account_id
  region    = data.aws_region.current.region
  partition = data.aws_partition.current.partition
  tags      = merge(var.tags, { "funclet.io/component" = "ecs" })

  # Every task definition family Funclet registers starts with "funclet-" (core/providers/ecs/naming.ts).
  task_definitions = "arn:${local.partition}:ecs:${local.region}:${local.account}:task-definition/funclet-*"
  tasks            = "arn:${local.partition}:ecs:${local.region}:${local.account}:task/${aws_ecs_cluster.funclet.name}/*"
  # Each pod's Secret values and registry credentials (core/providers/ecs/pod-secrets.ts).
  pod_secrets = "arn:${local.partition}:secretsmanager:${local.region}:${local.account}:secret:funclet/${var.funclet_cluster_name}/*"
}

resource "aws_ecs_cluster" "funclet" {
  name = var.name
  tags = local.tags

  # Enhanced observability publishes per-task and per-container CPU and memory, which the
  # virtual nodes' /stats/summary and kubectl top read (core/providers/ecs/stats.ts).
  setting {
    name  = "containerInsights"
    value = "enhanced"
  }
}

# Pods choose FARGATE (default) or FARGATE_SPOT by annotation (core/providers/ecs/run-task.ts).
resource "aws_ecs_cluster_capacity_providers" "funclet" {
  cluster_name       = aws_ecs_cluster.funclet.name
  capacity_providers = ["FARGATE", "FARGATE_SPOT"]

  default_capacity_provider_strategy {
    capacity_provider = "FARGATE"
    weight            = 1
  }
}

resource "aws_cloudwatch_log_group" "tasks" {
  #checkov:skip=CKV_AWS_338: pod stdout is operational output, kept log_retention_days (90 by default); a year's retention is the operator's choice, not a default.
  name              = "/${var.name}/tasks"
  retention_in_days = var.log_retention_days
  kms_key_id        = var.log_kms_key_arn
  tags              = local.tags
}

# --- the tasks' execution role -----------------------------------------------------------------

data "aws_iam_policy_document" "ecs_tasks_assume" {
  statement {
    actions = ["sts:AssumeRole"]
    principals {
      type        = "Service"
      identifiers = ["ecs-tasks.amazonaws.com"]
    }
    condition {
      test     = "StringEquals"
      variable = "aws:SourceAccount"
      values   = [local.account]
    }
  }
}

resource "aws_iam_role" "task_execution" {
  name               = "${var.name}-task-execution"
  assume_role_policy = data.aws_iam_policy_document.ecs_tasks_assume.json
  tags               = local.tags
}

# Image pulls from ECR and awslogs writes: what Fargate does on the task's behalf.
resource "aws_iam_role_policy_attachment" "task_execution" {
  role       = aws_iam_role.task_execution.name
  policy_arn = "arn:${local.partition}:iam::aws:policy/service-role/AmazonECSTaskExecutionRolePolicy"
}

# The pods' Secret values (secrets[].valueFrom) and private registry credentials
# (repositoryCredentials), read at task start: Funclet's pod secrets only. They are encrypted with
# the account's aws/secretsmanager key, which needs no kms:Decrypt grant.
data "aws_iam_policy_document" "task_execution_secrets" {
  statement {
    sid       = "ReadPodSecrets"
    actions   = ["secretsmanager:GetSecretValue"]
    resources = [local.pod_secrets]
  }
}

resource "aws_iam_role_policy" "task_execution_secrets" {
  name   = "${var.name}-pod-secrets"
  role   = aws_iam_role.task_execution.name
  policy = data.aws_iam_policy_document.task_execution_secrets.json
}

# --- the functions' identity -------------------------------------------------------------------

data "aws_iam_policy_document" "functions" {
  # Start the pods' tasks, from Funclet's task definitions only, in this cluster only.
  statement {
    sid       = "RunTasks"
    actions   = ["ecs:RunTask"]
    resources = [local.task_definitions]
    condition {
      test     = "ArnEquals"
      variable = "ecs:cluster"
      values   = [aws_ecs_cluster.funclet.arn]
    }
  }

  statement {
    sid       = "ReadAndStopTasks"
    actions   = ["ecs:DescribeTasks", "ecs:StopTask"]
    resources = [local.tasks]
    condition {
      test     = "ArnEquals"
      variable = "ecs:cluster"
      values   = [aws_ecs_cluster.funclet.arn]
    }
  }

  # ListTasks has no task resource to scope to; the cluster condition does the scoping.
  statement {
    sid       = "ListTasks"
    actions   = ["ecs:ListTasks"]
    resources = ["*"]
    condition {
      test     = "ArnEquals"
      variable = "ecs:cluster"
      values   = [aws_ecs_cluster.funclet.arn]
    }
  }

  statement {
    sid       = "DescribeCluster"
    actions   = ["ecs:DescribeClusters"]
    resources = [aws_ecs_cluster.funclet.arn]
  }

  # Task definition calls support no resource-level permissions and no condition key naming the
  # family in IAM: the Service Authorization Reference for ECS lists no resource type for
  # RegisterTaskDefinition, DescribeTaskDefinition or DeregisterTaskDefinition, so "*" is the only
  # resource they accept (https://docs.aws.amazon.com/service-authorization/latest/reference/list_amazonelasticcontainerservice.html;
  # the request for it is open: https://github.com/aws/containers-roadmap/issues/929). So this
  # identity could deregister other task definitions of the account, which stops no running task
  # (INACTIVE revisions keep running) but prevents new ones; Funclet itself deregisters only
  # "funclet-" families (task-definition-registry.ts). Keep ECS workloads of other teams in
  # another account if that matters.
  statement {
    sid = "TaskDefinitions"
    actions = [
      "ecs:RegisterTaskDefinition",
      "ecs:DescribeTaskDefinition",
    ]
    resources = ["*"]
  }

  statement {
    sid       = "DeregisterTaskDefinitions"
    actions   = ["ecs:DeregisterTaskDefinition"]
    resources = ["*"]
  }

  # Each pod's Secret values and registry credentials, under funclet/<cluster>/<pod UID>/: written
  # before its task starts, deleted with it.
  statement {
    sid = "PodSecrets"
    actions = [
      "secretsmanager:CreateSecret",
      "secretsmanager:PutSecretValue",
      "secretsmanager:DeleteSecret",
      "secretsmanager:TagResource",
    ]
    resources = [local.pod_secrets]
  }

  # ListSecrets has no resource to scope to; it returns names and metadata, never values.
  statement {
    sid       = "FindPodSecrets"
    actions   = ["secretsmanager:ListSecrets"]
    resources = ["*"]
  }

  # Tags are given on RunTask (pod UID, node, cluster); ECS authorizes them as TagResource, on
  # create only.
  statement {
    sid       = "TagOnCreate"
    actions   = ["ecs:TagResource"]
    resources = [local.tasks, local.task_definitions]
    condition {
      test     = "StringEquals"
      variable = "ecs:CreateAction"
      values   = ["RunTask", "RegisterTaskDefinition"]
    }
  }

  statement {
    sid       = "PassTaskRoles"
    actions   = ["iam:PassRole"]
    resources = concat([aws_iam_role.task_execution.arn], var.task_role_arns)
    condition {
      test     = "StringEquals"
      variable = "iam:PassedToService"
      values   = ["ecs-tasks.amazonaws.com"]
    }
  }

  # `kubectl logs` for pods on ECS nodes.
  statement {
    sid       = "ReadPodLogs"
    actions   = ["logs:GetLogEvents"]
    resources = ["${aws_cloudwatch_log_group.tasks.arn}:log-stream:*"]
  }
}

resource "aws_iam_policy" "functions" {
  name        = "${var.name}-functions"
  description = "What Funclet's ECS provider calls: run, list, describe and stop tasks in one cluster; register its task definitions; keep its pods' secrets; pass its roles; read pod logs."
  policy      = data.aws_iam_policy_document.functions.json
  tags        = local.tags
}

# Policies go on a group, never on the user itself.
resource "aws_iam_group" "functions" {
  name = "${var.name}-functions"
}

resource "aws_iam_group_policy_attachment" "functions" {
  group      = aws_iam_group.functions.name
  policy_arn = aws_iam_policy.functions.arn
}

resource "aws_iam_user" "functions" {
  #checkov:skip=CKV_AWS_273: the caller is an Azure Function with no AWS identity and no SSO session; a programmatic IAM user whose only permissions are the ECS provider's is the narrowest identity it can hold.
  name = "${var.name}-functions"
  path = "/funclet/"
  tags = local.tags
}

resource "aws_iam_user_group_membership" "functions" {
  user   = aws_iam_user.functions.name
  groups = [aws_iam_group.functions.name]
}

resource "aws_iam_access_key" "functions" {
  count = var.create_access_key ? 1 : 0
  user  = aws_iam_user.functions.name
}

# --- the tasks' network ------------------------------------------------------------------------

resource "aws_security_group" "tasks" {
  #checkov:skip=CKV2_AWS_5: attached at run time: the functions pass it to RunTask (FUNCLET_ECS_SECURITY_GROUPS), not through Terraform.
  #checkov:skip=CKV_AWS_382: tasks pull their images from public registries and call whatever the pod calls, as pods on any node do.
  count       = var.vpc_id == null ? 0 : 1
  name        = "${var.name}-tasks"
  description = "Funclet pods on ECS/Fargate"
  vpc_id      = var.vpc_id
  tags        = local.tags

  dynamic "ingress" {
    for_each = length(var.task_ingress_cidrs) == 0 ? [] : [1]
    content {
      description = "from the cluster"
      from_port   = 0
      to_port     = 65535
      protocol    = "tcp"
      cidr_blocks = var.task_ingress_cidrs
    }
  }

  egress {
    description = "image pulls and the pods' own traffic"
    from_port   = 0
    to_port     = 0
    protocol    = "-1"
    cidr_blocks = ["0.0.0.0/0"]
  }
}
