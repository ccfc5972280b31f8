# Module analytics_queue: a stage's queue together with the two functions that drain it
# (consumer and worker), not only the queue.
#
# The analytics pipeline of one stage: queue + DLQ subscribed to the event
# topic, the consumer (scheduled) and worker Lambdas, their least-privilege
# IAM policies, and alarms to an alerts topic.
#
#   topic --raw delivery--> queue --(max_receive_count)--> DLQ
#   schedule --> consumer --(synchronous Invoke)--> worker --> Postgres
#   (stream mode: queue --event source mapping, batches--> worker; every
#    minute the consumer probes the worker and pauses the mapping while it
#    cannot store, so an outage does not push messages into the DLQ)
#
# The worker runs in the database's VPC and signs in with RDS IAM
# authentication (a token boto3 signs locally): it needs no secret and no
# AWS API, so the VPC needs no NAT gateway and no endpoint. The consumer
# stays outside the VPC (it calls SQS and Lambda).

data "aws_caller_identity" "current" {}
data "aws_partition" "current" {}
data "aws_region" "current" {}

locals {
  queue_name    = "analytics_events_${var.stage}"
  dlq_name      = "analytics_events_${var.stage}_dlq"
  consumer_name = "analytics_consumer_${var.stage}"
  worker_name   = "analytics_worker_${var.stage}"
  alerts_name   = "analytics_alerts_${var.stage}"

  # The one database user the worker may sign in as (rds-db:connect).
  db_user_arn = "arn:${data.aws_partition.current.partition}:rds-db:${data.aws_region.current.region}:${data.aws_caller_identity.current.account_id}:dbuser:${var.db_resource_id}/${var.db_user}"

  # The contract with the worker's settings (functions/analytics_worker):
  # DB_HOST set means IAM authentication; DB_SSLROOTCERT means verify-full.
  worker_environment = merge(
    {
      DB_HOST   = var.db_host
      DB_PORT   = tostring(var.db_port)
      DB_NAME   = var.db_name
      DB_USER   = var.db_user
      DB_SCHEMA = var.db_schema
    },
    var.db_sslrootcert == null ? {} : { DB_SSLROOTCERT = var.db_sslrootcert },
  )

  # A received message stays invisible for a whole consumer run plus one
  # worker call that may still be running, with margin: only then may it
  # be delivered again.
  # In stream mode Lambda's poller holds a batch for up to the batching
  # window plus the worker's retries: AWS asks for at least six times the
  # function's timeout.
  # Stream mode also has the consumer run as the mapping's guard
  # (analytics_consumer/stream_guard.py) every minute. A batch failed just
  # after a guard run comes back after the visibility timeout; the guard
  # must have paused the mapping by then, so that an outage costs each
  # message at most one receive.
  stream                      = var.delivery_mode == "stream"
  stream_guard_schedule       = "rate(1 minute)"
  stream_guard_period_seconds = 60
  visibility_timeout_seconds = coalesce(
    var.visibility_timeout_seconds,
    max(
      var.consumer_timeout * 2 + var.worker_timeout,
      local.stream ? 6 * var.worker_timeout : 0,
      local.stream ? local.stream_guard_period_seconds * 2 + var.worker_timeout : 0,
    ),
  )

  # What reads the queue (the consumer on the schedule, Lambda's poller with
  # the worker's role in stream mode) may do with it.
  queue_reader_actions = [
    "sqs:ReceiveMessage",
    "sqs:DeleteMessage",
    "sqs:GetQueueAttributes",
    "sqs:ChangeMessageVisibility",
  ]

  consumer_environment = merge(
    {
      SQS_URL                = aws_sqs_queue.this.url
      WORKER_LAMBDA_ARN      = module.worker.function_arn
      WORKER_TIMEOUT_SECONDS = tostring(var.worker_timeout)
    },
    var.max_batch_events == null ? {} : { MAX_BATCH_EVENTS = tostring(var.max_batch_events) },
    var.max_parallel_workers == null ? {} : { MAX_PARALLEL_WORKERS = tostring(var.max_parallel_workers) },
    local.stream ? { STREAM_MAPPING_UUID = aws_lambda_event_source_mapping.stream[0].uuid } : {},
  )
}

# ------------------------------------------------------------- queues ---

resource "aws_sqs_queue" "dlq" {
  name                      = local.dlq_name
  message_retention_seconds = var.dlq_message_retention_seconds
  kms_master_key_id         = var.kms_key_arn
  tags                      = var.tags
}

resource "aws_sqs_queue" "this" {
  name                       = local.queue_name
  visibility_timeout_seconds = local.visibility_timeout_seconds
  message_retention_seconds  = var.message_retention_seconds
  receive_wait_time_seconds  = 20
  kms_master_key_id          = var.kms_key_arn
  tags                       = var.tags

  redrive_policy = jsonencode({
    deadLetterTargetArn = aws_sqs_queue.dlq.arn
    maxReceiveCount     = var.max_receive_count
  })

  lifecycle {
    precondition {
      condition     = local.visibility_timeout_seconds > var.consumer_timeout + var.worker_timeout
      error_message = "The queue's visibility timeout must be longer than the consumer's timeout plus one worker call; raise visibility_timeout_seconds or leave it null to derive it."
    }
    precondition {
      condition     = local.visibility_timeout_seconds <= 43200
      error_message = "The derived visibility timeout exceeds SQS's limit of 43200 seconds; lower the Lambda timeouts."
    }
    precondition {
      condition     = var.max_parallel_workers == null || var.worker_reserved_concurrency == -1 || var.worker_reserved_concurrency >= coalesce(var.max_parallel_workers, 1)
      error_message = "worker_reserved_concurrency must be at least max_parallel_workers (or -1), or the consumer's parallel worker calls get throttled."
    }
    precondition {
      condition     = !local.stream || local.visibility_timeout_seconds >= 6 * var.worker_timeout
      error_message = "In stream mode the queue's visibility timeout must be at least six times worker_timeout (AWS's rule for an SQS event source); raise visibility_timeout_seconds or leave it null to derive it."
    }
    precondition {
      condition     = !local.stream || local.visibility_timeout_seconds > local.stream_guard_period_seconds + var.worker_timeout
      error_message = "In stream mode the queue's visibility timeout must be longer than the stream guard's period (${local.stream_guard_period_seconds} s) plus one worker call, or a batch failed in an outage is received again before the guard pauses the stream."
    }
    precondition {
      condition     = var.worker_timeout < var.consumer_timeout
      error_message = "worker_timeout must be shorter than consumer_timeout: the consumer waits for each synchronous worker call."
    }
  }
}

resource "aws_sqs_queue_redrive_allow_policy" "dlq" {
  queue_url = aws_sqs_queue.dlq.id

  redrive_allow_policy = jsonencode({
    redrivePermission = "byQueue"
    sourceQueueArns   = [aws_sqs_queue.this.arn]
  })
}

data "aws_iam_policy_document" "queue" {
  statement {
    sid       = "OnlyTheEventTopicSends"
    effect    = "Allow"
    actions   = ["sqs:SendMessage"]
    resources = [aws_sqs_queue.this.arn]

    principals {
      type        = "Service"
      identifiers = ["sns.amazonaws.com"]
    }

    condition {
      test     = "ArnEquals"
      variable = "aws:SourceArn"
      values   = [var.topic_arn]
    }
  }
}

resource "aws_sqs_queue_policy" "this" {
  queue_url = aws_sqs_queue.this.id
  policy    = data.aws_iam_policy_document.queue.json
}

resource "aws_sns_topic_subscription" "this" {
  topic_arn            = var.topic_arn
  protocol             = "sqs"
  endpoint             = aws_sqs_queue.this.arn
  raw_message_delivery = true
  filter_policy        = var.subscription_filter_policy

  depends_on = [aws_sqs_queue_policy.this]
}

# ------------------------------------------------------------ lambdas ---

module "worker" {
  source = "../lambda"

  function_name                  = local.worker_name
  description                    = "Validates a batch of analytics events and stores it in ${var.db_schema}."
  filename                       = var.worker_zip
  architecture                   = var.architecture
  memory_size                    = var.worker_memory_size
  timeout                        = var.worker_timeout
  reserved_concurrent_executions = var.worker_reserved_concurrency
  kms_key_arn                    = var.kms_key_arn
  log_retention_days             = var.log_retention_days
  vpc_subnet_ids                 = var.worker_subnet_ids
  vpc_security_group_ids         = var.worker_security_group_ids
  environment_variables          = local.worker_environment
  tags                           = var.tags
}

module "consumer" {
  source = "../lambda"

  function_name                  = local.consumer_name
  description                    = "Drains ${local.queue_name} and hands the events to ${local.worker_name}."
  filename                       = var.consumer_zip
  architecture                   = var.architecture
  memory_size                    = var.consumer_memory_size
  timeout                        = var.consumer_timeout
  reserved_concurrent_executions = var.consumer_reserved_concurrency
  kms_key_arn                    = var.kms_key_arn
  log_retention_days             = var.log_retention_days
  schedule_expression            = local.stream ? local.stream_guard_schedule : var.schedule_expression
  environment_variables          = local.consumer_environment
  tags                           = var.tags
}

data "aws_iam_policy_document" "worker" {
  statement {
    sid       = "SignInAsTheWriterRole"
    effect    = "Allow"
    actions   = ["rds-db:connect"]
    resources = [local.db_user_arn]
  }

  statement {
    sid       = "DecryptTheEnvironment"
    effect    = "Allow"
    actions   = ["kms:Decrypt"]
    resources = [var.kms_key_arn]
  }

  # Stream mode: Lambda's poller (outside the VPC) reads the queue with the
  # worker's role, and deletes what the worker did not report as failed.
  dynamic "statement" {
    for_each = local.stream ? [1] : []

    content {
      sid       = "PollTheQueue"
      effect    = "Allow"
      actions   = local.queue_reader_actions
      resources = [aws_sqs_queue.this.arn]
    }
  }
}

resource "aws_iam_role_policy" "worker" {
  name   = "connect-to-database"
  role   = module.worker.role_name
  policy = data.aws_iam_policy_document.worker.json
}

# Stream mode: the queue feeds the worker directly, in batches of up to
# stream_batch_size events gathered for up to the batching window; at most
# stream_maximum_concurrency batches at once (each holds a database
# connection). The worker answers which messages failed; only those return.
resource "aws_lambda_event_source_mapping" "stream" {
  count = local.stream ? 1 : 0

  event_source_arn                   = aws_sqs_queue.this.arn
  function_name                      = module.worker.function_arn
  batch_size                         = var.stream_batch_size
  maximum_batching_window_in_seconds = var.stream_batching_window_seconds
  function_response_types            = ["ReportBatchItemFailures"]
  enabled                            = true

  scaling_config {
    maximum_concurrency = var.stream_maximum_concurrency
  }

  depends_on = [aws_iam_role_policy.worker]

  lifecycle {
    # The consumer's stream guard disables the mapping during an outage and enables it after; an apply
    # in between must not undo that.
    ignore_changes = [enabled]

    precondition {
      condition     = var.stream_batch_size <= 10 || var.stream_batching_window_seconds >= 1
      error_message = "A stream_batch_size over 10 needs a stream_batching_window_seconds of at least 1 (an SQS event source rule)."
    }
  }
}

data "aws_iam_policy_document" "consumer" {
  # Schedule mode: the consumer drains the queue. Stream mode: Lambda's poller does, and the consumer
  # only switches the mapping off and on.
  dynamic "statement" {
    for_each = local.stream ? [] : [1]

    content {
      sid       = "DrainTheQueue"
      effect    = "Allow"
      actions   = local.queue_reader_actions
      resources = [aws_sqs_queue.this.arn]
    }
  }

  dynamic "statement" {
    for_each = local.stream ? [1] : []

    content {
      sid       = "GuardTheStream"
      effect    = "Allow"
      actions   = ["lambda:GetEventSourceMapping", "lambda:UpdateEventSourceMapping"]
      resources = [aws_lambda_event_source_mapping.stream[0].arn]
    }
  }

  statement {
    sid       = "DecryptQueuedMessages"
    effect    = "Allow"
    actions   = ["kms:Decrypt"]
    resources = [var.kms_key_arn]
  }

  statement {
    sid       = "InvokeTheWorker"
    effect    = "Allow"
    actions   = ["lambda:InvokeFunction"]
    resources = [module.worker.function_arn]
  }
}

resource "aws_iam_role_policy" "consumer" {
  name   = "drain-queue-invoke-worker"
  role   = module.consumer.role_name
  policy = data.aws_iam_policy_document.consumer.json
}

# ------------------------------------------------------------- alarms ---

resource "aws_sns_topic" "alerts" {
  name              = local.alerts_name
  display_name      = "Analytics ${var.stage} alerts"
  kms_master_key_id = var.kms_key_arn
  tags              = var.tags
}

resource "aws_sns_topic_subscription" "alerts_email" {
  count = var.alarm_email == null ? 0 : 1

  topic_arn = aws_sns_topic.alerts.arn
  protocol  = "email"
  endpoint  = var.alarm_email
}

resource "aws_cloudwatch_metric_alarm" "dlq_depth" {
  alarm_name          = "${local.dlq_name}_not_empty"
  alarm_description   = "Messages reached ${local.dlq_name}: they failed ${var.max_receive_count} times. Inspect them in the SQS console and redrive them once the cause is fixed."
  namespace           = "AWS/SQS"
  metric_name         = "ApproximateNumberOfMessagesVisible"
  dimensions          = { QueueName = aws_sqs_queue.dlq.name }
  statistic           = "Maximum"
  period              = 300
  evaluation_periods  = 1
  comparison_operator = "GreaterThanThreshold"
  threshold           = 0
  treat_missing_data  = "notBreaching"
  alarm_actions       = [aws_sns_topic.alerts.arn]
  ok_actions          = [aws_sns_topic.alerts.arn]
  tags                = var.tags
}

resource "aws_cloudwatch_metric_alarm" "oldest_message_age" {
  alarm_name          = "${local.queue_name}_oldest_message_too_old"
  alarm_description   = "The oldest message in ${local.queue_name} waits longer than ${var.oldest_message_age_threshold_seconds} s: the consumer is not keeping up or not running."
  namespace           = "AWS/SQS"
  metric_name         = "ApproximateAgeOfOldestMessage"
  dimensions          = { QueueName = aws_sqs_queue.this.name }
  statistic           = "Maximum"
  period              = 300
  evaluation_periods  = 2
  comparison_operator = "GreaterThanThreshold"
  threshold           = var.oldest_message_age_threshold_seconds
  treat_missing_data  = "notBreaching"
  alarm_actions       = [aws_sns_topic.alerts.arn]
  ok_actions          = [aws_sns_topic.alerts.arn]
  tags                = var.tags
}

resource "aws_cloudwatch_metric_alarm" "worker_errors" {
  alarm_name          = "${local.worker_name}_errors"
  alarm_description   = "${local.worker_name} failed (database down or a bug); its batches stay in the queue and are retried."
  namespace           = "AWS/Lambda"
  metric_name         = "Errors"
  dimensions          = { FunctionName = module.worker.function_name }
  statistic           = "Sum"
  period              = 300
  evaluation_periods  = 1
  comparison_operator = "GreaterThanThreshold"
  threshold           = var.worker_errors_threshold
  treat_missing_data  = "notBreaching"
  alarm_actions       = [aws_sns_topic.alerts.arn]
  ok_actions          = [aws_sns_topic.alerts.arn]
  tags                = var.tags
}
