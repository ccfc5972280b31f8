"""Shared fixtures: one Postgres server per session, a freshly migrated database per test.

The server is the embedded `pgserver` unless DATABASE_URL names another one (its
role must be allowed to create databases). Migrations run once, into a template
database; each test gets a copy of it (CREATE DATABASE ... TEMPLATE), which is
much faster than migrating again.
"""
import itertools
import os
import secrets
import shutil
import tempfile

import psycopg2
import pytest
from hypothesis import settings as hypothesis_settings
from invoke import Config, Context
from psycopg2 import sql

from databases import Database, server_problem, with_database
from ops import migrations
from ops.functions import ROOT
from ops.stage import mask

# In CI, Hypothesis replays the same examples every run, so a landing never hangs on a lucky draw;
# on a developer's machine it draws new ones each run and keeps finding new cases.
hypothesis_settings.register_profile("ci", derandomize=True)
if os.environ.get("CI"):
    hypothesis_settings.load_profile("ci")



@pytest.hookimpl(tryfirst=True)
def pytest_configure(config):
    """Give this run a temporary root of its own.

    pytest's default root (pytest-of-<user> in the system temp folder) is shared by every
    run on the machine and keeps only the newest three runs, so a concurrent run in
    another clone would delete this run's folders, the embedded Postgres among them.
    """
    if config.option.basetemp is None:
        config.option.basetemp = tempfile.mkdtemp(prefix="analytics-pytest-")
        config._own_basetemp = config.option.basetemp
    _check_database_url()


def _check_database_url():
    """A wrong DATABASE_URL stops the run at once, in one line, instead of failing every test that needs it."""
    url = os.environ.get("DATABASE_URL")
    if url:
        problem = server_problem(url)
        if problem:
            raise pytest.UsageError(f"DATABASE_URL {mask(url)}: {problem}")


def pytest_unconfigure(config):
    own = getattr(config, "_own_basetemp", None)
    if own:
        shutil.rmtree(own, ignore_errors=True)


TEST_SCHEMA = "analytics_test"
# Databases are named per run: two runs on one DATABASE_URL server (two clones) must not drop each other's.
RUN_ID = f"{os.getpid()}_{secrets.token_hex(3)}"
TEMPLATE_DB = f"analytics_test_{RUN_ID}_template"


def _admin(url):
    connection = psycopg2.connect(url)
    connection.autocommit = True
    return connection


@pytest.fixture(scope="session")
def postgres_url(tmp_path_factory):
    """libpq URL of a superuser (or CREATEDB role) on the session's server."""
    if os.environ.get("DATABASE_URL"):
        yield os.environ["DATABASE_URL"]
        return
    import pgserver

    server = pgserver.get_server(tmp_path_factory.mktemp("pgdata"), cleanup_mode="stop")
    yield server.get_uri()
    server.cleanup()


@pytest.fixture(scope="session")
def template_database(postgres_url):
    admin = _admin(postgres_url)
    with admin.cursor() as cursor:
        cursor.execute(sql.SQL("DROP DATABASE IF EXISTS {}").format(sql.Identifier(TEMPLATE_DB)))
        cursor.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(TEMPLATE_DB)))
    migrations.upgrade(with_database(postgres_url, TEMPLATE_DB), TEST_SCHEMA)
    yield TEMPLATE_DB
    with admin.cursor() as cursor:
        cursor.execute(sql.SQL("DROP DATABASE IF EXISTS {}").format(sql.Identifier(TEMPLATE_DB)))
    admin.close()


_database_numbers = itertools.count()


@pytest.fixture
def migrated_db(postgres_url, template_database):
    """A fresh database holding the migrated schema `analytics_test`, dropped after the test."""
    name = f"analytics_test_{RUN_ID}_{next(_database_numbers)}"
    admin = _admin(postgres_url)
    with admin.cursor() as cursor:
        cursor.execute(
            sql.SQL("CREATE DATABASE {} TEMPLATE {}").format(sql.Identifier(name), sql.Identifier(template_database))
        )
    yield Database(url=with_database(postgres_url, name), schema=TEST_SCHEMA)
    with admin.cursor() as cursor:
        cursor.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))
    admin.close()


@pytest.fixture
def ctx():
    """An invoke Context with the project's invoke.yaml, as `inv` builds it."""
    config = Config(project_location=str(ROOT))
    config.load_project()
    return Context(config=config)
