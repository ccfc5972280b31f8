"""RDS IAM database authentication: what the worker's connection carries, and its reconnect with a fresh token.

No AWS call is made: botocore signs tokens offline with dummy credentials, and Python may
open no socket while these tests run (libpq's connection to the test database is made in C).
"""
import socket

import psycopg2
import pytest
from psycopg2.extensions import parse_dsn

from analytics_worker.database import APPLICATION_NAME, ReusableConnection, aws_client, connection_parameters
from analytics_worker.settings import settings_from_env
from analytics_worker.store import store_batch
from rds_tokens import ACCESS_KEY, SECRET_KEY, read_token
from worker_samples import event, raw_body

RDS_HOST = "analytics-shared.c9akciq32.eu-central-1.rds.amazonaws.com"
IAM_ENVIRONMENT = {
    "DB_HOST": RDS_HOST,
    "DB_PORT": "5432",
    "DB_NAME": "analytics",
    "DB_USER": "analytics_dev_writer",
    "DB_SCHEMA": "analytics_test",
    "AWS_REGION": "eu-central-1",
}


@pytest.fixture
def offline_aws(monkeypatch, tmp_path):
    """Dummy credentials from the environment only, and no socket opened from Python."""
    for name in ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_ENDPOINT_URL", "AWS_DEFAULT_REGION"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", ACCESS_KEY)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", SECRET_KEY)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "no-config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "no-credentials"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")

    def no_network(sock, address):
        raise AssertionError(f"the worker tried to reach the network from Python: {address}")

    monkeypatch.setattr(socket.socket, "connect", no_network)


class CountingRdsClient:
    """The real boto3 RDS client (offline signing), remembering each token it signed."""

    def __init__(self, region):
        self._client = aws_client("rds", region)
        self.tokens = []

    def generate_db_auth_token(self, **arguments):
        token = self._client.generate_db_auth_token(**arguments)
        self.tokens.append(token)
        return token


class Unreachable(psycopg2.OperationalError):
    pass


def first_connection_arguments(environ):
    """The keyword arguments of the first connection the worker opens with these settings."""
    settings = settings_from_env(environ)
    opened = []

    def connect(**arguments):
        opened.append(arguments)
        raise Unreachable("the test stops at the first connection")

    with pytest.raises(Unreachable):
        ReusableConnection(connection_parameters(settings.database), connect=connect).run(lambda connection: None)
    return opened[0]


def test_with_iam_auth_the_password_is_a_token_signed_for_host_port_user_and_region_and_tls_is_required(offline_aws):
    # GIVEN the worker's IAM settings, as Terraform sets them in AWS
    # WHEN it opens its connection
    arguments = first_connection_arguments(IAM_ENVIRONMENT)
    # THEN it connects to the RDS endpoint as its role, with TLS required
    assert {key: arguments[key] for key in ("host", "port", "dbname", "user", "sslmode")} == {
        "host": RDS_HOST, "port": 5432, "dbname": "analytics", "user": "analytics_dev_writer", "sslmode": "require",
    }
    assert "sslrootcert" not in arguments
    assert arguments["application_name"] == APPLICATION_NAME and arguments["connect_timeout"] == 10
    # AND its password is an RDS token signed (validly) for that host, port, user and region, for rds-db, 15 minutes
    token = read_token(arguments["password"])
    assert (token.host, token.port, token.user, token.region) == (RDS_HOST, 5432, "analytics_dev_writer", "eu-central-1")
    assert (token.service, token.access_key, token.expires_seconds) == ("rds-db", ACCESS_KEY, 900)
    assert token.signature_is_valid


def test_a_token_for_another_port_user_or_region_does_not_pass_as_this_one(offline_aws):
    # GIVEN settings that differ in port, user and region
    other = {**IAM_ENVIRONMENT, "DB_PORT": "6543", "DB_USER": "someone_else", "AWS_REGION": "us-east-1"}
    # WHEN the worker connects THEN its token names exactly those
    token = read_token(first_connection_arguments(other)["password"])
    assert (token.port, token.user, token.region) == (6543, "someone_else", "us-east-1")
    # AND a token whose text was altered no longer verifies (the check can fail)
    tampered = first_connection_arguments(IAM_ENVIRONMENT)["password"].replace("DBUser=analytics_dev_writer", "DBUser=admin")
    assert not read_token(tampered).signature_is_valid


def test_with_a_ca_bundle_the_connection_verifies_the_servers_certificate_and_name(offline_aws, tmp_path):
    # GIVEN DB_SSLROOTCERT names a CA bundle (e.g. RDS's global-bundle.pem in the zip)
    bundle = tmp_path / "global-bundle.pem"
    bundle.write_text("-----BEGIN CERTIFICATE-----\n...\n-----END CERTIFICATE-----\n")
    # WHEN the worker opens its connection
    arguments = first_connection_arguments({**IAM_ENVIRONMENT, "DB_SSLROOTCERT": str(bundle)})
    # THEN libpq verifies the certificate chain against that bundle and the host name (verify-full)
    assert (arguments["sslmode"], arguments["sslrootcert"]) == ("verify-full", str(bundle))


def test_after_the_connection_breaks_the_worker_reconnects_with_a_fresh_token(offline_aws, migrated_db):
    # GIVEN the worker in IAM mode; its connect routes the RDS host to the test database's server,
    # keeping everything else it was given (the token as password, sslmode)
    local = parse_dsn(migrated_db.url)
    if local.get("password"):
        pytest.skip("the server given by DATABASE_URL checks passwords; an IAM token only passes a trust-auth server")
    settings = settings_from_env({**IAM_ENVIRONMENT, "DB_SCHEMA": migrated_db.schema})
    rds = CountingRdsClient(settings.database.region)
    opened, connections = [], []

    def connect(**arguments):
        opened.append(arguments)
        connection = psycopg2.connect(**{**arguments, **{k: v for k, v in local.items() if k != "password"}})
        connections.append(connection)
        return connection

    worker = ReusableConnection(connection_parameters(settings.database, lambda service, region: rds), connect=connect)
    assert worker.run(lambda c: store_batch(c, settings.schema, [raw_body(event(event_id="before"))])).stored == 1

    # WHEN the database drops the worker's connection (a failover, an idle timeout) and the next call comes
    migrated_db.query("SELECT pg_terminate_backend(%s)", (connections[0].get_backend_pid(),))
    result = worker.run(lambda c: store_batch(c, settings.schema, [raw_body(event(event_id="after"))]))

    # THEN the call succeeds on a second connection, opened with a second, freshly signed token
    assert result.stored == 1 and connections[0].closed
    assert len(opened) == 2 and len(rds.tokens) == 2
    assert [arguments["password"] for arguments in opened] == rds.tokens
    for arguments in opened:
        token = read_token(arguments["password"])
        assert token.signature_is_valid and (token.host, token.user) == (RDS_HOST, "analytics_dev_writer")
        assert arguments["sslmode"] == "require"
    assert migrated_db.query(f"SELECT event_id FROM {migrated_db.schema}.events ORDER BY event_id") == [
        ("after",), ("before",)
    ]
