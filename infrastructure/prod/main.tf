# Root: the stage "prod". Thin: backend, providers, the shared root's outputs
# and the module calls. The stage roots differ only in their stage values
# (the backend key and local.stage); tests/infrastructure checks that.
# Initialise with
#   terraform init -backend-config="bucket=<state bucket>" -backend-config="region=<bucket region>"

terraform {
  required_version = ">= 1.10"

  required_providers {
    aws = {
      source  = "hashicorp/aws"
      version = "~> 6.0"
    }
    postgresql = {
      source  = "cyrilgdn/postgresql"
      version = "~> 1.26"
    }
  }

  backend "s3" {
    key          = "analytics/prod/terraform.tfstate"
    encrypt      = true
    use_lockfile = true
  }
}

locals {
  stage    = "prod"
  dist_dir = abspath("${path.root}/../../dist")
  shared   = data.terraform_remote_state.shared.outputs
  tags     = { project = "analytics", stage = local.stage, managed-by = "terraform" }
}

provider "aws" {
  region  = var.region
  profile = var.profile

  default_tags {
    tags = local.tags
  }
}

data "terraform_remote_state" "shared" {
  backend = "s3"

  config = {
    bucket = var.state_bucket
    key    = "analytics/shared/terraform.tfstate"
    region = var.state_region
  }
}

provider "postgresql" {
  host            = local.shared.db_address
  port            = local.shared.db_port
  database        = local.shared.db_name
  username        = local.shared.admin_username
  password        = local.shared.admin_password
  sslmode         = "require"
  superuser       = false
  connect_timeout = 15
}

module "messaging" {
  source = "../modules/messaging"

  topic_name          = "event_created_${local.stage}"
  display_name        = "Analytics events (${local.stage})"
  kms_key_arn         = local.shared.kms_key_arn
  publisher_user_name = "analytics_publisher_${local.stage}"
  create_access_key   = var.create_publisher_access_key
  pgp_key             = var.publisher_pgp_key
}

module "analytics_db" {
  source = "../modules/analytics_db"

  schema_name     = "analytics_${local.stage}"
  db_host         = local.shared.db_address
  db_port         = local.shared.db_port
  db_name         = local.shared.db_name
  owner_role      = local.shared.admin_username
  writer_password = var.writer_password
  reader_password = var.reader_password
  secret_name     = "analytics/${local.stage}/worker-database-url"
  kms_key_arn     = local.shared.kms_key_arn
}

module "analytics_queue" {
  source = "../modules/analytics_queue"

  stage                         = local.stage
  topic_arn                     = module.messaging.topic_arn
  kms_key_arn                   = local.shared.kms_key_arn
  db_secret_arn                 = module.analytics_db.secret_arn
  db_schema                     = module.analytics_db.schema_name
  architecture                  = var.architecture
  consumer_zip                  = "${local.dist_dir}/analytics_consumer-${var.architecture}.zip"
  worker_zip                    = "${local.dist_dir}/analytics_worker-${var.architecture}.zip"
  schedule_expression           = var.schedule_expression
  consumer_timeout              = var.consumer_timeout
  worker_timeout                = var.worker_timeout
  max_receive_count             = var.max_receive_count
  max_batch_events              = var.max_batch_events
  max_parallel_workers          = var.max_parallel_workers
  consumer_reserved_concurrency = var.consumer_reserved_concurrency
  worker_reserved_concurrency   = var.worker_reserved_concurrency
  log_retention_days            = var.log_retention_days
  alarm_email                   = var.alarm_email
}

module "collector" {
  source = "../modules/collector"

  stage                  = local.stage
  topic_arn              = module.messaging.topic_arn
  kms_key_arn            = local.shared.kms_key_arn
  zip                    = "${local.dist_dir}/analytics_collector-${var.architecture}.zip"
  architecture           = var.architecture
  write_keys             = var.collector_write_keys
  write_keys_version     = var.collector_write_keys_version
  cors_origins           = var.collector_cors_origins
  throttling_rate_limit  = var.collector_throttling_rate_limit
  throttling_burst_limit = var.collector_throttling_burst_limit
  log_retention_days     = var.log_retention_days
  alarm_topic_arn        = module.analytics_queue.alerts_topic_arn
}
