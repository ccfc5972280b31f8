"""The collector in every stage, as `terraform plan` (stand-in providers) sees it: throttled, keys write-only.

Self-contained: a copy of infrastructure/ with an override that swaps the S3 backend and the
shared root's remote state for local files (see ../shared/tools/terraform-offline/README.md),
dummy zips in the copy's dist/, the stage's terraform.tfvars.sample as its variables and the
write keys in TF_VAR_collector_write_keys (an ephemeral variable, as the sample says).
Skips, saying what to install, when Terraform or the stand-in providers are not there.
"""
import json
import os
import shutil
import subprocess
import zipfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from ops import hcl
from ops.functions import FUNCTIONS

ROOT = Path(__file__).resolve().parents[2]
STAND_IN_SETUP = ROOT.parent / "shared" / "tools" / "terraform-offline" / "setup"
STAGES = ("dev", "staging", "prod")
REGION, ACCOUNT = "eu-central-1", "123456789012"
WRITE_KEY = "plan-test-key-0123456789"
# The shared root's outputs, as the stage roots of before and after the network rework read them
# (outputs a root does not read are ignored).
SHARED_OUTPUTS = {
    "region": REGION,
    "db_address": "analytics.c9akciq32.eu-central-1.rds.amazonaws.com",
    "db_port": 5432,
    "db_name": "analytics",
    "db_resource_id": "db-ABCDEFGHIJKLMNOPQRSTUVWXY0",
    "admin_username": "analytics_admin",
    "admin_password": "offline-admin-password-0000",
    "admin_database_url": "postgresql://analytics_admin:offline-admin-password-0000@db.example:5432/analytics",
    "kms_key_arn": f"arn:aws:kms:{REGION}:{ACCOUNT}:key/0f0f0f0f-1111-2222-3333-444444444444",
    "security_group_id": "sg-0database00000001",
    "worker_security_group_id": "sg-0worker000000001",
    "subnet_ids": ["subnet-0aaaaaaaaaaaaaaa1", "subnet-0bbbbbbbbbbbbbbb2"],
    "db_publicly_accessible": False,
    "stages": {s: {"schema": f"analytics_{s}", "writer_role": f"analytics_{s}_writer", "reader_role": f"analytics_{s}_reader"}
               for s in STAGES},
}
OVERRIDE = """
terraform {{
  backend "local" {{ path = "{state}" }}
}}
data "terraform_remote_state" "shared" {{
  backend = "local"
  config  = {{ path = "{shared}" }}
}}
"""


def _terraform_env():
    if shutil.which("terraform") is None:
        pytest.skip("terraform is not on PATH: install Terraform >= 1.10.")
    env = {**os.environ, "TF_IN_AUTOMATION": "1", "TF_INPUT": "0", "CHECKPOINT_DISABLE": "1"}
    if not Path(os.environ.get("TF_CLI_CONFIG_FILE") or "/nonexistent").is_file():  # unset, or naming no file
        if not STAND_IN_SETUP.exists():
            pytest.skip(f"No provider mirror: set TF_CLI_CONFIG_FILE, or put the stand-in providers at {STAND_IN_SETUP.parent}.")
        setup = subprocess.run([str(STAND_IN_SETUP)], capture_output=True, text=True, timeout=600)
        if setup.returncode != 0:
            pytest.skip(f"{STAND_IN_SETUP} failed: {setup.stderr.strip()[-300:]}")
        env["TF_CLI_CONFIG_FILE"] = setup.stdout.strip().splitlines()[-1]
    return env


def _run(env, directory, *args):
    result = subprocess.run(["terraform", f"-chdir={directory}", *args, "-no-color"], capture_output=True, text=True,
                            env=env, timeout=600)
    return result.returncode, result.stdout + result.stderr


def _shared_state(path):
    outputs = {name: {"value": value, "type": json.loads(json.dumps(_type(value)))} for name, value in SHARED_OUTPUTS.items()}
    path.write_text(json.dumps({"version": 4, "terraform_version": "1.11.4", "serial": 1, "lineage": "offline",
                                "outputs": outputs, "resources": []}))


def _type(value):
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, (int, float)):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return ["tuple", [_type(v) for v in value]]
    return ["object", {k: _type(v) for k, v in value.items()}]


@pytest.fixture(scope="module")
def workspace(tmp_path_factory):
    env = _terraform_env()
    base = tmp_path_factory.mktemp("collector-plan")
    shutil.copytree(ROOT / "infrastructure", base / "infrastructure",
                    ignore=shutil.ignore_patterns(".terraform", "*.tfstate*", "terraform.tfvars", ".terraform.lock.hcl"))
    (base / "dist").mkdir()
    for function in FUNCTIONS:
        with zipfile.ZipFile(base / "dist" / f"{function}-x86_64.zip", "w") as archive:
            archive.writestr("main.py", "def main(event, context):\n    return None\n")
    _shared_state(base / "shared.tfstate")
    for stage in STAGES:
        root = base / "infrastructure" / stage
        (root / "offline_override.tf").write_text(OVERRIDE.format(state=base / f"{stage}.tfstate", shared=base / "shared.tfstate"))
        (root / "sample.tfvars").write_text((root / "terraform.tfvars.sample").read_text())
        (root / "plan.tfvars").write_text('state_bucket = "analytics-terraform-state-offline"\n'
                                          'collector_cors_origins = ["https://shop.example.com"]\n')
    env["TF_VAR_collector_write_keys"] = f'{{"{WRITE_KEY}" = "website"}}'  # ephemeral: as an operator gives it
    return base, env


def _plan(workspace, stage, extra_vars=()):
    base, env = workspace
    root = base / "infrastructure" / stage
    code, output = _run(env, root, "init", "-input=false")
    assert code == 0, output
    plan_file = base / f"{stage}-{len(extra_vars)}.tfplan"
    code, output = _run(env, root, "plan", "-refresh=false", "-input=false", "-lock=false", "-var-file=sample.tfvars", "-var-file=plan.tfvars",
                        *extra_vars, f"-out={plan_file}")
    if code != 0:
        return code, output, None
    code, shown = _run(env, root, "show", "-json", str(plan_file))
    assert code == 0, shown
    return 0, output, json.loads(shown[shown.index("{"):])


@pytest.fixture(scope="module")
def plans(workspace):
    with ThreadPoolExecutor(max_workers=3) as pool:
        results = dict(zip(STAGES, pool.map(lambda stage: _plan(workspace, stage), STAGES)))
    for stage, (code, output, _) in results.items():
        assert code == 0, f"plan of {stage} failed:\n{output[-3000:]}"
    return {stage: plan for stage, (_, _, plan) in results.items()}


def collector_resources(plan):
    return {r["address"]: r for r in plan["resource_changes"] if r["address"].startswith("module.collector.")}


def one(resources, address):
    return resources[f"module.collector.{address}"]["change"]["after"]


@pytest.mark.parametrize("stage", STAGES)
def test_every_stage_plans_the_collector_behind_a_throttled_http_api(plans, stage):
    # GIVEN the stage's plan
    resources = collector_resources(plans[stage])
    # THEN it has the function, an HTTP API with POST and OPTIONS /v1/events, and a throttled $default stage
    assert one(resources, "module.function.aws_lambda_function.this")["function_name"] == f"analytics_collector_{stage}"
    assert one(resources, "aws_apigatewayv2_api.this")["protocol_type"] == "HTTP"
    routes = {one(resources, f'aws_apigatewayv2_route.this["{m}"]')["route_key"] for m in ("POST", "OPTIONS")}
    assert routes == {"POST /v1/events", "OPTIONS /v1/events"}
    api_stage = one(resources, "aws_apigatewayv2_stage.this")
    assert api_stage["name"] == "$default"
    throttle = api_stage["default_route_settings"][0]
    assert throttle["throttling_rate_limit"] == 50 and throttle["throttling_burst_limit"] == 100
    assert api_stage["access_log_settings"] and "sourceIp" not in api_stage["access_log_settings"][0]["format"]


@pytest.mark.parametrize("stage", STAGES)
def test_the_write_keys_are_in_no_plan_value_and_no_output(plans, workspace, stage):
    # GIVEN the plan made with a write key in the variables
    plan = plans[stage]
    text = json.dumps(plan)
    # THEN the key appears nowhere in the plan (write-only SSM value), and no output holds it
    assert WRITE_KEY not in text
    parameter = one(collector_resources(plan), "aws_ssm_parameter.write_keys")
    assert parameter["type"] == "SecureString" and parameter["name"] == f"/analytics/{stage}/collector/write-keys"
    assert parameter.get("value") in (None, "") and parameter["value_wo_version"] == 1
    environment = one(collector_resources(plan), "module.function.aws_lambda_function.this")["environment"][0]["variables"]
    assert environment["WRITE_KEYS_PARAMETER"] == parameter["name"] and WRITE_KEY not in json.dumps(environment)
    assert environment["CORS_ORIGINS"] == "https://shop.example.com"
    assert environment["ADD_IP_ADDRESS"] == "false"
    outputs = plan["planned_values"].get("outputs", {})
    assert {"collector_endpoint_url", "collector_function_name", "collector_write_keys_parameter"} <= outputs.keys()
    assert outputs["collector_write_keys_parameter"]["value"] == parameter["name"]


def test_the_function_may_publish_only_to_its_stages_topic(plans):
    # GIVEN the dev plan and the module's policy document (the stand-in renders policy documents empty, so read the code)
    resources = collector_resources(plans["dev"])
    document = hcl.load(ROOT / "infrastructure" / "modules" / "collector" / "main.tf")
    statements = next(
        body["statement"] for block in document["data"] for kind, bodies in block.items()
        if kind.strip('"') == "aws_iam_policy_document" for name, body in bodies.items() if name.strip('"') == "function"
    )
    # THEN the only SNS right is Publish on the one topic, the parameter is read by its own ARN,
    # the policy sits on the collector's role, and only API Gateway may invoke the function
    by_sid = {s["sid"].strip('"'): s for s in statements}
    assert "var.topic_arn" in str(by_sid["PublishToTheEventTopic"]["resources"])
    assert all("*" not in str(s["resources"]) for s in statements)
    assert [a.strip('"') for s in statements for a in s["actions"] if a.strip('"').startswith("sns:")] == ["sns:Publish"]
    assert one(resources, "aws_iam_role_policy.function")["role"] == "analytics_collector_dev_role"
    permission = one(resources, "aws_lambda_permission.api")
    assert permission["principal"] == "apigateway.amazonaws.com"


def test_alarms_on_5xx_4xx_and_lambda_throttles_notify_the_alerts_topic(plans):
    resources = collector_resources(plans["dev"])
    alarms = {one(resources, f"aws_cloudwatch_metric_alarm.{name}")["metric_name"]
              for name in ("server_errors", "throttled_or_refused", "function_throttles")}
    assert alarms == {"5xx", "4xx", "Throttles"}


def test_a_wrong_cors_origin_or_key_fails_the_plan_with_the_reason(workspace):
    # GIVEN an origin with a path, and a key too short
    code, output, _ = _plan(workspace, "dev", ["-var", 'collector_cors_origins=["https://shop.example.com/"]'])
    # THEN the plan fails and says how an origin looks
    assert code != 0 and "cors_origins must be origins such as https://www.example.com" in output
    code, output, _ = _plan(workspace, "dev", ["-var", 'collector_write_keys={"short" = "web"}'])
    assert code != 0 and "8-128 letters" in output
