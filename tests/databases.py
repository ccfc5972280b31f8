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
