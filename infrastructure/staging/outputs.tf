# Read by the `inv` tasks with `terraform output -json`: keep these names.

output "stage" {
  description = "Name of the stage."
  value       = local.stage
}

output "region" {
  description = "AWS region of the stage."
  value       = var.region
}

output "topic_arn" {
  description = "ARN of the event topic producers publish to."
  value       = module.messaging.topic_arn
}

output "queue_url" {
  description = "URL of the analytics queue."
  value       = module.analytics_queue.queue_url
}

output "queue_arn" {
  description = "ARN of the analytics queue."
  value       = module.analytics_queue.queue_arn
}

output "dlq_url" {
  description = "URL of the dead-letter queue."
  value       = module.analytics_queue.dlq_url
}

output "schema" {
  description = "Postgres schema of the stage."
  value       = module.analytics_db.schema_name
}

output "consumer_function_name" {
  description = "Name of the consumer Lambda function."
  value       = module.analytics_queue.consumer_function_name
}

output "worker_function_name" {
  description = "Name of the worker Lambda function."
  value       = module.analytics_queue.worker_function_name
}

output "admin_database_url" {
  description = "libpq URL of the database admin (migrations: `inv migrate`)."
  value       = local.shared.admin_database_url
  sensitive   = true
}

output "writer_database_url" {
  description = "libpq URL of the stage's writer role (INSERT only)."
  value       = module.analytics_db.writer_database_url
  sensitive   = true
}

output "reader_database_url" {
  description = "libpq URL of the stage's reader role (SELECT only; for dashboards)."
  value       = module.analytics_db.reader_database_url
  sensitive   = true
}

output "db_secret_arn" {
  description = "ARN of the secret with the writer's URL (the worker's DB_SECRET_ARN)."
  value       = module.analytics_db.secret_arn
}

output "publisher_access_key_id" {
  description = "Access key ID of the stage's publish-only user (null if create_publisher_access_key is false)."
  value       = module.messaging.publisher_access_key_id
}

output "publisher_secret_access_key" {
  description = "Secret access key of the stage's publish-only user (PGP-encrypted if publisher_pgp_key is set)."
  value       = module.messaging.publisher_secret_access_key
  sensitive   = true
}

output "alerts_topic_arn" {
  description = "ARN of the stage's alerts topic."
  value       = module.analytics_queue.alerts_topic_arn
}

output "collector_endpoint_url" {
  description = "URL that pages and apps POST events to (see doc/producers.md)."
  value       = module.collector.endpoint_url
}

output "collector_function_name" {
  description = "Name of the collector Lambda function."
  value       = module.collector.function_name
}

output "collector_write_keys_parameter" {
  description = "Name of the SSM parameter with the collector's write keys (the name only: the keys are write-only)."
  value       = module.collector.write_keys_parameter_name
}
