variable "untyped" {}

module "app" {
  source = "../app"
  colour = "blue"
}

output "out" {
  value = "${module.app.missing}-${module.nowhere.url}-${var.undeclared}-${var.untyped}-${local.missing}"
}
