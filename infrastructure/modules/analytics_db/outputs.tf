output "schema_name" {
  description = "Name of the stage's Postgres schema."
  value       = local.schema_name
}

output "writer_role_name" {
  description = "Name of the writer role (INSERT only; the worker, signing in with RDS IAM authentication)."
  value       = postgresql_role.writer.name
}

output "reader_role_name" {
  description = "Name of the reader role (SELECT only; for dashboards, with a password)."
  value       = postgresql_role.reader.name
}
