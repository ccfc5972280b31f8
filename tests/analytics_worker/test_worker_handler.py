"""The Lambda handler: configuration from the environment, and what a caller gets back."""
import json

import boto3
import pytest
from moto import mock_aws

from analytics_worker.database import ConfigurationError, database_url_from_secret
from ops.functions import load_handler_module
from worker_samples import event, raw_body


@pytest.fixture
def handler(monkeypatch):
    module = load_handler_module("analytics_worker")
    for name in ("DB_URL", "DB_SECRET_ARN", "DB_SCHEMA"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setattr(module, "_connection", module.new_connection())
    return module


@pytest.fixture
def configured(handler, migrated_db, monkeypatch):
    monkeypatch.setenv("DB_URL", migrated_db.url)
    monkeypatch.setenv("DB_SCHEMA", migrated_db.schema)
    return handler


def test_an_incomplete_event_is_rejected_not_raised(configured, migrated_db):
    # WHEN the operator's example payload is invoked
    result = configured.main(json.loads('[{"event_id": "12"}]'), None)
    # THEN the item is rejected with a reason, and the counts come back
    assert result == {"processed": 1, "stored": 0, "duplicates": 0, "rejected": 1}
    assert migrated_db.query(f"SELECT reason, event_id FROM {migrated_db.schema}.rejected_events") == [
        ("missing required fields: event_timestamp, event_type", "12")
    ]


def test_the_summary_is_logged_as_one_json_line(configured, capsys):
    configured.main([raw_body(event())], None)
    assert json.loads(capsys.readouterr().out.strip()) == {"processed": 1, "stored": 1, "duplicates": 0, "rejected": 0}


def test_a_payload_that_is_not_a_list_is_refused_clearly(configured):
    with pytest.raises(TypeError, match="expects a JSON list of events or message bodies, got dict"):
        configured.main({"event_id": "12"}, None)


@pytest.mark.parametrize("schema", ["Analytics", "analytics; DROP TABLE events", "a" * 64, "1abc"])
def test_a_bad_schema_name_is_refused_before_any_sql(handler, migrated_db, monkeypatch, schema):
    monkeypatch.setenv("DB_URL", migrated_db.url)
    monkeypatch.setenv("DB_SCHEMA", schema)
    with pytest.raises(ConfigurationError, match="DB_SCHEMA .* is not a valid schema name"):
        handler.main([raw_body(event())], None)


def test_without_db_url_or_secret_the_error_says_what_to_set(handler):
    with pytest.raises(ConfigurationError, match="set DB_URL .* or DB_SECRET_ARN"):
        handler.main([raw_body(event())], None)


@pytest.mark.parametrize("secret_kind", ["url", "rds json"])
def test_the_database_url_can_come_from_secrets_manager(handler, migrated_db, monkeypatch, secret_kind):
    # GIVEN the database URL in a Secrets Manager secret, as a URL or as RDS-style JSON
    with mock_aws():
        secrets = boto3.client("secretsmanager", region_name="eu-central-1")
        if secret_kind == "url":
            secret = migrated_db.url
        else:
            secret = json.dumps({"username": "worker", "password": "p@ss:w/rd", "host": "db.internal", "port": 5433})
        arn = secrets.create_secret(Name="analytics/test/worker", SecretString=secret)["ARN"]
        monkeypatch.setenv("AWS_DEFAULT_REGION", "eu-central-1")
        monkeypatch.setenv("DB_SECRET_ARN", arn)
        monkeypatch.setenv("DB_SCHEMA", migrated_db.schema)
        if secret_kind == "url":
            # WHEN the handler runs THEN it stores through that URL
            assert handler.main([raw_body(event())], None)["stored"] == 1
        else:
            # WHEN the URL is built from the JSON THEN the password is quoted
            from analytics_worker.database import database_url_from_env

            assert database_url_from_env({"DB_SECRET_ARN": arn}, lambda: secrets) == (
                "postgresql://worker:p%40ss%3Aw%2Frd@db.internal:5433/postgres"
            )


def test_a_secret_of_the_wrong_shape_is_named_in_the_error():
    with pytest.raises(ConfigurationError, match="arn:secret must hold a postgresql:// URL or JSON"):
        database_url_from_secret('{"user": "x"}', "arn:secret")
