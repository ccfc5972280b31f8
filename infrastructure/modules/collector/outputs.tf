output "endpoint_url" {
  description = "URL that pages and apps POST events to (the HTTP API's default endpoint + /v1/events)."
  value       = "${aws_apigatewayv2_api.this.api_endpoint}${local.events_path}"
}

output "api_id" {
  description = "ID of the HTTP API (for a custom domain's API mapping)."
  value       = aws_apigatewayv2_api.this.id
}

output "function_name" {
  description = "Name of the collector Lambda function."
  value       = module.function.function_name
}

output "function_arn" {
  description = "ARN of the collector Lambda function."
  value       = module.function.function_arn
}

output "write_keys_parameter_name" {
  description = "Name of the SSM SecureString parameter that holds the write keys (the name only; the keys are write-only)."
  value       = aws_ssm_parameter.write_keys.name
}
