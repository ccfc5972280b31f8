variable "region" {
  description = "AWS region of the shared database and every stage (e.g. eu-central-1)."
  type        = string
  default     = "eu-central-1"

  validation {
    condition     = can(regex("^[a-z]{2}(-[a-z]+)+-[0-9]$", var.region))
    error_message = "region must be an AWS region name such as eu-central-1."
  }
}

variable "profile" {
  description = "AWS CLI profile for the provider; null uses the standard credential chain (AWS_PROFILE, environment, instance role)."
  type        = string
  default     = null
}

variable "engine_version" {
  description = "Postgres major version (or major.minor) of the shared instance."
  type        = string
  default     = "17"
}

variable "instance_class" {
  description = "RDS instance class (db.t4g.micro and db.t3.micro are free-tier eligible)."
  type        = string
  default     = "db.t4g.micro"
}

variable "allocated_storage" {
  description = "Initial storage in GiB (20 is free-tier eligible)."
  type        = number
  default     = 20
}

variable "max_allocated_storage" {
  description = "Storage autoscaling limit in GiB; 0 disables autoscaling."
  type        = number
  default     = 50
}

variable "admin_password" {
  description = "Password of the database's master user (analytics_admin), 16..128 characters without / \" @ or spaces, not a placeholder. Ephemeral: give it on every plan and apply (TF_VAR_admin_password from your password manager); it is in no state or plan file."
  type        = string
  sensitive   = true
  ephemeral   = true
}

variable "admin_password_version" {
  description = "Version of admin_password, a whole number >= 1; raise it by one in the same apply that gives a new admin_password to rotate it."
  type        = number
  default     = 1
}

variable "public_access_cidr_blocks" {
  description = "IPv4 CIDR blocks that may reach Postgres from outside the VPC. Must hold the address of the machine that applies this root and runs `inv migrate` (e.g. \"$(curl -s https://checkip.amazonaws.com)/32\"), and may hold BI tools' addresses. Never a /0."
  type        = list(string)

  validation {
    condition     = length(var.public_access_cidr_blocks) > 0
    error_message = "public_access_cidr_blocks must hold your own address (e.g. 203.0.113.10/32, see `curl https://checkip.amazonaws.com`): this root creates the stages' schemas and roles with the postgresql provider from your machine, and `inv migrate` runs from it too (doc/infrastructure.md, \"The operator's path\")."
  }
}

variable "vpc_id" {
  description = "ID of the VPC of the database and the stage workers (vpc-...); null uses the account's default VPC. An account without a default VPC must give vpc_id and subnet_ids."
  type        = string
  default     = null
}

variable "subnet_ids" {
  description = "Subnets (at least two availability zones) of the database and the workers; with public access they need a route to an internet gateway. null uses every subnet of the VPC."
  type        = list(string)
  default     = null
}

variable "db_sslrootcert" {
  description = "Path of the RDS CA bundle (https://truststore.pki.rds.amazonaws.com/global/global-bundle.pem) on the applying machine; given, the postgresql provider verifies the server (sslmode verify-full), null only requires TLS."
  type        = string
  default     = null
}

variable "stages" {
  description = "Stages whose schema (analytics_<stage>) and roles this root creates. Removing a stage drops its schema and data (CASCADE), except a protected one, which may not be removed."
  type        = set(string)
  default     = ["dev", "staging", "prod"]

  validation {
    condition     = alltrue([for name in var.stages : can(regex("^[a-z][a-z0-9]{1,15}$", name))])
    error_message = "stages must be stage names: 2-16 lower-case letters or digits, starting with a letter (dev, staging, prod)."
  }

  validation {
    condition     = length(setsubtract(var.protected_stages, var.stages)) == 0
    error_message = "A protected stage (protected_stages, e.g. prod) was removed from stages: that would drop its schema and its data. Refused; remove it from protected_stages first if you really mean it."
  }
}

variable "reader_password_scrams" {
  description = "Password of each stage's reader role (dashboards) as a SCRAM-SHA-256 verifier, by stage: `inv reader-password --env <stage>` makes one from a password you choose. The clear password is in no state, plan or log."
  type        = map(string)
  sensitive   = true

  validation {
    condition     = length(setsubtract(var.stages, keys(var.reader_password_scrams))) == 0
    error_message = "reader_password_scrams needs a verifier for every stage in stages (make one with `inv reader-password --env <stage>`)."
  }
}

variable "protected_stages" {
  description = "Stages whose schema Terraform refuses to drop (prod). Each must stay in stages: removing it would drop production data."
  type        = list(string)
  default     = ["prod"]
}

variable "log_retention_days" {
  description = "Days CloudWatch keeps the database's exported logs (7, 30, 90, 365, ...)."
  type        = number
  default     = 365
}

variable "backup_retention_days" {
  description = "Days automated backups are kept, 1..35."
  type        = number
  default     = 7
}

variable "deletion_protection" {
  description = "Refuse to delete the database instance."
  type        = bool
  default     = true
}
