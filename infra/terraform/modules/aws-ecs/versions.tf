terraform {
  required_version = ">= 1.6"

  required_providers {
    aws = {
      source = "hashicorp/aws"
      # data.aws_region's region attribute (6.0; its name attribute is deprecated).
      version = ">= 6.0, < 7.0"
    }
  }
}
