"""Postgres helpers for tests: a handle on one test database, and URLs for other databases and roles."""
from contextlib import closing
from dataclasses import dataclass
from urllib.parse import urlsplit, urlunsplit

import psycopg2
from psycopg2 import sql


@dataclass(frozen=True)
class Database:
    url: str
    schema: str

    def connect(self):
        connection = psycopg2.connect(self.url)
        connection.autocommit = True
        return connection

    def query(self, statement, params=None):
        """Run one statement as the admin role and return all rows."""
        with closing(self.connect()) as connection, connection.cursor() as cursor:
            cursor.execute(statement, params)
            return cursor.fetchall() if cursor.description else []

    def count(self, table):
        return self.query(sql.SQL("SELECT count(*) FROM {}").format(sql.Identifier(self.schema, table)))[0][0]


def with_database(url, name):
    """The same server URL, pointing at another database."""
    parts = urlsplit(url)
    return urlunsplit(parts._replace(path="/" + name))


def server_problem(url, timeout_seconds=5):
    """None when the URL's role can log in and create databases (the tests make one per test); else what failed, in one line."""
    try:
        connection = psycopg2.connect(url, connect_timeout=timeout_seconds)
    except psycopg2.Error as error:
        return f"cannot connect: {_one_line(error)}"
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT current_user, rolsuper OR rolcreatedb FROM pg_roles WHERE rolname = current_user")
            role, may_create = cursor.fetchone()
    except psycopg2.Error as error:
        return f"cannot read the role's rights: {_one_line(error)}"
    finally:
        connection.close()
    if not may_create:
        return f"role {role} may not create databases, and the tests make one per test: ALTER ROLE {role} CREATEDB"
    return None


def _one_line(error):
    return " ".join(str(error).split())
