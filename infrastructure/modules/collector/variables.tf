variable "stage" {
  description = "Name of the stage (dev, staging, prod, ...): names the function, API, parameter and alarms. 1-20 lower-case letters, digits or underscores."
  type        = string

  validation {
    condition     = can(regex("^[a-z][a-z0-9_]{0,19}$", var.stage))
    error_message = "stage must be 1-20 lower-case letters, digits or underscores, starting with a letter."
  }
}

variable "topic_arn" {
  description = "ARN of the stage's event topic; the function may publish to it and nothing else."
  type        = string
}

variable "kms_key_arn" {
  description = "ARN of the KMS key that encrypts the topic, the write-keys parameter, the environment and the logs."
  type        = string
}

variable "zip" {
  description = "Path to the collector's zip made by `inv build` (dist/analytics_collector-<architecture>.zip)."
  type        = string
}

variable "architecture" {
  description = "Instruction set of the function, x86_64 or arm64; must match the zip."
  type        = string
  default     = "x86_64"

  validation {
    condition     = contains(["x86_64", "arm64"], var.architecture)
    error_message = "architecture must be x86_64 or arm64."
  }
}

variable "write_keys" {
  description = "The apps' public write keys, {\"<key>\" = \"<app name>\"}; each key 8-128 letters, digits, '-' or '_'; {} refuses every request (401) until apps get keys. Ephemeral: stored write-only in an SSM SecureString, never in the state, a plan or an output."
  type        = map(string)
  sensitive   = true
  ephemeral   = true

  validation {
    condition     = alltrue([for key, app in var.write_keys : can(regex("^[A-Za-z0-9_-]{8,128}$", key)) && length(app) > 0])
    error_message = "In write_keys each key must be 8-128 letters, digits, '-' or '_', each app name non-empty. Make one with: python3 -c \"import secrets; print(secrets.token_urlsafe(18))\"."
  }
}

variable "write_keys_version" {
  description = "Version of write_keys, a whole number >= 1: Terraform stores the keys again only when it changes (the value itself is write-only), so bump it with every change of write_keys."
  type        = number
  default     = 1

  validation {
    condition     = var.write_keys_version >= 1 && floor(var.write_keys_version) == var.write_keys_version
    error_message = "write_keys_version must be a whole number >= 1."
  }
}

variable "cors_origins" {
  description = "Origins of the pages that may send events (scheme://host[:port], e.g. https://www.example.com); [\"*\"] for any; [] for none (apps and same-origin pages only)."
  type        = list(string)
  default     = []

  validation {
    condition     = alltrue([for origin in var.cors_origins : origin == "*" || can(regex("^https?://[A-Za-z0-9.-]+(:[0-9]{1,5})?$", origin))])
    error_message = "cors_origins must be origins such as https://www.example.com (no path, no trailing slash) or \"*\"."
  }
}

variable "throttling_rate_limit" {
  description = "Requests per second the stage's API lets through on average (more are answered 429 before the function runs), 1..10000. Each request may carry up to max_events events."
  type        = number
  default     = 50

  validation {
    condition     = var.throttling_rate_limit >= 1 && var.throttling_rate_limit <= 10000
    error_message = "throttling_rate_limit must be between 1 and 10000 requests per second."
  }
}

variable "throttling_burst_limit" {
  description = "Requests the stage's API lets through at once above the rate (token bucket size), 1..5000."
  type        = number
  default     = 100

  validation {
    condition     = var.throttling_burst_limit >= 1 && var.throttling_burst_limit <= 5000 && floor(var.throttling_burst_limit) == var.throttling_burst_limit
    error_message = "throttling_burst_limit must be a whole number between 1 and 5000."
  }
}

variable "max_events" {
  description = "Most events one request may carry, 1..500."
  type        = number
  default     = 500

  validation {
    condition     = var.max_events >= 1 && var.max_events <= 500 && floor(var.max_events) == var.max_events
    error_message = "max_events must be a whole number between 1 and 500."
  }
}

variable "add_user_agent" {
  description = "Store each request's User-Agent with its events (collector.user_agent)."
  type        = bool
  default     = false
}

variable "add_ip_address" {
  description = "Store each request's IP address with its events (collector.ip_address). Personal data: opt in only with a legal basis."
  type        = bool
  default     = false
}

variable "memory_size" {
  description = "Memory of the function in MB, 128..10240."
  type        = number
  default     = 256
}

variable "timeout" {
  description = "Timeout of the function in seconds, 3..30 (API Gateway waits at most 30 s)."
  type        = number
  default     = 10

  validation {
    condition     = var.timeout >= 3 && var.timeout <= 30
    error_message = "timeout must be between 3 and 30 seconds (an HTTP API integration waits at most 30 s)."
  }
}

variable "log_retention_days" {
  description = "Days CloudWatch keeps the function's and the API's access logs (a value CloudWatch accepts: 30, 90, 365, ...)."
  type        = number
  default     = 365
}

variable "alarm_topic_arn" {
  description = "ARN of the SNS topic the alarms notify (the stage's alerts topic)."
  type        = string
}

variable "server_errors_alarm_threshold" {
  description = "5xx answers within 5 minutes that raise the alarm, >= 1."
  type        = number
  default     = 1
}

variable "refused_requests_alarm_threshold" {
  description = "4xx answers (throttled 429, wrong key 401, bad request 400/413) within 5 minutes that raise the alarm, >= 1."
  type        = number
  default     = 100
}

variable "tags" {
  description = "Tags added to every resource of the module."
  type        = map(string)
  default     = {}
}
