variable "size" {
  type        = string
  description = "Instance size."
}

variable "name" {
  type        = string
  description = "Name."
  default     = "app"
}

output "url" {
  value       = "https://${var.name}"
  description = "Where it answers."
}
