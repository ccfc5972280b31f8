variable "schema_name" {
  description = "Postgres schema of the stage (analytics_<stage>); also prefixes the role names <schema>_writer and <schema>_reader."
  type        = string

  validation {
    condition     = can(regex("^[a-z][a-z0-9_]{0,55}$", var.schema_name))
    error_message = "schema_name must start with a lower-case letter and hold at most 56 lower-case letters, digits or underscores (role names add _writer)."
  }
}

variable "db_name" {
  description = "Database that holds the stage schemas."
  type        = string
}

variable "owner_role" {
  description = "Role that owns the schema and runs the migrations (the database admin); default privileges apply to objects it creates."
  type        = string
}

variable "writer_connection_limit" {
  description = "Maximum concurrent connections of the writer role (one per warm worker container); -1 for no limit."
  type        = number
  default     = 20

  validation {
    condition     = var.writer_connection_limit >= -1
    error_message = "writer_connection_limit must be -1 (no limit) or >= 0."
  }
}

variable "reader_connection_limit" {
  description = "Maximum concurrent connections of the reader role (dashboards); -1 for no limit."
  type        = number
  default     = 10

  validation {
    condition     = var.reader_connection_limit >= -1
    error_message = "reader_connection_limit must be -1 (no limit) or >= 0."
  }
}

variable "reader_statement_timeout_ms" {
  description = "statement_timeout of the reader role in milliseconds (keeps a runaway dashboard query from hogging the small instance); 0 for none."
  type        = number
  default     = 60000

  validation {
    condition     = var.reader_statement_timeout_ms >= 0
    error_message = "reader_statement_timeout_ms must be >= 0."
  }
}

variable "reader_password_scram" {
  description = "Password of the reader role as a SCRAM-SHA-256 verifier (SCRAM-SHA-256$4096:<salt>$<stored key>:<server key>), made from the password by `inv reader-password`; Postgres stores it as is, so the clear password is in no state, plan or database log. Changing it changes the role's password."
  type        = string
  sensitive   = true

  validation {
    condition     = can(regex("^SCRAM-SHA-256\\$[0-9]+:[A-Za-z0-9+/=]+\\$[A-Za-z0-9+/=]+:[A-Za-z0-9+/=]+$", var.reader_password_scram))
    error_message = "reader_password_scram must be a SCRAM-SHA-256 verifier made by `inv reader-password` (SCRAM-SHA-256$4096:...), not a clear password."
  }
}

variable "protected" {
  description = "Whether Terraform refuses to drop the stage's schema (true for prod: lifecycle.prevent_destroy, DROP ... RESTRICT). false drops it with CASCADE when the stage is removed."
  type        = bool
  default     = false
}

