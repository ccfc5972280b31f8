output "region" {
  description = "AWS region of the shared resources."
  value       = var.region
}

output "db_address" {
  description = "Host name of the shared database."
  value       = module.shared.db_address
}

output "db_port" {
  description = "TCP port of the shared database."
  value       = module.shared.db_port
}

output "db_name" {
  description = "Name of the database that holds the stage schemas."
  value       = module.shared.db_name
}

output "admin_username" {
  description = "Master user name (owns the stage schemas; migrations run as it)."
  value       = module.shared.admin_username
}

output "admin_password" {
  description = "Master user password (read by the stage roots through terraform_remote_state)."
  value       = module.shared.admin_password
  sensitive   = true
}

output "admin_database_url" {
  description = "libpq URL of the master user."
  value       = module.shared.admin_database_url
  sensitive   = true
}

output "kms_key_arn" {
  description = "ARN of the project's KMS key."
  value       = module.shared.kms_key_arn
}

output "security_group_id" {
  description = "ID of the database's security group."
  value       = module.shared.security_group_id
}
