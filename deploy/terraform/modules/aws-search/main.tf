data "aws_caller_identity" "current" {}

data "aws_region" "current" {}

locals {
  zone_aware = var.instance_count > 1
  subnet_ids = local.zone_aware ? slice(var.subnet_ids, 0, 2) : slice(var.subnet_ids, 0, 1)
  domain_arn = "arn:aws:es:${data.aws_region.current.region}:${data.aws_caller_identity.current.account_id}:domain/${var.name}"
}

resource "aws_iam_service_linked_role" "opensearch" {
  count = var.create_service_linked_role ? 1 : 0

  aws_service_name = "opensearchservice.amazonaws.com"
}

resource "aws_kms_key" "this" {
  description             = "${var.name} search data and secret"
  deletion_window_in_days = 30
  enable_key_rotation     = true

  tags = var.tags
}

resource "aws_security_group" "this" {
  name        = "${var.name}-search"
  description = "Pointsbook OpenSearch: HTTPS from the application"
  vpc_id      = var.vpc_id

  tags = merge(var.tags, { Name = "${var.name}-search" })
}

resource "aws_vpc_security_group_ingress_rule" "from_sg" {
  count = length(var.allowed_security_group_ids)

  security_group_id            = aws_security_group.this.id
  description                  = "HTTPS from the application"
  referenced_security_group_id = var.allowed_security_group_ids[count.index]
  from_port                    = 443
  to_port                      = 443
  ip_protocol                  = "tcp"
}

resource "aws_vpc_security_group_ingress_rule" "from_cidr" {
  for_each = toset(var.allowed_cidr_blocks)

  security_group_id = aws_security_group.this.id
  description       = "HTTPS across the VPN"
  cidr_ipv4         = each.value
  from_port         = 443
  to_port           = 443
  ip_protocol       = "tcp"
}

# The master password must have upper and lower case letters, a digit and a
# special character; the specials chosen need no escaping in a URL.
resource "random_password" "master" {
  length           = 32
  min_upper        = 2
  min_lower        = 2
  min_numeric      = 2
  min_special      = 2
  override_special = "-_.~"
}

resource "aws_opensearch_domain" "this" {
  domain_name    = var.name
  engine_version = var.engine_version

  cluster_config {
    instance_type          = var.instance_type
    instance_count         = var.instance_count
    zone_awareness_enabled = local.zone_aware

    dynamic "zone_awareness_config" {
      for_each = local.zone_aware ? [1] : []

      content {
        availability_zone_count = 2
      }
    }
  }

  vpc_options {
    subnet_ids         = local.subnet_ids
    security_group_ids = [aws_security_group.this.id]
  }

  ebs_options {
    ebs_enabled = true
    volume_type = "gp3"
    volume_size = var.volume_size_gb
  }

  encrypt_at_rest {
    enabled    = true
    kms_key_id = aws_kms_key.this.arn
  }

  node_to_node_encryption {
    enabled = true
  }

  domain_endpoint_options {
    enforce_https       = true
    tls_security_policy = "Policy-Min-TLS-1-2-PFS-2023-10"
  }

  advanced_security_options {
    enabled                        = true
    anonymous_auth_enabled         = false
    internal_user_database_enabled = true

    master_user_options {
      master_user_name     = var.master_user_name
      master_user_password = random_password.master.result
    }
  }

  tags = merge(var.tags, { Name = var.name })

  depends_on = [aws_iam_service_linked_role.opensearch]
}

# Network access is limited to the VPC by the security group; who may do
# what is decided by fine-grained access control (users and roles).
data "aws_iam_policy_document" "access" {
  statement {
    actions   = ["es:ESHttp*"]
    resources = ["${local.domain_arn}/*"]

    principals {
      type        = "AWS"
      identifiers = ["*"]
    }
  }
}

resource "aws_opensearch_domain_policy" "this" {
  domain_name     = aws_opensearch_domain.this.domain_name
  access_policies = data.aws_iam_policy_document.access.json
}

locals {
  opensearch_url = "https://${var.master_user_name}:${random_password.master.result}@${aws_opensearch_domain.this.endpoint}"
}

resource "aws_secretsmanager_secret" "opensearch_url" {
  name_prefix             = "${var.name}/PB_OPENSEARCH_URL-"
  description             = "PB_OPENSEARCH_URL of Pointsbook (https, with the master user)"
  kms_key_id              = aws_kms_key.this.arn
  recovery_window_in_days = 7

  tags = var.tags
}

resource "aws_secretsmanager_secret_version" "opensearch_url" {
  secret_id     = aws_secretsmanager_secret.opensearch_url.id
  secret_string = local.opensearch_url
}
