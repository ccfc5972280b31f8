"""`inv migrate`, `inv psql` and `inv reader-password`: the stage's database."""
import base64
import hashlib
import hmac
import os
import re
import shutil
import stringprep
import unicodedata

from invoke import Exit

from ops import migrations
from ops.stage import mask, password_of, with_credentials

# One home for what a good reader password is (the Terraform side only sees its verifier).
MIN_PASSWORD_LENGTH = 16
PLACEHOLDER = re.compile(r"change.?me|placeholder|example|password|secret|xxxx", re.IGNORECASE)

PSQL_HINT = (
    "psql is not installed: install the PostgreSQL client "
    "(Debian/Ubuntu: `sudo apt-get install postgresql-client`, macOS: `brew install libpq`)."
)


def migrate(stage, revision="head", out=None):
    url, schema = stage.database_url("admin"), stage.get("schema")
    if out is not None:
        print(f"Migrating schema {schema} at {mask(url)} to {revision}", file=out)
    try:
        migrations.upgrade(url, schema, revision)
    except Exception as error:  # alembic and psycopg2 raise many kinds; all mean the same to the operator
        raise Exit(f"Migration of {schema} to {revision} failed: {type(error).__name__}: {error}".rstrip()) from None


def psql_command(url):
    """(argv, extra environment) for psql: the password travels in PGPASSWORD (decoded), not on the command line."""
    password = password_of(url)
    if password is None:
        return ["psql", url], {}
    return ["psql", with_credentials(url, None)], {"PGPASSWORD": password}


def psql(stage, role):
    """Replace this process with psql connected as `role`."""
    if shutil.which("psql") is None:
        raise Exit(PSQL_HINT)
    argv, extra = psql_command(stage.database_url(role))
    os.execvpe("psql", argv, {**os.environ, **extra})


def reader_password_verifier(password):
    """The SCRAM-SHA-256 verifier of a reader password, for the shared root's reader_password_scrams.

    Postgres stores a verifier given as the password as is, so the clear password never reaches
    Terraform's state, a plan or the database's log. A short or placeholder password is refused.
    """
    if len(password) < MIN_PASSWORD_LENGTH:
        raise Exit(f"The password is too short: use at least {MIN_PASSWORD_LENGTH} characters (a passphrase or a generated one).")
    if PLACEHOLDER.search(password) or len(set(password)) < 8:
        raise Exit("The password looks like a placeholder or is weak (a word such as CHANGE-ME or password, or fewer than 8 different characters): choose another.")
    return scram_sha_256_verifier(password)


def scram_sha_256_verifier(password, salt=None, iterations=4096):
    """What Postgres stores for a password under scram-sha-256 (RFC 5802 / 7677), made without a server."""
    salt = os.urandom(16) if salt is None else salt
    salted = hashlib.pbkdf2_hmac("sha256", _saslprep(password).encode("utf-8"), salt, iterations)
    client_key = hmac.new(salted, b"Client Key", "sha256").digest()
    stored_key = hashlib.sha256(client_key).digest()
    server_key = hmac.new(salted, b"Server Key", "sha256").digest()
    b64 = lambda raw: base64.b64encode(raw).decode("ascii")  # noqa: E731
    return f"SCRAM-SHA-256${iterations}:{b64(salt)}${b64(stored_key)}:{b64(server_key)}"


def _saslprep(password):
    """SASLprep as Postgres applies it in the common cases: other spaces to a space, mapped-to-nothing dropped, NFKC."""
    if password.isascii():
        return password
    mapped = "".join(" " if stringprep.in_table_c12(c) else c for c in password if not stringprep.in_table_b1(c))
    return unicodedata.normalize("NFKC", mapped)
