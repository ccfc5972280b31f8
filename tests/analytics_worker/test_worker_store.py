"""Storing batches in a real Postgres: counts, idempotency, rejects, restricted roles and failures."""
import json
import random
from contextlib import closing

import psycopg2
import pytest

from analytics_worker.database import ReusableConnection
from analytics_worker.items import read_item
from analytics_worker.rows import EVENT_COLUMNS
from analytics_worker.store import _LineReader, store_batch
from analytics_worker.validation import EVENT_SCHEMA
from ops.stage import with_credentials
from worker_samples import event, raw_body, sns_envelope


@pytest.fixture
def connection(migrated_db):
    connection = psycopg2.connect(migrated_db.url)
    yield connection
    connection.close()


def stored_event_ids(db):
    return {row[0] for row in db.query(f"SELECT event_id FROM {db.schema}.events")}


def test_each_item_kind_is_stored_with_its_columns(migrated_db, connection):
    # GIVEN one item of each kind
    items = [
        event(event_id="as-object", colour="red"),
        raw_body(event(event_id="as-raw-body", event_timestamp="2026-11-28T11:00:00+01:00")),
        sns_envelope(event(event_id="as-envelope", meta=None, token_payload={"sub": "user-7"})),
        "garbage",
    ]
    # WHEN the batch is stored
    result = store_batch(connection, migrated_db.schema, items)
    # THEN three events are stored and the garbage is rejected
    assert result.as_dict() == {"processed": 4, "stored": 3, "duplicates": 0, "rejected": 1}
    rows = migrated_db.query(
        f"SELECT event_id, event_timestamp AT TIME ZONE 'UTC', meta, token_payload, extra"
        f" FROM {migrated_db.schema}.events ORDER BY event_id"
    )
    assert [(r[0], r[1].isoformat(), r[2], r[3], r[4]) for r in rows] == [
        ("as-envelope", "2026-11-28T10:15:00", None, {"sub": "user-7"}, None),
        ("as-object", "2026-11-28T10:15:00", {"path": "/products/42", "duration_ms": 130}, None, {"colour": "red"}),
        ("as-raw-body", "2026-11-28T10:00:00", {"path": "/products/42", "duration_ms": 130}, None, None),
    ]
    assert migrated_db.query(f"SELECT reason, raw FROM {migrated_db.schema}.rejected_events") == [
        ("message body is not valid JSON: unexpected character, expected a JSON value: line 1 column 1 (char 0)", "garbage")
    ]


@pytest.mark.parametrize(
    "timestamp, utc",
    [
        ("2026-11-28T10:15:00", "2026-11-28 10:15:00"),
        ("2026-11-28 10:15", "2026-11-28 10:15:00"),
        ("2026-11-28T10:15:00.123456789Z", "2026-11-28 10:15:00.123457"),
        ("2026-11-28T10:15:00+05:30", "2026-11-28 04:45:00"),
        ("2026-11-28T10:15:00-0800", "2026-11-28 18:15:00"),
        ("2026-11-28T10:15:00+01", "2026-11-28 09:15:00"),
    ],
)
def test_each_timestamp_form_is_stored_as_its_instant(migrated_db, connection, timestamp, utc):
    # GIVEN a session whose time zone is not UTC (a zone-less timestamp must still mean UTC)
    with connection.cursor() as cursor:
        cursor.execute("SET TIME ZONE 'America/New_York'")
    # WHEN an event with this timestamp form is stored
    assert store_batch(connection, migrated_db.schema, [raw_body(event(event_timestamp=timestamp))]).stored == 1
    # THEN it holds the same instant, read in UTC
    assert migrated_db.query(
        f"SELECT (event_timestamp AT TIME ZONE 'UTC')::text FROM {migrated_db.schema}.events"
    ) == [(utc,)]


def test_text_that_needs_escaping_is_stored_exactly(migrated_db, connection):
    # GIVEN values holding tabs, newlines, backslashes and non-ASCII text
    tricky = "tab\there\nnew line\r\\back\\slash \\N Zoë 🎉"
    items = [raw_body(event(event_id="tricky", user_name=tricky[:128], meta={"note": tricky}, extra=tricky))]
    # WHEN stored
    assert store_batch(connection, migrated_db.schema, items).stored == 1
    # THEN they read back unchanged
    assert migrated_db.query(f"SELECT user_name, meta->>'note', extra->>'extra' FROM {migrated_db.schema}.events") == [
        (tricky, tricky, tricky)
    ]


def test_a_repeated_event_id_is_stored_once_within_a_batch(migrated_db, connection):
    # GIVEN the same event twice in one batch, once raw and once in an envelope
    fields = event(event_id="twice")
    # WHEN stored
    result = store_batch(connection, migrated_db.schema, [raw_body(fields), sns_envelope(fields)])
    # THEN one row, one duplicate
    assert result.as_dict() == {"processed": 2, "stored": 1, "duplicates": 1, "rejected": 0}
    assert migrated_db.count("events") == 1


def test_events_already_stored_are_duplicates_in_a_later_batch(migrated_db, connection):
    # GIVEN a stored batch
    old = [raw_body(event()) for _ in range(30)]
    store_batch(connection, migrated_db.schema, old)
    # WHEN a later batch mixes those events with new ones
    new = [raw_body(event()) for _ in range(20)]
    mixed = old[:10] + new + old[10:]
    result = store_batch(connection, migrated_db.schema, mixed)
    # THEN only the new ones are stored, the rest counted as duplicates
    assert result.as_dict() == {"processed": 50, "stored": 20, "duplicates": 30, "rejected": 0}
    assert migrated_db.count("events") == 50


def test_a_retried_batch_of_rejects_adds_nothing(migrated_db, connection):
    # GIVEN a batch of invalid items, stored once
    rejects = ["garbage", raw_body(event(event_type="")), sns_envelope({"event_id": "no-type"}), 17]
    first = store_batch(connection, migrated_db.schema, rejects)
    # WHEN the same batch arrives again
    second = store_batch(connection, migrated_db.schema, rejects)
    # THEN each call reports the rejects, but each raw text is stored once
    assert first.rejected == second.rejected == 4
    assert migrated_db.count("rejected_events") == 4


def test_the_same_garbage_twice_in_a_batch_is_one_row(migrated_db, connection):
    result = store_batch(connection, migrated_db.schema, ["oops", "oops"])
    assert result.as_dict() == {"processed": 2, "stored": 0, "duplicates": 0, "rejected": 2}
    assert migrated_db.count("rejected_events") == 1


def test_a_mixed_batch_of_1000_items_accounts_for_every_item(migrated_db, connection):
    # GIVEN 1,000 items: valid events (raw bodies, SNS envelopes, objects), repeats of them, and invalid items
    rng = random.Random(7)
    valid = [event(event_type=rng.choice(["page_viewed", "signed_up", "clicked"])) for _ in range(700)]
    items = []
    for i, fields in enumerate(valid):
        items.append([raw_body, sns_envelope, dict][i % 3](fields))
    repeats = [sns_envelope(fields) for fields in rng.sample(valid, 100)]
    invalid = (
        [f"garbage {i}" for i in range(60)]
        + [raw_body(event(event_id="", user_id=f"user-{i}")) for i in range(60)]
        + [sns_envelope(event(event_timestamp=f"2026-13-{i:02d}T00:00:00Z")) for i in range(40)]
        + [json.dumps([i]) for i in range(20)]
        + [{"event_id": f"partial-{i}"} for i in range(20)]
    )
    items += repeats + invalid
    rng.shuffle(items)
    assert len(items) == 1000

    # WHEN the batch is stored
    result = store_batch(connection, migrated_db.schema, items).as_dict()

    # THEN rows = unique valid events, rejected rows = invalid items, and the counts add up
    assert result == {"processed": 1000, "stored": 700, "duplicates": 100, "rejected": 200}
    assert stored_event_ids(migrated_db) == {fields["event_id"] for fields in valid}
    assert migrated_db.count("rejected_events") == 200

    # AND sending the same batch again changes no row
    again = store_batch(connection, migrated_db.schema, items).as_dict()
    assert again == {"processed": 1000, "stored": 0, "duplicates": 800, "rejected": 200}
    assert migrated_db.count("events") == 700
    assert migrated_db.count("rejected_events") == 200


@pytest.mark.parametrize(
    "item, reason",
    [
        (raw_body(event(user_name="nul\u0000byte")), "event contains a NUL character"),
        (raw_body(event(meta={"k": "nul\u0000byte"})), "event contains a NUL character (\\u0000), which Postgres cannot store in JSON"),
        ('{"event_id": "\\ud800", "event_timestamp": "2026-11-28T10:00:00Z", "event_type": "x"}', "message body is not valid JSON"),
        (event(user_name="lone \ud800 surrogate"), "event object cannot be written as JSON"),
        (event(meta={"big": 10**30}), "event object cannot be written as JSON"),
    ],
)
def test_events_postgres_cannot_hold_are_rejected_without_failing_the_batch(migrated_db, connection, item, reason):
    # GIVEN a batch with a good event and one whose text Postgres cannot store
    good = raw_body(event(event_id="good"))
    # WHEN stored
    result = store_batch(connection, migrated_db.schema, [good, item])
    # THEN the good event is stored and the other rejected with the reason
    assert result.as_dict() == {"processed": 2, "stored": 1, "duplicates": 0, "rejected": 1}
    [(stored_reason,)] = migrated_db.query(f"SELECT reason FROM {migrated_db.schema}.rejected_events")
    assert stored_reason.startswith(reason), stored_reason


def test_a_row_the_database_refuses_is_rejected_and_the_rest_stored(migrated_db, connection):
    # GIVEN a database rule the worker does not know about, and one stored event
    migrated_db.query(f"ALTER TABLE {migrated_db.schema}.events ADD CHECK (event_type <> 'forbidden')")
    store_batch(connection, migrated_db.schema, [raw_body(event(event_id="old"))])
    # WHEN a batch holds an event breaking that rule, a duplicate and new events
    items = [raw_body(event(event_id="old")), raw_body(event(event_id="bad", event_type="forbidden"))]
    items += [raw_body(event(event_id=f"new-{i}")) for i in range(3)]
    result = store_batch(connection, migrated_db.schema, items)
    # THEN the new events are stored, the duplicate counted and the refused one rejected with the database's words
    assert result.as_dict() == {"processed": 5, "stored": 3, "duplicates": 1, "rejected": 1}
    [(reason, event_id)] = migrated_db.query(f"SELECT reason, event_id FROM {migrated_db.schema}.rejected_events")
    assert event_id == "bad"
    assert reason.startswith("database refused the event: new row for relation \"events\" violates check constraint")


def test_a_role_with_only_insert_can_store_everything(migrated_db):
    # GIVEN a writer role holding only INSERT on the tables and USAGE on the schema and sequences
    schema = migrated_db.schema
    migrated_db.query("DROP ROLE IF EXISTS worker_insert_only")
    migrated_db.query("CREATE ROLE worker_insert_only LOGIN PASSWORD 'insert-only'")
    migrated_db.query(f"GRANT USAGE ON SCHEMA {schema} TO worker_insert_only")
    migrated_db.query(f"GRANT INSERT ON ALL TABLES IN SCHEMA {schema} TO worker_insert_only")
    migrated_db.query(f"GRANT USAGE ON ALL SEQUENCES IN SCHEMA {schema} TO worker_insert_only")
    writer = psycopg2.connect(with_credentials(migrated_db.url, "insert-only", user="worker_insert_only"))
    try:
        # WHEN it stores new events, then a batch with duplicates (the temp-table path) and rejects
        first = store_batch(writer, schema, [raw_body(event(event_id=f"e{i}")) for i in range(5)])
        second = store_batch(writer, schema, [raw_body(event(event_id=f"e{i}")) for i in range(8)] + ["junk"])
        # THEN both work, with the right counts
        assert first.as_dict() == {"processed": 5, "stored": 5, "duplicates": 0, "rejected": 0}
        assert second.as_dict() == {"processed": 9, "stored": 3, "duplicates": 5, "rejected": 1}
        # AND the role really cannot read what it wrote
        with pytest.raises(psycopg2.errors.InsufficientPrivilege), writer.cursor() as cursor:
            cursor.execute(f"SELECT count(*) FROM {schema}.events")
    finally:
        writer.close()
        migrated_db.query("DROP OWNED BY worker_insert_only")
        migrated_db.query("DROP ROLE worker_insert_only")
    assert migrated_db.count("events") == 8


def install_connection_killer(db, times):
    """A trigger that kills the session storing rejects, the first `times` times (a real mid-call crash)."""
    db.query("CREATE SEQUENCE public.kills")
    db.query(f"""
        CREATE FUNCTION public.kill_session() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            IF nextval('public.kills') <= {times} THEN
                PERFORM pg_terminate_backend(pg_backend_pid());
            END IF;
            RETURN NEW;
        END $$""")
    db.query(
        f"CREATE TRIGGER kill_session BEFORE INSERT ON {db.schema}.rejected_events"
        " FOR EACH STATEMENT EXECUTE FUNCTION public.kill_session()"
    )


def batch_with_events_and_a_reject():
    return [raw_body(event()) for _ in range(50)] + ["junk"]


def test_database_lost_mid_call_raises_and_commits_nothing(migrated_db):
    # GIVEN a database whose session dies on every attempt, after the events were copied
    install_connection_killer(migrated_db, times=2)
    connection = ReusableConnection(lambda: migrated_db.url)
    # WHEN a batch is stored
    with pytest.raises(psycopg2.OperationalError):
        connection.run(lambda conn: store_batch(conn, migrated_db.schema, batch_with_events_and_a_reject()))
    # THEN the call raised after one reconnect, and nothing was committed
    assert migrated_db.query("SELECT last_value FROM public.kills") == [(2,)]
    assert migrated_db.count("events") == 0
    assert migrated_db.count("rejected_events") == 0


def test_a_broken_connection_is_reopened_once_and_the_batch_stored_once(migrated_db):
    # GIVEN a connection in use, and a database that kills the session once
    connection = ReusableConnection(lambda: migrated_db.url)
    connection.run(lambda conn: store_batch(conn, migrated_db.schema, [raw_body(event())]))
    install_connection_killer(migrated_db, times=1)
    # WHEN the next batch is stored
    items = batch_with_events_and_a_reject()
    result = connection.run(lambda conn: store_batch(conn, migrated_db.schema, items))
    # THEN it was retried on a new connection and stored exactly once
    assert result.as_dict() == {"processed": 51, "stored": 50, "duplicates": 0, "rejected": 1}
    assert migrated_db.count("events") == 51
    assert migrated_db.count("rejected_events") == 1


def test_an_unreachable_database_raises(tmp_path):
    connection = ReusableConnection(lambda: f"postgresql://nobody@/postgres?host={tmp_path}")
    with pytest.raises(psycopg2.OperationalError):
        connection.run(lambda conn: store_batch(conn, "analytics_test", [raw_body(event())]))


def test_the_connection_is_reused_between_calls(migrated_db):
    connection = ReusableConnection(lambda: migrated_db.url)
    pids = [connection.run(lambda conn: conn.get_backend_pid()) for _ in range(3)]
    assert len(set(pids)) == 1


# --- issue 10 ---

def events_by_id(db):
    return dict(db.query(f"SELECT event_id, event_type FROM {db.schema}.events"))


def test_the_issue_repro_a_refused_first_copy_does_not_lose_the_valid_second(migrated_db, connection):
    # GIVEN the batch of the issue: the same event_id twice, the first with an offset Postgres refuses
    items = [
        '{"event_id":"f","event_timestamp":"2026-01-01T00:00:00+16:00","event_type":"t"}',
        '{"event_id":"f","event_timestamp":"2026-01-01T00:00:00+01:00","event_type":"t"}',
    ]
    # WHEN stored
    result = store_batch(connection, migrated_db.schema, items)
    # THEN the valid copy is stored and the other rejected
    assert result.as_dict() == {"processed": 2, "stored": 1, "duplicates": 0, "rejected": 1}
    assert migrated_db.query(
        f"SELECT event_id, (event_timestamp AT TIME ZONE 'UTC')::text FROM {migrated_db.schema}.events"
    ) == [("f", "2025-12-31 23:00:00")]


def test_when_the_database_refuses_the_first_copy_the_next_copy_of_its_event_id_is_stored(migrated_db, connection):
    # GIVEN a database rule the worker does not know, and a batch holding two copies of one event_id:
    # the first breaks the rule, the second does not
    migrated_db.query(f"ALTER TABLE {migrated_db.schema}.events ADD CHECK (event_type <> 'forbidden')")
    items = [raw_body(event(event_id="other-1")), raw_body(event(event_id="twice", event_type="forbidden")),
             raw_body(event(event_id="twice", event_type="allowed")), raw_body(event(event_id="twice", event_type="third")),
             raw_body(event(event_id="other-2"))]
    # WHEN stored
    result = store_batch(connection, migrated_db.schema, items)
    # THEN the second copy is stored, the third is a duplicate of it, the refused one is rejected
    assert result.as_dict() == {"processed": 5, "stored": 3, "duplicates": 1, "rejected": 1}
    assert events_by_id(migrated_db) == {"twice": "allowed", "other-1": "page_viewed", "other-2": "page_viewed"}
    assert migrated_db.query(f"SELECT event_id FROM {migrated_db.schema}.rejected_events") == [("twice",)]


def test_the_first_stored_copy_of_an_event_id_wins(migrated_db, connection):
    # GIVEN copies of one event_id with different payloads, within a batch and in a later batch
    first = store_batch(connection, migrated_db.schema, [
        raw_body(event(event_id="same", event_type="first")), raw_body(event(event_id="same", event_type="second")),
    ])
    later = store_batch(connection, migrated_db.schema, [raw_body(event(event_id="same", event_type="later"))])
    # THEN the copy stored first is kept, the others are duplicates
    assert (first.stored, first.duplicates, later.stored, later.duplicates) == (1, 1, 0, 1)
    assert events_by_id(migrated_db) == {"same": "first"}


EDGE_TIMESTAMPS = ["9999-12-30T23:59:59.999999Z", "9999-12-31T10:00:00+12:00", "0001-01-02T00:00:00Z",
                   "0001-01-01T20:00:00-14:00", "2016-12-31T23:59:60Z", "2026-11-28T10:15:00,5Z", "2026-11-28t10:15:00z"]


@pytest.mark.parametrize("zone", ["UTC", "Pacific/Kiritimati", "Etc/GMT+12"])
def test_stored_timestamps_read_back_through_psycopg2_and_the_dashboard_views_in_any_time_zone(migrated_db, connection, zone):
    # GIVEN rollups that cut days in a time zone, and events at the edges of what is accepted
    migrated_db.query(f"SELECT {migrated_db.schema}.rollups_set_time_zone(%s)", (zone,))
    result = store_batch(connection, migrated_db.schema, [raw_body(event(event_timestamp=ts)) for ts in EDGE_TIMESTAMPS])
    assert result.stored == len(EDGE_TIMESTAMPS)
    # WHEN a client (psycopg2, as under Superset) reads the rows and the dashboard views in that time zone
    with closing(psycopg2.connect(migrated_db.url, options=f"-c timezone={zone}")) as reader, reader.cursor() as cursor:
        cursor.execute(f"SELECT * FROM {migrated_db.schema}.events")
        cursor.fetchall()
        # THEN everything reads without "year 10000 is out of range"
        for view in ("daily_event_counts", "daily_active_users"):
            cursor.execute(f"SELECT * FROM {migrated_db.schema}.{view}")
            assert cursor.fetchall()


@pytest.mark.parametrize("timestamp", ["9999-12-31T23:59:59-12:00", "0001-01-01T00:00:00+14:00", "2026-01-01T00:00:00+16:00"])
def test_the_issue_timestamps_that_broke_the_dashboards_are_rejected(migrated_db, connection, timestamp):
    result = store_batch(connection, migrated_db.schema, [raw_body(event(event_timestamp=timestamp)), raw_body(event())])
    assert result.as_dict() == {"processed": 2, "stored": 1, "duplicates": 0, "rejected": 1}
    with closing(psycopg2.connect(migrated_db.url, options="-c timezone=UTC")) as reader, reader.cursor() as cursor:
        cursor.execute(f"SELECT * FROM {migrated_db.schema}.daily_event_counts")
        assert len(cursor.fetchall()) == 1


@pytest.mark.parametrize("kind", ["event object", "raw JSON body"])
def test_meta_nested_a_thousand_levels_is_stored_as_sent(migrated_db, connection, kind):
    # GIVEN an event whose meta is 1,000 levels deep
    from test_worker_items import event_text_with_nested_meta, nested

    item = event(event_id="deep", meta=nested(1000)) if kind == "event object" else event_text_with_nested_meta(1000)
    # WHEN stored
    assert store_batch(connection, migrated_db.schema, [item]).stored == 1
    # THEN Postgres holds all of it
    [(text,)] = migrated_db.query(f"SELECT meta::text FROM {migrated_db.schema}.events")
    assert text.count("{") == 1000


def test_a_nan_inside_an_event_object_is_rejected_not_stored_as_null(migrated_db, connection):
    result = store_batch(connection, migrated_db.schema, [event(event_id="nan", meta={"score": float("nan")})])
    assert result.as_dict() == {"processed": 1, "stored": 0, "duplicates": 0, "rejected": 1}
    assert migrated_db.count("events") == 0


def test_two_different_unencodable_objects_are_two_rejected_rows(migrated_db, connection):
    # GIVEN two directly invoked objects that differ only far inside and cannot be written as JSON
    items = [{"event_id": "big", "meta": {"n": 10**30, "text": "a" * 20_000 + middle + "a" * 20_000}} for middle in "12"]
    # WHEN stored twice
    store_batch(connection, migrated_db.schema, items)
    store_batch(connection, migrated_db.schema, items)
    # THEN each is one row of its own
    assert migrated_db.count("rejected_events") == 2


def test_statement_triggers_with_transition_tables_see_exactly_the_stored_rows(migrated_db, connection):
    # GIVEN a statement-level trigger on events that counts the rows of its transition table (as rollups do)
    schema = migrated_db.schema
    migrated_db.query(f"CREATE TABLE {schema}.seen (n bigint)")
    migrated_db.query(f"""
        CREATE FUNCTION {schema}.count_new() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN INSERT INTO {schema}.seen SELECT count(*) FROM new_rows; RETURN NULL; END $$""")
    migrated_db.query(
        f"CREATE TRIGGER count_new AFTER INSERT ON {schema}.events REFERENCING NEW TABLE AS new_rows"
        f" FOR EACH STATEMENT EXECUTE FUNCTION {schema}.count_new()"
    )
    migrated_db.query(f"ALTER TABLE {schema}.events ADD CHECK (event_type <> 'forbidden')")
    # WHEN batches go through each path: COPY, the temporary table (duplicates), one by one (a refused row)
    fresh = [raw_body(event(event_id=f"a{i}")) for i in range(20)]
    store_batch(connection, schema, fresh)
    store_batch(connection, schema, fresh[:10] + [raw_body(event(event_id=f"b{i}")) for i in range(5)])
    store_batch(connection, schema, [raw_body(event(event_id="c", event_type="forbidden")), raw_body(event(event_id="d"))])
    # THEN the triggers saw each stored row once
    assert migrated_db.query(f"SELECT sum(n) FROM {schema}.seen") == [(migrated_db.count("events"),)] == [(26,)]


def test_the_copy_reader_streams_big_rows_without_holding_the_batch():
    # GIVEN 40 rows of 256 KiB, made one at a time
    row = b"x" * (256 * 1024 - 1) + b"\n"
    made = []

    def rows():
        for number in range(40):
            made.append(number)
            yield row

    reader = _LineReader(rows())
    # WHEN COPY reads it in 8 KiB chunks
    read = 0
    while chunk := reader.read(8192):
        assert len(chunk) <= 8192
        read += len(chunk)
        # THEN it never holds more than the row being sent
        assert len(made) <= read // len(row) + 1
    assert read == 40 * len(row)


def test_the_events_table_has_a_column_for_each_field_of_the_published_schema(migrated_db):
    # GIVEN the columns the migrations made
    columns = dict(migrated_db.query(
        "SELECT column_name, coalesce(character_maximum_length::text, data_type) FROM information_schema.columns"
        " WHERE table_schema = %s AND table_name = 'events'", (migrated_db.schema,)
    ))
    # THEN each column the worker fills exists, and each string field's column is as long as the schema allows
    assert set(EVENT_COLUMNS) <= set(columns)
    for name, rule in EVENT_SCHEMA["properties"].items():
        if "maxLength" in rule:
            assert columns[name] == str(rule["maxLength"]), name
        else:
            assert columns[name] in ("jsonb", "timestamp with time zone"), name


@pytest.mark.parametrize("zone, timestamp", [("Pacific/Kiritimati", "9999-12-31T20:00:00Z"), ("Etc/GMT+12", "0001-01-01T06:00:00Z")])
def test_an_instant_whose_date_leaves_years_1_to_9999_in_some_time_zone_is_rejected(migrated_db, connection, zone, timestamp):
    # GIVEN rollups cutting days in a zone where this instant's date is in year 10000 (or year 0)
    migrated_db.query(f"SELECT {migrated_db.schema}.rollups_set_time_zone(%s)", (zone,))
    # WHEN it is stored beside a normal event
    result = store_batch(connection, migrated_db.schema, [raw_body(event(event_timestamp=timestamp)), raw_body(event())])
    # THEN it is rejected, and the dashboard views still read through psycopg2
    assert result.as_dict() == {"processed": 2, "stored": 1, "duplicates": 0, "rejected": 1}
    with closing(psycopg2.connect(migrated_db.url)) as reader, reader.cursor() as cursor:
        cursor.execute(f"SELECT * FROM {migrated_db.schema}.daily_event_counts")
        assert len(cursor.fetchall()) == 1


def test_a_refused_row_does_not_make_the_batch_hold_rollup_locks_while_it_waits(migrated_db, connection):
    # GIVEN a rule the worker does not know (so a batch takes the one-by-one path), and another transaction
    # that holds an uncommitted event "c-held" of another type (its rollup row is not the batch's)
    import threading
    import time

    schema = migrated_db.schema
    migrated_db.query(f"ALTER TABLE {schema}.events ADD CHECK (event_type <> 'forbidden')")
    other = psycopg2.connect(migrated_db.url)
    insert = (f"INSERT INTO {schema}.events (event_id, event_timestamp, event_type, app_title)"
              " VALUES (%s, '2026-11-28T10:15:00Z', %s, 'shop')")
    try:
        with other.cursor() as cursor:
            cursor.execute(insert, ("c-held", "other_type"))
        # WHEN the batch (a refused event, a new one, the held one) is stored meanwhile
        outcome = {}

        def store():
            try:
                outcome["result"] = store_batch(connection, schema, [
                    raw_body(event(event_id="a-refused", event_type="forbidden", app_title="shop")),
                    raw_body(event(event_id="b-new", event_type="page_viewed", app_title="shop")),
                    raw_body(event(event_id="c-held", event_type="page_viewed", app_title="shop")),
                ]).as_dict()
            except psycopg2.Error as error:
                outcome["error"] = error

        worker = threading.Thread(target=store)
        worker.start()
        time.sleep(1.5)  # the batch now waits for "c-held"
        # AND the other transaction stores an event whose rollup row is the batch's, then commits
        with other.cursor() as cursor:
            cursor.execute(insert, ("d-other", "page_viewed"))
        other.commit()
        worker.join(timeout=60)
    finally:
        other.close()
    # THEN neither deadlocked: the batch stored its new event, found "c-held" stored and rejected the refused one
    assert "error" not in outcome, outcome
    assert outcome["result"] == {"processed": 3, "stored": 1, "duplicates": 1, "rejected": 1}
    assert sorted(events_by_id(migrated_db)) == ["b-new", "c-held", "d-other"]


def test_events_a_statement_rule_refuses_together_are_kept_one_at_a_time(migrated_db, connection):
    # GIVEN a rule the worker does not know, and a statement-level rule refusing two 'pair' events in one statement
    schema = migrated_db.schema
    migrated_db.query(f"ALTER TABLE {schema}.events ADD CHECK (event_type <> 'forbidden')")
    migrated_db.query(f"""
        CREATE FUNCTION {schema}.one_pair_at_a_time() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            IF (SELECT count(*) FROM new_rows WHERE event_type = 'pair') > 1 THEN
                RAISE EXCEPTION 'one pair at a time' USING ERRCODE = 'check_violation';
            END IF;
            RETURN NULL;
        END $$""")
    migrated_db.query(
        f"CREATE TRIGGER one_pair_at_a_time AFTER INSERT ON {schema}.events REFERENCING NEW TABLE AS new_rows"
        f" FOR EACH STATEMENT EXECUTE FUNCTION {schema}.one_pair_at_a_time()"
    )
    # WHEN a batch holds a refused event and two 'pair' events
    items = [raw_body(event(event_id=name, event_type=kind)) for name, kind in
             (("a", "forbidden"), ("b", "pair"), ("c", "pair"))]
    result = store_batch(connection, schema, items)
    # THEN the pairs are stored one at a time and the refused one rejected
    assert result.as_dict() == {"processed": 3, "stored": 2, "duplicates": 0, "rejected": 1}
    assert events_by_id(migrated_db) == {"b": "pair", "c": "pair"}


def test_a_batch_of_many_rejects_takes_no_rollup_lock_before_all_its_rejects_are_in(migrated_db, connection):
    # GIVEN 1,001 garbage texts with one reason, and another transaction holding an uncommitted reject of the
    # text whose digest sorts last, under a reason of its own (so it holds another rollup row)
    import hashlib
    import threading
    import time

    schema = migrated_db.schema
    garbage = [f"garbage {i}" for i in range(1001)]
    held = max(garbage, key=lambda text: hashlib.sha256(text.encode()).digest())
    other = psycopg2.connect(migrated_db.url)
    insert = f"INSERT INTO {schema}.rejected_events (reason, raw, raw_sha256) VALUES (%s, %s, %s)"
    try:
        with other.cursor() as cursor:
            cursor.execute(insert, ("held by another call", held, hashlib.sha256(held.encode()).digest()))
        # WHEN the batch is stored meanwhile (it waits for the held text)
        outcome = {}

        def store():
            try:
                outcome["result"] = store_batch(connection, schema, garbage).as_dict()
            except psycopg2.Error as error:
                outcome["error"] = error

        worker = threading.Thread(target=store)
        worker.start()
        time.sleep(1.5)
        # AND the other transaction rejects a text for the batch's reason (the batch's rollup row), then commits
        reason = read_item("garbage x").reason
        with other.cursor() as cursor:
            cursor.execute(insert, (reason, "garbage x", hashlib.sha256(b"garbage x").digest()))
        other.commit()
        worker.join(timeout=60)
    finally:
        other.close()
    # THEN neither deadlocked, and each text is one row
    assert "error" not in outcome, outcome
    assert outcome["result"]["rejected"] == 1001
    assert migrated_db.count("rejected_events") == 1002
