"""Turning one input item into an event or a rejection.

An item is an event object, or a string holding one SQS message body: an SNS
notification envelope, a raw event JSON text (raw message delivery), or garbage.
Reading is two steps, so a batch can be put in event_id order before the
costlier validation: decode_item() finds the event object, read_event() validates it.
"""
from dataclasses import dataclass

import orjson

from analytics_worker import json_text
from analytics_worker.validation import V1_FIELDS, InvalidEvent, json_kind, validate_event

_KNOWN = frozenset(V1_FIELDS)
# SNS writes these into every notification; it never writes an event_id.
_SNS_ENVELOPE_KEYS = ("Message", "MessageId", "TopicArn")


@dataclass(slots=True)  # not frozen: a frozen __init__ costs a measurable share of a batch's time
class Decoded:
    """An item's event object (not yet validated) and the raw text it came from."""
    document: dict
    raw: str


@dataclass(slots=True)
class Event:
    """A valid event: the decoded object, its timestamp as Postgres should read it and the raw text it came from."""
    fields: dict
    timestamp: str
    raw: str


@dataclass(frozen=True, slots=True)
class Rejection:
    reason: str
    raw: str
    event_id: str | None = None


def read_item(item):
    """Classify one input item; never raises for bad input."""
    decoded = decode_item(item)
    return decoded if isinstance(decoded, Rejection) else read_event(decoded)


def decode_item(item):
    """The item's event object with its raw text, or a Rejection when it holds none."""
    if isinstance(item, str):
        return _decode_text(item)
    if isinstance(item, dict):
        try:
            return Decoded(item, json_text.encode_checked(item))
        except json_text.NotJSON as error:
            return Rejection(f"event object cannot be written as JSON: {error}", json_text.faithful(item), _readable_event_id(item))
    return Rejection(
        f"item is {json_kind(item)}; expected an event object or a message body string", json_text.faithful(item)
    )


def read_event(decoded):
    """Validate a decoded event object."""
    try:
        timestamp = validate_event(decoded.document)
    except InvalidEvent as error:
        return Rejection(str(error), decoded.raw, _readable_event_id(decoded.document))
    return Event(decoded.document, timestamp, decoded.raw)


def is_sns_envelope(document):
    """An SNS notification has Type "Notification", a Message, a MessageId and a TopicArn, and no event_id.

    So an event that carries keys named Type and Message of its own is still read as the event.
    """
    return (
        document.get("Type") == "Notification"
        and "event_id" not in document
        and all(key in document for key in _SNS_ENVELOPE_KEYS)
    )


def _decode_text(raw):
    try:
        document = orjson.loads(raw)
    except orjson.JSONDecodeError as error:
        return Rejection(f"message body {_json_problem(error)}", raw)
    if not isinstance(document, dict):
        return Rejection(f"message body is {json_kind(document)}; expected an event object", raw)
    if is_sns_envelope(document):
        return _decode_notification(document, raw)
    return Decoded(document, raw)


def _decode_notification(envelope, raw):
    message = envelope["Message"]
    if not isinstance(message, str):
        return Rejection("SNS notification's Message is not a string", raw)
    try:
        document = orjson.loads(message)
    except orjson.JSONDecodeError as error:
        return Rejection(f"SNS notification's Message {_json_problem(error)}", raw)
    if not isinstance(document, dict):
        return Rejection(f"SNS notification's Message is {json_kind(document)}; expected an event object", raw)
    return Decoded(document, raw)


def extra_fields(fields):
    """Top-level keys that v1 does not name, or None when there are none."""
    if len(fields.keys() - _KNOWN) == 0:
        return None
    return {key: value for key, value in fields.items() if key not in _KNOWN}


def _readable_event_id(document):
    event_id = document.get("event_id")
    if isinstance(event_id, str):
        return event_id[:128]
    if isinstance(event_id, int) and not isinstance(event_id, bool) and abs(event_id) < 10**128:
        return str(event_id)
    return None


def _json_problem(error, limit=200):
    text = str(error)
    if text.startswith("depth limit exceeded") or text.startswith("Recursion limit"):
        return f"is not read: {json_text.DEPTH_PROBLEM}"
    return "is not valid JSON: " + (text if len(text) <= limit else text[:limit] + "...")
