"""A BI tool reaches the local stack as it would reach RDS: TCP on 127.0.0.1, a password, the read-only reader.

The stack here runs its own embedded Postgres (not the session's server) so that TCP and
pg_hba.conf are the stack's own, exactly as `inv local` sets them up."""
import contextlib
import io
import random
import shutil
import subprocess

import psycopg2
import pytest
import sqlalchemy
from local_fixtures import dumps, publish

from ops import migrations
from ops.events import demo_events, invalid_event
from ops.local_stack.stack import LocalStack
from ops.local_stack.postgres import free_port

VIEWS = ("daily_event_counts", "daily_app_event_counts", "daily_active_users", "daily_rejections")
TABLES = ("events", "rejected_events", "rollup_event_counts", "rollup_user_days", "rollup_active_users", "rollup_rejections", "rollup_settings")


@pytest.fixture(scope="module")
def embedded_stack(tmp_path_factory):
    """`inv local`'s stack with its embedded Postgres on a free TCP port, 60 events and 2 rejects stored."""
    folder = tmp_path_factory.mktemp("stack")
    stack = LocalStack(port=0, data_dir=folder, named=False, out=io.StringIO(), db_port=free_port())
    stack.start()
    try:
        rng = random.Random(4)
        invalid = [dumps(invalid_event(kind, rng=rng)[0]) for kind in ("bad_timestamp", "missing_event_id")]
        publish(stack, [dumps(event) for event in demo_events(60, rng)] + invalid)
        summary = stack.drain_once()
        assert (summary["stored"], summary["rejected"]) == (60, 2)
        # another stage's schema in the same database, and a table in public: not the reader's business
        migrations.upgrade(stack.values["admin_database_url"], "analytics_other")
        with contextlib.closing(psycopg2.connect(stack.values["admin_database_url"])) as admin, admin.cursor() as cursor:
            cursor.execute("CREATE TABLE IF NOT EXISTS public.secrets (value text); INSERT INTO public.secrets VALUES ('x')")
            admin.commit()
        yield stack
    finally:
        stack.stop()


def reader_libpq(values, password=None):
    return (
        f"host={values['dashboard_host']} port={values['dashboard_port']} dbname={values['dashboard_database']} "
        f"user={values['dashboard_user']} password={password or values['dashboard_password']}"
    )


def test_the_printed_values_are_a_tcp_login_of_the_read_only_reader(embedded_stack):
    v = embedded_stack.values
    assert (v["dashboard_host"], v["dashboard_user"]) == ("127.0.0.1", "analytics_local_reader")
    assert v["dashboard_port"] == embedded_stack.db_port
    # a wrong password is refused over TCP: password authentication, not trust
    with pytest.raises(psycopg2.OperationalError, match="password authentication failed"):
        psycopg2.connect(reader_libpq(v, password="wrong"))


@pytest.mark.skipif(shutil.which("psql") is None, reason="psql (postgresql-client) is not installed")
def test_psql_reads_every_view_with_the_printed_values(embedded_stack):
    # GIVEN the connection line `inv local` prints
    line = reader_libpq(embedded_stack.values)
    for view in VIEWS:
        # WHEN psql runs a dashboard's query with it (unqualified: the reader's search_path is the schema)
        result = subprocess.run(
            ["psql", line, "-XAt", "-c", f"SELECT count(*), sum({'active_users' if view == 'daily_active_users' else 'events' if 'event' in view else 'rejected'}) FROM {view}"],
            capture_output=True, text=True, timeout=30,
        )
        # THEN it answers
        assert result.returncode == 0, result.stderr
        rows, total = result.stdout.strip().split("|")
        assert int(rows) > 0
        if view in ("daily_event_counts", "daily_app_event_counts"):
            assert int(total) == 60
        if view == "daily_rejections":
            assert int(total) == 2


def test_sqlalchemy_reads_every_view_and_cannot_change_anything(embedded_stack):
    # GIVEN an SQLAlchemy engine (Superset's driver) with the printed values
    v = embedded_stack.values
    url = sqlalchemy.URL.create(
        "postgresql+psycopg2", username=v["dashboard_user"], password=v["dashboard_password"],
        host=v["dashboard_host"], port=v["dashboard_port"], database=v["dashboard_database"],
    )
    engine = sqlalchemy.create_engine(url, poolclass=sqlalchemy.pool.NullPool)
    try:
        with engine.connect() as connection:
            # THEN every view reads, unqualified
            for view in VIEWS:
                assert connection.execute(sqlalchemy.text(f"SELECT * FROM {view}")).fetchall()
            assert connection.execute(sqlalchemy.text("SELECT sum(events) FROM daily_event_counts")).scalar() == 60
            connection.rollback()
        # AND no table or view can be changed
        statements = []
        for table in TABLES + VIEWS:
            statements += [f"INSERT INTO {table} DEFAULT VALUES", f"UPDATE {table} SET day = day" if table.startswith(("rollup_", "daily_")) and table != "rollup_settings" else f"UPDATE {table} SET id = id" if table in ("events", "rejected_events") else f"UPDATE {table} SET time_zone = 'UTC'", f"DELETE FROM {table}"]
        statements += ["TRUNCATE events", "CREATE TABLE mine (x int)", "SELECT rollups_rebuild()"]
        # AND no other schema can be read
        statements += ["SELECT * FROM analytics_other.events", "SELECT * FROM public.secrets", "INSERT INTO analytics_other.events DEFAULT VALUES"]
        # (a view with GROUP BY is refused before privileges are checked: it cannot be written at all)
        refusals = (psycopg2.errors.InsufficientPrivilege, psycopg2.errors.ObjectNotInPrerequisiteState)
        for statement in statements:
            with engine.connect() as connection:
                with pytest.raises(sqlalchemy.exc.DBAPIError) as refused:
                    connection.execute(sqlalchemy.text(statement))
                assert isinstance(refused.value.orig, refusals), statement
    finally:
        engine.dispose()


def test_the_local_worker_stores_as_the_insert_only_writer(embedded_stack):
    # GIVEN the URL the in-process worker stores with
    writer = embedded_stack.values["writer_database_url"]
    with contextlib.closing(psycopg2.connect(writer)) as connection, connection.cursor() as cursor:
        cursor.execute("SELECT current_user, inet_server_addr() IS NOT NULL")
        # THEN it is the writer role, over TCP (as the Lambda reaches RDS)
        assert cursor.fetchone() == ("analytics_local_writer", True)
        # AND that role cannot read or change what it stored
        for statement in ("SELECT count(*) FROM events", "DELETE FROM events", "UPDATE events SET event_type = 'x'", "SELECT * FROM daily_event_counts"):
            with pytest.raises(psycopg2.errors.InsufficientPrivilege):
                cursor.execute(statement)
            connection.rollback()
    # AND the worker of the stack stored the batches with it (60 events above), rollups included
    with contextlib.closing(psycopg2.connect(embedded_stack.values["admin_database_url"])) as admin, admin.cursor() as cursor:
        cursor.execute("SELECT usename FROM pg_stat_activity WHERE application_name = 'analytics_worker'")
        assert {row[0] for row in cursor.fetchall()} == {"analytics_local_writer"}
        cursor.execute("SELECT sum(events) FROM analytics_local.rollup_event_counts")
        assert cursor.fetchone()[0] == 60
