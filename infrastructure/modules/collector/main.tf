# The HTTP collector of one stage: pages and apps POST events with a public
# write key; the function publishes them to the stage's event topic.
#
#   browser/app --HTTPS--> HTTP API ($default stage, throttled) --> collector Lambda --PublishBatch--> topic
#
# Why an API Gateway HTTP API and not a Lambda function URL: a function URL
# has no throttle of its own; the only cap is reserved concurrency, which a new
# account (concurrency limit 10, of which 10 must stay unreserved) cannot spare.
# A public URL that anyone can call without limit can run up the Lambda bill
# and starve the stage's other functions. An HTTP API stage throttles per
# second (rate and burst, answered 429 before Lambda runs), costs $1.00 per
# million requests (a function URL is free), and takes a custom domain. The
# HTTP API's own CORS is left off: the function answers CORS itself, so the
# deployed collector and `inv local` behave the same (one home: CORS_ORIGINS).

locals {
  function_name       = "analytics_collector_${var.stage}"
  write_keys_name     = "/analytics/${var.stage}/collector/write-keys"
  events_path         = "/v1/events"
  access_log_group    = "/aws/apigateway/${local.function_name}"
  execution_arn_paths = "${aws_apigatewayv2_api.this.execution_arn}/*/*${local.events_path}"
}

# ---------------------------------------------------------- write keys ---

# SecureString with a write-only value: the keys never enter the state or a
# plan. Bump write_keys_version to store a changed set.
resource "aws_ssm_parameter" "write_keys" {
  name             = local.write_keys_name
  description      = "Public write keys of the apps that send events to ${local.function_name}: JSON {\"<key>\": \"<app>\"}."
  type             = "SecureString"
  key_id           = var.kms_key_arn
  value_wo         = jsonencode(var.write_keys)
  value_wo_version = var.write_keys_version
  tags             = var.tags
}

# ------------------------------------------------------------ function ---

module "function" {
  source = "../lambda"

  function_name      = local.function_name
  description        = "Takes events over HTTPS (POST ${local.events_path}) and publishes them to the stage's event topic."
  filename           = var.zip
  architecture       = var.architecture
  memory_size        = var.memory_size
  timeout            = var.timeout
  kms_key_arn        = var.kms_key_arn
  log_retention_days = var.log_retention_days
  tags               = var.tags

  environment_variables = {
    TOPIC_ARN            = var.topic_arn
    WRITE_KEYS_PARAMETER = aws_ssm_parameter.write_keys.name
    CORS_ORIGINS         = join(",", var.cors_origins)
    MAX_EVENTS           = tostring(var.max_events)
    ADD_USER_AGENT       = tostring(var.add_user_agent)
    ADD_IP_ADDRESS       = tostring(var.add_ip_address)
  }
}

data "aws_iam_policy_document" "function" {
  statement {
    sid       = "PublishToTheEventTopic"
    effect    = "Allow"
    actions   = ["sns:Publish"] # PublishBatch is authorised as sns:Publish
    resources = [var.topic_arn]
  }

  statement {
    sid       = "ReadTheWriteKeys"
    effect    = "Allow"
    actions   = ["ssm:GetParameter"]
    resources = [aws_ssm_parameter.write_keys.arn]
  }

  statement {
    sid       = "UseTheStageKey"
    effect    = "Allow"
    actions   = ["kms:Decrypt", "kms:GenerateDataKey"] # the encrypted topic and the SecureString
    resources = [var.kms_key_arn]
  }
}

resource "aws_iam_role_policy" "function" {
  name   = "publish-to-topic-read-write-keys"
  role   = module.function.role_name
  policy = data.aws_iam_policy_document.function.json
}

# ------------------------------------------------------------ HTTP API ---

resource "aws_apigatewayv2_api" "this" {
  name          = local.function_name
  description   = "Analytics event collector (${var.stage}): POST ${local.events_path}."
  protocol_type = "HTTP"
  tags          = var.tags
}

resource "aws_apigatewayv2_integration" "this" {
  api_id                 = aws_apigatewayv2_api.this.id
  integration_type       = "AWS_PROXY"
  integration_uri        = module.function.function_arn # an HTTP API takes the function ARN itself
  payload_format_version = "2.0"
  timeout_milliseconds   = min(30000, var.timeout * 1000)
}

resource "aws_apigatewayv2_route" "this" {
  #checkov:skip=CKV_AWS_309:The route is public by design: browsers send events with a public write key, which the function checks (a Lambda authorizer would double the invocations per request).
  for_each = toset(["POST", "OPTIONS"])

  api_id    = aws_apigatewayv2_api.this.id
  route_key = "${each.key} ${local.events_path}"
  target    = "integrations/${aws_apigatewayv2_integration.this.id}"
}

resource "aws_cloudwatch_log_group" "access" {
  name              = local.access_log_group
  retention_in_days = var.log_retention_days
  kms_key_id        = var.kms_key_arn
  tags              = var.tags
}

resource "aws_apigatewayv2_stage" "this" {
  api_id      = aws_apigatewayv2_api.this.id
  name        = "$default"
  auto_deploy = true
  tags        = var.tags

  default_route_settings {
    throttling_rate_limit  = var.throttling_rate_limit
    throttling_burst_limit = var.throttling_burst_limit
  }

  # No IP address in the access log (privacy): the request id, route, status and timings.
  access_log_settings {
    destination_arn = aws_cloudwatch_log_group.access.arn
    format = jsonencode({
      requestId          = "$context.requestId"
      requestTime        = "$context.requestTime"
      routeKey           = "$context.routeKey"
      status             = "$context.status"
      responseLength     = "$context.responseLength"
      responseLatency    = "$context.responseLatency"
      integrationLatency = "$context.integrationLatency"
      integrationError   = "$context.integrationErrorMessage"
    })
  }
}

resource "aws_lambda_permission" "api" {
  statement_id  = "AllowTheCollectorApi"
  action        = "lambda:InvokeFunction"
  function_name = module.function.function_name
  principal     = "apigateway.amazonaws.com"
  source_arn    = local.execution_arn_paths
}

# -------------------------------------------------------------- alarms ---

resource "aws_cloudwatch_metric_alarm" "server_errors" {
  alarm_name          = "${local.function_name}_5xx"
  alarm_description   = "The collector answered 5xx (SNS refused events, the write keys could not be read, or the function failed): clients retry, but look at the function's log."
  namespace           = "AWS/ApiGateway"
  metric_name         = "5xx"
  dimensions          = { ApiId = aws_apigatewayv2_api.this.id, Stage = aws_apigatewayv2_stage.this.name }
  statistic           = "Sum"
  period              = 300
  evaluation_periods  = 1
  comparison_operator = "GreaterThanOrEqualToThreshold"
  threshold           = var.server_errors_alarm_threshold
  treat_missing_data  = "notBreaching"
  alarm_actions       = [var.alarm_topic_arn]
  ok_actions          = [var.alarm_topic_arn]
  tags                = var.tags
}

# An HTTP API reports its own throttling (429) only among the 4xx; many 4xx
# in a few minutes mean throttling, a broken tracker or someone probing keys.
resource "aws_cloudwatch_metric_alarm" "throttled_or_refused" {
  alarm_name          = "${local.function_name}_4xx_throttled_or_refused"
  alarm_description   = "Many requests answered 4xx: the stage throttle (429; raise throttling_rate_limit if the traffic is real), a wrong write key in a page (401), or abuse."
  namespace           = "AWS/ApiGateway"
  metric_name         = "4xx"
  dimensions          = { ApiId = aws_apigatewayv2_api.this.id, Stage = aws_apigatewayv2_stage.this.name }
  statistic           = "Sum"
  period              = 300
  evaluation_periods  = 1
  comparison_operator = "GreaterThanOrEqualToThreshold"
  threshold           = var.refused_requests_alarm_threshold
  treat_missing_data  = "notBreaching"
  alarm_actions       = [var.alarm_topic_arn]
  ok_actions          = [var.alarm_topic_arn]
  tags                = var.tags
}

resource "aws_cloudwatch_metric_alarm" "function_throttles" {
  alarm_name          = "${local.function_name}_throttles"
  alarm_description   = "Lambda throttled the collector (account concurrency used up): requests got 5xx and clients retry; raise the account's concurrency limit or lower the API throttle."
  namespace           = "AWS/Lambda"
  metric_name         = "Throttles"
  dimensions          = { FunctionName = module.function.function_name }
  statistic           = "Sum"
  period              = 300
  evaluation_periods  = 1
  comparison_operator = "GreaterThanThreshold"
  threshold           = 0
  treat_missing_data  = "notBreaching"
  alarm_actions       = [var.alarm_topic_arn]
  ok_actions          = [var.alarm_topic_arn]
  tags                = var.tags
}
