variable "topic_name" {
  description = "Name of the SNS topic producers publish events to (event_created_<stage>). 1-256 letters, digits, hyphens or underscores."
  type        = string

  validation {
    condition     = can(regex("^[A-Za-z0-9_-]{1,256}$", var.topic_name))
    error_message = "topic_name must be 1-256 letters, digits, hyphens or underscores."
  }
}

variable "display_name" {
  description = "Display name of the topic (up to 100 characters)."
  type        = string
  default     = ""

  validation {
    condition     = length(var.display_name) <= 100
    error_message = "display_name must be at most 100 characters."
  }
}

variable "kms_key_arn" {
  description = "ARN of the KMS key that encrypts the topic. The publisher gets kms:GenerateDataKey and kms:Decrypt on it."
  type        = string

  validation {
    condition     = startswith(var.kms_key_arn, "arn:")
    error_message = "kms_key_arn must be a key ARN (arn:aws:kms:...)."
  }
}

variable "publisher_user_name" {
  description = "Name of the publish-only IAM user producers use."
  type        = string

  validation {
    condition     = can(regex("^[A-Za-z0-9_+=,.@-]{1,58}$", var.publisher_user_name))
    error_message = "publisher_user_name must be 1-58 characters of letters, digits and _+=,.@- (the group adds a _group suffix)."
  }
}

variable "iam_path" {
  description = "IAM path of the publisher user and its group, starting and ending with /."
  type        = string
  default     = "/analytics/"

  validation {
    condition     = can(regex("^/([A-Za-z0-9_+=,.@-]+/)*$", var.iam_path))
    error_message = "iam_path must start and end with / (e.g. /analytics/)."
  }
}

variable "create_access_key" {
  description = "Create an access key for the publisher user (its secret ends up in the Terraform state; encrypt the state bucket). Set false to hand out keys another way."
  type        = bool
  default     = true
}

variable "pgp_key" {
  description = "Optional PGP public key (base64) or keybase:<user> to encrypt the secret access key; then the output holds the encrypted secret."
  type        = string
  default     = null
}

variable "tags" {
  description = "Tags added to every resource of the module."
  type        = map(string)
  default     = {}
}
