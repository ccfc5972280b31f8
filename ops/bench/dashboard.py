"""Dashboard figures: each view (reading the rollups) against the same aggregate computed from `events`,
and the store rate of 1,000-event batches with the rollups on against a raw COPY into `events`.

The events are generated inside the database (generate_series) with the triggers and secondary
indexes off, then the indexes are built and the rollups rebuilt once: the fastest way to a
table of tens of millions of rows. Shape (as in issue 11): 90 days, 50 types, 5 apps,
100,000 users (one event in ten without a user), one rejected item per thousand events.
"""
import contextlib
import io
import os
import random
import statistics
import time
from contextlib import redirect_stdout
from datetime import date, timedelta

import psycopg2
from psycopg2 import sql

from ops import migrations
from ops.bench.rounds import median_ratio, paired_rounds
from ops.bench.store_rate import disable_rollup_triggers, sample_bodies
from ops.lambdas import patched_environ
from ops.functions import load_handler_module

SCHEMA = "bench_dashboard"
STORE_SCHEMAS = {"worker": "bench_rollups_worker", "worker_plain": "bench_rollups_off_worker", "copy": "bench_rollups_copy"}
DAYS, TYPES, APPS, USERS = 90, 50, 5, 100_000
LAST_DAY = date(2026, 11, 28)
CHUNK = 2_000_000  # rows per INSERT ... SELECT (progress between chunks)

# name: (query on the view, the same figures computed from the tables) -- the latter is 0001's view.
QUERIES = {
    "daily_event_counts, all days": (
        "SELECT day, event_type, events FROM daily_event_counts",
        "SELECT (event_timestamp AT TIME ZONE 'UTC')::date AS day, event_type, count(*) FROM events GROUP BY 1, 2",
    ),
    "daily_event_counts, last 30 days": (
        f"SELECT day, event_type, events FROM daily_event_counts WHERE day > DATE '{LAST_DAY}' - 30",
        "SELECT (event_timestamp AT TIME ZONE 'UTC')::date AS day, event_type, count(*) FROM events "
        f"WHERE event_timestamp >= (DATE '{LAST_DAY}' - 29)::timestamp AT TIME ZONE 'UTC' GROUP BY 1, 2",
    ),
    "daily_app_event_counts, all days": (
        "SELECT day, app_title, event_type, events FROM daily_app_event_counts",
        "SELECT (event_timestamp AT TIME ZONE 'UTC')::date AS day, app_title, event_type, count(*) FROM events GROUP BY 1, 2, 3",
    ),
    "daily_active_users, all days": (
        "SELECT day, active_users FROM daily_active_users",
        "SELECT (event_timestamp AT TIME ZONE 'UTC')::date AS day, count(DISTINCT user_id) FROM events "
        "WHERE user_id IS NOT NULL GROUP BY 1",
    ),
    "daily_rejections, all days": (
        "SELECT day, reason, rejected FROM daily_rejections",
        "SELECT (received_at AT TIME ZONE 'UTC')::date AS day, reason, count(*) FROM rejected_events GROUP BY 1, 2",
    ),
}

GENERATE_EVENTS = """
INSERT INTO events (event_id, event_timestamp, event_type, event_version, app_title, app_version, user_id, user_name, meta, received_at)
SELECT 'bench-' || g,
       %(end)s::timestamptz - ((g * 7919) %% %(seconds)s) * interval '1 second',
       'type_' || lpad(((g * 31) %% %(types)s)::text, 2, '0'),
       '1',
       'app_' || ((g / 3) %% %(apps)s),
       '1.0.' || (g %% 7),
       CASE WHEN g %% 10 = 0 THEN NULL ELSE 'user_' || ((g * 104729) %% %(users)s) END,
       NULL,
       '{"page": "/"}'::jsonb,
       %(end)s::timestamptz
FROM generate_series(%(first)s::bigint, %(last)s::bigint) AS g
"""

GENERATE_REJECTIONS = """
INSERT INTO rejected_events (received_at, reason, event_id, raw, raw_sha256)
SELECT %(end)s::timestamptz - ((g * 7919) %% %(seconds)s) * interval '1 second',
       (ARRAY['message body is not valid JSON', 'event_timestamp is not an ISO 8601 date-time',
              'event_type is missing', 'user_id is not a string', 'event_id is longer than 64 characters'])[1 + g %% 5],
       NULL,
       'raw ' || g,
       sha256(('raw ' || g)::bytea)
FROM generate_series(1, %(count)s) AS g
"""


def _connect(url):
    connection = psycopg2.connect(url)
    connection.autocommit = True
    return connection


def _fresh_schema(url, schema):
    with contextlib.closing(_connect(url)) as connection, connection.cursor() as cursor:
        cursor.execute(sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(sql.Identifier(schema)))
    migrations.upgrade(url, schema)


def generate(url, schema, count, out=print):
    """`count` events (and count/1000 rejections) in a freshly migrated `schema`; the rollups rebuilt after."""
    _fresh_schema(url, schema)
    end = f"{LAST_DAY + timedelta(days=1)}T00:00:00Z"
    started = time.perf_counter()
    with contextlib.closing(_connect(url)) as connection, connection.cursor() as cursor:
        cursor.execute(sql.SQL("SET search_path TO {}").format(sql.Identifier(schema)))
        cursor.execute("SET maintenance_work_mem = '512MB'")
        cursor.execute("SET synchronous_commit = off")
        cursor.execute("ALTER TABLE events DISABLE TRIGGER USER")
        cursor.execute("ALTER TABLE rejected_events DISABLE TRIGGER USER")
        cursor.execute(
            "SELECT indexname, indexdef FROM pg_indexes WHERE schemaname = %s AND tablename = 'events' "
            "AND indexname NOT IN ('events_pkey', 'events_event_id_key')",
            (schema,),
        )
        indexes = cursor.fetchall()
        for name, _ in indexes:
            cursor.execute(sql.SQL("DROP INDEX {}").format(sql.Identifier(schema, name)))
        cursor.execute("ALTER TABLE events DROP CONSTRAINT events_event_id_key")
        params = {"end": end, "seconds": DAYS * 86400, "types": TYPES, "apps": APPS, "users": USERS}
        for first in range(1, count + 1, CHUNK):
            last = min(count, first + CHUNK - 1)
            cursor.execute(GENERATE_EVENTS, {**params, "first": first, "last": last})
            out(f"  generated {last:,} of {count:,} events ({time.perf_counter() - started:.0f} s)")
        cursor.execute(GENERATE_REJECTIONS, {**params, "count": max(1, count // 1000)})
        cursor.execute("ALTER TABLE events ADD CONSTRAINT events_event_id_key UNIQUE (event_id)")
        for _, definition in indexes:
            cursor.execute(definition)
        out(f"  indexes built ({time.perf_counter() - started:.0f} s)")
        cursor.execute("ALTER TABLE events ENABLE TRIGGER USER")
        cursor.execute("ALTER TABLE rejected_events ENABLE TRIGGER USER")
        cursor.execute("SELECT rollups_rebuild()")
        cursor.execute("VACUUM ANALYZE events")
        cursor.execute("VACUUM ANALYZE rejected_events")
        for table in ("rollup_event_counts", "rollup_active_users", "rollup_rejections", "rollup_user_days"):
            cursor.execute(sql.SQL("VACUUM ANALYZE {}").format(sql.Identifier(table)))
    seconds = time.perf_counter() - started
    out(f"  rollups rebuilt, tables analysed ({seconds:.0f} s in all)")
    return seconds


def _fetch_all(cursor, query):
    cursor.execute(query)
    return cursor.fetchall()


def time_views(url, schema, rounds, raw_rounds):
    """{name: figures}: median ms of the view and of the aggregate over events, their ratio, and whether they agree."""
    results = {}
    with contextlib.closing(_connect(url)) as connection, connection.cursor() as cursor:
        cursor.execute(sql.SQL("SET search_path TO {}").format(sql.Identifier(schema)))
        for name, (view_query, raw_query) in QUERIES.items():
            _fetch_all(cursor, view_query)  # warm the cache: a dashboard refresh hits a warm server
            view_times, rows = [], None
            for _ in range(rounds):
                start = time.perf_counter()
                rows = _fetch_all(cursor, view_query)
                view_times.append(time.perf_counter() - start)
            raw_times, raw_rows = [], None
            for _ in range(raw_rounds):
                start = time.perf_counter()
                raw_rows = _fetch_all(cursor, raw_query)
                raw_times.append(time.perf_counter() - start)
            view_ms, raw_ms = statistics.median(view_times) * 1000, statistics.median(raw_times) * 1000
            results[name] = {
                "rows": len(rows),
                "view_ms": round(view_ms, 2),
                "from_events_ms": round(raw_ms, 1),
                "from_events_vs_view": round(raw_ms / view_ms, 1),
                "equal": sorted(map(repr, rows)) == sorted(map(repr, raw_rows)),
            }
    return results


def store_rate(url, rounds, size=1000, seed=11):
    """Median over paired rounds of (COPY time / worker time) for `size`-event batches: worker with rollups, raw COPY without."""
    for schema in STORE_SCHEMAS.values():
        _fresh_schema(url, schema)
    # raw COPY, and the worker without rollups (what they cost)
    disable_rollup_triggers(url, [STORE_SCHEMAS["copy"], STORE_SCHEMAS["worker_plain"]])
    worker = load_handler_module("analytics_worker")
    from analytics_worker.items import read_item
    from analytics_worker.rows import EVENT_COLUMNS, copy_line

    rng = random.Random(seed)

    def bodies():
        return sample_bodies(size, rng)

    columns = ", ".join(EVENT_COLUMNS)
    with patched_environ({"DB_URL": url, "DB_SCHEMA": STORE_SCHEMAS["worker"]}):
        with redirect_stdout(io.StringIO()):
            worker.main(bodies()[:10], None)  # connect and warm up outside the timings
        with contextlib.closing(psycopg2.connect(url)) as connection:

            def copy_contender():
                data = b"".join(copy_line(read_item(body)) for body in bodies())

                def action():
                    with connection.cursor() as cursor:
                        cursor.copy_expert(f"COPY {STORE_SCHEMAS['copy']}.events ({columns}) FROM STDIN", io.BytesIO(data))
                    connection.commit()

                return action

            def worker_contender(schema):
                def prepare():
                    batch = bodies()
                    os.environ["DB_SCHEMA"] = schema

                    def action():
                        with redirect_stdout(io.StringIO()):
                            result = worker.main(batch, None)
                        assert result["stored"] == size, result

                    return action

                return prepare

            times = paired_rounds(
                {
                    "worker": worker_contender(STORE_SCHEMAS["worker"]),
                    "worker_plain": worker_contender(STORE_SCHEMAS["worker_plain"]),
                    "copy": copy_contender,
                },
                rounds,
            )
    return {
        "rounds": rounds,
        "batch_events": size,
        "worker_with_rollups_rows_per_s": round(size / statistics.median(times["worker"])),
        "raw_copy_rows_per_s": round(size / statistics.median(times["copy"])),
        "worker_with_rollups_vs_copy": round(median_ratio(times["copy"], times["worker"]), 3),
        "worker_without_rollups_vs_copy": round(median_ratio(times["copy"], times["worker_plain"]), 3),
        "worker_with_vs_without_rollups": round(median_ratio(times["worker_plain"], times["worker"]), 3),
    }


def measure(url, events, rounds=9, out=print):
    out(f"dashboards: generating {events:,} events in the database ...")
    generate_seconds = generate(url, SCHEMA, events, out=out)
    raw_rounds = 1 if events >= 5_000_000 else 3
    out(f"dashboards: timing each view ({rounds} rounds) against its aggregate over events ({raw_rounds} rounds) ...")
    views = time_views(url, SCHEMA, rounds, raw_rounds)
    out(f"dashboards: store rate of 1,000-event batches with rollups vs raw COPY ({rounds} rounds) ...")
    store = store_rate(url, rounds)
    with contextlib.closing(_connect(url)) as connection, connection.cursor() as cursor:
        cursor.execute(sql.SQL("DROP SCHEMA {} CASCADE").format(sql.Identifier(SCHEMA)))
    return {"events": events, "generate_seconds": round(generate_seconds, 1), "views": views, "store_1000": store}


def table_rows(figures, view_goal_ms, store_goal):
    """Rows (measure, value, goal, verdict) for the bench table."""
    rows = []
    for name, view in figures["views"].items():
        rows.append((
            f"{name} at {figures['events']:,} events: view ms | from events ms",
            f"{view['view_ms']:.1f} | {view['from_events_ms']:,.1f} ({view['from_events_vs_view']:,.0f}x)"
            + ("" if view["equal"] else " DIFFER"),
            f"< {view_goal_ms} ms",
            "met" if view["view_ms"] < view_goal_ms and view["equal"] else "NOT MET",
        ))
    store = figures["store_1000"]
    rows.append((
        f"worker with rollups / raw COPY, 1000 events (median of {store['rounds']})",
        f"{store['worker_with_rollups_vs_copy']:.2f} ({store['worker_with_rollups_rows_per_s']:,} vs {store['raw_copy_rows_per_s']:,} rows/s)",
        f">= {store_goal}",
        "met" if store["worker_with_rollups_vs_copy"] >= store_goal else "NOT MET",
    ))
    rows.append((
        "  worker without rollups / raw COPY | with / without rollups",
        f"{store['worker_without_rollups_vs_copy']:.2f} | {store['worker_with_vs_without_rollups']:.2f}",
        "",
        "",
    ))
    return rows

