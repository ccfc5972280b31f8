"""Reading one input item: which kind it is, and the reason a person reads when it is rejected."""
import json
from datetime import datetime

import pytest

from analytics_worker.items import Event, Rejection, read_item
from worker_samples import event, raw_body, sns_envelope


@pytest.mark.parametrize(
    "make_item",
    [lambda e: e, raw_body, sns_envelope],
    ids=["event object", "raw JSON body", "SNS envelope"],
)
def test_every_item_kind_yields_the_same_event(make_item):
    # GIVEN one event, wrapped as each kind of item the worker accepts
    fields = event(event_id="evt-1")
    # WHEN it is read
    outcome = read_item(make_item(fields))
    # THEN it is an event with the same fields
    assert isinstance(outcome, Event)
    assert outcome.fields == fields
    assert outcome.timestamp == "2026-11-28T10:15:00Z"


SNS_FIELDS = {"Type": "Notification", "MessageId": "m-1", "TopicArn": "arn:aws:sns:eu-central-1:123456789012:t"}


@pytest.mark.parametrize(
    "item, reason",
    [
        ("not json at all", "message body is not valid JSON"),
        ("", "message body is not valid JSON"),
        ("[1, 2]", "message body is an array; expected an event object"),
        ('"just a string"', "message body is a string; expected an event object"),
        ("null", "message body is null; expected an event object"),
        (42, "item is a number; expected an event object or a message body string"),
        (None, "item is null; expected an event object or a message body string"),
        ([{"event_id": "x"}], "item is an array; expected an event object or a message body string"),
        (json.dumps(SNS_FIELDS | {"Message": "{broken"}), "SNS notification's Message is not valid JSON"),
        (json.dumps(SNS_FIELDS | {"Message": "[1]"}), "SNS notification's Message is an array; expected an event object"),
        (json.dumps(SNS_FIELDS | {"Message": 7}), "SNS notification's Message is not a string"),
        ('{"event_id": "a", "n": NaN}', "message body is not valid JSON"),
        ("[" * 5000 + "]" * 5000, "message body is not read: it is nested deeper than 1,024 levels"),
    ],
)
def test_garbage_is_rejected_with_a_reason(item, reason):
    # WHEN an item that holds no event is read
    outcome = read_item(item)
    # THEN it is rejected, the reason says what was wrong, and the raw text is kept
    assert isinstance(outcome, Rejection)
    assert outcome.reason.startswith(reason), outcome.reason
    assert outcome.raw == (item if isinstance(item, str) else json.dumps(item, separators=(",", ":")))


@pytest.mark.parametrize(
    "changes, reason",
    [
        ({"event_id": None}, "missing required field: event_id"),
        ({"event_id": None, "event_type": None}, "missing required fields: event_id, event_type"),
        ({"event_timestamp": None}, "missing required field: event_timestamp"),
        ({"event_id": 12}, "event_id must be a string, got a number"),
        ({"event_id": ""}, "event_id must not be empty"),
        ({"event_id": "x" * 65}, "event_id is longer than 64 characters (65)"),
        ({"event_type": ""}, "event_type must not be empty"),
        ({"event_type": "t" * 129}, "event_type is longer than 128 characters (129)"),
        ({"event_type": ["a"]}, "event_type must be a string, got an array"),
        ({"event_timestamp": "yesterday"}, "event_timestamp must be an ISO 8601 date and time such as 2026-11-28T18:23:25Z"),
        ({"event_timestamp": 1732790000}, "event_timestamp must be a string, got a number"),
        ({"event_timestamp": "2026-02-30T10:00:00Z"}, "event_timestamp '2026-02-30T10:00:00Z' is not a real date and time"),
        ({"event_timestamp": "2026-11-28T25:00:00Z"}, "event_timestamp '2026-11-28T25:00:00Z' is not a real date and time"),
        ({"event_timestamp": "2026-11-28T10:00:00Z\n"}, "event_timestamp must be an ISO 8601 date and time"),
        ({"event_version": "v" * 33}, "event_version is longer than 32 characters (33)"),
        ({"app_title": "a" * 129}, "app_title is longer than 128 characters (129)"),
        ({"app_version": True}, "app_version must be a string, got a boolean"),
        ({"user_id": 7}, "user_id must be a string, got a number"),
        ({"user_name": "n" * 129}, "user_name is longer than 128 characters (129)"),
        ({"meta": "text"}, "meta must be an object, got a string"),
        ({"token_payload": [1]}, "token_payload must be an object, got an array"),
    ],
)
def test_each_validation_rule_names_the_field_and_the_problem(changes, reason):
    # GIVEN an event that breaks one rule of the v1 schema
    fields = event(**changes)
    # WHEN it arrives as a raw message body
    outcome = read_item(raw_body(fields))
    # THEN it is rejected with a reason naming the field and what is wrong
    assert isinstance(outcome, Rejection)
    assert outcome.reason.startswith(reason), outcome.reason


def test_a_rejected_event_keeps_its_event_id_when_one_can_be_read():
    outcome = read_item(raw_body(event(event_id="evt-9", event_type="")))
    assert outcome.event_id == "evt-9"


@pytest.mark.parametrize(
    "timestamp, passed_on",
    [
        ("2026-11-28T10:15:00", "2026-11-28T10:15:00+00:00"),
        ("2026-11-28 10:15", "2026-11-28 10:15+00:00"),
        ("2026-11-28T10:15:00.123456Z", "2026-11-28T10:15:00.123456Z"),
        ("2026-11-28T10:15:00+05:30", "2026-11-28T10:15:00+05:30"),
        ("2026-11-28T10:15:00-0800", "2026-11-28T10:15:00-0800"),
    ],
)
def test_timestamps_without_zone_are_given_utc(timestamp, passed_on):
    outcome = read_item(event(event_timestamp=timestamp))
    assert outcome.timestamp == passed_on


def test_optional_fields_may_be_null_and_unknown_keys_are_kept():
    outcome = read_item(raw_body(event(user_id=None, app_title=None) | {"user_name": None, "colour": "red"}))
    assert isinstance(outcome, Event)
    assert outcome.fields["colour"] == "red"


# --- timestamps: every RFC 3339 date-time, ISO 8601's comma; only instants every client can read (issue 10) ---

@pytest.mark.parametrize(
    "timestamp, utc",
    [
        ("2026-11-28t10:15:00z", "2026-11-28T10:15:00+00:00"),
        ("2026-11-28T10:15:00,5Z", "2026-11-28T10:15:00.500000+00:00"),
        ("2026-11-28T10:15:00,25", "2026-11-28T10:15:00.250000+00:00"),
        ("2016-12-31T23:59:60Z", "2017-01-01T00:00:00+00:00"),
        ("2016-12-31T23:59:60.5Z", "2017-01-01T00:00:00.500000+00:00"),
        ("2026-11-28T10:15:00.1234564999Z", "2026-11-28T10:15:00.123456+00:00"),
        ("2026-11-28T10:15:00.1234565Z", "2026-11-28T10:15:00.123457+00:00"),
        ("2026-11-28T10:15:00." + "9" * 40 + "Z", "2026-11-28T10:15:01+00:00"),
        ("9999-12-30T23:59:59.999999Z", "9999-12-30T23:59:59.999999+00:00"),
        ("9999-12-31T10:00:00+12:00", "9999-12-30T22:00:00+00:00"),
        ("0001-01-02T00:00:00Z", "0001-01-02T00:00:00+00:00"),
        ("0001-01-01T20:00:00-14:00", "0001-01-02T10:00:00+00:00"),
        ("2026-01-01T00:00:00+15:59", "2025-12-31T08:01:00+00:00"),
        ("2026-01-01T00:00:00-15:59", "2026-01-01T15:59:00+00:00"),
    ],
)
def test_every_rfc_3339_form_is_read_as_its_utc_instant(timestamp, utc):
    # WHEN an event with this timestamp is read
    outcome = read_item(event(event_timestamp=timestamp))
    # THEN it is valid, and Postgres is handed a text of its instant (fractions rounded to the microsecond)
    assert isinstance(outcome, Event), outcome
    assert datetime.fromisoformat(outcome.timestamp) == datetime.fromisoformat(utc)


@pytest.mark.parametrize(
    "timestamp, reason",
    [
        ("9999-12-31T23:59:59-12:00", "event_timestamp '9999-12-31T23:59:59-12:00' lies outside 0001-01-02T00:00:00Z to 9999-12-30T23:59:59.999999Z: years 1 to 9999 with a day to spare"),
        ("0001-01-01T00:00:00+14:00", "event_timestamp '0001-01-01T00:00:00+14:00' lies outside 0001-01-02T00:00:00Z to 9999-12-30T23:59:59.999999Z"),
        ("9999-12-30T23:59:59.9999995Z", "event_timestamp '9999-12-30T23:59:59.9999995Z' lies outside 0001-01-02T00:00:00Z"),
        ("9999-12-31T00:00:00Z", "event_timestamp '9999-12-31T00:00:00Z' lies outside 0001-01-02T00:00:00Z"),
        ("0001-01-01T23:59:59.999999Z", "event_timestamp '0001-01-01T23:59:59.999999Z' lies outside 0001-01-02T00:00:00Z"),
        ("0000-06-01T00:00:00Z", "event_timestamp '0000-06-01T00:00:00Z' lies outside 0001-01-02T00:00:00Z"),
        ("2026-01-01T00:00:00+16:00", "event_timestamp offset +16:00 is beyond ±15:59, the widest offset Postgres accepts"),
        ("2026-01-01T00:00:00-99", "event_timestamp offset -99:00 is beyond ±15:59, the widest offset Postgres accepts"),
        ("2026-01-01T00:00:00+01:60", "event_timestamp offset +01:60 is not a real offset"),
        ("2026-11-28T10:15:61Z", "event_timestamp '2026-11-28T10:15:61Z' is not a real date and time"),
        ("2026-11-28T24:00:00Z", "event_timestamp '2026-11-28T24:00:00Z' is not a real date and time"),
        ("2026-11-28T10:15:00.Z", "event_timestamp must be an ISO 8601 date and time"),
        ("2026-11-28", "event_timestamp must be an ISO 8601 date and time"),
    ],
)
def test_a_timestamp_some_client_cannot_read_is_rejected_naming_the_field_and_the_bound(timestamp, reason):
    outcome = read_item(event(event_timestamp=timestamp))
    assert isinstance(outcome, Rejection)
    assert outcome.reason.startswith(reason), outcome.reason


# --- decoded objects and look-alikes (issue 10, item 5) ---

@pytest.mark.parametrize(
    "changes, reason",
    [
        ({"meta": {"score": float("nan")}}, "meta.score is NaN, which JSON cannot hold"),
        ({"meta": {"list": [1, float("inf")]}}, "meta.list[1] is Infinity, which JSON cannot hold"),
        ({"ratio": float("-inf")}, "ratio is -Infinity, which JSON cannot hold"),
    ],
)
def test_nan_and_infinity_in_an_event_object_are_rejected_not_stored_as_null(changes, reason):
    # GIVEN a directly invoked event object holding a number JSON has no text for
    item = event(event_id="nan-1", **changes)
    # WHEN it is read
    outcome = read_item(item)
    # THEN it is rejected with a reason naming where, and the raw text keeps the value
    assert isinstance(outcome, Rejection)
    assert outcome.reason == f"event object cannot be written as JSON: {reason}"
    assert outcome.event_id == "nan-1"
    assert "null" not in outcome.raw and ("NaN" in outcome.raw or "Infinity" in outcome.raw)


@pytest.mark.parametrize("make_item", [lambda e: e, raw_body], ids=["event object", "raw JSON body"])
def test_an_event_carrying_notification_like_keys_is_still_the_event(make_item):
    # GIVEN a valid event whose own keys happen to include Type "Notification" and a Message
    fields = event(event_id="looks-like-sns", Type="Notification", Message='{"event_id": "inner"}')
    # WHEN it is read
    outcome = read_item(make_item(fields))
    # THEN it is that event (the keys go to extra), not the text inside its Message
    assert isinstance(outcome, Event)
    assert outcome.fields == fields


def test_an_envelope_needs_the_sns_fields():
    # GIVEN an SNS notification as SNS writes it: Type, MessageId, TopicArn and the Message
    inner = event(event_id="inner")
    envelope = sns_envelope(inner)
    # WHEN read, THEN the event inside is the event
    assert read_item(envelope).fields == inner
    # AND an object with only Type and Message is no envelope: it is an event missing its fields
    outcome = read_item(json.dumps({"Type": "Notification", "Message": json.dumps(inner)}))
    assert isinstance(outcome, Rejection)
    assert outcome.reason == "missing required fields: event_id, event_timestamp, event_type"


def nested(depth):
    """An object `depth` levels deep: {"k": {"k": ... {}}}."""
    value = {}
    for _ in range(depth - 1):
        value = {"k": value}
    return value


def event_text_with_nested_meta(depth, event_id="deep"):
    """The JSON text of a valid event whose meta is `depth` levels deep (json.dumps stops near 1,000)."""
    head = json.dumps(event(event_id=event_id, meta=None))[:-1]
    return head + ', "meta": ' + '{"k": ' * (depth - 1) + "{}" + "}" * (depth - 1) + "}"


@pytest.mark.parametrize("depth", [254, 255, 300, 1000, 1023])
@pytest.mark.parametrize("kind", ["event object", "raw JSON body"])
def test_deeply_nested_meta_is_accepted_up_to_the_limit(kind, depth):
    # GIVEN an event whose meta is `depth` levels deep (the event itself is one level more)
    item = event(meta=nested(depth)) if kind == "event object" else event_text_with_nested_meta(depth)
    # WHEN read
    outcome = read_item(item)
    # THEN it is an event, and its JSON text is complete
    assert isinstance(outcome, Event), outcome.reason
    assert outcome.raw.count("{") == depth + 1


@pytest.mark.parametrize("kind", ["event object", "raw JSON body"])
def test_nesting_beyond_the_limit_is_rejected_with_the_limit(kind):
    # GIVEN an item nested 1,025 levels deep (the event object is level 1)
    item = event(event_id="deep", meta=nested(1024)) if kind == "event object" else event_text_with_nested_meta(1024)
    # WHEN read
    outcome = read_item(item)
    # THEN it is rejected, the reason gives the limit, and the raw text is complete
    assert isinstance(outcome, Rejection)
    assert "nested deeper than 1,024 levels" in outcome.reason, outcome.reason
    assert outcome.raw.count("{") == 1025


def test_objects_that_cannot_be_written_as_json_keep_a_full_distinct_raw_text():
    # GIVEN two directly invoked objects that differ only far inside, both holding an integer beyond 64 bits
    first = {"event_id": "big", "meta": {"n": 10**30, "text": "a" * 20_000 + "1" + "a" * 20_000}}
    second = {"event_id": "big", "meta": {"n": 10**30, "text": "a" * 20_000 + "2" + "a" * 20_000}}
    # WHEN read
    one, two = read_item(first), read_item(second)
    # THEN both are rejected with the reason, and their raw texts are complete JSON texts that differ
    assert one.reason == two.reason == "event object cannot be written as JSON: meta.n is an integer beyond 64 bits"
    assert one.raw != two.raw
    assert json.loads(one.raw) == first and json.loads(two.raw) == second
