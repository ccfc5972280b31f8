# Read by the stage roots (terraform_remote_state) and the inv tasks: no secret here.

output "region" {
  description = "AWS region of the shared resources; every stage must use it."
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

output "db_resource_id" {
  description = "Resource ID of the RDS instance (db-...), for the workers' rds-db:connect permission."
  value       = module.shared.db_resource_id
}

output "admin_username" {
  description = "Master user name (owns the stage schemas; migrations run as it, its password is the operator's)."
  value       = module.shared.admin_username
}

output "stages" {
  description = "Per stage: its schema, writer role (the worker, IAM authentication) and reader role (dashboards)."
  value = {
    for stage, db in module.analytics_db : stage => {
      schema      = db.schema_name
      writer_role = db.writer_role_name
      reader_role = db.reader_role_name
    }
  }
}

output "kms_key_arn" {
  description = "ARN of the project's KMS key."
  value       = module.shared.kms_key_arn
}

output "security_group_id" {
  description = "ID of the database's security group."
  value       = module.shared.security_group_id
}

output "worker_security_group_id" {
  description = "ID of the security group the stage workers run in (the database admits it)."
  value       = module.shared.worker_security_group_id
}

output "subnet_ids" {
  description = "IDs of the subnets the workers run in (the database's)."
  value       = module.shared.subnet_ids
}

output "db_publicly_accessible" {
  description = "Whether the database has a public address (public_access_cidr_blocks set)."
  value       = module.shared.db_publicly_accessible
}
