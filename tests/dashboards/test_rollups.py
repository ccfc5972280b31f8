"""The rollups behind the dashboard views equal a full recount, whatever arrives and whatever is deleted."""
import contextlib
import json
import random
import threading
from datetime import date

import psycopg2
import pytest
from dashboard_checks import assert_rollups_exact, make_events, role_url, rollups, shuffled, stage_db  # noqa: F401

from analytics_worker.store import store_batch
from ops import migrations, retention


def store(url, schema, items):
    with contextlib.closing(psycopg2.connect(url)) as connection:
        return store_batch(connection, schema, items).as_dict()


def test_rollups_equal_a_recount_after_random_batches_concurrent_workers_forget_user_and_prune(stage_db):
    # GIVEN 3,000 events over 10 days, cut into random batches that also carry repeats, replays and invalid items
    rng = random.Random(11)
    db, writer = stage_db, role_url(stage_db, "writer")
    events = make_events(rng, 3000)
    invalid = ['{"event_id": "bad-1"}', "not json", json.dumps({"event_id": "bad-2", "event_timestamp": "soon", "event_type": "t", "user_id": "user-3"})]
    batches, start = [], 0
    while start < len(events):
        size = rng.randint(50, 400)
        batch = [json.dumps(e) for e in events[start:start + size]]
        batch += [json.dumps(e) for e in rng.sample(events[:start + size], min(20, start + size))]  # repeats, some within the batch
        batch += rng.sample(invalid, 2)
        batches.append(shuffled(rng, batch))
        start += size
    batches += rng.sample(batches, 4)  # replays of whole batches

    # WHEN four workers, each on its own connection as the INSERT-only writer, store them concurrently
    work, errors, results, retried = list(batches), [], [], []
    lock = threading.Lock()

    def worker():
        with contextlib.closing(psycopg2.connect(writer)) as connection:
            while True:
                with lock:
                    if not work:
                        return
                    batch = work.pop()
                try:
                    results.append(store_batch(connection, db.schema, batch).as_dict())
                except psycopg2.errors.DeadlockDetected:
                    # Overlapping batches in different orders can deadlock in the worker's COPY (not in the
                    # rollups); the call fails, nothing is committed, and SQS delivers the batch again.
                    with lock:
                        work.append(batch)
                        retried.append(batch)
                except Exception as error:  # noqa: BLE001 - reported below
                    errors.append(error)

    threads = [threading.Thread(target=worker) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    # THEN every event is stored once and the rollups equal a full recount
    assert errors == []
    assert db.count("events") == 3000
    assert sum(r["stored"] for r in results) == 3000
    figures = assert_rollups_exact(db)
    assert sum(row[3] for row in figures["counts"]) == 3000
    assert len(figures["active_users"]) >= 10

    # WHEN a user is forgotten
    forgotten = retention.forget_user(db.url, db.schema, "user-3", batch_size=25, out=lambda line: None)
    # THEN none of their events or readable rejected items is left, and the rollups still equal a recount
    assert forgotten.events > 0 and forgotten.rejected == 1
    assert db.query(f"SELECT count(*) FROM {db.schema}.events WHERE user_id = 'user-3'") == [(0,)]
    assert db.query(f"SELECT count(*) FROM {db.schema}.rejected_events WHERE raw LIKE '%%user-3%%'") == [(0,)]
    assert_rollups_exact(db)

    # WHEN everything before 2026-03-05 is pruned, in small batches
    pruned = retention.prune(db.url, db.schema, date(2026, 3, 5), batch_size=100, out=lambda line: None)
    # THEN no event before that day is left, and the rollups still equal a recount
    assert pruned.events > 0 and pruned.batches > 3
    assert db.query(f"SELECT count(*) FROM {db.schema}.events WHERE event_timestamp < '2026-03-05T00:00:00Z'") == [(0,)]
    before = assert_rollups_exact(db)
    assert min(row[0] for row in before["active_users"]) == date(2026, 3, 5)

    # AND running both again changes nothing
    again = retention.forget_user(db.url, db.schema, "user-3", batch_size=25, out=lambda line: None)
    again_pruned = retention.prune(db.url, db.schema, date(2026, 3, 5), batch_size=100, out=lambda line: None)
    assert (again.events, again.rejected, again_pruned.events, again_pruned.rejected) == (0, 0, 0, 0)
    assert rollups(db) == before


def test_a_replayed_batch_and_a_rejected_item_add_nothing(stage_db):
    # GIVEN a batch stored once as the writer
    rng = random.Random(3)
    db, writer = stage_db, role_url(stage_db, "writer")
    batch = [json.dumps(e) for e in make_events(rng, 200)]
    store(writer, db.schema, batch)
    first = rollups(db)
    # WHEN the same batch arrives again, and an invalid item arrives
    result = store(writer, db.schema, batch + ['{"event_type": "no id"}'])
    # THEN the event counts and active users are unchanged and only the rejection is counted
    assert result["stored"] == 0 and result["duplicates"] == 200 and result["rejected"] == 1
    second = assert_rollups_exact(db)
    assert {k: second[k] for k in ("counts", "type_counts", "active_users")} == {k: first[k] for k in ("counts", "type_counts", "active_users")}
    assert sum(row[2] for row in second["rejections"]) == 1


def test_days_are_cut_in_the_stage_time_zone_and_changing_it_rebuilds(stage_db):
    # GIVEN an event at 20:00 UTC, which is 01:30 the next day in India (a half-hour zone)
    db, writer = stage_db, role_url(stage_db, "writer")
    event = {"event_id": "tz-1", "event_timestamp": "2026-03-01T20:00:00Z", "event_type": "page_viewed", "user_id": "u1"}
    store(writer, db.schema, [event])
    assert rollups(db)["active_users"] == [(date(2026, 3, 1), 1)]
    # WHEN the stage's time zone becomes Asia/Kolkata
    retention.set_time_zone(db.url, db.schema, "Asia/Kolkata", out=lambda line: None)
    # THEN the rollups are rebuilt with days of that zone, and new events are cut the same way
    assert rollups(db)["active_users"] == [(date(2026, 3, 2), 1)]
    store(writer, db.schema, [{**event, "event_id": "tz-2", "event_timestamp": "2026-03-01T18:29:00Z"}])
    assert rollups(db)["active_users"] == [(date(2026, 3, 1), 1), (date(2026, 3, 2), 1)]
    assert_rollups_exact(db)


def test_an_unknown_time_zone_is_refused_and_changes_nothing(stage_db):
    from invoke import Exit

    with pytest.raises(Exit, match="Mars/Olympus"):
        retention.set_time_zone(stage_db.url, stage_db.schema, "Mars/Olympus", out=lambda line: None)
    assert stage_db.query(f"SELECT time_zone FROM {stage_db.schema}.rollup_settings") == [("UTC",)]


def test_an_existing_stage_upgrades_in_place(migrated_db):
    # GIVEN a stage on revision 0001 that already holds events
    db = migrated_db
    migrations.downgrade(db.url, db.schema, "0001")
    events = make_events(random.Random(5), 500)
    with contextlib.closing(psycopg2.connect(db.url)) as connection:
        store_batch(connection, db.schema, [json.dumps(e) for e in events] + ["garbage"])
    # WHEN it is upgraded to head
    migrations.upgrade(db.url, db.schema, "head")
    # THEN the rollups hold every stored event and the views read them
    figures = assert_rollups_exact(db)
    assert sum(row[3] for row in figures["counts"]) == 500
    assert sum(row[2] for row in figures["rejections"]) == 1


def test_the_writer_cannot_write_the_rollups_itself(stage_db):
    # GIVEN the writer role (INSERT on events and rejected_events, as in production)
    with contextlib.closing(psycopg2.connect(role_url(stage_db, "writer"))) as connection, connection.cursor() as cursor:
        # WHEN it tries to insert into a rollup table directly THEN Postgres refuses
        with pytest.raises(psycopg2.errors.InsufficientPrivilege):
            cursor.execute("INSERT INTO rollup_active_users VALUES ('2026-01-01', 1000000)")
