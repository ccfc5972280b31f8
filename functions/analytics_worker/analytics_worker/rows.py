"""One valid event as one line of COPY text format, in the column order of EVENT_COLUMNS."""
import re

from analytics_worker import json_text
from analytics_worker.items import extra_fields
from analytics_worker.validation import JSON_OBJECT_FIELDS, V1_FIELDS

# The columns of `events` the worker fills: the schema's fields, then the other keys as `extra`.
EVENT_COLUMNS = V1_FIELDS + ("extra",)
_TIMESTAMP_INDEX = V1_FIELDS.index("event_timestamp")
_JSON_INDEXES = tuple(V1_FIELDS.index(name) for name in JSON_OBJECT_FIELDS)
_SEPARATORS = len(EVENT_COLUMNS) - 1
_NULL = "\\N"
_COPY_ESCAPES = str.maketrans({"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"})
# \u0000 as a JSON escape, not preceded by an escaped backslash: jsonb refuses it.
_JSON_NUL_ESCAPE = re.compile(r"(?<!\\)(?:\\\\)*\\u0000")


class UnstorableEvent(ValueError):
    """The event is valid JSON and matches the schema, but Postgres cannot store its text."""


def copy_line(event):
    """The event as UTF-8 bytes of one COPY line (with its newline)."""
    fields = event.fields
    values = list(map(fields.get, V1_FIELDS))  # the schema made every other value a string or None
    values[_TIMESTAMP_INDEX] = event.timestamp
    for index in _JSON_INDEXES:
        if values[index] is not None:
            values[index] = _json(values[index])
    extra = extra_fields(fields)
    values.append(None if extra is None else _json(extra))
    line = "\t".join(_NULL if value is None else value for value in values)
    # Almost no event needs escaping: check the whole line once instead of each value
    # (each NULL marker brings one backslash of its own).
    if line.count("\t") != _SEPARATORS or line.count("\\") != values.count(None) or "\n" in line or "\r" in line:
        line = "\t".join(_NULL if value is None else value.translate(_COPY_ESCAPES) for value in values)
    if "\x00" in line:
        raise UnstorableEvent("contains a NUL character (\\u0000), which Postgres cannot store")
    try:
        return (line + "\n").encode("utf-8")
    except UnicodeEncodeError:
        raise UnstorableEvent("contains text that is not valid Unicode (a lone surrogate escape)") from None


def _json(value):
    try:
        text = json_text.encode(value)
    except json_text.NotJSON as error:
        raise UnstorableEvent(f"cannot be stored as JSON: {error}") from None
    if "\\u0000" in text and _JSON_NUL_ESCAPE.search(text):
        raise UnstorableEvent("contains a NUL character (\\u0000), which Postgres cannot store in JSON")
    return text
