"""Turning one input item into an event or a rejection.

An item is an event object, or a string holding one SQS message body: an SNS
notification envelope, a raw event JSON text (raw message delivery), or garbage.
"""
import reprlib
from dataclasses import dataclass

import orjson

from analytics_worker.validation import InvalidEvent, json_kind, validate_event

V1_FIELDS = (
    "event_id", "event_timestamp", "event_type", "event_version", "app_title",
    "app_version", "user_id", "user_name", "meta", "token_payload",
)
_KNOWN = frozenset(V1_FIELDS)


@dataclass(frozen=True, slots=True)
class Event:
    """A valid event: the decoded object, its normalised timestamp and the raw text it came from."""
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
    if isinstance(item, str):
        return _read_text(item)
    if isinstance(item, dict):
        try:
            raw = orjson.dumps(item).decode()
        except TypeError as error:
            return Rejection(f"event object cannot be written as JSON: {error}", _bounded_repr(item))
        return _read_event(item, raw)
    return Rejection(f"item is {json_kind(item)}; expected an event object or a message body string", _dump_any(item))


def _read_text(raw):
    try:
        document = orjson.loads(raw)
    except orjson.JSONDecodeError as error:
        return Rejection(f"message body is not valid JSON: {_short(error)}", raw)
    if isinstance(document, dict) and document.get("Type") == "Notification" and "Message" in document:
        return _read_notification(document, raw)
    if not isinstance(document, dict):
        return Rejection(f"message body is {json_kind(document)}; expected an event object", raw)
    return _read_event(document, raw)


def _read_notification(envelope, raw):
    message = envelope["Message"]
    if not isinstance(message, str):
        return Rejection("SNS notification's Message is not a string", raw)
    try:
        document = orjson.loads(message)
    except orjson.JSONDecodeError as error:
        return Rejection(f"SNS notification's Message is not valid JSON: {_short(error)}", raw)
    if not isinstance(document, dict):
        return Rejection(f"SNS notification's Message is {json_kind(document)}; expected an event object", raw)
    return _read_event(document, raw)


def _read_event(document, raw):
    try:
        timestamp = validate_event(document)
    except InvalidEvent as error:
        return Rejection(str(error), raw, _readable_event_id(document))
    return Event(document, timestamp, raw)


def extra_fields(fields):
    """Top-level keys that v1 does not name, or None when there are none."""
    if len(fields.keys() - _KNOWN) == 0:
        return None
    return {key: value for key, value in fields.items() if key not in _KNOWN}


def _readable_event_id(document):
    event_id = document.get("event_id")
    if isinstance(event_id, (str, int)) and not isinstance(event_id, bool):
        return str(event_id)[:128]
    return None


def _dump_any(value):
    try:
        return orjson.dumps(value).decode()
    except TypeError:
        return _bounded_repr(value)


_repr = reprlib.Repr()
_repr.maxlevel, _repr.maxdict, _repr.maxlist, _repr.maxstring, _repr.maxother = 20, 100, 100, 10_000, 10_000


def _bounded_repr(value):
    """A readable text for a value JSON cannot hold, safe for any nesting depth."""
    return _repr.repr(value)


def _short(error, limit=200):
    text = str(error)
    return text if len(text) <= limit else text[:limit] + "..."
