"""Validation of one decoded event against the v1 JSON Schema (event.schema.json)."""
import json
from datetime import datetime
from pathlib import Path

import fastjsonschema

SCHEMA_PATH = Path(__file__).with_name("event.schema.json")
EVENT_SCHEMA = json.loads(SCHEMA_PATH.read_text())
_validate = fastjsonschema.compile(EVENT_SCHEMA)
_TIMESTAMP_EXAMPLE = "2026-11-28T18:23:25Z"


class InvalidEvent(ValueError):
    """The event breaks the v1 schema; the message says which field and what is wrong."""


def validate_event(event):
    """Check one decoded event; return its timestamp as an ISO string with a zone (UTC when none was given)."""
    try:
        _validate(event)
    except fastjsonschema.JsonSchemaValueException as error:
        raise InvalidEvent(_reason(event, error)) from None
    return _normalised_timestamp(event["event_timestamp"])


def _normalised_timestamp(text):
    """The timestamp as Postgres should read it: as given, with +00:00 added when it names no zone.

    The schema's pattern fixes the shape; parsing here catches dates that do not
    exist (2026-02-30) with a clear reason, before Postgres would refuse them.
    """
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise InvalidEvent(f"event_timestamp {text!r} is not a real date and time") from None
    return text if moment.tzinfo is not None else text + "+00:00"


def _reason(event, error):
    field = error.name.removeprefix("data").lstrip(".") or "event"
    if error.rule == "required":
        missing = [key for key in error.rule_definition if key not in event]
        return f"missing required field{'s' if len(missing) > 1 else ''}: {', '.join(missing)}"
    if error.rule == "type" and field == "event":
        return f"an event must be a JSON object, got {json_kind(event)}"
    if error.rule == "pattern" and field == "event_timestamp":
        return f"event_timestamp must be an ISO 8601 date and time such as {_TIMESTAMP_EXAMPLE}"
    if error.rule == "type":
        return f"{field} must be {_expected(error.rule_definition)}, got {json_kind(error.value)}"
    if error.rule == "maxLength":
        return f"{field} is longer than {error.rule_definition} characters ({len(error.value)})"
    if error.rule == "minLength":
        return f"{field} must not be empty"
    return f"{field}: {error.message.removeprefix(error.name + ' ')}"


def _expected(type_rule):
    names = [type_rule] if isinstance(type_rule, str) else [t for t in type_rule if t != "null"]
    return " or ".join(f"a{'n' if name[0] in 'aeiou' else ''} {name}" for name in names)


def json_kind(value):
    """What a decoded JSON value is, in words: "a string", "an array", "null"..."""
    if value is None:
        return "null"
    for kind, name in ((bool, "a boolean"), ((int, float), "a number"), (str, "a string"), (list, "an array"), (dict, "an object")):
        if isinstance(value, kind):
            return name
    return f"a {type(value).__name__}"
