output "alb_dns_name" {
  description = "DNS name of the application load balancer."
  value       = aws_lb.this.dns_name
}

output "alb_zone_id" {
  description = "Route 53 zone ID of the load balancer, for alias records."
  value       = aws_lb.this.zone_id
}

output "alb_arn" {
  description = "ARN of the application load balancer."
  value       = aws_lb.this.arn
}

output "target_group_arn" {
  description = "ARN of the target group (health check on /readyz)."
  value       = aws_lb_target_group.this.arn
}

output "certificate_arn" {
  description = "ARN of the validated ACM certificate of the HTTPS listener."
  value       = aws_acm_certificate_validation.this.certificate_arn
}

output "autoscaling_group_name" {
  description = "Name of the Auto Scaling group (CI starts instance refreshes on it)."
  value       = aws_autoscaling_group.this.name
}

output "launch_template_id" {
  description = "ID of the launch template the instances run."
  value       = aws_launch_template.this.id
}

output "app_security_group_id" {
  description = "Security group of the application instances; the database, cache and search allow it in."
  value       = aws_security_group.app.id
}

output "alb_security_group_id" {
  description = "Security group of the load balancer."
  value       = aws_security_group.alb.id
}

output "instance_role_name" {
  description = "Name of the IAM role of the instances."
  value       = aws_iam_role.instance.name
}

output "metrics_token" {
  description = "PB_METRICS_TOKEN of the instances, for the scraper's bearer token and the Azure app."
  value       = random_password.metrics_token.result
  sensitive   = true
}
