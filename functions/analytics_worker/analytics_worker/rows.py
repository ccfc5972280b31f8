"""One valid event as one line of COPY text format, in the column order of EVENT_COLUMNS."""
import re

import orjson

from analytics_worker.items import extra_fields

EVENT_COLUMNS = (
    "event_id", "event_timestamp", "event_type", "event_version", "app_title", "app_version",
    "user_id", "user_name", "meta", "token_payload", "extra",
)
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
    meta, token_payload, extra = fields.get("meta"), fields.get("token_payload"), extra_fields(fields)
    values = [
        fields["event_id"], event.timestamp, fields["event_type"], fields.get("event_version"),
        fields.get("app_title"), fields.get("app_version"), fields.get("user_id"), fields.get("user_name"),
        None if meta is None else _json(meta),
        None if token_payload is None else _json(token_payload),
        None if extra is None else _json(extra),
    ]
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
        text = orjson.dumps(value).decode()
    except TypeError as error:  # orjson.JSONEncodeError: an integer beyond 64 bits, nesting too deep
        raise UnstorableEvent(f"cannot be stored as JSON: {error}") from None
    if "\\u0000" in text and _JSON_NUL_ESCAPE.search(text):
        raise UnstorableEvent("contains a NUL character (\\u0000), which Postgres cannot store in JSON")
    return text
