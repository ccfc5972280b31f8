"""The worker's settings: exactly one way to the database, and errors that name the variable, the value and the fix."""
import pytest

from analytics_worker.settings import (
    POSTGRES_IDENTIFIER_MAX_BYTES,
    IamAuth,
    SecretAuth,
    SettingsError,
    UrlAuth,
    mask_password,
    settings_from_env,
)

IAM = {
    "DB_HOST": "analytics.c9akciq32.eu-central-1.rds.amazonaws.com",
    "DB_NAME": "analytics",
    "DB_USER": "analytics_dev_writer",
    "AWS_REGION": "eu-central-1",
}
SECRET_ARN = "arn:aws:secretsmanager:eu-central-1:123456789012:secret:analytics/dev/worker-AbCdEf"


def test_iam_mode_with_defaults():
    # GIVEN what Terraform sets in AWS, without DB_PORT, DB_SCHEMA or DB_SSLROOTCERT
    settings = settings_from_env(IAM)
    # THEN the worker signs in with IAM on port 5432, TLS required, into schema public
    assert settings.mode == "iam"
    assert settings.database == IamAuth(
        host=IAM["DB_HOST"], port=5432, dbname="analytics", user="analytics_dev_writer", region="eu-central-1"
    )
    assert settings.database.sslmode == "require" and settings.schema == "public"


def test_iam_mode_with_a_ca_bundle_verifies_the_server(tmp_path):
    bundle = tmp_path / "global-bundle.pem"
    bundle.write_text("certificates")
    settings = settings_from_env({**IAM, "DB_PORT": "6543", "DB_SSLROOTCERT": str(bundle), "DB_SCHEMA": "analytics_dev"})
    assert (settings.database.port, settings.database.sslmode, settings.database.sslrootcert) == (
        6543, "verify-full", str(bundle)
    )
    assert settings.schema == "analytics_dev"
    assert settings.describe()["sslmode"] == "verify-full" and settings.describe()["sslrootcert"] == str(bundle)


def test_the_cold_start_description_names_the_mode_and_never_a_password():
    # GIVEN each of the three modes
    iam = settings_from_env(IAM).describe()
    url = settings_from_env({"DB_URL": "postgresql://writer:s3cret%21@db.internal:5432/analytics"}).describe()
    secret = settings_from_env({"DB_SECRET_ARN": SECRET_ARN, "DB_SCHEMA": "analytics_dev"}).describe()
    # THEN each says how the worker signs in, and where
    assert iam == {
        "database_mode": "iam", "host": IAM["DB_HOST"], "port": 5432, "dbname": "analytics",
        "user": "analytics_dev_writer", "region": "eu-central-1", "sslmode": "require", "schema": "public",
    }
    assert url == {"database_mode": "url", "url": "postgresql://writer:***@db.internal:5432/analytics", "schema": "public"}
    assert secret == {"database_mode": "secret", "secret_arn": SECRET_ARN, "schema": "analytics_dev"}
    # AND the URL's password shows neither in the description nor in the settings' repr
    assert "s3cret" not in repr(settings_from_env({"DB_URL": "postgresql://writer:s3cret@db/analytics"}))


@pytest.mark.parametrize(
    "url, shown",
    [
        ("postgresql://writer:pw@host/db", "postgresql://writer:***@host/db"),
        ("postgresql://host/db?user=writer&password=pw&sslmode=require", "postgresql://host/db?user=writer&password=***&sslmode=require"),
        ("postgresql:///db?host=/tmp/socket", "postgresql:///db?host=/tmp/socket"),
        ("postgresql://writer@host/db", "postgresql://writer@host/db"),
        ("host=db password='it\\'s a secret' user=writer", "host=db password=*** user=writer"),
    ],
)
def test_a_url_is_shown_with_its_password_masked(url, shown):
    assert mask_password(url) == shown


@pytest.mark.parametrize(
    "environ, message",
    [
        ({}, "None of DB_HOST, DB_URL, DB_SECRET_ARN is set: set exactly one of DB_HOST (RDS IAM authentication"),
        ({**IAM, "DB_URL": "postgresql://h/d"}, "DB_HOST and DB_URL are set together: set exactly one of"),
        ({"DB_URL": "postgresql://h/d", "DB_SECRET_ARN": SECRET_ARN}, "DB_URL and DB_SECRET_ARN are set together"),
        ({"DB_URL": "postgresql://h/d", "DB_USER": "x"}, "DB_USER set together with DB_URL: DB_PORT, DB_NAME, DB_USER and"),
        ({**IAM, "DB_PORT": "fivefourthreetwo"}, "DB_PORT='fivefourthreetwo' is not a port number: allowed are 1 to 65535"),
        ({**IAM, "DB_PORT": "70000"}, "DB_PORT='70000' is not a port number"),
        ({**IAM, "DB_HOST": "postgresql://db.internal"}, "DB_HOST='postgresql://db.internal' is not a host name: give the RDS endpoint's"),
        ({**IAM, "DB_HOST": "db.internal:5432"}, "the port in DB_PORT"),
        ({**IAM, "DB_HOST": "/tmp/socket"}, "DB_HOST='/tmp/socket' is not a host name"),
        ({**IAM, "DB_USER": ""}, "DB_USER is not set: with DB_HOST (RDS IAM authentication) it must hold the database role"),
        ({**IAM, "DB_NAME": " "}, "DB_NAME is not set: with DB_HOST"),
        ({**IAM, "AWS_REGION": ""}, "AWS_REGION is not set: Lambda sets it"),
        ({**IAM, "AWS_REGION": "Frankfurt"}, "AWS_REGION='Frankfurt' is not an AWS region name"),
        ({**IAM, "DB_SSLROOTCERT": "/nowhere/global-bundle.pem"}, "DB_SSLROOTCERT='/nowhere/global-bundle.pem' cannot be read (No such file"),
        ({**IAM, "DB_USER": "writer; DROP ROLE x"}, "DB_USER='writer; DROP ROLE x' is not a valid name"),
        ({"DB_URL": "host=db user=writer password=hunter2"}, "DB_URL='host=db user=writer password=***' is not a libpq URL"),
        ({"DB_SECRET_ARN": "analytics/dev/worker"}, "DB_SECRET_ARN='analytics/dev/worker' is not a Secrets Manager secret ARN"),
        ({"DB_URL": "postgresql://h/d", "DB_SCHEMA": "Analytics"}, "DB_SCHEMA='Analytics' is not a valid name: use lower-case"),
        ({"DB_URL": "postgresql://h/d", "DB_SCHEMA": "analytics; DROP TABLE events"}, "DB_SCHEMA='analytics; DROP TABLE events' is not a valid name"),
        ({"DB_URL": "postgresql://h/d", "DB_SCHEMA": "1abc"}, "not starting with a digit"),
    ],
)
def test_a_wrong_environment_is_refused_naming_the_variable_the_value_and_the_fix(environ, message):
    with pytest.raises(SettingsError) as refused:
        settings_from_env(environ)
    assert message in str(refused.value)
    assert "hunter2" not in str(refused.value)


def test_a_url_that_libpq_cannot_read_is_refused_without_showing_its_password():
    # GIVEN a URL whose password has a bad percent-escape (libpq quotes the bad part in its message)
    with pytest.raises(SettingsError) as refused:
        settings_from_env({"DB_URL": "postgresql://writer:hunter%zz2@db.internal/analytics"})
    # THEN the error names the variable and says what is wrong, but not the password
    assert "DB_URL='postgresql://writer:***@db.internal/analytics' cannot be read as a libpq URL" in str(refused.value)
    assert "hunter" not in str(refused.value)
    # AND a URL with a password libpq can read is accepted as given
    assert settings_from_env({"DB_URL": "postgresql://writer:p%40ss@db.internal/analytics"}).database == UrlAuth(
        "postgresql://writer:p%40ss@db.internal/analytics"
    )


@pytest.mark.parametrize("variable", ["DB_SCHEMA", "DB_USER", "DB_NAME"])
def test_identifiers_may_be_as_long_as_postgres_allows_and_no_longer(variable):
    base = {**IAM, "DB_SCHEMA": "analytics_dev"}
    longest = "a" * POSTGRES_IDENTIFIER_MAX_BYTES
    assert POSTGRES_IDENTIFIER_MAX_BYTES == 63  # NAMEDATALEN - 1 in a standard Postgres build
    settings_from_env({**base, variable: longest})
    with pytest.raises(SettingsError, match=f"{variable}='a{{64}}' is 64 bytes long: Postgres identifiers hold at most 63 bytes"):
        settings_from_env({**base, variable: longest + "a"})


def test_secret_mode_keeps_the_arn():
    assert settings_from_env({"DB_SECRET_ARN": SECRET_ARN}).database == SecretAuth(SECRET_ARN)
