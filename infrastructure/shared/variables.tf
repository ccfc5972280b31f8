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
  description = "Password of the database's master user (analytics_admin), 16..128 characters without / \" @ or spaces. Secret: put it in terraform.tfvars (git-ignored), or TF_VAR_admin_password."
  type        = string
  sensitive   = true
}

variable "allowed_cidr_blocks" {
  description = "IPv4 CIDR blocks that may reach Postgres: operators' and dashboards' addresses and the egress range of Lambda in the region. Never 0.0.0.0/0."
  type        = list(string)
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
