"""The deploy rehearsal: `terraform plan` of the shared root, every stage root and the shared
module's defaults, asserted on through `terraform show -json` (issue 9).

The plans are made once per session (conftest.py); a stage root reads made-up shared outputs
whose names are exactly the shared root's planned outputs (checked below), so a stage that
reads an output the shared root does not define fails its plan.
"""
import json
import re

import pytest

import terraform_runner as tf
from terraform_runner import flat

WORKER = "module.analytics_queue.module.worker"
CONSUMER = "module.analytics_queue.module.consumer"
DB = "module.shared.aws_db_instance.this"


def strings(value):
    """Every string inside a JSON value."""
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for item in value.values():
            yield from strings(item)
    elif isinstance(value, list):
        for item in value:
            yield from strings(item)


# ------------------------------------------------------ the private path ---


def test_worker_runs_in_the_databases_vpc_and_the_consumer_outside(dev_plan):
    # GIVEN the dev plan
    worker = dev_plan.resource(f"{WORKER}.aws_lambda_function.this")
    consumer = dev_plan.resource(f"{CONSUMER}.aws_lambda_function.this")
    # THEN the worker's network interfaces go into the shared root's subnets, in the worker security group
    (vpc,) = worker["vpc_config"]
    assert sorted(vpc["subnet_ids"]) == sorted(tf.SHARED_OUTPUTS["subnet_ids"])
    assert vpc["security_group_ids"] == [tf.SHARED_OUTPUTS["worker_security_group_id"]]
    # AND the consumer has no VPC (it calls SQS and Lambda, with no NAT gateway to reach them)
    assert consumer["vpc_config"] == []
    # AND the worker's role may manage its network interfaces, attached before the function is made
    attachments = dev_plan.resources("aws_iam_role_policy_attachment", "vpc")
    assert [a["policy_arn"] for a in attachments.values()] == [
        "arn:aws:iam::aws:policy/service-role/AWSLambdaENIManagementAccess"
    ]
    assert list(attachments) == [f"{WORKER}.aws_iam_role_policy_attachment.vpc[0]"]


def test_the_database_admits_the_workers_security_group_and_the_worker_only_reaches_postgres(shared_plan):
    # GIVEN the shared plan's rules
    ingress = shared_plan.config(["shared"], "aws_vpc_security_group_ingress_rule.from_worker")
    egress = shared_plan.config(["shared"], "aws_vpc_security_group_egress_rule.worker_to_database")
    # THEN the database's group admits the worker's group on the database port (a rule between groups, no CIDR)
    assert ingress["expressions"]["security_group_id"]["references"][0] == "aws_security_group.this.id"
    assert ingress["expressions"]["referenced_security_group_id"]["references"][0] == "aws_security_group.worker.id"
    rule = shared_plan.resource("module.shared.aws_vpc_security_group_ingress_rule.from_worker")
    assert (rule["from_port"], rule["to_port"], rule["ip_protocol"], rule["cidr_ipv4"]) == (5432, 5432, "tcp", None)
    # AND the worker's group lets it open Postgres connections to the database and nothing else
    assert egress["expressions"]["referenced_security_group_id"]["references"][0] == "aws_security_group.this.id"
    assert len(shared_plan.resources("aws_vpc_security_group_egress_rule")) == 1
    # AND nothing in the plan costs money by the hour besides the database: no NAT gateway, no endpoint
    types = {change["type"] for change in shared_plan.changes}
    assert not types & {"aws_nat_gateway", "aws_vpc_endpoint", "aws_eip", "aws_instance"}


def test_the_database_is_private_by_default(plans):
    # GIVEN the shared module planned with its defaults (no allow-list)
    plan = plans["module_defaults"]
    db = plan.resource(DB)
    # THEN it has no public address and the only way in is the workers' group
    assert db["publicly_accessible"] is False
    assert plan.resources("aws_vpc_security_group_ingress_rule", "public") == {}
    assert list(plan.resources("aws_vpc_security_group_ingress_rule")) == ["module.shared.aws_vpc_security_group_ingress_rule.from_worker"]


def test_the_allow_list_is_the_only_way_in_from_outside(shared_plan):
    # GIVEN the shared root with the operator's address in the allow-list
    db = shared_plan.resource(DB)
    public = shared_plan.resources("aws_vpc_security_group_ingress_rule", "public")
    # THEN the database is publicly accessible, and admits exactly that address
    assert db["publicly_accessible"] is True
    assert [rule["cidr_ipv4"] for rule in public.values()] == tf.SHARED_VARS["public_access_cidr_blocks"]


def test_the_shared_root_refuses_an_empty_allow_list_and_says_why(refusals):
    # GIVEN the shared root planned without any address in the allow-list
    code, output = refusals["empty allow-list"]
    # THEN the plan stops, saying the operator's own address is needed and why
    assert code != 0
    assert "public_access_cidr_blocks must hold your own address" in flat(output)
    assert "inv migrate" in flat(output)


# ------------------------------------------------------------ IAM auth ---


def test_iam_authentication_is_on_and_the_worker_may_sign_in_only_as_its_own_role(shared_plan, dev_plan):
    # GIVEN the shared and dev plans
    # THEN the instance accepts IAM tokens
    assert shared_plan.resource(DB)["iam_database_authentication_enabled"] is True
    # AND the worker's only database permission is rds-db:connect on its own role of this instance
    policy = dev_plan.data("module.analytics_queue.data.aws_iam_policy_document.worker")
    connect = [s for s in policy["statement"] if any(a.startswith("rds-db:") for a in s["actions"])]
    assert len(connect) == 1
    assert connect[0]["actions"] == ["rds-db:connect"] and connect[0]["effect"] == "Allow"
    assert connect[0]["resources"] == [
        f"arn:aws:rds-db:{tf.REGION}:{tf.ACCOUNT}:dbuser:{tf.SHARED_OUTPUTS['db_resource_id']}/analytics_dev_writer"
    ]
    actions = {action for statement in policy["statement"] for action in statement["actions"]}
    assert not any(a.startswith("secretsmanager:") for a in actions)


def test_the_worker_is_configured_for_iam_auth_and_needs_no_aws_api(dev_plan):
    # GIVEN the worker's planned environment
    (environment,) = dev_plan.resource(f"{WORKER}.aws_lambda_function.this")["environment"]
    variables = environment["variables"]
    # THEN it names the database and the writer role, and nothing that needs a call to AWS (no secret to fetch)
    assert variables == {
        "DB_HOST": tf.SHARED_OUTPUTS["db_address"],
        "DB_PORT": "5432",
        "DB_NAME": "analytics",
        "DB_USER": "analytics_dev_writer",
        "DB_SCHEMA": "analytics_dev",
    }


def test_the_writer_role_has_no_password_and_is_granted_rds_iam(shared_plan):
    for stage in tf.STAGES:
        # GIVEN each stage's writer role in the shared plan
        writer = shared_plan.resource(f'module.analytics_db["{stage}"].postgresql_role.writer')
        grant = shared_plan.resource(f'module.analytics_db["{stage}"].postgresql_grant_role.writer_iam')
        # THEN it logs in without a password, only through IAM
        assert writer["name"] == f"analytics_{stage}_writer" and writer["login"] is True
        assert writer.get("password") is None and writer.get("password_wo") is None
        assert (grant["role"], grant["grant_role"]) == (f"analytics_{stage}_writer", "rds_iam")


# ---------------------------------------------------------------- secrets ---


def test_the_admin_password_is_in_no_plan_file(shared_plan, plans):
    # GIVEN the shared plan, made with TF_VAR_admin_password (ephemeral, write-only password_wo)
    db = shared_plan.resource(DB)
    # THEN the instance gets it write-only, versioned, and the plan file and its JSON do not hold it
    assert db.get("password") is None and db.get("password_wo") is None
    assert db["password_wo_version"] == 1
    assert "admin_password" not in shared_plan.document.get("variables", {})
    for plan in plans.values():
        assert tf.ADMIN_PASSWORD.encode() not in plan.plan_file.read_bytes()
        assert tf.ADMIN_PASSWORD not in json.dumps(plan.document)


@pytest.mark.parametrize("stage", tf.STAGES)
def test_no_stage_plan_holds_a_database_credential(plans, stage):
    # GIVEN a stage's plan
    plan = plans[stage]
    everything = list(strings(plan.document))
    # THEN it has no postgresql provider and no resource of it: the stage cannot touch the database
    assert "postgresql" not in plan.provider_names
    assert not [c for c in plan.changes if c["type"].startswith("postgresql_")]
    # AND no value anywhere in it is a password, a verifier or a URL with a password
    assert not [s for s in everything if tf.READER_SCRAM in s or s.startswith("SCRAM-SHA-256$")]
    assert not [s for s in everything if re.search(r"postgres(ql)?://[^/@\s]*:[^/@\s]*@", s)]
    # AND no variable or output of the stage is a password or a database URL
    names = set(plan.document.get("variables", {})) | set(plan.outputs)
    assert not [n for n in names if "password" in n or n.endswith("database_url") or n == "db_secret_arn"]
    # AND nothing is kept in Secrets Manager for the worker any more
    assert plan.resources("aws_secretsmanager_secret") == {}


def test_the_reader_password_is_a_scram_verifier_never_the_clear_password(shared_plan, refusals):
    # GIVEN the shared plan
    reader = shared_plan.resource('module.analytics_db["dev"].postgresql_role.reader')
    # THEN the reader role's password is the verifier (Postgres stores it as is)
    assert reader["password"] == tf.READER_SCRAM
    # AND a clear password given instead is refused, naming the way to make a verifier
    code, output = refusals["clear reader password"]
    assert code != 0 and "not a clear password" in flat(output) and "inv reader-password" in flat(output)


@pytest.mark.parametrize(
    "case, why",
    [
        ("placeholder admin password", "looks like a placeholder or a weak password"),
        ("weak admin password", "looks like a placeholder or a weak password"),
        ("admin password with a space", "must be 16..128 characters and must not contain /, \", @ or spaces"),
    ],
)
def test_a_placeholder_or_weak_admin_password_is_refused(refusals, case, why):
    # WHEN the shared root is planned with a bad admin password
    code, output = refusals[case]
    # THEN the plan stops with the reason, and the password itself is not printed
    assert code != 0 and why in flat(output)
    assert tf.REFUSALS[case][2]["TF_VAR_admin_password"] not in output


def test_the_shared_roots_outputs_hold_no_secret(shared_plan):
    # GIVEN the shared root's planned outputs
    outputs = shared_plan.outputs
    # THEN none is sensitive or named like a credential, and they are exactly what the stages are tested with
    assert not [name for name, output in outputs.items() if output.get("sensitive")]
    assert not [name for name in outputs if "password" in name or "url" in name]
    assert set(outputs) == set(tf.SHARED_OUTPUTS)


# ------------------------------------------------------ logs and passwords ---


def test_the_database_never_logs_statements_that_carry_passwords(shared_plan):
    # GIVEN the parameter group
    (group,) = shared_plan.resources("aws_db_parameter_group").values()
    parameters = {p["name"]: p["value"] for p in group["parameter"]}
    # THEN no statement is logged for its kind (DDL such as ALTER ROLE ... PASSWORD), nor with its error
    assert parameters["log_statement"] == "none"
    assert parameters["log_min_error_statement"] == "panic"
    assert parameters["pg_stat_statements.track_utility"] == "0"
    assert parameters["rds.force_ssl"] == "1"


def test_the_exported_database_logs_are_encrypted_and_expire(shared_plan):
    # GIVEN the log groups of the database's exports
    groups = shared_plan.resources("aws_cloudwatch_log_group", "exports")
    db = shared_plan.resource(DB)
    # THEN there is one per export, made before RDS would make it unencrypted, with a retention
    assert sorted(g["name"] for g in groups.values()) == sorted(
        f"/aws/rds/instance/analytics/{kind}" for kind in db["enabled_cloudwatch_logs_exports"]
    )
    assert {g["retention_in_days"] for g in groups.values()} == {365}
    # AND each is encrypted with the project key
    config = shared_plan.config(["shared"], "aws_cloudwatch_log_group.exports")
    assert config["expressions"]["kms_key_id"]["references"][0] == "aws_kms_key.this.arn"
    assert "aws_cloudwatch_log_group.exports" in shared_plan.config(["shared"], "aws_db_instance.this")["depends_on"]


def test_the_functions_logs_are_encrypted_with_the_project_key_and_expire(dev_plan):
    groups = dev_plan.resources("aws_cloudwatch_log_group")
    assert len(groups) == 4  # consumer, worker, collector, the collector API's access log
    for group in groups.values():
        assert group["kms_key_id"] == tf.SHARED_OUTPUTS["kms_key_arn"]
        assert group["retention_in_days"] == 365


# ------------------------------------------------------------ new account ---


@pytest.mark.parametrize("stage", tf.STAGES)
def test_no_function_reserves_concurrency_by_default(plans, stage):
    functions = plans[stage].resources("aws_lambda_function")
    assert len(functions) == 3  # consumer, worker, collector
    assert {f["reserved_concurrent_executions"] for f in functions.values()} == {-1}


def test_reserved_concurrency_stays_an_option_that_explains_the_account_limit(refusals, plan_with):
    # WHEN a stage asks for a reserved concurrency of 0 (which would stop the worker)
    code, output = refusals["reserved concurrency 0"]
    # THEN the plan stops and explains the new accounts' limit
    assert code != 0 and "a new account with a concurrency limit of 10" in flat(output)
    # AND a valid reservation is planned as asked
    code, output, plan = plan_with("dev", {**tf.STAGE_VARS, "worker_reserved_concurrency": 4})
    assert code == 0, output
    assert plan.resource(f"{WORKER}.aws_lambda_function.this")["reserved_concurrent_executions"] == 4


# ------------------------------------------------------ stages and schemas ---


def test_every_stage_gets_its_schema_and_only_prod_refuses_to_be_dropped(shared_plan):
    # GIVEN the shared plan
    for stage in ("dev", "staging"):
        schema = shared_plan.resource(f'module.analytics_db["{stage}"].postgresql_schema.this[0]')
        # THEN a non-prod schema is dropped with everything the migrations made in it
        assert (schema["name"], schema["drop_cascade"], schema["owner"]) == (f"analytics_{stage}", True, "analytics_admin")
    # AND prod's schema is the protected kind, dropped RESTRICT if ever
    prod = shared_plan.resource('module.analytics_db["prod"].postgresql_schema.protected[0]')
    assert (prod["name"], prod["drop_cascade"]) == ("analytics_prod", False)


def test_removing_prod_from_the_stages_is_refused_loudly(refusals):
    # WHEN the shared root is planned without prod
    code, output = refusals["prod removed"]
    # THEN the plan stops, saying that it would drop production data
    assert code != 0 and "would drop its schema and its data. Refused" in flat(output)


def test_a_stage_in_another_region_than_the_shared_root_is_refused(refusals):
    code, output = refusals["stage in another region"]
    assert code != 0
    assert 'The stage\'s region must be the shared root\'s (eu-central-1)' in flat(output)
    assert 'set region = "eu-central-1"' in flat(output)


def test_a_stage_the_shared_root_does_not_know_is_refused(terraform, workspace, plan_with):
    # GIVEN shared outputs without the dev stage
    outputs = json.loads(json.dumps(tf.SHARED_OUTPUTS))
    del outputs["stages"]["dev"]
    tf.write_shared_state(workspace / "shared-outputs.tfstate", outputs)
    try:
        code, output, _ = plan_with("dev", tf.STAGE_VARS)
    finally:
        tf.write_shared_state(workspace / "shared-outputs.tfstate")
    # THEN the dev plan stops and says what to add to the shared root
    assert code != 0 and 'add "dev" to stages' in flat(output)


def test_resource_counts(plans):
    """Not a rule, a record: the counts the closing note quotes (printed with -s)."""
    counts = {name: plan.count("create") for name, plan in plans.items()}
    print("planned creates:", counts)
    assert counts["shared"] > counts["module_defaults"] > 0 and counts["dev"] > 0
    assert counts["dev"] == counts["staging"] == counts["prod"]
    # stream mode: the mapping, beside the consumer's schedule (which runs the stream guard)
    assert counts["dev_stream"] == counts["dev"] + 1


# ------------------------------------------------------- stream mode (issue 15) ---

QUEUE = "module.analytics_queue.aws_sqs_queue.this"
MAPPING = "module.analytics_queue.aws_lambda_event_source_mapping.stream[0]"


def test_stream_mode_feeds_the_worker_from_the_queue_in_bounded_batches(plans):
    # GIVEN dev planned with delivery_mode = "stream"
    plan = plans["dev_stream"]
    mapping = plan.resource(MAPPING)
    # THEN one event source mapping takes batches of 1000 gathered for up to 60 s, reports failed items,
    # and runs at most 4 worker calls at once
    assert mapping["batch_size"] == 1000 and mapping["maximum_batching_window_in_seconds"] == 60
    assert mapping["function_response_types"] == ["ReportBatchItemFailures"]
    assert mapping["scaling_config"] == [{"maximum_concurrency": 4}]
    assert mapping["enabled"] is True
    # AND it reads this stage's queue and calls this stage's worker
    config = plan.config(["analytics_queue"], "aws_lambda_event_source_mapping.stream")
    assert config["expressions"]["event_source_arn"]["references"][0] == "aws_sqs_queue.this.arn"
    assert config["expressions"]["function_name"]["references"][0] == "module.worker.function_arn"
    # AND the queue keeps a message invisible for at least six worker timeouts
    worker = plan.resource(f"{WORKER}.aws_lambda_function.this")
    assert plan.resource(QUEUE)["visibility_timeout_seconds"] >= 6 * worker["timeout"]


def test_stream_mode_runs_the_consumer_every_minute_as_the_mappings_guard(plans):
    # GIVEN dev planned with delivery_mode = "stream"
    plan = plans["dev_stream"]
    # THEN the consumer runs every minute, and learns which mapping to guard from STREAM_MAPPING_UUID
    (rule,) = plan.resources("aws_cloudwatch_event_rule").values()
    assert rule["schedule_expression"] == "rate(1 minute)"
    consumer = f"{CONSUMER}.aws_lambda_function.this"
    assert plan.unknown(consumer)["environment"][0]["variables"]["STREAM_MAPPING_UUID"] is True  # known after apply
    assert "STREAM_MAPPING_UUID" not in plans["dev"].unknown(consumer)["environment"][0]["variables"]
    # AND it may read and switch that mapping, and no longer touches the queue (Lambda's poller does)
    policy = plan.data("module.analytics_queue.data.aws_iam_policy_document.consumer")
    statements = {statement.get("sid"): statement for statement in policy["statement"]}
    assert sorted(statements["GuardTheStream"]["actions"]) == ["lambda:GetEventSourceMapping", "lambda:UpdateEventSourceMapping"]
    assert not [action for statement in policy["statement"] for action in statement["actions"] if action.startswith("sqs:")]
    # AND a batch failed in an outage stays invisible longer than the guard needs to pause the mapping
    worker = plan.resource(f"{WORKER}.aws_lambda_function.this")
    assert plan.resource(QUEUE)["visibility_timeout_seconds"] > 60 + worker["timeout"]


def test_the_stream_guard_may_switch_only_its_mapping_and_terraform_leaves_that_switch_to_it():
    """What the plan cannot show (the mapping's ARN and lifecycle are not in it), read from the module's code."""
    from ops import hcl

    document = hcl.load(tf.INFRA / "modules" / "analytics_queue" / "main.tf")
    # GIVEN the consumer's policy: the guard's statement names the stream's mapping, no other resource
    policy = hcl.plain(hcl.resource(document, "aws_iam_policy_document", "consumer", kind="data"))
    (guard,) = [d["statement"]["content"][0] for d in policy["dynamic"] if d["statement"]["content"][0]["sid"] == "GuardTheStream"]
    assert guard["resources"] == ["${aws_lambda_event_source_mapping.stream[0].arn}"]
    # AND the mapping: the guard disables it during an outage; a later apply must not enable it behind its back
    mapping = hcl.plain(hcl.resource(document, "aws_lambda_event_source_mapping", "stream"))
    assert mapping["lifecycle"][0]["ignore_changes"] == ["enabled"]


def test_schedule_mode_is_unchanged_by_the_stream_option(dev_plan):
    # GIVEN dev planned with the default delivery mode
    # THEN there is no event source mapping, the consumer runs every 5 minutes, and the queue's timeouts are as before
    assert dev_plan.resources("aws_lambda_event_source_mapping") == {}
    (rule,) = dev_plan.resources("aws_cloudwatch_event_rule").values()
    assert rule["schedule_expression"] == "rate(5 minutes)"
    assert dev_plan.resource(QUEUE)["visibility_timeout_seconds"] == 280 * 2 + 30
    policy = dev_plan.data("module.analytics_queue.data.aws_iam_policy_document.worker")
    assert not [a for s in policy["statement"] for a in s["actions"] if a.startswith("sqs:")]
    consumer = dev_plan.data("module.analytics_queue.data.aws_iam_policy_document.consumer")
    assert [s["sid"] for s in consumer["statement"]] == ["DrainTheQueue", "DecryptQueuedMessages", "InvokeTheWorker"]


def test_stream_settings_are_checked(refusals):
    code, output = refusals["stream batch without a window"]
    assert code != 0 and "needs a stream_batching_window_seconds of at least 1" in flat(output)
    code, output = refusals["unknown delivery mode"]
    assert code != 0 and 'delivery_mode must be "schedule" or "stream"' in flat(output)


# ------------------------------------------- Terraform and the worker agree ---


@pytest.mark.parametrize("plan_name, guards", [("dev", False), ("dev_stream", True)])
def test_the_consumers_settings_read_the_planned_environment(plans, plan_name, guards):
    """The contract between the stage plan and functions/analytics_consumer/settings.py: the stream guard's
    mapping reaches the consumer in stream mode only, under the name its settings read."""
    from analytics_consumer.settings import settings_from_env

    # GIVEN the consumer's planned environment, its values known after apply filled in as AWS would
    consumer = plans[plan_name]
    address = f"{CONSUMER}.aws_lambda_function.this"
    (known,) = consumer.resource(address)["environment"]
    (unknown,) = consumer.unknown(address)["environment"]
    after_apply = {"SQS_URL": "https://sqs.eu-central-1.amazonaws.com/123456789012/analytics_events_dev",
                   "WORKER_LAMBDA_ARN": "arn:aws:lambda:eu-central-1:123456789012:function:analytics_worker_dev",
                   "STREAM_MAPPING_UUID": "0b1c2d3e-4f50-6172-8394-a5b6c7d8e9f0"}
    environment = {**known["variables"], **{name: after_apply[name] for name in unknown["variables"]}}
    # WHEN the consumer reads its settings from it
    settings = settings_from_env(environment)
    # THEN a run guards the mapping exactly in stream mode, and waits for worker calls as long as the worker may take
    assert (settings.stream_mapping_uuid is not None) is guards
    assert settings.worker_timeout_seconds == consumer.resource(f"{WORKER}.aws_lambda_function.this")["timeout"]


def test_the_workers_settings_accept_the_planned_environment_as_iam_auth(dev_plan):
    """The contract between the stage plan and functions/analytics_worker/settings.py, both sides real."""
    from analytics_worker.settings import settings_from_env

    # GIVEN the worker's planned environment, plus AWS_REGION as Lambda sets it
    (environment,) = dev_plan.resource(f"{WORKER}.aws_lambda_function.this")["environment"]
    # WHEN the worker reads its settings from it
    settings = settings_from_env({**environment["variables"], "AWS_REGION": tf.REGION})
    # THEN it signs in with IAM auth as the writer role the policy allows, over TLS, into the stage's schema
    assert settings.describe() == {
        "database_mode": "iam", "host": tf.SHARED_OUTPUTS["db_address"], "port": 5432, "dbname": "analytics",
        "user": "analytics_dev_writer", "region": tf.REGION, "sslmode": "require", "schema": "analytics_dev",
    }
