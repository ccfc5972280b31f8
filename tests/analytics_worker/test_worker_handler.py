"""The Lambda handler: settings from the environment, its log lines, and what a caller gets back."""
import json
import os
import subprocess
import sys

import boto3
import pytest
from moto import mock_aws

from analytics_worker.database import connection_parameters, database_url_from_secret
from analytics_worker.settings import SecretAuth, SettingsError, mask_password
from ops.functions import ROOT, load_handler_module
from ops.lambdas import LocalContext
from worker_samples import event, raw_body


@pytest.fixture
def handler(monkeypatch):
    """The handler module as a new container sees it: no settings read, no connection, no call served yet."""
    module = load_handler_module("analytics_worker")
    for name in ("DB_URL", "DB_SECRET_ARN", "DB_SCHEMA", "DB_HOST", "DB_PORT", "DB_NAME", "DB_USER", "DB_SSLROOTCERT"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setattr(module, "_container", {})
    monkeypatch.setattr(module.log, "_calls_served", 0)
    return module


@pytest.fixture
def configured(handler, migrated_db, monkeypatch):
    monkeypatch.setenv("DB_URL", migrated_db.url)
    monkeypatch.setenv("DB_SCHEMA", migrated_db.schema)
    return handler


def call(handler, payload):
    return handler.main(payload, LocalContext("analytics_worker_test"))


def log_records(capsys):
    return [json.loads(line) for line in capsys.readouterr().out.splitlines()]


def test_an_incomplete_event_is_rejected_not_raised(configured, migrated_db):
    # WHEN the operator's example payload is invoked
    result = call(configured, json.loads('[{"event_id": "12"}]'))
    # THEN the item is rejected with a reason, and the counts come back
    assert result == {"processed": 1, "stored": 0, "duplicates": 0, "rejected": 1}
    assert migrated_db.query(f"SELECT reason, event_id FROM {migrated_db.schema}.rejected_events") == [
        ("missing required fields: event_timestamp, event_type", "12")
    ]


def test_each_call_logs_json_lines_with_request_id_and_cold_start(configured, migrated_db, capsys):
    # GIVEN a new container
    first, second = LocalContext("analytics_worker_test"), LocalContext("analytics_worker_test")
    # WHEN it serves two calls
    configured.main([raw_body(event())], first)
    configured.main([raw_body(event()), "not json"], second)
    settings_line, first_summary, second_summary = log_records(capsys)
    # THEN the first call says, once, how the worker reaches its database (the URL's password masked)
    assert settings_line["message"] == "analytics_worker settings"
    assert settings_line["database_mode"] == "url" and settings_line["schema"] == migrated_db.schema
    assert settings_line["url"] == mask_password(migrated_db.url)
    # AND each call's summary is one record with its request id; only the first call is a cold start
    assert first_summary == {
        "level": "INFO", "message": "batch stored", "service": "analytics_worker",
        "request_id": first.aws_request_id, "cold_start": True,
        "processed": 1, "stored": 1, "duplicates": 0, "rejected": 0,
    }
    assert settings_line["request_id"] == first.aws_request_id and settings_line["cold_start"] is True
    assert (second_summary["request_id"], second_summary["cold_start"]) == (second.aws_request_id, False)
    assert (second_summary["stored"], second_summary["rejected"]) == (1, 1)


def test_a_payload_that_is_not_a_list_is_refused_clearly_and_logged(configured, capsys):
    context = LocalContext("analytics_worker_test")
    with pytest.raises(TypeError, match=r"expects a JSON list of events or message bodies, or an SQS event \{\"Records\": \[...\]\}, got a dict without Records"):
        configured.main({"event_id": "12"}, context)
    (record,) = log_records(capsys)
    assert (record["level"], record["message"], record["request_id"]) == ("ERROR", "call failed", context.aws_request_id)
    assert record["error"].startswith("TypeError: analytics_worker expects a JSON list")


def test_a_bad_schema_name_is_refused_before_any_sql(handler, migrated_db, monkeypatch):
    monkeypatch.setenv("DB_URL", migrated_db.url)
    monkeypatch.setenv("DB_SCHEMA", "analytics; DROP TABLE events")
    with pytest.raises(SettingsError, match="DB_SCHEMA='analytics; DROP TABLE events' is not a valid name"):
        call(handler, [raw_body(event())])


def test_a_settings_error_is_reported_on_every_call_until_the_environment_is_fixed(handler, migrated_db, monkeypatch):
    # GIVEN a container started without any database setting
    for _ in range(2):
        with pytest.raises(SettingsError, match="None of DB_HOST, DB_URL, DB_SECRET_ARN is set"):
            call(handler, [raw_body(event())])
    # WHEN the environment is fixed THEN the next call stores (nothing wrong was kept)
    monkeypatch.setenv("DB_URL", migrated_db.url)
    monkeypatch.setenv("DB_SCHEMA", migrated_db.schema)
    assert call(handler, [raw_body(event())])["stored"] == 1


def test_the_database_url_can_come_from_secrets_manager(handler, migrated_db, monkeypatch, capsys):
    # GIVEN the database URL in a Secrets Manager secret
    with mock_aws():
        monkeypatch.setenv("AWS_DEFAULT_REGION", "eu-central-1")
        secrets = boto3.client("secretsmanager", region_name="eu-central-1")
        arn = secrets.create_secret(Name="analytics/test/worker", SecretString=migrated_db.url)["ARN"]
        monkeypatch.setenv("DB_SECRET_ARN", arn)
        monkeypatch.setenv("DB_SCHEMA", migrated_db.schema)
        # WHEN the handler runs THEN it stores through that URL, and says it runs in secret mode
        assert call(handler, [raw_body(event())])["stored"] == 1
    assert log_records(capsys)[0]["database_mode"] == "secret"


def test_a_url_built_from_rds_style_json_quotes_the_password():
    with mock_aws():
        secrets = boto3.client("secretsmanager", region_name="eu-central-1")
        secret = json.dumps({"username": "worker", "password": "p@ss:w/rd", "host": "db.internal", "port": 5433})
        arn = secrets.create_secret(Name="analytics/test/worker", SecretString=secret)["ARN"]
        parameters = connection_parameters(SecretAuth(arn), lambda service, region: secrets)
        assert parameters() == {"dsn": "postgresql://worker:p%40ss%3Aw%2Frd@db.internal:5433/postgres"}


def test_a_secret_of_the_wrong_shape_is_named_in_the_error():
    with pytest.raises(SettingsError, match="DB_SECRET_ARN='arn:secret': the secret must hold a postgresql:// URL or JSON"):
        database_url_from_secret('{"user": "x"}', "arn:secret")


def test_with_a_url_the_worker_runs_without_boto3(migrated_db):
    # GIVEN a fresh interpreter that sees the worker's folder as Lambda does (boto3 is not in the zip)
    environment = {**os.environ, "DB_URL": migrated_db.url, "DB_SCHEMA": migrated_db.schema}
    script = (
        "import sys, json, main\n"
        "print(main.main([json.dumps({'event_id': 'e1', 'event_timestamp': '2026-11-28T10:15:00Z', 'event_type': 't'})], None))\n"
        "assert 'boto3' not in sys.modules and 'botocore' not in sys.modules, 'boto3 was imported'\n"
    )
    # WHEN it stores a batch through DB_URL THEN it never imports boto3
    done = subprocess.run([sys.executable, "-c", script], cwd=ROOT / "functions" / "analytics_worker", env=environment,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert "'stored': 1" in done.stdout
