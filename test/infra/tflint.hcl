# tflint over infra/terraform and its modules (test/infra/tflint.test.ts): every rule of the
# terraform ruleset, which is bundled with tflint. The provider rulesets (azurerm, aws) are plugins
# that `tflint --init` downloads from GitHub, so they are not used here.
config {
  call_module_type = "local"
}

plugin "terraform" {
  enabled = true
  preset  = "all"
}
