"""`?validate=strict`: the v1 event schema, checked here with the worker's own JSON Schema file.

The schema has one home, functions/analytics_worker/analytics_worker/event.schema.json;
`inv build` copies it into this function's zip beside this module (ops/build.py,
EXTRA_FILES), and a checkout reads it from the worker's folder. The collector has no
runtime dependencies, so it checks the small subset of JSON Schema that file uses, and
refuses to start on a keyword it does not know rather than ignore it
(tests/analytics_collector/test_collector_schema.py compares it with the worker's).
"""
import json
import re
from datetime import datetime
from pathlib import Path

_HERE = Path(__file__).resolve().parent
SCHEMA_CANDIDATES = (
    _HERE / "event.schema.json",  # in the zip
    _HERE.parent.parent / "analytics_worker" / "analytics_worker" / "event.schema.json",  # in a checkout
)
_ANNOTATIONS = {"$schema", "$id", "title", "description"}
_KEYWORDS = {"type", "required", "properties", "additionalProperties", "minLength", "maxLength", "pattern"}
_TYPES = {
    "string": lambda v: isinstance(v, str),
    "object": lambda v: isinstance(v, dict),
    "array": lambda v: isinstance(v, list),
    "null": lambda v: v is None,
    "boolean": lambda v: isinstance(v, bool),
    "number": lambda v: isinstance(v, (int, float)) and not isinstance(v, bool),
    "integer": lambda v: isinstance(v, int) and not isinstance(v, bool),
}
_KINDS = {"string": "a string", "object": "an object", "array": "an array", "null": "null",
          "boolean": "a boolean", "number": "a number", "integer": "a whole number"}


class UnsupportedSchema(ValueError):
    """The schema uses a keyword this checker does not implement."""


def _check_supported(schema, where="schema"):
    unknown = set(schema) - _ANNOTATIONS - _KEYWORDS
    if unknown:
        raise UnsupportedSchema(
            f"{where} uses {', '.join(sorted(unknown))}, which the collector's schema check does not implement: "
            "extend functions/analytics_collector/analytics_collector/schema.py."
        )
    if schema.get("additionalProperties", True) is not True:
        raise UnsupportedSchema(f"{where}: only additionalProperties: true is implemented.")
    for name, sub in schema.get("properties", {}).items():
        _check_supported(sub, f"{where}.properties.{name}")


def load_schema(path=None):
    path = Path(path) if path else next((p for p in SCHEMA_CANDIDATES if p.exists()), None)
    if path is None:
        raise FileNotFoundError(
            "event.schema.json is missing: build the zip with `inv build` (it copies the worker's schema in)."
        )
    schema = json.loads(path.read_text())
    _check_supported(schema)
    return schema


def _kind(value):
    for name in ("null", "boolean", "string", "object", "array"):
        if _TYPES[name](value):
            return _KINDS[name]
    return "a number"


def _problem(value, rule, field):
    """The first way `value` breaks `rule`, in words, or None."""
    types = rule.get("type")
    if types is not None:
        names = [types] if isinstance(types, str) else types
        if not any(_TYPES[name](value) for name in names):
            wanted = " or ".join(_KINDS[name] for name in names if name != "null")
            return f"{field} must be {wanted}, got {_kind(value)}"
    if isinstance(value, str):
        if "minLength" in rule and len(value) < rule["minLength"]:
            return f"{field} must not be empty" if rule["minLength"] == 1 else f"{field} is shorter than {rule['minLength']} characters"
        if "maxLength" in rule and len(value) > rule["maxLength"]:
            return f"{field} is longer than {rule['maxLength']} characters ({len(value)})"
        if "pattern" in rule and not re.search(rule["pattern"], value):
            return f"{field} has the wrong form (pattern {rule['pattern']})"
    return None


def event_problem(event, schema):
    """Why `event` is not a valid v1 event, or None when it is."""
    if not isinstance(event, dict):
        return f"an event must be a JSON object, got {_kind(event)}"
    missing = [name for name in schema.get("required", ()) if name not in event]
    if missing:
        return f"missing required field{'s' if len(missing) > 1 else ''}: {', '.join(missing)}"
    for name, rule in schema.get("properties", {}).items():
        if name in event:
            problem = _problem(event[name], rule, name)
            if problem:
                return problem
    return _timestamp_problem(event.get("event_timestamp"))


def _timestamp_problem(text):
    """Dates that match the pattern but do not exist (2026-02-30): the worker rejects them too."""
    if not isinstance(text, str):
        return None
    try:
        datetime.fromisoformat(text)
    except ValueError:
        return f"event_timestamp {text!r} is not a real date and time"
    return None
