"""Reading one input item: which kind it is, and the reason a person reads when it is rejected."""
import json

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
        (json.dumps({"Type": "Notification", "Message": "{broken"}), "SNS notification's Message is not valid JSON"),
        (json.dumps({"Type": "Notification", "Message": "[1]"}), "SNS notification's Message is an array; expected an event object"),
        (json.dumps({"Type": "Notification", "Message": 7}), "SNS notification's Message is not a string"),
        ('{"event_id": "a", "n": NaN}', "message body is not valid JSON"),
        ("[" * 5000 + "]" * 5000, "message body is not valid JSON"),
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
