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

output "db_resource_id" {
  description = "Resource ID of the RDS instance (db-...), the part of rds-db:connect ARNs that names the instance."
  value       = aws_db_instance.this.resource_id
}

output "db_publicly_accessible" {
  description = "Whether the instance has a public address (true only when public_access_cidr_blocks is set)."
  value       = aws_db_instance.this.publicly_accessible
}

output "security_group_id" {
  description = "ID of the database's security group."
  value       = aws_security_group.this.id
}

output "worker_security_group_id" {
  description = "ID of the security group of the stage workers, the one the database admits on its port."
  value       = aws_security_group.worker.id
}

output "subnet_ids" {
  description = "IDs of the subnets of the database, where the workers' network interfaces go too."
  value       = local.subnet_ids
}

output "vpc_id" {
  description = "ID of the VPC of the database and the workers."
  value       = data.aws_vpc.this.id
}

output "kms_key_arn" {
  description = "ARN of the project's KMS key (topics, queues, secrets, logs, Lambda environments)."
  value       = aws_kms_key.this.arn
}

output "kms_key_alias" {
  description = "Alias of the project's KMS key."
  value       = aws_kms_alias.this.name
}
