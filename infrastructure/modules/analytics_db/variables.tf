variable "schema_name" {
  description = "Postgres schema of the stage (analytics_<stage>); also prefixes the role names <schema>_writer and <schema>_reader."
  type        = string

  validation {
    condition     = can(regex("^[a-z][a-z0-9_]{0,55}$", var.schema_name))
    error_message = "schema_name must start with a lower-case letter and hold at most 56 lower-case letters, digits or underscores (role names add _writer)."
  }
}

variable "db_host" {
  description = "Host name of the shared database (output db_address of the shared root)."
  type        = string
}

variable "db_port" {
  description = "TCP port of the shared database."
  type        = number
  default     = 5432

  validation {
    condition     = var.db_port >= 1 && var.db_port <= 65535
    error_message = "db_port must be between 1 and 65535."
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

variable "sslmode" {
  description = "libpq sslmode written into the database URLs: require, verify-ca or verify-full."
  type        = string
  default     = "require"

  validation {
    condition     = contains(["require", "verify-ca", "verify-full"], var.sslmode)
    error_message = "sslmode must be require, verify-ca or verify-full (the server refuses plain connections)."
  }
}

variable "writer_password" {
  description = "Password of the writer role, 16..128 characters. Changing it updates the role (postgresql_role.password) and the secret."
  type        = string
  sensitive   = true

  validation {
    condition     = length(var.writer_password) >= 16 && length(var.writer_password) <= 128
    error_message = "writer_password must be 16..128 characters."
  }
}

variable "reader_password" {
  description = "Password of the reader role, 16..128 characters. Changing it updates the role (postgresql_role.password)."
  type        = string
  sensitive   = true

  validation {
    condition     = length(var.reader_password) >= 16 && length(var.reader_password) <= 128
    error_message = "reader_password must be 16..128 characters."
  }
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

variable "secret_name" {
  description = "Name of the Secrets Manager secret that holds the writer's libpq URL."
  type        = string

  validation {
    condition     = can(regex("^[A-Za-z0-9/_+=.@-]{1,512}$", var.secret_name))
    error_message = "secret_name must be 1-512 characters of letters, digits and /_+=.@-."
  }
}

variable "kms_key_arn" {
  description = "ARN of the KMS key that encrypts the secret; readers need kms:Decrypt on it."
  type        = string
}

variable "secret_recovery_window_in_days" {
  description = "Days a deleted secret can still be restored: 0 (delete at once) or 7..30."
  type        = number
  default     = 7

  validation {
    condition     = var.secret_recovery_window_in_days == 0 || (var.secret_recovery_window_in_days >= 7 && var.secret_recovery_window_in_days <= 30)
    error_message = "secret_recovery_window_in_days must be 0 or between 7 and 30."
  }
}

variable "tags" {
  description = "Tags added to the AWS resources of the module."
  type        = map(string)
  default     = {}
}
