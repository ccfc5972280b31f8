"""The worker's settings, read from the environment (here only) by a container's first call, and checked.

Exactly one way to reach the database:

- RDS IAM database authentication (deployed stages): `DB_HOST` (the RDS endpoint's
  host name), `DB_PORT` (default 5432), `DB_NAME` (the database), `DB_USER` (a role
  granted `rds_iam`), and `AWS_REGION` (set by Lambda). The password of each new
  connection is a token boto3 signs locally (no secret, no network call). TLS is
  required: `sslmode=verify-full` against the CA bundle at `DB_SSLROOTCERT` when that
  is set (e.g. RDS's global-bundle.pem shipped in the zip), else `sslmode=require`.
- `DB_URL`: a libpq URL (`postgresql://user:password@host:port/dbname?...`), for the
  local stack, tests and any other Postgres.
- `DB_SECRET_ARN`: the ARN of a Secrets Manager secret holding such a URL or RDS-style
  JSON (`username`, `password`, `host`, optional `port`, `dbname`).

`DB_SCHEMA` (default `public`) names the schema that holds `events` and `rejected_events`.
"""
import re
from dataclasses import dataclass
from typing import ClassVar, Mapping, Optional, Union
from urllib.parse import parse_qsl, urlencode, urlsplit

from psycopg2.extensions import parse_dsn

# Postgres truncates identifiers (schema, role, database names) to NAMEDATALEN - 1 bytes.
# Terraform's rule for the worker's DB_SCHEMA must agree (tests/analytics_worker/test_worker_limits_agree.py).
POSTGRES_IDENTIFIER_MAX_BYTES = 63
DEFAULT_PORT = 5432
DEFAULT_SCHEMA = "public"

_SCHEMA_NAME = re.compile(r"^[a-z_][a-z0-9_]*$")
_ROLE_OR_DATABASE_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_$-]*$")
# A DNS name or IPv4 address: what an IAM token is signed for (botocore cannot sign for a socket path).
_HOST = re.compile(r"^[A-Za-z0-9]([A-Za-z0-9.-]{0,251}[A-Za-z0-9])?$")
_REGION = re.compile(r"^[a-z]{2}(-[a-z]+)+-\d+$")
_SECRET_ARN = re.compile(r"^arn:aws[a-z-]*:secretsmanager:[a-z0-9-]+:\d{12}:secret:\S+$")
_MASK = "***"
_QUOTED = re.compile(r'"[^"]*"')
_KEYWORD_PASSWORD = re.compile(r"(password\s*=\s*)('(?:[^'\\]|\\.)*'|\S+)")

_MODES = (
    ("DB_HOST", "RDS IAM authentication: the host name of the RDS endpoint"),
    ("DB_URL", "a libpq URL"),
    ("DB_SECRET_ARN", "a Secrets Manager secret holding the URL or RDS-style JSON"),
)
_IAM_ONLY = ("DB_PORT", "DB_NAME", "DB_USER", "DB_SSLROOTCERT")


class SettingsError(ValueError):
    """An environment variable is missing, contradicts another one, or holds a value that is not allowed."""


def mask_password(url: str) -> str:
    """The URL with its password (in the user part or a `password=` parameter) replaced by ***."""
    if "://" not in url:  # a key=value connection string
        return _KEYWORD_PASSWORD.sub(rf"\1{_MASK}", url)
    try:
        parts = urlsplit(url)
    except ValueError:  # e.g. an unbalanced [ in the host part: show nothing after the scheme
        return url.split("://", 1)[0] + "://" + _MASK
    netloc, query = parts.netloc, parts.query
    if "@" in netloc:
        user_info, host = netloc.rsplit("@", 1)
        if ":" in user_info:
            netloc = f"{user_info.split(':', 1)[0]}:{_MASK}@{host}"
    pairs = parse_qsl(query, keep_blank_values=True)
    if any(key == "password" for key, _ in pairs):
        query = urlencode([(key, _MASK if key == "password" else value) for key, value in pairs], safe="/*")
    return f"{parts.scheme}://{netloc}{parts.path}" + (f"?{query}" if query else "")


@dataclass(frozen=True)
class IamAuth:
    """Sign in to RDS with a token signed for this host, port, user and region; TLS required."""

    host: str
    port: int
    dbname: str
    user: str
    region: str
    sslrootcert: Optional[str] = None
    mode: ClassVar[str] = "iam"

    @property
    def sslmode(self) -> str:
        return "verify-full" if self.sslrootcert else "require"

    def describe(self) -> dict:
        return {
            "database_mode": self.mode,
            "host": self.host,
            "port": self.port,
            "dbname": self.dbname,
            "user": self.user,
            "region": self.region,
            "sslmode": self.sslmode,
            **({"sslrootcert": self.sslrootcert} if self.sslrootcert else {}),
        }


@dataclass(frozen=True)
class UrlAuth:
    """Connect with a libpq URL as given."""

    url: str
    mode: ClassVar[str] = "url"

    def describe(self) -> dict:
        return {"database_mode": self.mode, "url": mask_password(self.url)}

    def __repr__(self) -> str:  # dataclass keeps this one: no password in tracebacks or debug output
        return f"UrlAuth(url={mask_password(self.url)!r})"


@dataclass(frozen=True)
class SecretAuth:
    """Connect with the URL (or RDS-style JSON) held by a Secrets Manager secret, read for each new connection."""

    secret_arn: str
    mode: ClassVar[str] = "secret"

    def describe(self) -> dict:
        return {"database_mode": self.mode, "secret_arn": self.secret_arn}


DatabaseAuth = Union[IamAuth, UrlAuth, SecretAuth]


@dataclass(frozen=True)
class Settings:
    database: DatabaseAuth
    schema: str = DEFAULT_SCHEMA

    @property
    def mode(self) -> str:
        """How the worker signs in: `iam`, `url` or `secret`."""
        return self.database.mode

    def describe(self) -> dict:
        """What the cold-start log line shows: the mode and where, never a password or token."""
        return {**self.database.describe(), "schema": self.schema}


def _value(environ: Mapping[str, str], name: str) -> str:
    return (environ.get(name) or "").strip()


def check_identifier(name: str, value: str, pattern=_SCHEMA_NAME, allowed="lower-case letters, digits and _") -> str:
    """A Postgres identifier of at most POSTGRES_IDENTIFIER_MAX_BYTES bytes, made of the allowed characters."""
    size = len(value.encode())
    if size > POSTGRES_IDENTIFIER_MAX_BYTES:
        raise SettingsError(
            f"{name}={value!r} is {size} bytes long: Postgres identifiers hold at most "
            f"{POSTGRES_IDENTIFIER_MAX_BYTES} bytes; use a shorter name."
        )
    if not pattern.match(value):
        raise SettingsError(f"{name}={value!r} is not a valid name: use {allowed}, not starting with a digit.")
    return value


def _schema(environ: Mapping[str, str]) -> str:
    return check_identifier("DB_SCHEMA", _value(environ, "DB_SCHEMA") or DEFAULT_SCHEMA)


def _one_mode(environ: Mapping[str, str]) -> str:
    given = [name for name, _ in _MODES if _value(environ, name)]
    choices = "; ".join(f"{name} ({what})" for name, what in _MODES)
    if not given:
        raise SettingsError(f"None of DB_HOST, DB_URL, DB_SECRET_ARN is set: set exactly one of {choices}.")
    if len(given) > 1:
        raise SettingsError(f"{' and '.join(given)} are set together: set exactly one of {choices}.")
    if given[0] != "DB_HOST":
        stray = [name for name in _IAM_ONLY if _value(environ, name)]
        if stray:
            raise SettingsError(
                f"{', '.join(stray)} set together with {given[0]}: {', '.join(_IAM_ONLY[:-1])} and {_IAM_ONLY[-1]} apply only to RDS IAM "
                f"authentication (DB_HOST); remove them, or put what they say into the URL."
            )
    return given[0]


def _required(environ: Mapping[str, str], name: str, what: str) -> str:
    value = _value(environ, name)
    if not value:
        raise SettingsError(f"{name} is not set: with DB_HOST (RDS IAM authentication) it must hold {what}.")
    return value


def _port(environ: Mapping[str, str]) -> int:
    raw = _value(environ, "DB_PORT")
    if not raw:
        return DEFAULT_PORT
    if not raw.isdigit() or not 1 <= int(raw) <= 65535:
        raise SettingsError(f"DB_PORT={raw!r} is not a port number: allowed are 1 to 65535 (RDS Postgres: 5432).")
    return int(raw)


def _iam_auth(environ: Mapping[str, str]) -> IamAuth:
    host = _value(environ, "DB_HOST")
    if not _HOST.match(host):
        raise SettingsError(
            f"DB_HOST={host!r} is not a host name: give the RDS endpoint's address alone "
            "(e.g. analytics.abc123.eu-central-1.rds.amazonaws.com), the port in DB_PORT."
        )
    region = _value(environ, "AWS_REGION")
    if not region:
        raise SettingsError(
            "AWS_REGION is not set: Lambda sets it; elsewhere set it to the database's region "
            "(e.g. eu-central-1) to sign RDS IAM tokens."
        )
    if not _REGION.match(region):
        raise SettingsError(f"AWS_REGION={region!r} is not an AWS region name (e.g. eu-central-1).")
    sslrootcert = _value(environ, "DB_SSLROOTCERT") or None
    if sslrootcert is not None:
        try:
            with open(sslrootcert, "rb"):
                pass
        except OSError as error:
            raise SettingsError(
                f"DB_SSLROOTCERT={sslrootcert!r} cannot be read ({error.strerror}): give the path of the CA bundle "
                "that signed the database's certificate (e.g. RDS's global-bundle.pem in the zip), or unset it "
                "for sslmode=require."
            ) from None
    role_chars = "letters, digits, _, $ and -"
    dbname = _required(environ, "DB_NAME", "the database's name")
    user = _required(environ, "DB_USER", "the database role the worker signs in as (granted rds_iam)")
    return IamAuth(
        host=host,
        port=_port(environ),
        dbname=check_identifier("DB_NAME", dbname, _ROLE_OR_DATABASE_NAME, role_chars),
        user=check_identifier("DB_USER", user, _ROLE_OR_DATABASE_NAME, role_chars),
        region=region,
        sslrootcert=sslrootcert,
    )


def _url_auth(environ: Mapping[str, str]) -> UrlAuth:
    url = _value(environ, "DB_URL")
    shown = mask_password(url)
    if not url.startswith(("postgresql://", "postgres://")):
        raise SettingsError(f"DB_URL={shown!r} is not a libpq URL: it must start with postgresql://.")
    try:
        parse_dsn(url)
    except Exception as error:  # psycopg2.ProgrammingError; libpq may quote a part of the URL: left out
        reason = _QUOTED.sub('"..."', str(error).strip())
        raise SettingsError(f"DB_URL={shown!r} cannot be read as a libpq URL ({reason}).") from None
    return UrlAuth(url)


def _secret_auth(environ: Mapping[str, str]) -> SecretAuth:
    arn = _value(environ, "DB_SECRET_ARN")
    if not _SECRET_ARN.match(arn):
        raise SettingsError(
            f"DB_SECRET_ARN={arn!r} is not a Secrets Manager secret ARN "
            "(arn:aws:secretsmanager:<region>:<account>:secret:<name>)."
        )
    return SecretAuth(arn)


_READERS = {"DB_HOST": _iam_auth, "DB_URL": _url_auth, "DB_SECRET_ARN": _secret_auth}


def settings_from_env(environ: Mapping[str, str]) -> Settings:
    """Read and check the settings; raise SettingsError naming the variable, its value and what to do."""
    database = _READERS[_one_mode(environ)](environ)
    return Settings(database=database, schema=_schema(environ))
