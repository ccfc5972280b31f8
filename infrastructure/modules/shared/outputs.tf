output "db_instance_identifier" {
  description = "Identifier of the RDS instance."
  value       = aws_db_instance.this.identifier
}

output "db_address" {
  description = "Host name of the database."
  value       = aws_db_instance.this.address
}

output "db_port" {
  description = "TCP port of the database."
  value       = aws_db_instance.this.port
}

output "db_name" {
  description = "Name of the database that holds the stage schemas."
  value       = aws_db_instance.this.db_name
}

output "admin_username" {
  description = "Master user name (owner of the stage schemas)."
  value       = aws_db_instance.this.username
}

output "admin_password" {
  description = "Master user password."
  value       = var.admin_password
  sensitive   = true
}

output "admin_database_url" {
  description = "libpq URL of the master user (TLS required)."
  value       = "postgresql://${aws_db_instance.this.username}:${urlencode(var.admin_password)}@${aws_db_instance.this.address}:${aws_db_instance.this.port}/${aws_db_instance.this.db_name}?sslmode=require"
  sensitive   = true
}

output "security_group_id" {
  description = "ID of the database's security group."
  value       = aws_security_group.this.id
}

output "kms_key_arn" {
  description = "ARN of the project's KMS key (topics, queues, secrets, logs, Lambda environments)."
  value       = aws_kms_key.this.arn
}

output "kms_key_alias" {
  description = "Alias of the project's KMS key."
  value       = aws_kms_alias.this.name
}
