"""The three database roles of a stage, made on any server the way Terraform makes them on RDS.

infrastructure/modules/analytics_db makes, per stage schema `<schema>`:
  <schema>_writer  the worker: CONNECT and TEMPORARY on the database, USAGE on the schema,
                   INSERT on the tables it stores into, USAGE on their sequences; search_path = schema
  <schema>_reader  dashboards: CONNECT, USAGE on the schema, SELECT on its tables and views;
                   search_path = schema, statement_timeout
and default privileges (for the owner role that runs migrations) so that tables created later
get the same rights. The admin role is the one of the admin URL (it owns schema and tables).

Passwords are set as SCRAM-SHA-256 verifiers (ops.database, as for `inv reader-password`): the clear text never reaches the
server, so no server log or statement history can show it.
"""
import contextlib

import psycopg2
from psycopg2 import sql

from ops.database import scram_sha_256_verifier

WRITER_TABLES = ("events", "rejected_events")  # what the worker inserts into
READER_STATEMENT_TIMEOUT_MS = 60000  # analytics_db's reader_statement_timeout_ms default
ROLES = ("writer", "reader")


def role_name(schema, role):
    return f"{schema}_{role}"


def _connect(url):
    connection = psycopg2.connect(url)
    connection.autocommit = True
    return connection


def prepare(admin_url, schema, passwords):
    """Before migrations: the roles with their passwords and settings, the schema, database rights, default privileges.

    `passwords` maps "writer" and "reader" to clear-text passwords. Safe to run again.
    """
    with contextlib.closing(_connect(admin_url)) as connection, connection.cursor() as cursor:
        cursor.execute("SELECT current_database(), current_user")
        database, admin = cursor.fetchone()
        name, db, owner = sql.Identifier(schema), sql.Identifier(database), sql.Identifier(admin)
        writer, reader = (sql.Identifier(role_name(schema, role)) for role in ROLES)
        for role in ROLES:
            ident = sql.Identifier(role_name(schema, role))
            cursor.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", (role_name(schema, role),))
            if cursor.fetchone() is None:
                cursor.execute(sql.SQL("CREATE ROLE {} LOGIN").format(ident))
            cursor.execute(
                sql.SQL("ALTER ROLE {} LOGIN PASSWORD {}").format(ident, sql.Literal(scram_sha_256_verifier(passwords[role])))
            )
            cursor.execute(sql.SQL("ALTER ROLE {} SET search_path = {}").format(ident, name))
        cursor.execute(
            sql.SQL("ALTER ROLE {} SET statement_timeout = {}").format(reader, sql.Literal(READER_STATEMENT_TIMEOUT_MS))
        )
        cursor.execute(sql.SQL("CREATE SCHEMA IF NOT EXISTS {}").format(name))
        cursor.execute(sql.SQL("GRANT CONNECT, TEMPORARY ON DATABASE {} TO {}").format(db, writer))
        cursor.execute(sql.SQL("GRANT CONNECT ON DATABASE {} TO {}").format(db, reader))
        cursor.execute(sql.SQL("GRANT USAGE ON SCHEMA {} TO {}, {}").format(name, writer, reader))
        for statement in (
            "ALTER DEFAULT PRIVILEGES FOR ROLE {owner} IN SCHEMA {schema} GRANT INSERT ON TABLES TO {writer}",
            "ALTER DEFAULT PRIVILEGES FOR ROLE {owner} IN SCHEMA {schema} GRANT USAGE ON SEQUENCES TO {writer}",
            "ALTER DEFAULT PRIVILEGES FOR ROLE {owner} IN SCHEMA {schema} GRANT SELECT ON TABLES TO {reader}",
        ):
            cursor.execute(sql.SQL(statement).format(owner=owner, schema=name, writer=writer, reader=reader))


def grant_existing(admin_url, schema):
    """After migrations: rights on what exists already (as Terraform's grants on a migrated schema)."""
    with contextlib.closing(_connect(admin_url)) as connection, connection.cursor() as cursor:
        name = sql.Identifier(schema)
        writer, reader = (sql.Identifier(role_name(schema, role)) for role in ROLES)
        tables = sql.SQL(", ").join(sql.Identifier(schema, table) for table in WRITER_TABLES)
        cursor.execute(sql.SQL("GRANT INSERT ON {} TO {}").format(tables, writer))
        cursor.execute(sql.SQL("GRANT USAGE ON ALL SEQUENCES IN SCHEMA {} TO {}").format(name, writer))
        cursor.execute(sql.SQL("GRANT SELECT ON ALL TABLES IN SCHEMA {} TO {}").format(name, reader))
