# tflint for every module and environment (`tflint --recursive` from
# deploy/terraform, see .ci/run). Only the terraform ruleset bundled in the
# tflint binary: nothing is downloaded, so it runs offline.
config {
  # Evaluate calls of our own modules too, so a bad value passed from an
  # environment is reported where it is passed.
  call_module_type = "local"
}

plugin "terraform" {
  enabled = true
  # Every rule of the bundled ruleset: typed and documented variables and
  # outputs, pinned providers, standard module layout, naming, unused
  # declarations, deprecated syntax.
  preset = "all"
}
