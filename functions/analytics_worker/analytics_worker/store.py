"""Storing one batch of items in one transaction.

Fast path: the valid events stream into `events` with one COPY while they are
still being validated (Python builds rows on one core, Postgres inserts them on
the other). COPY has no ON CONFLICT, so when an event_id is already stored the
COPY fails and is rolled back to a savepoint; the batch then goes through a
temporary table and INSERT ... ON CONFLICT DO NOTHING. Without a conflict
target, that needs only INSERT on `events`, which is all the writer role has.

Lock order: every path inserts events in event_id order (Python's code-point
order, which is Postgres' COLLATE "C") and then rejects in digest order, so
two calls whose batches overlap wait for each other but never deadlock.
A repeated event_id: the first copy stored wins; later copies are duplicates,
unless the database refuses the first, when the next valid copy is tried.
"""
import gc
import hashlib
from contextlib import contextmanager
from dataclasses import dataclass

import psycopg2
from psycopg2 import errors, sql
from psycopg2.extras import execute_values

from analytics_worker.items import Rejection, decode_item, read_event
from analytics_worker.rows import EVENT_COLUMNS, UnstorableEvent, copy_line
from analytics_worker.validation import JSON_OBJECT_FIELDS

# Small chunks let Postgres start on the first rows while later ones are still parsed
# (measured: 8 KiB leaves a 2-3 ms tail after the last row, 64 KiB about 8 ms).
_COPY_CHUNK_BYTES = 8 * 1024
_DATA_ERRORS = (psycopg2.DataError, psycopg2.IntegrityError)


@dataclass
class BatchResult:
    processed: int = 0
    stored: int = 0
    duplicates: int = 0
    rejected: int = 0

    def as_dict(self):
        return {"processed": self.processed, "stored": self.stored, "duplicates": self.duplicates, "rejected": self.rejected}


class _Choice:
    """The copy of one event_id sent to `events`, and its later valid copies, tried if the database refuses it."""
    __slots__ = ("line", "event", "alternates")

    def __init__(self, line, event):
        self.line, self.event, self.alternates = line, event, []


@dataclass
class _Stored:
    stored: int = 0
    duplicates: int = 0


class _Batch:
    """The items of one call, decoded and grouped by event_id, in event_id order (the global lock order)."""

    def __init__(self, items):
        self.rejections = []
        self.choices = []  # filled while lines() is read
        self._first = {}  # event_id -> the first decoded copy
        self._later = {}  # event_id -> later decoded copies, in the batch's order
        for item in items:
            decoded = decode_item(item)
            if isinstance(decoded, Rejection):
                self.rejections.append(decoded)
                continue
            event_id = decoded.document.get("event_id")
            if not isinstance(event_id, str):  # the schema requires a string event_id: validation says what is wrong
                self.rejections.append(read_event(decoded))
            elif event_id in self._first:
                self._later.setdefault(event_id, []).append(decoded)
            else:
                self._first[event_id] = decoded

    def lines(self):
        """Yield the COPY line of the first storable valid copy of each event_id, in event_id order."""
        for event_id in sorted(self._first):
            first, later = self._first[event_id], self._later.get(event_id)
            choice = self._choose(event_id, (first, *later) if later else (first,))
            if choice is not None:
                self.choices.append(choice)
                yield choice.line

    def _choose(self, event_id, copies):
        """The first storable valid copy, the later valid ones as its alternates; the others filed as rejections."""
        choice = None
        for decoded in copies:
            outcome = read_event(decoded)
            if isinstance(outcome, Rejection):
                self.rejections.append(outcome)
            elif choice is not None:
                choice.alternates.append(outcome)
            else:
                try:
                    choice = _Choice(copy_line(outcome), outcome)
                except UnstorableEvent as error:
                    self.rejections.append(Rejection(f"event {error}", outcome.raw, event_id))
        return choice

    def all_stored(self, stored):
        """The counts when every chosen copy went in at once and `stored` of them were new (the rest already stored)."""
        alternates = sum(len(choice.alternates) for choice in self.choices)
        return _Stored(stored, len(self.choices) - stored + alternates)


def store_batch(connection, schema, items):
    """Store a list of items in one transaction and return the counts; raises if the database fails."""
    with _cyclic_gc_paused():
        return _store_batch(connection, schema, items)


@contextmanager
def _cyclic_gc_paused():
    """A batch makes thousands of acyclic objects (decoded events, rows) that reference counting frees.

    Left on, the cyclic collector keeps rescanning them while they are alive:
    measured 20.7 ms of CPU per 1,000 events with it, 12.0 ms without.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def _store_batch(connection, schema, items):
    tables = _Tables(schema)
    batch = _Batch(items)
    try:
        with connection.cursor() as cursor:
            outcome = _store_events(cursor, tables, batch)
            _store_rejections(cursor, tables, batch.rejections)
        connection.commit()
    except BaseException:
        if not connection.closed:
            connection.rollback()
        raise
    return BatchResult(
        processed=len(items), stored=outcome.stored, duplicates=outcome.duplicates, rejected=len(batch.rejections)
    )


class _Tables:
    def __init__(self, schema):
        self.events = sql.Identifier(schema, "events")
        self.rejected_events = sql.Identifier(schema, "rejected_events")
        self.columns = sql.SQL(", ").join(map(sql.Identifier, EVENT_COLUMNS))


def _store_events(cursor, tables, batch):
    lines = batch.lines()
    cursor.execute("SAVEPOINT copy_events")
    try:
        _copy(cursor, tables.events, tables.columns, lines)
        return batch.all_stored(len(batch.choices))
    except errors.UniqueViolation:
        cursor.execute("ROLLBACK TO SAVEPOINT copy_events")
    except _DATA_ERRORS:
        cursor.execute("ROLLBACK TO SAVEPOINT copy_events")
        _drain(lines)
        return _store_what_the_database_accepts(cursor, tables, batch)
    _drain(lines)  # the COPY stopped at the conflict: read the rest of the batch
    try:
        return batch.all_stored(_insert_skipping_stored(cursor, tables, [choice.line for choice in batch.choices]))
    except _DATA_ERRORS:
        cursor.execute("ROLLBACK TO SAVEPOINT copy_events")
        return _store_what_the_database_accepts(cursor, tables, batch)


def _insert_skipping_stored(cursor, tables, lines):
    """Insert those of these COPY lines whose event_id is not stored yet, in event_id order; return how many."""
    columns = sql.SQL(", ").join(sql.SQL("{} text").format(sql.Identifier(name)) for name in EVENT_COLUMNS)
    # Columns spelled out: `LIKE events` would need SELECT on events, which the writer does not have.
    cursor.execute(sql.SQL("CREATE TEMP TABLE IF NOT EXISTS incoming_events ({}) ON COMMIT DROP").format(columns))
    cursor.execute("TRUNCATE incoming_events")
    _copy(cursor, sql.Identifier("incoming_events"), tables.columns, iter(lines))
    casts = sql.SQL(", ").join(
        sql.SQL("{}::{}").format(sql.Identifier(name), sql.SQL(_COLUMN_TYPES.get(name, "text")))
        for name in EVENT_COLUMNS
    )
    cursor.execute(
        sql.SQL(
            'INSERT INTO {} ({}) SELECT {} FROM incoming_events ORDER BY event_id COLLATE "C" ON CONFLICT DO NOTHING'
        ).format(tables.events, tables.columns, casts)
    )
    return cursor.rowcount


_COLUMN_TYPES = {"event_timestamp": "timestamptz", **dict.fromkeys(JSON_OBJECT_FIELDS + ("extra",), "jsonb")}


def _store_what_the_database_accepts(cursor, tables, batch):
    """Last resort when Postgres refuses some row: try each event alone, then store the accepted ones at once.

    Each trial is rolled back, so the batch holds no lock while a trial waits for
    another call's uncommitted copy of the same event_id (a trigger on events may
    have locked rollup rows that the other call needs: a deadlock otherwise).
    When Postgres refuses the chosen copy of an event_id, its later valid copies are tried in turn.
    """
    accepted, duplicates = [], 0
    for choice in batch.choices:
        copies = [choice.event, *choice.alternates]
        for position, event in enumerate(copies):
            try:
                line = choice.line if position == 0 else copy_line(event)
            except UnstorableEvent as error:
                batch.rejections.append(Rejection(f"event {error}", event.raw, event.fields["event_id"]))
                continue
            refusal = _try_one(cursor, tables, line)
            if refusal is None:
                accepted.append(line)
            elif refusal is _ALREADY_STORED:
                duplicates += 1
            else:
                batch.rejections.append(Rejection(f"database refused the event: {refusal}", event.raw, event.fields["event_id"]))
                continue
            duplicates += len(copies) - position - 1
            break
    cursor.execute("SAVEPOINT accepted_events")
    try:
        stored = _insert_skipping_stored(cursor, tables, accepted)
    except _DATA_ERRORS:  # a rule that looks at several rows at once: keep each accepted event alone
        cursor.execute("ROLLBACK TO SAVEPOINT accepted_events")
        stored = sum(_insert_one(cursor, tables, line) is None for line in accepted)
    return _Stored(stored, duplicates + len(accepted) - stored)


_ALREADY_STORED = object()


def _try_one(cursor, tables, line):
    """Would Postgres store this row? None, _ALREADY_STORED or its reason; the row is not kept."""
    cursor.execute("SAVEPOINT trial_event")
    outcome = _insert_one(cursor, tables, line)
    cursor.execute("ROLLBACK TO SAVEPOINT trial_event; RELEASE SAVEPOINT trial_event")
    return outcome


def _insert_one(cursor, tables, line):
    """None when the row went in, _ALREADY_STORED, or the database's reason for refusing it (then rolled back)."""
    cursor.execute("SAVEPOINT one_event")
    try:
        _copy(cursor, tables.events, tables.columns, iter([line]))
        outcome = None
    except errors.UniqueViolation:
        cursor.execute("ROLLBACK TO SAVEPOINT one_event")
        outcome = _ALREADY_STORED
    except _DATA_ERRORS as error:
        cursor.execute("ROLLBACK TO SAVEPOINT one_event")
        outcome = (error.diag.message_primary or str(error)).strip()
    cursor.execute("RELEASE SAVEPOINT one_event")  # no nesting builds up over a batch
    return outcome


def _store_rejections(cursor, tables, rejections):
    if not rejections:
        return
    rows = {}
    for rejection in rejections:
        row = _rejection_row(rejection)
        rows.setdefault(row[3], row)
    execute_values(
        cursor,
        sql.SQL("INSERT INTO {} (reason, event_id, raw, raw_sha256) VALUES %s ON CONFLICT DO NOTHING")
        .format(tables.rejected_events)
        .as_string(cursor),
        [rows[digest] for digest in sorted(rows)],  # digest order: the global lock order of rejects
        # One statement: a statement trigger (the rollups) locks its rows only after every reject is in,
        # never between pages while a later page waits for another call's copy of a raw text.
        page_size=len(rows),
    )


def _rejection_row(rejection):
    digest = hashlib.sha256(rejection.raw.encode("utf-8", "surrogatepass")).digest()
    return (_storable(rejection.reason), _storable(rejection.event_id), _storable(rejection.raw), digest)


def _storable(text):
    """Text Postgres can hold: NULs and lone surrogates become visible escapes (the digest keeps the original)."""
    if text is None:
        return None
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        text = text.encode("utf-8", "backslashreplace").decode("utf-8")
    return text.replace("\x00", "\\u0000")


def _copy(cursor, table, columns, lines):
    statement = sql.SQL("COPY {} ({}) FROM STDIN").format(table, columns).as_string(cursor)
    cursor.copy_expert(statement, _LineReader(lines), size=_COPY_CHUNK_BYTES)


def _drain(iterator):
    for _ in iterator:
        pass


class _LineReader:
    """A file-like object over an iterator of byte lines, so COPY streams rows as they are made.

    Each read takes lines only while fewer than `size` bytes are pending and hands
    out at most `size` bytes, so every byte is copied a bounded number of times,
    however large a row is (a whole-buffer copy on each read was quadratic).
    """

    def __init__(self, lines):
        self._lines = lines
        self._pending = memoryview(b"")

    def read(self, size=-1):
        if size is None or size < 0:
            data = bytes(self._pending) + b"".join(self._lines)
            self._pending = memoryview(b"")
            return data
        if len(self._pending) < size:
            parts, length = [bytes(self._pending)], len(self._pending)
            for line in self._lines:
                parts.append(line)
                length += len(line)
                if length >= size:
                    break
            self._pending = memoryview(b"".join(parts))
        chunk, self._pending = self._pending[:size], self._pending[size:]
        return bytes(chunk)
