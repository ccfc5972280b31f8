output "topic_arn" {
  description = "ARN of the event topic."
  value       = aws_sns_topic.this.arn
}

output "topic_name" {
  description = "Name of the event topic."
  value       = aws_sns_topic.this.name
}

output "publisher_user_name" {
  description = "Name of the publish-only IAM user."
  value       = aws_iam_user.this.name
}

output "publisher_user_arn" {
  description = "ARN of the publish-only IAM user."
  value       = aws_iam_user.this.arn
}

output "publisher_access_key_id" {
  description = "Access key ID of the publisher user, or null when create_access_key is false."
  value       = one(aws_iam_access_key.this[*].id)
}

output "publisher_secret_access_key" {
  description = "Secret access key of the publisher user (PGP-encrypted when pgp_key is set), or null when create_access_key is false."
  value       = var.pgp_key == null ? one(aws_iam_access_key.this[*].secret) : one(aws_iam_access_key.this[*].encrypted_secret)
  sensitive   = true
}
