"""Where the database is (DB_URL or a Secrets Manager secret, DB_SCHEMA) and one reusable connection to it."""
import json
import re
from urllib.parse import quote

import psycopg2

_SCHEMA_NAME = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")


class ConfigurationError(ValueError):
    """The worker's environment does not say where or how to store events."""


def schema_from_env(environ):
    schema = environ.get("DB_SCHEMA") or "public"
    if not _SCHEMA_NAME.match(schema):
        raise ConfigurationError(
            f"DB_SCHEMA {schema!r} is not a valid schema name: use lower-case letters, digits and _ (at most 63)"
        )
    return schema


def database_url_from_env(environ, secrets_client_factory):
    """The libpq URL from DB_URL, or from the secret DB_SECRET_ARN names (a URL, or RDS-style JSON)."""
    if environ.get("DB_URL"):
        return environ["DB_URL"]
    secret_arn = environ.get("DB_SECRET_ARN")
    if not secret_arn:
        raise ConfigurationError("set DB_URL (a libpq URL) or DB_SECRET_ARN (a Secrets Manager secret holding one)")
    secret = secrets_client_factory().get_secret_value(SecretId=secret_arn)["SecretString"]
    return database_url_from_secret(secret, secret_arn)


def database_url_from_secret(secret, secret_arn="the secret"):
    text = secret.strip()
    if text.startswith(("postgresql://", "postgres://")):
        return text
    try:
        fields = json.loads(text)
        user, password, host = fields["username"], fields["password"], fields["host"]
    except (ValueError, KeyError, TypeError):
        raise ConfigurationError(
            f"{secret_arn} must hold a postgresql:// URL or JSON with username, password, host (port, dbname optional)"
        ) from None
    port = fields.get("port", 5432)
    dbname = fields.get("dbname", "postgres")
    return f"postgresql://{quote(user, safe='')}:{quote(password, safe='')}@{host}:{port}/{quote(dbname, safe='')}"


class ReusableConnection:
    """One connection per container, made on first use; when it breaks during a call, reopened once and retried.

    Retrying the whole call is safe: the broken transaction was not committed,
    and storing is idempotent.
    """

    def __init__(self, url_factory, connect=psycopg2.connect):
        self._url_factory = url_factory
        self._connect = connect
        self._connection = None

    def run(self, work):
        for attempt in (1, 2):
            connection = self._open()
            try:
                return work(connection)
            except (psycopg2.OperationalError, psycopg2.InterfaceError):
                if not connection.closed or attempt == 2:
                    raise
                self._connection = None

    def _open(self):
        if self._connection is None or self._connection.closed:
            self._connection = self._connect(
                self._url_factory(), connect_timeout=10, application_name="analytics_worker"
            )
        return self._connection
