"""`inv migrate` and `inv psql`: the stage's database."""
import os
import shutil
from urllib.parse import urlsplit

from invoke import Exit

from ops import migrations
from ops.stage import mask, with_credentials

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
    """(argv, extra environment) for psql: the password travels in PGPASSWORD, not on the command line."""
    password = urlsplit(url).password
    if password is None:
        return ["psql", url], {}
    return ["psql", with_credentials(url, None)], {"PGPASSWORD": password}


def psql(stage, role):
    """Replace this process with psql connected as `role`."""
    if shutil.which("psql") is None:
        raise Exit(PSQL_HINT)
    argv, extra = psql_command(stage.database_url(role))
    os.execvpe("psql", argv, {**os.environ, **extra})
