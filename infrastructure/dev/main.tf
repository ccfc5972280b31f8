# Root: the stage "dev". Thin: backend, providers, the shared root's outputs
# and the module calls. It reads only non-secret values from the shared root
# and holds no database credential: the shared root makes the stage's schema
# and roles, and the worker signs in with RDS IAM authentication. The stage roots differ only in their stage values
# (the backend key and local.stage); tests/infrastructure checks that.
# Initialise with
#   terraform init -backend-config="bucket=<state bucket>" -backend-config="region=<bucket region>"

terraform {
  required_version = ">= 1.11"

  required_providers {
    aws = {
      source  = "hashicorp/aws"
      version = "~> 6.0"
    }
  }

  backend "s3" {
    key          = "analytics/dev/terraform.tfstate"
    encrypt      = true
    use_lockfile = true
  }
}

locals {
  stage    = "dev"
  dist_dir = abspath("${path.root}/../../dist")
  shared   = data.terraform_remote_state.shared.outputs
  database = local.shared.stages[local.stage]
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

  lifecycle {
    postcondition {
      condition     = self.outputs.region == var.region
      error_message = "The stage's region must be the shared root's (${self.outputs.region}), where the database and its VPC are: set region = \"${self.outputs.region}\"."
    }
    postcondition {
      condition     = contains(keys(self.outputs.stages), local.stage)
      error_message = "The shared root has no schema and roles for this stage: add \"${local.stage}\" to stages (and reader_password_scrams) in infrastructure/shared and apply it first."
    }
  }
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

module "analytics_queue" {
  source = "../modules/analytics_queue"

  stage                          = local.stage
  topic_arn                      = module.messaging.topic_arn
  kms_key_arn                    = local.shared.kms_key_arn
  db_host                        = local.shared.db_address
  db_port                        = local.shared.db_port
  db_name                        = local.shared.db_name
  db_user                        = local.database.writer_role
  db_schema                      = local.database.schema
  db_resource_id                 = local.shared.db_resource_id
  db_sslrootcert                 = var.db_sslrootcert
  worker_subnet_ids              = local.shared.subnet_ids
  worker_security_group_ids      = [local.shared.worker_security_group_id]
  architecture                   = var.architecture
  consumer_zip                   = "${local.dist_dir}/analytics_consumer-${var.architecture}.zip"
  worker_zip                     = "${local.dist_dir}/analytics_worker-${var.architecture}.zip"
  schedule_expression            = var.schedule_expression
  delivery_mode                  = var.delivery_mode
  stream_batch_size              = var.stream_batch_size
  stream_batching_window_seconds = var.stream_batching_window_seconds
  stream_maximum_concurrency     = var.stream_maximum_concurrency
  consumer_timeout               = var.consumer_timeout
  worker_timeout                 = var.worker_timeout
  max_receive_count              = var.max_receive_count
  max_batch_events               = var.max_batch_events
  max_parallel_workers           = var.max_parallel_workers
  consumer_reserved_concurrency  = var.consumer_reserved_concurrency
  worker_reserved_concurrency    = var.worker_reserved_concurrency
  log_retention_days             = var.log_retention_days
  alarm_email                    = var.alarm_email
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
