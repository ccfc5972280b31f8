"""Retention and erasure: `inv prune --before DATE` and `inv forget-user USER_ID`.

Both run as the stage's admin role and delete in bounded batches, one short transaction each,
so the worker is never locked out for long. The AFTER DELETE triggers of migration 0002 take
the deleted rows out of the rollups in the same transaction, so the dashboards stay exact at
every step. Running either again finds nothing left and changes nothing.
"""
import contextlib
import json
import time
from dataclasses import dataclass
from datetime import date

import psycopg2
from invoke import Exit
from psycopg2 import errors, sql

from ops.functions import load_handler_module

_RETRYABLE = (errors.DeadlockDetected, errors.SerializationFailure, errors.LockNotAvailable)
_ATTEMPTS = 5


@dataclass
class Removed:
    events: int = 0
    rejected: int = 0
    batches: int = 0

    def describe(self):
        return f"{self.events} events and {self.rejected} rejected items removed in {self.batches} batches"


def parse_date(text):
    try:
        return date.fromisoformat(text)
    except (TypeError, ValueError):
        raise Exit(f"--before {text!r} is not a date: give it as YYYY-MM-DD (e.g. --before 2026-01-01).") from None


def confirm(env, confirm_stages, yes, ask=None):
    """On stages that need it (prod), the operator types the stage's name unless --yes was given."""
    if yes or env not in confirm_stages:
        return
    ask = ask or input
    try:
        answer = ask(f"This deletes data from stage {env!r} for good. Type {env} to go on: ")
    except EOFError:
        answer = ""
    if answer.strip() != env:
        raise Exit(f"Not confirmed: nothing deleted. Type {env} at the prompt, or pass --yes in scripts.")


def _connect(url):
    try:
        return psycopg2.connect(url, application_name="analytics_retention")
    except psycopg2.OperationalError as error:
        raise Exit(f"Cannot connect to the stage's database as admin: {str(error).strip()}") from None


def _in_batches(connection, statement, params, on_batch):
    """Run a DELETE ... RETURNING-less statement that removes at most one batch, until it removes nothing."""
    total = 0
    while True:
        for attempt in range(1, _ATTEMPTS + 1):
            try:
                with connection.cursor() as cursor:
                    cursor.execute(statement, params)
                    removed = cursor.rowcount
                connection.commit()
                break
            except _RETRYABLE:
                connection.rollback()
                if attempt == _ATTEMPTS:
                    raise
                time.sleep(0.1 * attempt)
        if removed <= 0:
            return total
        total += removed
        on_batch(removed)


def prune(admin_url, schema, before, batch_size, out=print):
    """Delete events before the start of day `before` (in the rollups' time zone) and rejections received before it."""
    removed = Removed()
    with contextlib.closing(_connect(admin_url)) as connection:
        with connection.cursor() as cursor:
            cursor.execute(sql.SQL("SELECT time_zone FROM {}").format(sql.Identifier(schema, "rollup_settings")))
            (zone,) = cursor.fetchone()
            cursor.execute("SELECT %s::timestamp AT TIME ZONE %s", (before, zone))
            (cutoff,) = cursor.fetchone()
        connection.commit()
        out(f"pruning {schema}: events before {before} 00:00 {zone} ({cutoff.isoformat()}), {batch_size} per batch")

        def batch(kind):
            def counted(n):
                removed.batches += 1
                setattr(removed, kind, getattr(removed, kind) + n)
            return counted

        _in_batches(
            connection,
            sql.SQL(
                "DELETE FROM {events} WHERE id IN "
                "(SELECT id FROM {events} WHERE event_timestamp < %s ORDER BY event_timestamp LIMIT %s)"
            ).format(events=sql.Identifier(schema, "events")),
            (cutoff, batch_size),
            batch("events"),
        )
        _in_batches(
            connection,
            sql.SQL(
                "DELETE FROM {rejected} WHERE id IN "
                "(SELECT id FROM {rejected} WHERE received_at < %s ORDER BY received_at LIMIT %s)"
            ).format(rejected=sql.Identifier(schema, "rejected_events")),
            (cutoff, batch_size),
            batch("rejected"),
        )
    out(f"pruned {schema}: {removed.describe()}")
    return removed


def readable_user_id(raw):
    """The user_id a rejected item's raw text holds, where it can be read (event JSON, or an SNS envelope of one)."""
    load_handler_module("analytics_worker")  # the worker's own envelope rule: one home
    from analytics_worker.items import is_sns_envelope

    try:
        document = json.loads(raw)
        if isinstance(document, dict) and is_sns_envelope(document) and isinstance(document.get("Message"), str):
            document = json.loads(document["Message"])
    except (ValueError, TypeError, RecursionError):
        return None
    if isinstance(document, dict):
        value = document.get("user_id")
        return value if isinstance(value, str) else None
    return None


def forget_user(admin_url, schema, user_id, batch_size, out=print):
    """Delete every event of `user_id` and every rejected item whose raw text names that user_id."""
    if not user_id:
        raise Exit("Name the user: inv forget-user USER_ID --env STAGE.")
    removed = Removed()
    events, rejected = sql.Identifier(schema, "events"), sql.Identifier(schema, "rejected_events")
    with contextlib.closing(_connect(admin_url)) as connection:

        def counted_events(n):
            removed.batches += 1
            removed.events += n

        _in_batches(
            connection,
            sql.SQL("DELETE FROM {events} WHERE id IN (SELECT id FROM {events} WHERE user_id = %s LIMIT %s)").format(events=events),
            (user_id, batch_size),
            counted_events,
        )
        # Rejected items keep only their raw text: read the user id out of each (usually few of them).
        matching = []
        with connection.cursor(name="rejected_scan") as scan:
            scan.itersize = 5000
            scan.execute(sql.SQL("SELECT id, raw FROM {} ORDER BY id").format(rejected))
            for row_id, raw in scan:
                if readable_user_id(raw) == user_id:
                    matching.append(row_id)
        connection.commit()
        for start in range(0, len(matching), batch_size):
            ids = matching[start:start + batch_size]

            def counted_rejected(n):
                removed.batches += 1
                removed.rejected += n

            _in_batches(
                connection,
                sql.SQL("DELETE FROM {} WHERE id = ANY(%s)").format(rejected),
                (ids,),
                counted_rejected,
            )
    out(f"forgot user {user_id!r} in {schema}: {removed.describe()}")
    return removed


def set_time_zone(admin_url, schema, zone, out=print):
    """Cut days in `zone` from now on and rebuild every rollup (writers wait while it runs)."""
    started = time.monotonic()
    with contextlib.closing(_connect(admin_url)) as connection:
        try:
            with connection.cursor() as cursor:
                if zone is None:
                    cursor.execute(sql.SQL("SELECT time_zone FROM {}").format(sql.Identifier(schema, "rollup_settings")))
                    (zone,) = cursor.fetchone()
                cursor.execute(sql.SQL("SELECT {}(%s)").format(sql.Identifier(schema, "rollups_set_time_zone")), (zone,))
            connection.commit()
        except psycopg2.errors.InvalidParameterValue as error:
            raise Exit(f"{error.diag.message_primary}: give a zone name Postgres knows (e.g. UTC, Europe/Berlin, Asia/Kolkata).") from None
    out(f"rollups of {schema} rebuilt with days in {zone} ({time.monotonic() - started:.1f} s)")
    return zone
