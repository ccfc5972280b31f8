"""JSON text of decoded values at any nesting depth, and what JSON cannot hold.

orjson writes up to 254 levels and reads up to 1,024; Postgres stores deeper
jsonb than either (about 10,000 levels with its default 2 MB stack). The worker
reads and writes up to MAX_DEPTH levels and rejects deeper items with that number.
"""
import json
import math

import orjson

MAX_DEPTH = 1024  # what orjson reads; the event object is level 1
DEPTH_PROBLEM = f"it is nested deeper than {MAX_DEPTH:,} levels, the most the worker reads"
_INT_RANGE = range(-(2**63), 2**64)  # what orjson writes; JSON texts hand the worker larger ones as floats
_NON_FINITE = {"nan": "NaN", "inf": "Infinity", "-inf": "-Infinity"}


class NotJSON(ValueError):
    """The value holds something JSON cannot: the message says where (meta.score) and what."""


def encode(value):
    """JSON text of a value decoded from JSON (so holding no NaN); raises NotJSON beyond MAX_DEPTH."""
    try:
        return orjson.dumps(value).decode()
    except TypeError:  # orjson.JSONEncodeError: deeper than orjson writes, or not JSON at all
        return _Writer(strict=True).text(value)


def encode_checked(value):
    """JSON text of a value from a caller (a directly invoked object); raises NotJSON naming what JSON cannot hold."""
    text = encode(value)
    if "null" in text:  # orjson writes NaN and Infinity as null: look for them
        _Writer(strict=True).text(value)
    return text


def faithful(value):
    """A complete text of any value, for rejected_events: JSON where it can be, NaN, big integers and repr() where not.

    Two different values give two different texts (as far as JSON types go), at any depth.
    """
    return _Writer(strict=False).text(value)


class _Frame:
    __slots__ = ("items", "is_object", "count", "key")

    def __init__(self, items, is_object):
        self.items, self.is_object, self.count, self.key = items, is_object, 0, None


_END = object()


class _Writer:
    """An iterative JSON writer: no recursion, so no depth limit of its own."""

    def __init__(self, strict):
        self.strict = strict
        self.parts = []
        self.frames = []

    def text(self, value):
        self._value(value)
        while self.frames:
            frame = self.frames[-1]
            item = next(frame.items, _END)
            if item is _END:
                self.parts.append("}" if frame.is_object else "]")
                self.frames.pop()
                continue
            if frame.count:
                self.parts.append(",")
            if frame.is_object:
                frame.key, item = item
                self.parts += (self._key(frame.key), ":")
            else:
                frame.key = frame.count
            frame.count += 1
            self._value(item)
        return "".join(self.parts)

    def _value(self, value):
        if isinstance(value, (dict, list, tuple)):
            if self.strict and len(self.frames) >= MAX_DEPTH:
                raise NotJSON(DEPTH_PROBLEM)
            is_object = isinstance(value, dict)
            self.parts.append("{" if is_object else "[")
            self.frames.append(_Frame(iter(value.items() if is_object else value), is_object))
        elif isinstance(value, str):
            self.parts.append(self._string(value))
        elif value is None or isinstance(value, bool):
            self.parts.append(orjson.dumps(value).decode())
        elif isinstance(value, int):
            if value not in _INT_RANGE:
                self._problem("is an integer beyond 64 bits")
            self.parts.append(str(value))
        elif isinstance(value, float):
            if not math.isfinite(value):
                name = _NON_FINITE[repr(value)]
                self._problem(f"is {name}, which JSON cannot hold")
                self.parts.append(name)
            else:
                self.parts.append(orjson.dumps(value).decode())
        else:
            self._problem(f"is a Python {type(value).__name__}, which JSON cannot hold")
            self.parts.append(self._string(repr(value)))

    def _key(self, key):
        if not isinstance(key, str):
            self._problem(f"has a key {str(key)[:50]!r} that is not a string")
            return self._string(str(key))
        return self._string(key)

    def _string(self, text):
        try:
            return orjson.dumps(text).decode()
        except TypeError:
            self._problem("holds a lone surrogate (\\ud800-\\udfff), which is not Unicode text")
            return json.dumps(text)  # escapes the surrogate as \udXXX

    def _problem(self, what):
        if self.strict:
            raise NotJSON(f"{self._path()} {what}")

    def _path(self, limit=200):
        path = ""
        for frame in self.frames:
            if frame.is_object:
                path += f".{frame.key}" if path else str(frame.key)
            else:
                path += f"[{frame.key}]"
        path = path or "the value"
        return path if len(path) <= limit else path[: limit - 3] + "..."
