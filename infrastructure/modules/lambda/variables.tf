variable "function_name" {
  description = "Name of the Lambda function (also names its role, log group and schedule rule). 1-64 letters, digits, hyphens or underscores."
  type        = string

  validation {
    condition     = can(regex("^[A-Za-z0-9_-]{1,64}$", var.function_name))
    error_message = "function_name must be 1-64 letters, digits, hyphens or underscores."
  }
}

variable "description" {
  description = "Description shown on the function in the console."
  type        = string
  default     = ""
}

variable "filename" {
  description = "Path to the deployment zip made by `inv build` (dist/<function>-<architecture>.zip). Terraform does not build it; run `inv build` before plan."
  type        = string

  validation {
    condition     = endswith(var.filename, ".zip")
    error_message = "filename must point to a .zip file made by `inv build`."
  }
}

variable "handler" {
  description = "Handler, as module.function inside the zip."
  type        = string
  default     = "main.main"
}

variable "runtime" {
  description = "Lambda runtime; must be the Python version `inv build` installs dependencies for."
  type        = string
  default     = "python3.12"

  validation {
    condition     = can(regex("^python3\\.(1[2-9])$", var.runtime))
    error_message = "runtime must be python3.12 or newer (the version `inv build` targets)."
  }
}

variable "architecture" {
  description = "Instruction set: x86_64 or arm64. Must match the zip `inv build --arch` made."
  type        = string
  default     = "x86_64"

  validation {
    condition     = contains(["x86_64", "arm64"], var.architecture)
    error_message = "architecture must be x86_64 or arm64."
  }
}

variable "memory_size" {
  description = "Memory in MB, 128..10240 (CPU scales with it)."
  type        = number
  default     = 256

  validation {
    condition     = var.memory_size >= 128 && var.memory_size <= 10240 && floor(var.memory_size) == var.memory_size
    error_message = "memory_size must be a whole number of MB between 128 and 10240."
  }
}

variable "timeout" {
  description = "Maximum run time of one invocation in seconds, 1..900."
  type        = number
  default     = 60

  validation {
    condition     = var.timeout >= 1 && var.timeout <= 900 && floor(var.timeout) == var.timeout
    error_message = "timeout must be a whole number of seconds between 1 and 900."
  }
}

variable "reserved_concurrent_executions" {
  description = "Concurrent executions reserved for (and capping) this function, 1..1000; -1 (the default) leaves it unreserved. AWS keeps 10 of the account's limit unreserved, and a new account's limit is 10, so reserving any fails there (\"decreases UnreservedConcurrentExecution below its minimum value of 10\") until a Service Quotas increase."
  type        = number
  default     = -1

  validation {
    condition     = var.reserved_concurrent_executions == -1 || (var.reserved_concurrent_executions >= 1 && var.reserved_concurrent_executions <= 1000 && floor(var.reserved_concurrent_executions) == var.reserved_concurrent_executions)
    error_message = "reserved_concurrent_executions must be -1 (unreserved; the only value a new account with a concurrency limit of 10 accepts) or a whole number 1..1000 within your account's limit minus 10 (Service Quotas: Lambda concurrent executions)."
  }
}

variable "vpc_subnet_ids" {
  description = "Subnets (IDs) for the function's network interfaces; null (the default) runs it outside any VPC. In a VPC the function reaches only what its security groups and the subnets' routes allow (no AWS API without a NAT gateway or endpoints)."
  type        = list(string)
  default     = null

  validation {
    condition     = var.vpc_subnet_ids == null || length(coalesce(var.vpc_subnet_ids, [])) > 0
    error_message = "vpc_subnet_ids must be null (no VPC) or name at least one subnet."
  }
}

variable "vpc_security_group_ids" {
  description = "Security groups (IDs) of the function's network interfaces; used only with vpc_subnet_ids."
  type        = list(string)
  default     = []
}

variable "environment_variables" {
  description = "Environment variables of the function. No secrets here: pass a Secrets Manager ARN instead."
  type        = map(string)
  default     = {}
}

variable "kms_key_arn" {
  description = "ARN of the KMS key that encrypts the environment variables and the log group. The key policy must let CloudWatch Logs use it."
  type        = string
}

variable "log_retention_days" {
  description = "Days CloudWatch keeps the function's logs; one of the values CloudWatch accepts (1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653)."
  type        = number
  default     = 365

  validation {
    condition     = contains([1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653], var.log_retention_days)
    error_message = "log_retention_days must be one of the retention periods CloudWatch Logs accepts (e.g. 30, 90, 365)."
  }
}

variable "tracing_mode" {
  description = "X-Ray tracing: Active (sample and record traces) or PassThrough (only forward an upstream trace header)."
  type        = string
  default     = "Active"

  validation {
    condition     = contains(["Active", "PassThrough"], var.tracing_mode)
    error_message = "tracing_mode must be Active or PassThrough."
  }
}

variable "schedule_expression" {
  description = "EventBridge schedule that invokes the function, rate(...) or cron(...); null for no schedule."
  type        = string
  default     = null

  validation {
    condition     = var.schedule_expression == null || can(regex("^(rate\\((1 (minute|hour|day)|([2-9]|[1-9][0-9]+) (minutes|hours|days))\\)|cron\\(\\S+ \\S+ \\S+ \\S+ \\S+ \\S+\\))$", var.schedule_expression))
    error_message = "schedule_expression must be rate(1 minute), rate(N minutes|hours|days) with N >= 2, or cron(<6 fields>)."
  }
}

variable "tags" {
  description = "Tags added to every resource of the module."
  type        = map(string)
  default     = {}
}
