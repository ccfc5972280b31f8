"""The collector in every stage, as `terraform plan` sees it: throttled, keys write-only.

The stage plans are the session's (conftest.py): made with a CORS origin in the variables and
the write keys in TF_VAR_collector_write_keys (an ephemeral variable, as the stage's sample says).
"""
import json

import pytest

import terraform_runner as tf
from terraform_runner import flat
from ops import hcl

COLLECTOR = "module.collector"


@pytest.mark.parametrize("stage", tf.STAGES)
def test_every_stage_plans_the_collector_behind_a_throttled_http_api(plans, stage):
    # GIVEN the stage's plan
    plan = plans[stage]
    # THEN it has the function, an HTTP API with POST and OPTIONS /v1/events, and a throttled $default stage
    assert plan.resource(f"{COLLECTOR}.module.function.aws_lambda_function.this")["function_name"] == f"analytics_collector_{stage}"
    assert plan.resource(f"{COLLECTOR}.aws_apigatewayv2_api.this")["protocol_type"] == "HTTP"
    routes = {plan.resource(f'{COLLECTOR}.aws_apigatewayv2_route.this["{m}"]')["route_key"] for m in ("POST", "OPTIONS")}
    assert routes == {"POST /v1/events", "OPTIONS /v1/events"}
    api_stage = plan.resource(f"{COLLECTOR}.aws_apigatewayv2_stage.this")
    assert api_stage["name"] == "$default"
    throttle = api_stage["default_route_settings"][0]
    assert throttle["throttling_rate_limit"] == 50 and throttle["throttling_burst_limit"] == 100
    assert api_stage["access_log_settings"] and "sourceIp" not in api_stage["access_log_settings"][0]["format"]


@pytest.mark.parametrize("stage", tf.STAGES)
def test_the_write_keys_are_in_no_plan_value_and_no_output(plans, stage):
    # GIVEN the plan made with a write key in the variables
    plan = plans[stage]
    # THEN the key appears nowhere in the plan (write-only SSM value), and no output holds it
    assert tf.COLLECTOR_WRITE_KEY not in json.dumps(plan.document)
    assert tf.COLLECTOR_WRITE_KEY.encode() not in plan.plan_file.read_bytes()
    parameter = plan.resource(f"{COLLECTOR}.aws_ssm_parameter.write_keys")
    assert parameter["type"] == "SecureString" and parameter["name"] == f"/analytics/{stage}/collector/write-keys"
    assert parameter.get("value") in (None, "") and parameter["value_wo_version"] == 1
    (environment,) = plan.resource(f"{COLLECTOR}.module.function.aws_lambda_function.this")["environment"]
    variables = environment["variables"]
    assert variables["WRITE_KEYS_PARAMETER"] == parameter["name"] and tf.COLLECTOR_WRITE_KEY not in json.dumps(variables)
    assert variables["CORS_ORIGINS"] == "https://shop.example.com"
    assert variables["ADD_IP_ADDRESS"] == "false"
    outputs = plan.outputs
    assert {"collector_endpoint_url", "collector_function_name", "collector_write_keys_parameter"} <= outputs.keys()
    assert outputs["collector_write_keys_parameter"]["value"] == parameter["name"]


def test_the_function_may_publish_only_to_its_stages_topic(dev_plan):
    # GIVEN the dev plan and the module's policy document (the stand-in renders policy documents empty, so read the code)
    document = hcl.load(tf.INFRA / "modules" / "collector" / "main.tf")
    statements = hcl.plain(hcl.resource(document, "aws_iam_policy_document", "function", kind="data"))["statement"]
    # THEN the only SNS right is Publish on the one topic, the parameter is read by its own ARN,
    # the policy sits on the collector's role, and only API Gateway may invoke the function
    by_sid = {s["sid"]: s for s in statements}
    assert "var.topic_arn" in str(by_sid["PublishToTheEventTopic"]["resources"])
    assert all("*" not in str(s["resources"]) for s in statements)
    assert [a for s in statements for a in s["actions"] if a.startswith("sns:")] == ["sns:Publish"]
    assert dev_plan.resource(f"{COLLECTOR}.aws_iam_role_policy.function")["role"] == "analytics_collector_dev_role"
    permission = dev_plan.resource(f"{COLLECTOR}.aws_lambda_permission.api")
    assert permission["principal"] == "apigateway.amazonaws.com"


def test_alarms_on_5xx_4xx_and_lambda_throttles_notify_the_alerts_topic(dev_plan):
    # GIVEN the dev plan's collector alarms
    alarms = {dev_plan.resource(f"{COLLECTOR}.aws_cloudwatch_metric_alarm.{name}")["metric_name"]
              for name in ("server_errors", "throttled_or_refused", "function_throttles")}
    # THEN they watch the API's 5xx and 4xx and the function's throttles
    assert alarms == {"5xx", "4xx", "Throttles"}


def test_a_wrong_cors_origin_or_key_fails_the_plan_with_the_reason(refusals):
    # GIVEN an origin with a path
    code, output = refusals["collector origin with a path"]
    # THEN the plan fails and says how an origin looks
    assert code != 0 and "cors_origins must be origins such as https://www.example.com" in flat(output)
    # GIVEN a key too short
    code, output = refusals["collector write key too short"]
    # THEN the plan fails and says what a key is made of
    assert code != 0 and "8-128 letters" in flat(output)
