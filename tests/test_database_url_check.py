"""A wrong DATABASE_URL stops the test run at once, in one line naming the URL (password masked) and what failed."""
import os
import subprocess
import sys

import pytest

from databases import with_database
from ops.local_stack.postgres import free_port

# One test that needs the database; before the check, a wrong URL failed it with pages of tracebacks.
NEEDS_DATABASE = "tests/analytics_worker/test_worker_store.py::test_the_connection_is_reused_between_calls"
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def run_tests_with(url):
    environment = dict(os.environ, DATABASE_URL=url)
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", NEEDS_DATABASE],
        cwd=ROOT, env=environment, capture_output=True, text=True, timeout=120,
    )


def error_lines(result):
    return [line for line in (result.stdout + result.stderr).splitlines() if line.strip()]


def test_an_unreachable_server_fails_the_run_in_one_line_with_the_url_masked():
    # GIVEN a DATABASE_URL with a password, pointing at a port where nothing listens
    port = free_port()
    url = f"postgresql://analytics:s3cret-pw@127.0.0.1:{port}/analytics"
    # WHEN the tests run
    result = run_tests_with(url)
    # THEN the run fails with one line: the URL without its password, and what failed
    assert result.returncode != 0
    lines = error_lines(result)
    assert len(lines) == 1, lines
    assert f"DATABASE_URL postgresql://analytics:****@127.0.0.1:{port}/analytics" in lines[0]
    assert "cannot connect" in lines[0] and "Connection refused" in lines[0]
    assert "s3cret-pw" not in result.stdout + result.stderr


def test_a_missing_database_fails_the_run_in_one_line(postgres_url):
    result = run_tests_with(with_database(postgres_url, "no_such_database"))
    lines = error_lines(result)
    assert result.returncode != 0 and len(lines) == 1, lines
    assert 'database "no_such_database" does not exist' in lines[0]


def test_a_role_that_cannot_create_databases_fails_the_run_in_one_line(postgres_url):
    # GIVEN a role that may log in but not create the per-test databases
    import psycopg2
    from ops.stage import with_credentials

    admin = psycopg2.connect(postgres_url)
    admin.autocommit = True
    with admin.cursor() as cursor:
        cursor.execute("DROP ROLE IF EXISTS cannot_create")
        cursor.execute("CREATE ROLE cannot_create LOGIN")
    try:
        result = run_tests_with(with_credentials(postgres_url, None, user="cannot_create"))
    finally:
        with admin.cursor() as cursor:
            cursor.execute("DROP ROLE cannot_create")
        admin.close()
    lines = error_lines(result)
    assert result.returncode != 0 and len(lines) == 1, lines
    assert "role cannot_create may not create databases" in lines[0]


@pytest.fixture
def postgres_url(postgres_url):
    if os.environ.get("DATABASE_URL"):
        pytest.skip("needs a server of its own to make a role on")
    return postgres_url
