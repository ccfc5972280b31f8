# Outputs of module analytics_queue: a stage's queue together with the two functions that drain it
# (consumer and worker), not only the queue.

output "queue_url" {
  description = "URL of the analytics queue."
  value       = aws_sqs_queue.this.url
}

output "queue_arn" {
  description = "ARN of the analytics queue."
  value       = aws_sqs_queue.this.arn
}

output "queue_name" {
  description = "Name of the analytics queue."
  value       = aws_sqs_queue.this.name
}

output "queue_visibility_timeout_seconds" {
  description = "Visibility timeout of the queue in seconds."
  value       = aws_sqs_queue.this.visibility_timeout_seconds
}

output "dlq_url" {
  description = "URL of the dead-letter queue."
  value       = aws_sqs_queue.dlq.url
}

output "dlq_arn" {
  description = "ARN of the dead-letter queue."
  value       = aws_sqs_queue.dlq.arn
}

output "subscription_arn" {
  description = "ARN of the topic subscription that feeds the queue."
  value       = aws_sns_topic_subscription.this.arn
}

output "consumer_function_name" {
  description = "Name of the consumer Lambda function."
  value       = module.consumer.function_name
}

output "consumer_function_arn" {
  description = "ARN of the consumer Lambda function."
  value       = module.consumer.function_arn
}

output "worker_function_name" {
  description = "Name of the worker Lambda function."
  value       = module.worker.function_name
}

output "worker_function_arn" {
  description = "ARN of the worker Lambda function."
  value       = module.worker.function_arn
}

output "alerts_topic_arn" {
  description = "ARN of the alerts topic the alarms notify."
  value       = aws_sns_topic.alerts.arn
}

output "event_source_mapping_uuid" {
  description = "UUID of the queue's event source mapping to the worker (stream mode), or null on the schedule."
  value       = one(aws_lambda_event_source_mapping.stream[*].uuid)
}
