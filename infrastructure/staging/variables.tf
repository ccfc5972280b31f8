variable "region" {
  description = "AWS region of the stage; must be the shared root's region (the database lives there)."
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

variable "state_bucket" {
  description = "S3 bucket that holds the Terraform states (the same one given to `terraform init -backend-config=bucket=...`); the shared root's state is read from it."
  type        = string

  validation {
    condition     = can(regex("^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$", var.state_bucket))
    error_message = "state_bucket must be an S3 bucket name (3-63 lower-case letters, digits, dots or hyphens)."
  }
}

variable "state_region" {
  description = "Region of the state bucket."
  type        = string
  default     = "eu-central-1"
}

variable "architecture" {
  description = "Instruction set of the Lambda functions, x86_64 or arm64; `inv build` must have made dist/<function>-<architecture>.zip."
  type        = string
  default     = "x86_64"

  validation {
    condition     = contains(["x86_64", "arm64"], var.architecture)
    error_message = "architecture must be x86_64 or arm64."
  }
}

variable "schedule_expression" {
  description = "How often the consumer drains the queue (EventBridge rate(...) or cron(...))."
  type        = string
  default     = "rate(5 minutes)"
}

variable "delivery_mode" {
  description = "How events reach the worker: \"schedule\" (the consumer drains the queue on schedule_expression) or \"stream\" (an SQS event source mapping feeds the worker in batches; the consumer runs every minute only to pause it while the worker cannot store)."
  type        = string
  default     = "schedule"
}

variable "stream_batch_size" {
  description = "Stream mode: most events per worker call, 1..10000 (under the 6 MB payload limit)."
  type        = number
  default     = 1000
}

variable "stream_batching_window_seconds" {
  description = "Stream mode: longest wait in seconds to fill a batch, 0..300; about the lag from publish to a stored row."
  type        = number
  default     = 60
}

variable "stream_maximum_concurrency" {
  description = "Stream mode: most worker calls at once, 2..20 (each holds a database connection)."
  type        = number
  default     = 4
}

variable "consumer_timeout" {
  description = "Timeout of the consumer in seconds, 10..900."
  type        = number
  default     = 280
}

variable "worker_timeout" {
  description = "Timeout of the worker in seconds, 3..900, shorter than consumer_timeout."
  type        = number
  default     = 30
}

variable "max_receive_count" {
  description = "Receives of a message before it moves to the DLQ, 1..1000."
  type        = number
  default     = 5
}

variable "max_batch_events" {
  description = "Events per worker call (consumer's MAX_BATCH_EVENTS), 1..10000; null keeps the consumer's default."
  type        = number
  default     = null
}

variable "max_parallel_workers" {
  description = "Concurrent worker calls (consumer's MAX_PARALLEL_WORKERS), 1..32; null keeps the consumer's default."
  type        = number
  default     = null
}

variable "consumer_reserved_concurrency" {
  description = "Reserved concurrency of the consumer (1 keeps scheduled runs from overlapping); -1 (the default) reserves none. A new account's concurrency limit is 10, all of which AWS keeps unreserved: raise the quota before setting this."
  type        = number
  default     = -1
}

variable "worker_reserved_concurrency" {
  description = "Reserved concurrency of the worker (caps its database connections; keep it >= max_parallel_workers); -1 (the default) reserves none. A new account's concurrency limit is 10, all of which AWS keeps unreserved: raise the quota before setting this."
  type        = number
  default     = -1
}

variable "db_sslrootcert" {
  description = "Optional path of the RDS CA bundle inside the worker's zip (the worker's DB_SSLROOTCERT): then the worker verifies the server (verify-full); null only requires TLS."
  type        = string
  default     = null
}

variable "log_retention_days" {
  description = "Days CloudWatch keeps the functions' logs (30, 90, 365, ...)."
  type        = number
  default     = 365
}

variable "alarm_email" {
  description = "E-mail address that receives the stage's alarms (confirm AWS's mail); null for none."
  type        = string
  default     = null
}

variable "create_publisher_access_key" {
  description = "Create an access key for the stage's publisher user (its secret is kept in the state)."
  type        = bool
  default     = true
}

variable "publisher_pgp_key" {
  description = "Optional PGP public key (base64) or keybase:<user>; then publisher_secret_access_key is PGP-encrypted."
  type        = string
  default     = null
}

variable "collector_write_keys" {
  description = "Public write keys of the apps that POST events to the stage's collector, {\"<key>\" = \"<app name>\"}; each key 8-128 letters, digits, '-' or '_'. {} (the default) refuses every request with 401. Ephemeral: give it on every plan/apply (terraform.tfvars or TF_VAR_collector_write_keys); it is stored write-only in SSM, never in the state."
  type        = map(string)
  default     = {}
  sensitive   = true
  ephemeral   = true
}

variable "collector_write_keys_version" {
  description = "Bump (1, 2, ...) whenever collector_write_keys changes, so that Terraform stores the new keys."
  type        = number
  default     = 1
}

variable "collector_cors_origins" {
  description = "Origins of the pages that may send events to the collector, e.g. [\"https://www.example.com\"]; [\"*\"] for any."
  type        = list(string)
  default     = []
}

variable "collector_throttling_rate_limit" {
  description = "Requests per second the collector's API lets through on average (excess gets 429), 1..10000."
  type        = number
  default     = 50
}

variable "collector_throttling_burst_limit" {
  description = "Requests the collector's API lets through at once above the rate, 1..5000."
  type        = number
  default     = 100
}
