"""Validation of one decoded event against the v1 JSON Schema (event.schema.json), the one home of the v1 fields."""
import copy
import json
import re
from datetime import datetime, timedelta
from pathlib import Path

import fastjsonschema

SCHEMA_PATH = Path(__file__).with_name("event.schema.json")
EVENT_SCHEMA = json.loads(SCHEMA_PATH.read_text())
_PROPERTIES = EVENT_SCHEMA["properties"]
V1_FIELDS = tuple(_PROPERTIES)  # in the schema's order, which is also the column order of `events`
JSON_OBJECT_FIELDS = tuple(name for name, rule in _PROPERTIES.items() if "object" in rule["type"])
# The timestamp's pattern is checked once, by event_timestamp() below, which needs its groups anyway.
_TIMESTAMP = re.compile(_PROPERTIES["event_timestamp"]["pattern"])
_SCHEMA_WITHOUT_TIMESTAMP_PATTERN = copy.deepcopy(EVENT_SCHEMA)
del _SCHEMA_WITHOUT_TIMESTAMP_PATTERN["properties"]["event_timestamp"]["pattern"]
_validate = fastjsonschema.compile(_SCHEMA_WITHOUT_TIMESTAMP_PATTERN)
_TIMESTAMP_EXAMPLE = "2026-11-28T18:23:25Z"
# Years 1..9999 (all Python's datetime holds, so all psycopg2 and Superset read) with a day to spare at each
# end, so the event's date in any time zone (a client's session, the rollups' days) is in those years too.
_EARLIEST, _LATEST = datetime(1, 1, 2), datetime(9999, 12, 30, 23, 59, 59, 999999)
_UTC_RANGE = (
    "outside 0001-01-02T00:00:00Z to 9999-12-30T23:59:59.999999Z: years 1 to 9999 with a day to spare,"
    " so that every client can read its date in every time zone"
)


class InvalidEvent(ValueError):
    """The event breaks the v1 schema; the message says which field and what is wrong."""


def validate_event(event):
    """Check one decoded event; return its timestamp as a text Postgres reads as the same instant."""
    try:
        _validate(event)
    except fastjsonschema.JsonSchemaValueException as error:
        raise InvalidEvent(_reason(event, error)) from None
    return event_timestamp(event["event_timestamp"])


def event_timestamp(text):
    """The timestamp as Postgres should read it, if every standard client can read it back.

    That is: a real date and time whose instant lies in years 1..9999 in UTC,
    a day away from either end (Python's datetime, under psycopg2 and so under
    Superset, holds no other years, and a date read in another time zone may be
    a day off), with an offset Postgres accepts (up to 15:59 either way). Common forms
    go on as written (+00:00 added when they name no zone); others (second 60,
    a comma, more than 6 fraction digits, lower-case t or z, years 1 and 9999)
    as their UTC instant, fractions rounded to the microsecond, half up.
    """
    match = _TIMESTAMP.fullmatch(text)
    if match is None:
        raise InvalidEvent(f"event_timestamp must be an ISO 8601 date and time such as {_TIMESTAMP_EXAMPLE}")
    year, month, day, hour, minute, second, mark, fraction, zulu, sign, offset_hours, offset_minutes = match.groups()
    if sign is not None:
        offset_minutes = offset_minutes or "00"
        if offset_minutes > "59":
            raise InvalidEvent(f"event_timestamp offset {sign}{offset_hours}:{offset_minutes} is not a real offset")
        if offset_hours > "15":
            raise InvalidEvent(
                f"event_timestamp offset {sign}{offset_hours}:{offset_minutes} is beyond ±15:59, the widest offset Postgres accepts"
            )
    leap_second = second == "60"
    if (
        "0001" < year < "9999" and not leap_second and mark != "," and (fraction is None or len(fraction) <= 6)
        and zulu != "z" and "t" not in text
    ):  # the common case: Postgres reads it as written, and no offset below 16 hours leaves years 1..9999
        try:
            datetime.fromisoformat(text)  # a real date and time? (the quickest check; the slow path says why not)
        except ValueError:
            pass
        else:
            return text if zulu or sign else text + "+00:00"
    if year == "0000":
        raise InvalidEvent(f"event_timestamp {text!r} lies {_UTC_RANGE}")
    try:
        moment = datetime(int(year), int(month), int(day), int(hour), int(minute), 59 if leap_second else int(second or 0))
    except ValueError:
        raise InvalidEvent(f"event_timestamp {text!r} is not a real date and time") from None
    offset = timedelta(hours=int(offset_hours), minutes=int(offset_minutes)) if sign else timedelta(0)
    extra = timedelta(seconds=leap_second, microseconds=(int((fraction or "0")[:7].ljust(7, "0")) + 5) // 10)
    try:
        instant = (moment - offset if sign != "-" else moment + offset) + extra
    except OverflowError:
        instant = None
    if instant is None or not _EARLIEST <= instant <= _LATEST:
        raise InvalidEvent(f"event_timestamp {text!r} lies {_UTC_RANGE}")
    return instant.isoformat() + "+00:00"


def _reason(event, error):
    field = error.name.removeprefix("data").lstrip(".") or "event"
    if error.rule == "required":
        missing = [key for key in error.rule_definition if key not in event]
        return f"missing required field{'s' if len(missing) > 1 else ''}: {', '.join(missing)}"
    if error.rule == "type" and field == "event":
        return f"an event must be a JSON object, got {json_kind(event)}"
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
