"""One reusable connection to the worker's database, signed in as its settings say (IAM token, URL or secret).

boto3 is imported only in the IAM and secret modes, on first use: the Lambda runtime ships it,
the zip does not, and the URL mode (local stack, tests) never needs it.
"""
import json
from urllib.parse import quote

import psycopg2

from analytics_worker.settings import IamAuth, SecretAuth, SettingsError, UrlAuth

CONNECT_TIMEOUT_SECONDS = 10
APPLICATION_NAME = "analytics_worker"


def aws_client(service_name, region_name):
    import boto3  # only in the IAM and secret modes; boto3 ships with the Lambda runtime

    return boto3.client(service_name, region_name=region_name)


def connection_parameters(database, make_client=aws_client):
    """A function that returns the libpq keywords for one new connection.

    It is called for every new connection, so each IAM connection gets a fresh token
    (tokens are valid for 15 minutes, a container lives longer) and each secret
    connection reads the secret's current value (rotation). The AWS client is made
    on the first call and kept.
    """
    if isinstance(database, UrlAuth):
        return lambda: {"dsn": database.url}
    clients = []

    def client(service_name, region_name):
        if not clients:
            clients.append(make_client(service_name, region_name))
        return clients[0]

    if isinstance(database, IamAuth):

        def iam_parameters():
            token = client("rds", database.region).generate_db_auth_token(
                DBHostname=database.host, Port=database.port, DBUsername=database.user, Region=database.region
            )
            tls = {"sslmode": database.sslmode}
            if database.sslrootcert:
                tls["sslrootcert"] = database.sslrootcert
            return {
                "host": database.host,
                "port": database.port,
                "dbname": database.dbname,
                "user": database.user,
                "password": token,
                **tls,
            }

        return iam_parameters
    if isinstance(database, SecretAuth):
        region = database.secret_arn.split(":")[3]

        def secret_parameters():
            secret = client("secretsmanager", region).get_secret_value(SecretId=database.secret_arn)["SecretString"]
            return {"dsn": database_url_from_secret(secret, database.secret_arn)}

        return secret_parameters
    raise TypeError(f"unknown database settings: {type(database).__name__}")


def database_url_from_secret(secret, secret_arn="the secret"):
    """The libpq URL a secret holds: the URL itself, or one built from RDS-style JSON (password quoted)."""
    text = secret.strip()
    if text.startswith(("postgresql://", "postgres://")):
        return text
    try:
        fields = json.loads(text)
        user, password, host = fields["username"], fields["password"], fields["host"]
    except (ValueError, KeyError, TypeError):
        raise SettingsError(
            f"DB_SECRET_ARN={secret_arn!r}: the secret must hold a postgresql:// URL or JSON with "
            "username, password, host (port, dbname optional); fix the secret's value."
        ) from None
    port = fields.get("port", 5432)
    dbname = fields.get("dbname", "postgres")
    return f"postgresql://{quote(user, safe='')}:{quote(password, safe='')}@{host}:{port}/{quote(dbname, safe='')}"


class ReusableConnection:
    """One connection per container, made on first use; when it breaks during a call, reopened once and retried.

    `parameters` returns the libpq keywords of a new connection (see connection_parameters),
    or simply a libpq URL.
    Retrying the whole call is safe: the broken transaction was not committed, and storing
    is idempotent.
    """

    def __init__(self, parameters, connect=psycopg2.connect, log=None):
        self._parameters = parameters
        self._connect = connect
        self._log = log
        self._connection = None

    def run(self, work):
        for attempt in (1, 2):
            connection = self._open()
            try:
                return work(connection)
            except (psycopg2.OperationalError, psycopg2.InterfaceError) as error:
                if not connection.closed or attempt == 2:
                    raise
                self._connection = None
                if self._log is not None:
                    self._log("WARNING", "database connection broken; reconnecting once", error=str(error).strip()[:300])

    def _open(self):
        if self._connection is None or self._connection.closed:
            parameters = self._parameters()
            if isinstance(parameters, str):
                parameters = {"dsn": parameters}
            self._connection = self._connect(
                **parameters, connect_timeout=CONNECT_TIMEOUT_SECONDS, application_name=APPLICATION_NAME
            )
        return self._connection
