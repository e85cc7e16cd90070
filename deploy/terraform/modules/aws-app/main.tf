data "aws_region" "current" {}

data "aws_ssm_parameter" "al2023" {
  name = "/aws/service/ami-amazon-linux-latest/al2023-ami-kernel-default-x86_64"
}

locals {
  container_port = 8080
  # node-exporter serves the host's metrics to Prometheus (docs/deploy.md,
  # Metrics); the image is pinned like the compose stack's.
  node_exporter_port  = 9100
  node_exporter_image = "quay.io/prometheus/node-exporter:v1.9.1"
  environment = merge(var.app_environment, {
    PB_HTTP_ADDR  = ":${local.container_port}"
    PB_PUBLIC_URL = "https://${var.domain_name}"
  })

  # Non-secret settings are written literally; secrets are fetched from
  # Secrets Manager at boot into a root-only env file, never into user data.
  # The version's ARN (the secret's), so no instance boots before the token
  # is stored.
  secrets   = merge(var.secret_arns, { PB_METRICS_TOKEN = aws_secretsmanager_secret_version.metrics_token.arn })
  env_lines = [for k, v in local.environment : "${k}=${v}"]
  secret_lines = flatten([
    for k, arn in local.secrets : [
      "value=$(aws secretsmanager get-secret-value --region '${data.aws_region.current.region}' --secret-id '${arn}' --query SecretString --output text)",
      "printf '%s=%s\\n' '${k}' \"$value\" >> /etc/pointsbook/env",
    ]
  ])
  user_data = join("\n", concat(
    [
      "#!/bin/bash",
      "set -euo pipefail",
      "dnf install -y docker",
      "systemctl enable --now docker",
      "install -d -m 0700 /etc/pointsbook",
      "umask 077",
      "cat > /etc/pointsbook/env <<'ENV'",
    ],
    local.env_lines,
    ["ENV"],
    local.secret_lines,
    [
      "docker pull '${var.container_image}'",
      "docker run -d --name pointsbook --restart=always -p ${local.container_port}:${local.container_port} --env-file /etc/pointsbook/env '${var.container_image}'",
      # Host network and pid namespace, the root file system read-only: the
      # host's metrics, not the container's. Only monitoring_cidrs reach it.
      "docker run -d --name node-exporter --restart=always --net=host --pid=host -v /:/host:ro,rslave '${local.node_exporter_image}' --path.rootfs=/host --web.listen-address=:${local.node_exporter_port}",
      "",
    ],
  ))
}

# --- certificate (DNS validated) ------------------------------------------

resource "aws_acm_certificate" "this" {
  domain_name               = var.domain_name
  subject_alternative_names = var.subject_alternative_names
  validation_method         = "DNS"

  tags = merge(var.tags, { Name = var.name })

  lifecycle {
    create_before_destroy = true
  }
}

resource "aws_route53_record" "validation" {
  for_each = {
    for o in aws_acm_certificate.this.domain_validation_options : o.domain_name => {
      name   = o.resource_record_name
      type   = o.resource_record_type
      record = o.resource_record_value
    }
  }

  zone_id         = var.route53_zone_id
  name            = each.value.name
  type            = each.value.type
  records         = [each.value.record]
  ttl             = 300
  allow_overwrite = true
}

resource "aws_acm_certificate_validation" "this" {
  certificate_arn         = aws_acm_certificate.this.arn
  validation_record_fqdns = [for r in aws_route53_record.validation : r.fqdn]
}

# --- security groups ------------------------------------------------------

resource "aws_security_group" "alb" {
  name        = "${var.name}-alb"
  description = "Pointsbook load balancer: HTTP and HTTPS in, app port out"
  vpc_id      = var.vpc_id

  tags = merge(var.tags, { Name = "${var.name}-alb" })
}

resource "aws_vpc_security_group_ingress_rule" "alb" {
  for_each = { for pair in setproduct(var.allowed_ingress_cidrs, [80, 443]) : "${pair[0]}-${pair[1]}" => pair }

  security_group_id = aws_security_group.alb.id
  description       = "Public web traffic"
  cidr_ipv4         = each.value[0]
  from_port         = each.value[1]
  to_port           = each.value[1]
  ip_protocol       = "tcp"
}

resource "aws_vpc_security_group_egress_rule" "alb_to_app" {
  security_group_id            = aws_security_group.alb.id
  description                  = "To the application instances"
  referenced_security_group_id = aws_security_group.app.id
  from_port                    = local.container_port
  to_port                      = local.container_port
  ip_protocol                  = "tcp"
}

resource "aws_security_group" "app" {
  name        = "${var.name}-app"
  description = "Pointsbook instances: app port from the load balancer"
  vpc_id      = var.vpc_id

  tags = merge(var.tags, { Name = "${var.name}-app" })
}

resource "aws_vpc_security_group_ingress_rule" "app_from_alb" {
  security_group_id            = aws_security_group.app.id
  description                  = "From the load balancer"
  referenced_security_group_id = aws_security_group.alb.id
  from_port                    = local.container_port
  to_port                      = local.container_port
  ip_protocol                  = "tcp"
}

# Prometheus scrapes each instance: the application's /metrics and
# node-exporter, from the monitoring network only.
resource "aws_vpc_security_group_ingress_rule" "app_metrics" {
  for_each = { for pair in setproduct(var.monitoring_cidrs, [local.container_port, local.node_exporter_port]) : "${pair[0]}-${pair[1]}" => pair }

  security_group_id = aws_security_group.app.id
  description       = "Prometheus: application metrics and node-exporter"
  cidr_ipv4         = each.value[0]
  from_port         = each.value[1]
  to_port           = each.value[1]
  ip_protocol       = "tcp"
}

resource "aws_vpc_security_group_egress_rule" "app_all" {
  security_group_id = aws_security_group.app.id
  description       = "Database, cache, search, Secrets Manager and the image registry (through NAT)"
  cidr_ipv4         = "0.0.0.0/0"
  ip_protocol       = "-1"
}

# --- load balancer ----------------------------------------------------------

# The ALB is the product's front door: players reach it from the internet, so
# it must be internet-facing (HTTPS, and HTTP only to redirect to HTTPS). The
# instances behind it stay in private subnets.
#tfsec:ignore:aws-elb-alb-not-public
resource "aws_lb" "this" {
  name                       = var.name
  load_balancer_type         = "application"
  internal                   = false
  security_groups            = [aws_security_group.alb.id]
  subnets                    = var.public_subnet_ids
  idle_timeout               = var.idle_timeout_seconds
  drop_invalid_header_fields = true
  enable_http2               = true

  tags = merge(var.tags, { Name = var.name })
}

resource "aws_lb_target_group" "this" {
  name                 = var.name
  port                 = local.container_port
  protocol             = "HTTP"
  vpc_id               = var.vpc_id
  target_type          = "instance"
  deregistration_delay = 30

  health_check {
    path                = "/readyz"
    matcher             = "200"
    interval            = 15
    timeout             = 5
    healthy_threshold   = 2
    unhealthy_threshold = 3
  }

  tags = merge(var.tags, { Name = var.name })
}

resource "aws_lb_listener" "http" {
  load_balancer_arn = aws_lb.this.arn
  port              = 80
  protocol          = "HTTP"

  default_action {
    type = "redirect"

    redirect {
      port        = "443"
      protocol    = "HTTPS"
      status_code = "HTTP_301"
    }
  }
}

resource "aws_lb_listener" "https" {
  load_balancer_arn = aws_lb.this.arn
  port              = 443
  protocol          = "HTTPS"
  ssl_policy        = "ELBSecurityPolicy-TLS13-1-2-2021-06"
  certificate_arn   = aws_acm_certificate_validation.this.certificate_arn

  default_action {
    type             = "forward"
    target_group_arn = aws_lb_target_group.this.arn
  }
}

# Prometheus scrapes the instances directly (monitoring_cidrs), so the public
# front door does not hand out the metrics.
resource "aws_lb_listener_rule" "no_public_metrics" {
  listener_arn = aws_lb_listener.https.arn
  priority     = 10

  action {
    type = "fixed-response"

    fixed_response {
      content_type = "text/plain"
      message_body = "not found"
      status_code  = "404"
    }
  }

  condition {
    path_pattern {
      values = ["/metrics", "/metrics/*"]
    }
  }
}

# --- metrics token ------------------------------------------------------------
# PB_METRICS_TOKEN: the bearer token /metrics asks for. One token for both
# clouds (the Azure app gets it through the metrics_token output), so one
# Prometheus credential reads every instance. Encrypted with the account's
# Secrets Manager key: it guards metrics, not data.

resource "random_password" "metrics_token" {
  length  = 48
  special = false
}

resource "aws_secretsmanager_secret" "metrics_token" {
  name_prefix             = "${var.name}/PB_METRICS_TOKEN-"
  description             = "PB_METRICS_TOKEN of Pointsbook: the bearer token Prometheus presents to /metrics"
  recovery_window_in_days = 7

  tags = var.tags
}

resource "aws_secretsmanager_secret_version" "metrics_token" {
  secret_id     = aws_secretsmanager_secret.metrics_token.id
  secret_string = random_password.metrics_token.result
}

# --- instance role: read the app's secrets, SSM session access ---------------

data "aws_iam_policy_document" "assume" {
  statement {
    actions = ["sts:AssumeRole"]

    principals {
      type        = "Service"
      identifiers = ["ec2.amazonaws.com"]
    }
  }
}

resource "aws_iam_role" "instance" {
  name               = "${var.name}-instance"
  assume_role_policy = data.aws_iam_policy_document.assume.json

  tags = var.tags
}

data "aws_iam_policy_document" "secrets" {
  count = length(local.secrets) > 0 ? 1 : 0

  statement {
    actions   = ["secretsmanager:GetSecretValue"]
    resources = values(local.secrets)
  }

  dynamic "statement" {
    for_each = length(var.secret_kms_key_arns) > 0 ? [1] : []

    content {
      actions   = ["kms:Decrypt"]
      resources = var.secret_kms_key_arns

      condition {
        test     = "StringEquals"
        variable = "kms:ViaService"
        values   = ["secretsmanager.${data.aws_region.current.region}.amazonaws.com"]
      }
    }
  }
}

resource "aws_iam_role_policy" "secrets" {
  count = length(local.secrets) > 0 ? 1 : 0

  name   = "read-app-secrets"
  role   = aws_iam_role.instance.id
  policy = data.aws_iam_policy_document.secrets[0].json
}

resource "aws_iam_role_policy_attachment" "ssm" {
  role       = aws_iam_role.instance.name
  policy_arn = "arn:aws:iam::aws:policy/AmazonSSMManagedInstanceCore"
}

resource "aws_iam_instance_profile" "this" {
  name = "${var.name}-instance"
  role = aws_iam_role.instance.name
}

# --- launch template and Auto Scaling group -----------------------------------

resource "aws_launch_template" "this" {
  name_prefix            = "${var.name}-"
  image_id               = data.aws_ssm_parameter.al2023.value
  instance_type          = var.instance_type
  vpc_security_group_ids = [aws_security_group.app.id]
  user_data              = base64encode(local.user_data)
  update_default_version = true

  iam_instance_profile {
    arn = aws_iam_instance_profile.this.arn
  }

  metadata_options {
    http_endpoint               = "enabled"
    http_tokens                 = "required"
    http_put_response_hop_limit = 1
  }

  monitoring {
    enabled = true
  }

  block_device_mappings {
    device_name = "/dev/xvda"

    ebs {
      volume_size           = 20
      volume_type           = "gp3"
      encrypted             = true
      delete_on_termination = true
    }
  }

  tag_specifications {
    resource_type = "instance"
    tags          = merge(var.tags, { Name = var.name })
  }

  tags = var.tags
}

resource "aws_autoscaling_group" "this" {
  name                      = var.name
  vpc_zone_identifier       = var.private_subnet_ids
  min_size                  = var.min_size
  max_size                  = max(var.max_size, var.min_size)
  target_group_arns         = [aws_lb_target_group.this.arn]
  health_check_type         = "ELB"
  health_check_grace_period = 120
  default_instance_warmup   = 120

  launch_template {
    id      = aws_launch_template.this.id
    version = aws_launch_template.this.latest_version
  }

  # A new launch template version (new image, new settings) replaces the
  # instances a few at a time, keeping 90% of capacity healthy.
  instance_refresh {
    strategy = "Rolling"

    preferences {
      min_healthy_percentage = 90
      instance_warmup        = 120
      auto_rollback          = true
    }
  }

  dynamic "tag" {
    for_each = merge(var.tags, { Name = var.name })

    content {
      key                 = tag.key
      value               = tag.value
      propagate_at_launch = true
    }
  }

  lifecycle {
    ignore_changes = [desired_capacity]
  }
}

resource "aws_autoscaling_policy" "cpu" {
  name                   = "${var.name}-cpu"
  autoscaling_group_name = aws_autoscaling_group.this.name
  policy_type            = "TargetTrackingScaling"

  target_tracking_configuration {
    target_value = var.cpu_target_percent

    predefined_metric_specification {
      predefined_metric_type = "ASGAverageCPUUtilization"
    }
  }
}
