"""Store rate: the worker handler end to end against a raw COPY and a plain execute_values insert of the same rows."""
import io
import json
import os
import random
import statistics
import tempfile
from contextlib import closing, contextmanager, redirect_stdout

import psycopg2
from psycopg2 import sql
from psycopg2.extras import execute_values

from ops import migrations
from ops.bench.rounds import median_ratio, paired_rounds
from ops.events import sample_event
from ops.functions import load_handler_module

SCHEMAS = {"worker": "bench_worker", "copy": "bench_copy", "execute_values": "bench_values"}


@contextmanager
def postgres():
    """The server of DATABASE_URL, or an embedded pgserver in a temporary folder."""
    if os.environ.get("DATABASE_URL"):
        yield os.environ["DATABASE_URL"]
        return
    import pgserver

    with tempfile.TemporaryDirectory(prefix="bench-pg-") as folder:
        server = pgserver.get_server(folder, cleanup_mode="stop")
        try:
            yield server.get_uri()
        finally:
            server.cleanup()


def disable_rollup_triggers(url, schemas):
    """Turn the rollup triggers off on each schema's events and rejected_events: what is timed is the store alone."""
    with closing(psycopg2.connect(url)) as connection, connection.cursor() as cursor:
        for schema in schemas:
            for table in ("events", "rejected_events"):
                cursor.execute(sql.SQL("ALTER TABLE {} DISABLE TRIGGER USER").format(sql.Identifier(schema, table)))
        connection.commit()


def sample_bodies(count, rng):
    """`count` new events as SQS message bodies (raw message delivery: the event's JSON text)."""
    return [json.dumps(sample_event(rng=rng)) for _ in range(count)]


def _rows(bodies):
    """The rows the worker would store for these bodies, as COPY lines and as tuples."""
    from analytics_worker.items import read_item
    from analytics_worker.rows import copy_line

    lines = [copy_line(read_item(body)) for body in bodies]
    return lines, [tuple(None if value == "\\N" else value for value in line.decode()[:-1].split("\t")) for line in lines]


def measure(url, sizes=(100, 1000), rounds=7, seed=7):
    """{size: figures} for each batch size; every contender stores fresh rows into its own schema of one server."""
    for schema in SCHEMAS.values():
        migrations.upgrade(url, schema)
    # The store path alone, against a raw COPY: no rollup triggers on any contender's tables
    # (ops/bench/dashboard.py measures the worker with the rollups on against the same raw COPY).
    disable_rollup_triggers(url, SCHEMAS.values())
    worker = load_handler_module("analytics_worker")  # puts the worker's package on sys.path
    from analytics_worker.rows import EVENT_COLUMNS

    os.environ.update(DB_URL=url, DB_SCHEMA=SCHEMAS["worker"])
    rng = random.Random(seed)
    with redirect_stdout(io.StringIO()):
        worker.main(sample_bodies(10, rng), None)  # connect and warm up outside the timings
    columns = ", ".join(EVENT_COLUMNS)
    results = {}
    with closing(psycopg2.connect(url)) as connection:

        def copy_contender(size):
            lines, _ = _rows(sample_bodies(size, rng))
            data = b"".join(lines)

            def action():
                with connection.cursor() as cursor:
                    cursor.copy_expert(f"COPY {SCHEMAS['copy']}.events ({columns}) FROM STDIN", io.BytesIO(data))
                connection.commit()

            return action

        def values_contender(size):
            _, rows = _rows(sample_bodies(size, rng))

            def action():
                with connection.cursor() as cursor:
                    execute_values(
                        cursor,
                        f"INSERT INTO {SCHEMAS['execute_values']}.events ({columns}) VALUES %s ON CONFLICT DO NOTHING",
                        rows,
                        page_size=len(rows),
                    )
                connection.commit()

            return action

        def worker_contender(size):
            bodies = sample_bodies(size, rng)

            def action():
                with redirect_stdout(io.StringIO()):  # the handler's one summary line per call
                    result = worker.main(bodies, None)
                assert result["stored"] == size, result

            return action

        for size in sizes:
            times = paired_rounds(
                {
                    "worker": lambda: worker_contender(size),
                    "copy": lambda: copy_contender(size),
                    "execute_values": lambda: values_contender(size),
                },
                rounds,
            )
            results[size] = {
                "rounds": rounds,
                "worker_rows_per_s": size / statistics.median(times["worker"]),
                "copy_rows_per_s": size / statistics.median(times["copy"]),
                "execute_values_rows_per_s": size / statistics.median(times["execute_values"]),
                "worker_vs_copy": median_ratio(times["copy"], times["worker"]),
                "execute_values_vs_copy": median_ratio(times["copy"], times["execute_values"]),
            }
    return results
