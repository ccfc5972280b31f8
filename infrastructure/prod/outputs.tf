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
  value       = local.database.schema
}

output "consumer_function_name" {
  description = "Name of the consumer Lambda function."
  value       = module.analytics_queue.consumer_function_name
}

output "worker_function_name" {
  description = "Name of the worker Lambda function."
  value       = module.analytics_queue.worker_function_name
}

output "db_address" {
  description = "Host name of the shared database (from the shared root)."
  value       = local.shared.db_address
}

output "db_port" {
  description = "TCP port of the shared database."
  value       = local.shared.db_port
}

output "db_name" {
  description = "Database that holds the stage's schema."
  value       = local.shared.db_name
}

output "admin_username" {
  description = "Database admin (owns the schema; `inv migrate` signs in as it with the operator's password, PGPASSWORD)."
  value       = local.shared.admin_username
}

output "writer_role" {
  description = "The stage's writer role (INSERT only; the worker, RDS IAM authentication)."
  value       = local.database.writer_role
}

output "reader_role" {
  description = "The stage's reader role (SELECT only; dashboards, with the password the operator chose)."
  value       = local.database.reader_role
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
