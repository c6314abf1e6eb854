# An EKS cluster with one virtual node whose pods run on ECS/Fargate. The ecs values are outputs
# of modules/aws-ecs (docs/deploy-eks.md); the AWS key goes to the vault, not into this file.
location     = "westeurope"
cluster_name = "eks-prod"
nodes = [
  { name = "funclet-fargate", provider = "ecs" },
]
ecs = {
  cluster            = "funclet"
  region             = "eu-west-1"
  subnets            = ["subnet-0123456789abcdef0", "subnet-0fedcba9876543210"]
  security_groups    = ["sg-0123456789abcdef0"]
  execution_role_arn = "arn:aws:iam::123456789012:role/funclet-task-execution"
  log_group          = "/funclet/tasks"
}
