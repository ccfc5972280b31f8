"""Alembic environment: every object, the version table included, lives in one schema chosen at run time."""
import os
import re
from logging.config import fileConfig

from alembic import context
from sqlalchemy import create_engine, pool, text

SCHEMA_NAME = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")


def _setting(key, env_var):
    value = context.get_x_argument(as_dictionary=True).get(key) or os.environ.get(env_var)
    if not value:
        raise SystemExit(f"No {key} given: pass `-x {key}=...` or set {env_var}.")
    return value


def sqlalchemy_url(libpq_url):
    """A libpq URL (postgresql://...) for SQLAlchemy, with the psycopg2 driver the project ships."""
    scheme, sep, rest = libpq_url.partition("://")
    if scheme in ("postgres", "postgresql"):
        return f"postgresql+psycopg2://{rest}"
    return libpq_url


def run_migrations_online():
    url = context.config.attributes.get("url") or _setting("url", "DATABASE_URL")
    schema = context.config.attributes.get("schema") or _setting("schema", "DB_SCHEMA")
    if not SCHEMA_NAME.match(schema):
        raise SystemExit(f"Invalid schema name {schema!r}: use lower-case letters, digits and _ (at most 63).")

    engine = create_engine(sqlalchemy_url(url), poolclass=pool.NullPool)
    try:
        with engine.connect() as connection:
            connection.execute(text(f'CREATE SCHEMA IF NOT EXISTS "{schema}"'))
            # Unqualified names in the migrations resolve to the target schema only.
            connection.execute(text(f'SET search_path TO "{schema}"'))
            connection.commit()
            context.configure(
                connection=connection,
                version_table_schema=schema,
                transaction_per_migration=True,
            )
            with context.begin_transaction():
                context.run_migrations()
    finally:
        engine.dispose()


if context.config.config_file_name:
    fileConfig(context.config.config_file_name, disable_existing_loggers=False)
if context.is_offline_mode():
    raise SystemExit("Offline (--sql) mode is not supported: run against a database.")
run_migrations_online()
