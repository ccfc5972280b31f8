variable "name" {
  description = "Name of the database instance; also names its security group, parameter group, subnet group and the KMS key alias. Lower-case letters, digits and hyphens, 1-50 characters, starting with a letter."
  type        = string
  default     = "analytics"

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{0,49}$", var.name))
    error_message = "name must start with a lower-case letter and hold 1-50 lower-case letters, digits or hyphens."
  }
}

variable "engine_version" {
  description = "Postgres version: a major version (e.g. \"17\", RDS picks the newest minor) or major.minor. The parameter group family follows the major version."
  type        = string
  default     = "17"

  validation {
    condition     = can(regex("^1[4-9](\\.[0-9]+)?$", var.engine_version))
    error_message = "engine_version must be a supported Postgres major version 14..19, optionally with a minor version (e.g. 17 or 17.6)."
  }
}

variable "instance_class" {
  description = "RDS instance class. db.t4g.micro and db.t3.micro are free-tier eligible."
  type        = string
  default     = "db.t4g.micro"

  validation {
    condition     = startswith(var.instance_class, "db.")
    error_message = "instance_class must be an RDS class such as db.t4g.micro."
  }
}

variable "allocated_storage" {
  description = "Initial storage in GiB, 20..65536 (gp3; 20 is free-tier eligible)."
  type        = number
  default     = 20

  validation {
    condition     = var.allocated_storage >= 20 && var.allocated_storage <= 65536
    error_message = "allocated_storage must be between 20 and 65536 GiB."
  }
}

variable "max_allocated_storage" {
  description = "Upper limit in GiB for storage autoscaling; 0 disables autoscaling. Otherwise at least allocated_storage."
  type        = number
  default     = 50

  validation {
    condition     = var.max_allocated_storage == 0 || (var.max_allocated_storage >= 20 && var.max_allocated_storage <= 65536)
    error_message = "max_allocated_storage must be 0 (no autoscaling) or between 20 and 65536 GiB."
  }
}

variable "port" {
  description = "TCP port Postgres listens on, 1150..65535."
  type        = number
  default     = 5432

  validation {
    condition     = var.port >= 1150 && var.port <= 65535
    error_message = "port must be between 1150 and 65535 (RDS limit)."
  }
}

variable "db_name" {
  description = "Name of the database created in the instance (all stage schemas live in it)."
  type        = string
  default     = "analytics"

  validation {
    condition     = can(regex("^[a-z][a-z0-9_]{0,62}$", var.db_name))
    error_message = "db_name must start with a lower-case letter and hold up to 63 lower-case letters, digits or underscores."
  }
}

variable "admin_username" {
  description = "Master user of the instance: owns the schemas, runs migrations and creates the stage roles."
  type        = string
  default     = "analytics_admin"

  validation {
    condition     = can(regex("^[a-z][a-z0-9_]{0,62}$", var.admin_username)) && !contains(["admin", "postgres", "rdsadmin"], var.admin_username)
    error_message = "admin_username must be a lower-case identifier (letters, digits, underscores) and not a reserved name (admin, postgres, rdsadmin)."
  }
}

variable "admin_password" {
  description = "Password of the master user, 16..128 printable characters without / \" @ or spaces (RDS rules), not a placeholder. Ephemeral: sent to RDS (password_wo) only on create and when admin_password_version changes; never stored in the state or the plan."
  type        = string
  sensitive   = true
  ephemeral   = true

  validation {
    condition     = length(var.admin_password) >= 16 && length(var.admin_password) <= 128 && !can(regex("[/\"@ ]", var.admin_password))
    error_message = "admin_password must be 16..128 characters and must not contain /, \", @ or spaces (RDS refuses them)."
  }

  validation {
    condition     = !can(regex("(?i)(change.?me|placeholder|example|password|secret|xxxx)", var.admin_password)) && length(distinct(split("", var.admin_password))) >= 8
    error_message = "admin_password looks like a placeholder or a weak password (it contains a word such as CHANGE-ME, example or password, or has fewer than 8 different characters): make one with `python3 -c \"import secrets; print(secrets.token_urlsafe(24))\"`."
  }
}

variable "admin_password_version" {
  description = "Version of admin_password, a whole number >= 1: RDS receives the password only when this changes (raise it by one to rotate the password)."
  type        = number
  default     = 1

  validation {
    condition     = var.admin_password_version >= 1 && floor(var.admin_password_version) == var.admin_password_version
    error_message = "admin_password_version must be a whole number >= 1."
  }
}

variable "public_access_cidr_blocks" {
  description = "IPv4 CIDR blocks of people and BI tools allowed to reach Postgres from outside the VPC (e.g. an office /32). Empty (the default) keeps the database private: publicly_accessible follows this list. Never a /0."
  type        = list(string)
  default     = []

  validation {
    condition     = alltrue([for cidr in var.public_access_cidr_blocks : can(cidrnetmask(cidr)) && !endswith(cidr, "/0")])
    error_message = "public_access_cidr_blocks must hold valid IPv4 CIDR blocks (a.b.c.d/n) and none may be a /0 (the whole internet)."
  }
}

variable "log_retention_days" {
  description = "Days CloudWatch keeps the exported database logs; one of the values CloudWatch accepts (1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653)."
  type        = number
  default     = 365

  validation {
    condition     = contains([1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653], var.log_retention_days)
    error_message = "log_retention_days must be one of the retention periods CloudWatch Logs accepts (e.g. 7, 30, 90, 365)."
  }
}

variable "vpc_id" {
  description = "ID of the VPC of the database and the workers (vpc-...); null uses the account's default VPC (an account without one must give vpc_id and subnet_ids)."
  type        = string
  default     = null
}

variable "subnet_ids" {
  description = "Subnets of the database subnet group and of the workers' network interfaces (at least two availability zones; with public_access_cidr_blocks they need a route to an internet gateway); null uses every subnet of the VPC (the default VPC's are public)."
  type        = list(string)
  default     = null
}

variable "backup_retention_days" {
  description = "Days automated backups are kept, 1..35."
  type        = number
  default     = 7

  validation {
    condition     = var.backup_retention_days >= 1 && var.backup_retention_days <= 35
    error_message = "backup_retention_days must be between 1 and 35."
  }
}

variable "deletion_protection" {
  description = "Refuse to delete the instance (set false and apply before a deliberate destroy)."
  type        = bool
  default     = true
}

variable "apply_immediately" {
  description = "Apply instance changes now instead of in the next maintenance window."
  type        = bool
  default     = false
}

variable "monitoring_interval_seconds" {
  description = "Enhanced Monitoring interval in seconds: 1, 5, 10, 15, 30 or 60."
  type        = number
  default     = 60

  validation {
    condition     = contains([1, 5, 10, 15, 30, 60], var.monitoring_interval_seconds)
    error_message = "monitoring_interval_seconds must be 1, 5, 10, 15, 30 or 60."
  }
}

variable "log_min_duration_statement_ms" {
  description = "Statements running longer than this many milliseconds are logged; -1 turns it off."
  type        = number
  default     = 1000

  validation {
    condition     = var.log_min_duration_statement_ms >= -1
    error_message = "log_min_duration_statement_ms must be -1 (off) or a number of milliseconds >= 0."
  }
}

variable "kms_deletion_window_in_days" {
  description = "Days a deleted KMS key waits before it is really deleted, 7..30."
  type        = number
  default     = 30

  validation {
    condition     = var.kms_deletion_window_in_days >= 7 && var.kms_deletion_window_in_days <= 30
    error_message = "kms_deletion_window_in_days must be between 7 and 30."
  }
}

variable "tags" {
  description = "Tags added to every resource of the module."
  type        = map(string)
  default     = {}
}
