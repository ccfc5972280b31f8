output "schema_name" {
  description = "Name of the stage's Postgres schema."
  value       = postgresql_schema.this.name
}

output "writer_role_name" {
  description = "Name of the writer role (INSERT only; used by the worker)."
  value       = postgresql_role.writer.name
}

output "reader_role_name" {
  description = "Name of the reader role (SELECT only; for dashboards)."
  value       = postgresql_role.reader.name
}

output "writer_database_url" {
  description = "libpq URL of the writer role."
  value       = "postgresql://${postgresql_role.writer.name}:${urlencode(var.writer_password)}${local.url_tail}"
  sensitive   = true
}

output "reader_database_url" {
  description = "libpq URL of the reader role (for dashboards)."
  value       = "postgresql://${postgresql_role.reader.name}:${urlencode(var.reader_password)}${local.url_tail}"
  sensitive   = true
}

output "secret_arn" {
  description = "ARN of the Secrets Manager secret holding the writer's libpq URL (the worker's DB_SECRET_ARN)."
  value       = aws_secretsmanager_secret.this.arn
}
