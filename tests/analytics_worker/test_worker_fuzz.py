"""Fuzzing the worker: whatever arrives, no unhandled exception, and every item is stored or rejected with a reason."""
import hashlib
import os
import json

import psycopg2
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from analytics_worker.items import Event, read_item
from analytics_worker.store import store_batch
from analytics_worker.validation import EVENT_SCHEMA

BATCHES = int(os.environ.get("FUZZ_BATCHES", "500"))
ITEMS_PER_BATCH = 20  # 10,000 items in all by default; small examples keep Hypothesis fast

# Text of every kind: any code point (lone surrogates included), bytes that are not UTF-8, and a few huge strings.
any_text = st.one_of(
    st.text(st.characters(min_codepoint=0, max_codepoint=0x10FFFF, exclude_categories=()), max_size=40),
    st.binary(max_size=40).map(lambda raw: raw.decode("utf-8", "surrogateescape")),
    st.sampled_from(["", "\x00", "\ud800", "\\u0000", "\\N", "\t\n\r", "2026-11-28T10:00:00Z"]),
    st.integers(min_value=10_000, max_value=100_000).map(lambda n: "x" * n),
)
# NaN and Infinity too: a JSON text cannot hold them (rejected as invalid JSON), a directly invoked object can.
json_scalars = st.one_of(st.none(), st.booleans(), st.integers(min_value=-(2**70), max_value=2**70), st.floats(), any_text)
any_json = st.recursive(
    json_scalars, lambda inner: st.lists(inner, max_size=4) | st.dictionaries(any_text, inner, max_size=4), max_leaves=12
)
timestamps = st.one_of(
    st.datetimes(timezones=st.none() | st.timezones()).map(lambda moment: moment.isoformat()),
    st.from_regex(EVENT_SCHEMA["properties"]["event_timestamp"]["pattern"], fullmatch=True),  # odd dates, offsets, leaps
    st.sampled_from(["9999-12-31T23:59:59-12:00", "0001-01-01T00:00:00+14:00", "2016-12-31T23:59:60.999999999Z",
                     "9999-12-31T23:59:59.9999995Z", "2026-01-01T00:00:00+16:00", "2026-11-28t10:15:00,5z"]),
    any_text,
)
FIELDS = ("event_id", "event_timestamp", "event_type", "event_version", "app_title", "app_version", "user_id",
          "user_name", "meta", "token_payload")


@st.composite
def event_like(draw):
    """An object with v1 fields, each present or not, of the right type or of any type."""
    fields = {}
    for name in FIELDS:
        if draw(st.integers(0, 9)) == 0:
            continue
        if name == "event_timestamp":
            fields[name] = draw(timestamps | any_json)
        elif name in ("meta", "token_payload"):
            fields[name] = draw(st.dictionaries(any_text, any_json, max_size=4) | any_json)
        else:
            fields[name] = draw(st.text(max_size=70) | any_json)
    fields.update(draw(st.dictionaries(any_text, any_json, max_size=3)))
    return fields


def deep(depth):
    return "[" * depth + "]" * depth


def nested_object(depth):
    value = {}
    for _ in range(depth):
        value = {"k": value}
    return value


def as_text(value):
    try:
        return json.dumps(value, ensure_ascii=False)
    except (ValueError, RecursionError):
        return repr(value)


items = st.one_of(
    event_like(),
    event_like().map(as_text),
    event_like().map(lambda fields: as_text({"Type": "Notification", "Message": as_text(fields)})),
    any_json.map(lambda garbage: as_text({"Type": "Notification", "Message": garbage})),
    any_json,
    any_json.map(as_text),
    any_text,
    st.integers(1, 5000).map(deep),
    st.sampled_from([*range(240, 270), *range(1018, 1030)]).map(
        lambda depth: {"event_id": f"deep-{depth}", "event_timestamp": "2026-11-28T10:00:00Z", "event_type": "x",
                       "meta": nested_object(depth)}),
    # valid-looking events that also carry SNS-like keys, as objects and as texts
    event_like().map(lambda fields: fields | {"Type": "Notification", "Message": as_text(fields)}),
    event_like().map(lambda fields: as_text(fields | {"Type": "Notification", "Message": as_text(fields)})),
)


@pytest.mark.slow
@settings(max_examples=BATCHES, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                       HealthCheck.too_slow, HealthCheck.data_too_large])
@given(batch=st.lists(items, min_size=ITEMS_PER_BATCH, max_size=ITEMS_PER_BATCH))
def test_every_generated_item_is_stored_or_rejected_with_a_reason(migrated_db, batch):
    # WHEN a batch of generated items goes through the worker's store
    with psycopg2.connect(migrated_db.url) as connection:
        result = store_batch(connection, migrated_db.schema, batch)
    connection.close()

    # THEN nothing raised, the counts add up
    assert result.processed == len(batch) == result.stored + result.duplicates + result.rejected
    # AND each item is in events (by event_id) or in rejected_events (by the digest of its raw text), with a reason
    stored_ids = {row[0] for row in migrated_db.query(f"SELECT event_id FROM {migrated_db.schema}.events")}
    rejected = {
        bytes(digest): reason
        for digest, reason in migrated_db.query(f"SELECT raw_sha256, reason FROM {migrated_db.schema}.rejected_events")
    }
    for item in batch:
        outcome = read_item(item)
        if isinstance(outcome, Event) and outcome.fields["event_id"] in stored_ids:
            continue
        digest = hashlib.sha256(outcome.raw.encode("utf-8", "surrogatepass")).digest()
        assert digest in rejected, f"item neither stored nor rejected: {outcome.raw[:200]!r}"
        assert rejected[digest].strip()
