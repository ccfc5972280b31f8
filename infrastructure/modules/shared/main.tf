# The one Postgres instance that every stage shares (one schema per stage),
# and the customer managed KMS key that encrypts everything else of the
# project (topics, queues, secrets, logs, Lambda environments): one key for
# all stages keeps the cost at $1/month. The workers of all stages share one
# security group, the only one the database admits besides the allow-list.

data "aws_caller_identity" "current" {}
data "aws_partition" "current" {}
data "aws_region" "current" {}

locals {
  account_id    = data.aws_caller_identity.current.account_id
  partition     = data.aws_partition.current.partition
  region        = data.aws_region.current.region
  major_version = split(".", var.engine_version)[0]
  log_exports   = ["postgresql", "upgrade"]
}

# ---------------------------------------------------------------- KMS key --

resource "aws_kms_key" "this" {
  description             = "${var.name}: encrypts the analytics topics, queues, secrets, logs and Lambda environments."
  enable_key_rotation     = true
  deletion_window_in_days = var.kms_deletion_window_in_days
  tags                    = var.tags

  policy = jsonencode({
    Version = "2012-10-17"
    Statement = [
      {
        Sid       = "AccountAdministersKeyThroughIam"
        Effect    = "Allow"
        Principal = { AWS = "arn:${local.partition}:iam::${local.account_id}:root" }
        Action    = "kms:*"
        Resource  = "*"
      },
      {
        Sid       = "CloudWatchLogsEncryptsLogGroups"
        Effect    = "Allow"
        Principal = { Service = "logs.${local.region}.amazonaws.com" }
        Action    = ["kms:Encrypt", "kms:Decrypt", "kms:ReEncrypt*", "kms:GenerateDataKey*", "kms:Describe*"]
        Resource  = "*"
        Condition = {
          ArnLike = {
            "kms:EncryptionContext:aws:logs:arn" = "arn:${local.partition}:logs:${local.region}:${local.account_id}:log-group:*"
          }
        }
      },
      {
        Sid       = "SnsDeliversToEncryptedQueues"
        Effect    = "Allow"
        Principal = { Service = "sns.amazonaws.com" }
        Action    = ["kms:GenerateDataKey*", "kms:Decrypt"]
        Resource  = "*"
        Condition = {
          StringEquals = { "aws:SourceAccount" = local.account_id }
        }
      },
      {
        Sid       = "CloudWatchAlarmsPublishToEncryptedTopics"
        Effect    = "Allow"
        Principal = { Service = "cloudwatch.amazonaws.com" }
        Action    = ["kms:GenerateDataKey*", "kms:Decrypt"]
        Resource  = "*"
        Condition = {
          StringEquals = { "aws:SourceAccount" = local.account_id }
        }
      },
    ]
  })
}

resource "aws_kms_alias" "this" {
  name          = "alias/${var.name}"
  target_key_id = aws_kms_key.this.key_id
}

# ---------------------------------------------------------------- network --

data "aws_vpc" "this" {
  id      = var.vpc_id
  default = var.vpc_id == null ? true : null
}

data "aws_subnets" "this" {
  filter {
    name   = "vpc-id"
    values = [data.aws_vpc.this.id]
  }
}

locals {
  subnet_ids = coalesce(var.subnet_ids, data.aws_subnets.this.ids)
}

resource "aws_db_subnet_group" "this" {
  name        = var.name
  description = "Subnets of the ${var.name} database."
  subnet_ids  = local.subnet_ids
  tags        = var.tags
}

resource "aws_security_group" "this" {
  name        = var.name
  description = "Postgres access to ${var.name}: the stage workers' security group, and the public_access_cidr_blocks allow-list."
  vpc_id      = data.aws_vpc.this.id
  tags        = var.tags
}

# The stage workers (Lambda in this VPC) reach Postgres through a rule
# between security groups: no CIDR, no NAT, no interface endpoint.
resource "aws_security_group" "worker" {
  #checkov:skip=CKV2_AWS_5:Attached in another state: each stage root puts its worker Lambda in this group (worker_security_group_id output); the shared root only owns the group and its rule.
  name        = "${var.name}-worker"
  description = "The analytics workers (Lambda in this VPC): may only open Postgres connections to ${var.name}."
  vpc_id      = data.aws_vpc.this.id
  tags        = var.tags
}

resource "aws_vpc_security_group_ingress_rule" "from_worker" {
  security_group_id            = aws_security_group.this.id
  description                  = "Postgres (TLS) from the analytics workers"
  ip_protocol                  = "tcp"
  from_port                    = var.port
  to_port                      = var.port
  referenced_security_group_id = aws_security_group.worker.id
  tags                         = var.tags
}

resource "aws_vpc_security_group_egress_rule" "worker_to_database" {
  security_group_id            = aws_security_group.worker.id
  description                  = "Postgres (TLS) to ${var.name}; nothing else"
  ip_protocol                  = "tcp"
  from_port                    = var.port
  to_port                      = var.port
  referenced_security_group_id = aws_security_group.this.id
  tags                         = var.tags
}

resource "aws_vpc_security_group_ingress_rule" "public" {
  for_each = toset(var.public_access_cidr_blocks)

  security_group_id = aws_security_group.this.id
  description       = "Postgres (TLS) from ${each.value} (public_access_cidr_blocks)"
  ip_protocol       = "tcp"
  from_port         = var.port
  to_port           = var.port
  cidr_ipv4         = each.value
  tags              = var.tags
}

# --------------------------------------------------------------- database --

resource "aws_db_parameter_group" "this" {
  name        = "${var.name}-postgres${local.major_version}"
  family      = "postgres${local.major_version}"
  description = "${var.name}: TLS required; slow statements logged, never DDL (role passwords)."
  tags        = var.tags

  parameter {
    name  = "rds.force_ssl"
    value = "1"
  }

  # CREATE/ALTER ROLE ... PASSWORD is DDL: logging no statement by kind keeps
  # role passwords out of the log.
  parameter {
    name  = "log_statement"
    value = "none"
  }

  # A failing statement is logged with its text at log_min_error_statement
  # (default ERROR): a CREATE ROLE that fails would carry its password there.
  # The error itself is still logged, only not the statement.
  parameter {
    name  = "log_min_error_statement"
    value = "panic"
  }

  # pg_stat_statements (and Performance Insights' top SQL) would otherwise
  # keep the text of utility statements such as ALTER ROLE.
  parameter {
    name  = "pg_stat_statements.track_utility"
    value = "0"
  }

  parameter {
    name  = "log_min_duration_statement"
    value = tostring(var.log_min_duration_statement_ms)
  }

  lifecycle {
    create_before_destroy = true
  }
}

data "aws_iam_policy_document" "monitoring_assume_role" {
  statement {
    sid     = "RdsMonitoringAssumeRole"
    effect  = "Allow"
    actions = ["sts:AssumeRole"]

    principals {
      type        = "Service"
      identifiers = ["monitoring.rds.amazonaws.com"]
    }
  }
}

resource "aws_iam_role" "monitoring" {
  name               = "${var.name}-rds-monitoring"
  description        = "Lets RDS Enhanced Monitoring of ${var.name} write to CloudWatch Logs."
  assume_role_policy = data.aws_iam_policy_document.monitoring_assume_role.json
  tags               = var.tags
}

resource "aws_iam_role_policy_attachment" "monitoring" {
  role       = aws_iam_role.monitoring.name
  policy_arn = "arn:${local.partition}:iam::aws:policy/service-role/AmazonRDSEnhancedMonitoringRole"
}

resource "aws_db_instance" "this" {
  #checkov:skip=CKV_AWS_157:Single-AZ by design: a free-tier class for a few dollars a month; Multi-AZ doubles the cost, and events wait in SQS during an outage.
  #checkov:skip=CKV_AWS_17:Publicly accessible only when public_access_cidr_blocks is set (the operator's and BI tools' addresses; the security group admits nothing else, TLS is forced); private by default.
  identifier     = var.name
  engine         = "postgres"
  engine_version = var.engine_version
  instance_class = var.instance_class
  port           = var.port
  db_name        = var.db_name
  username       = var.admin_username

  # Write-only: the password goes to RDS on create and whenever the version
  # changes, and is never stored in the state or the plan.
  password_wo         = var.admin_password
  password_wo_version = var.admin_password_version

  allocated_storage     = var.allocated_storage
  max_allocated_storage = var.max_allocated_storage
  storage_type          = "gp3"
  storage_encrypted     = true
  kms_key_id            = aws_kms_key.this.arn

  db_subnet_group_name                = aws_db_subnet_group.this.name
  vpc_security_group_ids              = [aws_security_group.this.id]
  publicly_accessible                 = length(var.public_access_cidr_blocks) > 0
  multi_az                            = false
  parameter_group_name                = aws_db_parameter_group.this.name
  ca_cert_identifier                  = "rds-ca-rsa2048-g1"
  iam_database_authentication_enabled = true

  backup_retention_period   = var.backup_retention_days
  copy_tags_to_snapshot     = true
  deletion_protection       = var.deletion_protection
  skip_final_snapshot       = false
  final_snapshot_identifier = "${var.name}-final"
  delete_automated_backups  = false

  auto_minor_version_upgrade  = true
  allow_major_version_upgrade = false
  apply_immediately           = var.apply_immediately

  enabled_cloudwatch_logs_exports       = local.log_exports
  monitoring_interval                   = var.monitoring_interval_seconds
  monitoring_role_arn                   = aws_iam_role.monitoring.arn
  performance_insights_enabled          = true
  performance_insights_kms_key_id       = aws_kms_key.this.arn
  performance_insights_retention_period = 7

  tags = var.tags

  depends_on = [
    aws_iam_role_policy_attachment.monitoring,
    aws_cloudwatch_log_group.exports,
  ]
}

# RDS would create these on first export itself, unencrypted and kept
# forever; made here first, they are encrypted with the project key and expire.
resource "aws_cloudwatch_log_group" "exports" {
  for_each = toset(local.log_exports)

  name              = "/aws/rds/instance/${var.name}/${each.value}"
  retention_in_days = var.log_retention_days
  kms_key_id        = aws_kms_key.this.arn
  tags              = var.tags
}
