# Inputs of module analytics_queue: a stage's queue together with the two functions that drain it
# (consumer and worker), not only the queue.

variable "stage" {
  description = "Stage name (dev, staging, prod, or another lower-case name); names every resource (analytics_events_<stage>, analytics_worker_<stage>, ...)."
  type        = string

  validation {
    condition     = can(regex("^[a-z][a-z0-9]{1,15}$", var.stage))
    error_message = "stage must be 2-16 lower-case letters or digits, starting with a letter (e.g. dev, staging, prod)."
  }
}

variable "topic_arn" {
  description = "ARN of the event topic (module messaging) the queue subscribes to; the queue policy admits only this topic."
  type        = string

  validation {
    condition     = can(regex("^arn:[a-z-]+:sns:", var.topic_arn))
    error_message = "topic_arn must be an SNS topic ARN."
  }
}

variable "subscription_filter_policy" {
  description = "Optional SNS filter policy (JSON) of the queue's subscription; null delivers every message."
  type        = string
  default     = null
}

variable "kms_key_arn" {
  description = "ARN of the KMS key that encrypts the queues, the alerts topic, the logs and the Lambda environments."
  type        = string

  validation {
    condition     = startswith(var.kms_key_arn, "arn:")
    error_message = "kms_key_arn must be a key ARN (arn:aws:kms:...)."
  }
}

variable "db_host" {
  description = "Host name of the database (the shared root's db_address); the worker's DB_HOST, which turns on RDS IAM authentication."
  type        = string
}

variable "db_port" {
  description = "TCP port of the database, 1..65535 (the worker's DB_PORT)."
  type        = number
  default     = 5432

  validation {
    condition     = var.db_port >= 1 && var.db_port <= 65535
    error_message = "db_port must be between 1 and 65535."
  }
}

variable "db_name" {
  description = "Database that holds the stage schemas (the worker's DB_NAME)."
  type        = string
}

variable "db_user" {
  description = "Database role the worker signs in as with an IAM token (analytics_<stage>_writer, a member of rds_iam; the worker's DB_USER). rds-db:connect is granted for this role only."
  type        = string

  validation {
    condition     = can(regex("^[a-z_][a-z0-9_]{0,62}$", var.db_user))
    error_message = "db_user must be a lower-case Postgres identifier."
  }
}

variable "db_resource_id" {
  description = "Resource ID of the RDS instance (db-..., the shared root's db_resource_id), the instance part of the rds-db:connect ARN."
  type        = string

  validation {
    condition     = startswith(var.db_resource_id, "db-")
    error_message = "db_resource_id must be an RDS resource ID (db-...), not the instance identifier."
  }
}

variable "db_sslrootcert" {
  description = "Optional path, inside the worker's zip or a layer, of the RDS CA bundle (the worker's DB_SSLROOTCERT): given, the worker verifies the server (sslmode verify-full); null only requires TLS."
  type        = string
  default     = null
}

variable "worker_subnet_ids" {
  description = "Subnets (IDs) of the database's VPC where the worker's network interfaces go (the shared root's subnet_ids)."
  type        = list(string)

  validation {
    condition     = length(var.worker_subnet_ids) > 0
    error_message = "worker_subnet_ids must name at least one subnet of the database's VPC."
  }
}

variable "worker_security_group_ids" {
  description = "Security groups (IDs) of the worker; the database's security group must admit one of them on its port (the shared root's worker_security_group_id)."
  type        = list(string)

  validation {
    condition     = length(var.worker_security_group_ids) > 0
    error_message = "worker_security_group_ids must name the security group the database admits."
  }
}

variable "db_schema" {
  description = "Postgres schema the worker writes to (analytics_<stage>)."
  type        = string

  validation {
    condition     = can(regex("^[a-z_][a-z0-9_]{0,62}$", var.db_schema))
    error_message = "db_schema must be a lower-case Postgres identifier."
  }
}

variable "consumer_zip" {
  description = "Path of the consumer's zip made by `inv build` (dist/analytics_consumer-<architecture>.zip)."
  type        = string
}

variable "worker_zip" {
  description = "Path of the worker's zip made by `inv build` (dist/analytics_worker-<architecture>.zip)."
  type        = string
}

variable "architecture" {
  description = "Instruction set of both functions: x86_64 or arm64 (must match the zips)."
  type        = string
  default     = "x86_64"

  validation {
    condition     = contains(["x86_64", "arm64"], var.architecture)
    error_message = "architecture must be x86_64 or arm64."
  }
}

variable "schedule_expression" {
  description = "EventBridge schedule of the consumer in schedule mode: rate(...) or cron(...); module lambda checks its form."
  type        = string
  default     = "rate(5 minutes)"
}

variable "delivery_mode" {
  description = "How the queue reaches the worker: \"schedule\" (the consumer drains it on schedule_expression and invokes the worker) or \"stream\" (an SQS event source mapping feeds the worker directly, and the consumer runs every minute as its guard: it pauses the mapping while the worker cannot store)."
  type        = string
  default     = "schedule"

  validation {
    condition     = contains(["schedule", "stream"], var.delivery_mode)
    error_message = "delivery_mode must be \"schedule\" or \"stream\"."
  }
}

variable "stream_batch_size" {
  description = "Stream mode: most messages (events) per worker call, 1..10000; keep a batch under Lambda's 6 MB payload limit (1000 events of up to 6 KB)."
  type        = number
  default     = 1000

  validation {
    condition     = var.stream_batch_size >= 1 && var.stream_batch_size <= 10000 && floor(var.stream_batch_size) == var.stream_batch_size
    error_message = "stream_batch_size must be a whole number between 1 and 10000."
  }
}

variable "stream_batching_window_seconds" {
  description = "Stream mode: longest time in seconds the poller gathers a batch before calling the worker, 0..300 (at least 1 when stream_batch_size is over 10). The lag from publish to a stored row is about this."
  type        = number
  default     = 60

  validation {
    condition     = var.stream_batching_window_seconds >= 0 && var.stream_batching_window_seconds <= 300
    error_message = "stream_batching_window_seconds must be between 0 and 300."
  }
}

variable "stream_maximum_concurrency" {
  description = "Stream mode: most worker calls at once from the queue, 2..20; each holds a database connection, so it stays well under the writer role's connection limit (20) and the small instance's capacity."
  type        = number
  default     = 4

  validation {
    condition     = var.stream_maximum_concurrency >= 2 && var.stream_maximum_concurrency <= 20 && floor(var.stream_maximum_concurrency) == var.stream_maximum_concurrency
    error_message = "stream_maximum_concurrency must be a whole number between 2 (AWS's minimum) and 20 (the writer role's connection limit)."
  }
}

variable "consumer_timeout" {
  description = "Timeout of the consumer in seconds, 10..900; it stops draining when the time left would not cover one more worker call."
  type        = number
  default     = 280

  validation {
    condition     = var.consumer_timeout >= 10 && var.consumer_timeout <= 900
    error_message = "consumer_timeout must be between 10 and 900 seconds."
  }
}

variable "worker_timeout" {
  description = "Timeout of the worker in seconds, 3..900; must be shorter than consumer_timeout (passed to the consumer as WORKER_TIMEOUT_SECONDS)."
  type        = number
  default     = 30

  validation {
    condition     = var.worker_timeout >= 3 && var.worker_timeout <= 900
    error_message = "worker_timeout must be between 3 and 900 seconds."
  }
}

variable "consumer_memory_size" {
  description = "Memory of the consumer in MB, 128..10240; Lambda gives CPU in proportion (1769 MB: one full vCPU, which the parallel SQS streams use; a run lasts only while the queue has messages)."
  type        = number
  default     = 1769

  validation {
    condition     = var.consumer_memory_size >= 128 && var.consumer_memory_size <= 10240
    error_message = "consumer_memory_size must be between 128 and 10240 MB."
  }
}

variable "worker_memory_size" {
  description = "Memory of the worker in MB, 128..10240 (more memory also means more CPU for validation)."
  type        = number
  default     = 512

  validation {
    condition     = var.worker_memory_size >= 128 && var.worker_memory_size <= 10240
    error_message = "worker_memory_size must be between 128 and 10240 MB."
  }
}

variable "consumer_reserved_concurrency" {
  description = "Reserved concurrency of the consumer (1 would keep scheduled runs from overlapping); -1 (the default) leaves it unreserved. A new account's concurrency limit is 10 and AWS keeps 10 unreserved, so reserving any fails there until the quota is raised."
  type        = number
  default     = -1

  validation {
    condition     = var.consumer_reserved_concurrency == -1 || (var.consumer_reserved_concurrency >= 1 && var.consumer_reserved_concurrency <= 1000)
    error_message = "consumer_reserved_concurrency must be -1 (unreserved; all a new account with a concurrency limit of 10 allows) or 1..1000 within your account's limit minus 10 (Service Quotas: Lambda concurrent executions)."
  }
}

variable "worker_reserved_concurrency" {
  description = "Reserved concurrency of the worker, capping its database connections (keep it >= max_parallel_workers); -1 (the default) leaves it unreserved. A new account's concurrency limit is 10 and AWS keeps 10 unreserved, so reserving any fails there until the quota is raised."
  type        = number
  default     = -1

  validation {
    condition     = var.worker_reserved_concurrency == -1 || (var.worker_reserved_concurrency >= 1 && var.worker_reserved_concurrency <= 1000)
    error_message = "worker_reserved_concurrency must be -1 (unreserved; all a new account with a concurrency limit of 10 allows) or 1..1000 within your account's limit minus 10 (Service Quotas: Lambda concurrent executions)."
  }
}

variable "max_batch_events" {
  description = "Optional MAX_BATCH_EVENTS of the consumer: events per worker call, 1..10000 (batches are also cut at MAX_BATCH_BYTES, under the 6 MB payload limit); null keeps the consumer's default."
  type        = number
  default     = null

  validation {
    condition     = var.max_batch_events == null || (coalesce(var.max_batch_events, 1) >= 1 && coalesce(var.max_batch_events, 1) <= 10000)
    error_message = "max_batch_events must be null or between 1 and 10000."
  }
}

variable "max_parallel_workers" {
  description = "Optional MAX_PARALLEL_WORKERS of the consumer: concurrent worker calls, 1..32; null keeps the consumer's default."
  type        = number
  default     = null

  validation {
    condition     = var.max_parallel_workers == null || (coalesce(var.max_parallel_workers, 1) >= 1 && coalesce(var.max_parallel_workers, 1) <= 32)
    error_message = "max_parallel_workers must be null or between 1 and 32."
  }
}

variable "visibility_timeout_seconds" {
  description = "Visibility timeout of the queue in seconds; null derives consumer_timeout * 2 + worker_timeout (stream mode: also at least 6 * worker_timeout and 120 + worker_timeout). Must exceed consumer_timeout + worker_timeout (checked), at most 43200."
  type        = number
  default     = null

  validation {
    condition     = var.visibility_timeout_seconds == null || (coalesce(var.visibility_timeout_seconds, 0) >= 0 && coalesce(var.visibility_timeout_seconds, 0) <= 43200)
    error_message = "visibility_timeout_seconds must be null or between 0 and 43200."
  }
}

variable "max_receive_count" {
  description = "Receives of a message before SQS moves it to the DLQ, 1..1000."
  type        = number
  default     = 5

  validation {
    condition     = var.max_receive_count >= 1 && var.max_receive_count <= 1000 && floor(var.max_receive_count) == var.max_receive_count
    error_message = "max_receive_count must be a whole number between 1 and 1000."
  }
}

variable "message_retention_seconds" {
  description = "How long the queue keeps a message, in seconds, 60..1209600 (14 days)."
  type        = number
  default     = 345600

  validation {
    condition     = var.message_retention_seconds >= 60 && var.message_retention_seconds <= 1209600
    error_message = "message_retention_seconds must be between 60 and 1209600 (14 days)."
  }
}

variable "dlq_message_retention_seconds" {
  description = "How long the DLQ keeps a message, in seconds, 60..1209600; keep it longer than the queue's retention."
  type        = number
  default     = 1209600

  validation {
    condition     = var.dlq_message_retention_seconds >= 60 && var.dlq_message_retention_seconds <= 1209600
    error_message = "dlq_message_retention_seconds must be between 60 and 1209600 (14 days)."
  }
}

variable "log_retention_days" {
  description = "Days CloudWatch keeps the functions' logs (a value CloudWatch Logs accepts, e.g. 30, 90, 365)."
  type        = number
  default     = 365
}

variable "oldest_message_age_threshold_seconds" {
  description = "Alarm when the oldest queued message is older than this many seconds (default 1 hour: 12 missed runs)."
  type        = number
  default     = 3600

  validation {
    condition     = var.oldest_message_age_threshold_seconds >= 60
    error_message = "oldest_message_age_threshold_seconds must be at least 60."
  }
}

variable "worker_errors_threshold" {
  description = "Alarm when the worker fails more than this many times in 5 minutes."
  type        = number
  default     = 0

  validation {
    condition     = var.worker_errors_threshold >= 0
    error_message = "worker_errors_threshold must be >= 0."
  }
}

variable "alarm_email" {
  description = "Optional e-mail address subscribed to the alerts topic (AWS sends a confirmation mail); null for none."
  type        = string
  default     = null

  validation {
    condition     = var.alarm_email == null || can(regex("^[^@\\s]+@[^@\\s]+\\.[^@\\s]+$", coalesce(var.alarm_email, "x@y.z")))
    error_message = "alarm_email must be null or an e-mail address."
  }
}

variable "tags" {
  description = "Tags added to every resource of the module."
  type        = map(string)
  default     = {}
}
