# tflint over the Terraform the deploy guides have their reader write, one file each: the terraform
# ruleset's recommended rules (the "all" preset adds the layout of a published module, variables.tf
# and outputs.tf apart, which a one-file configuration pasted from a guide does not follow).
config {
  call_module_type = "none"
}

plugin "terraform" {
  enabled = true
  preset  = "recommended"
}
