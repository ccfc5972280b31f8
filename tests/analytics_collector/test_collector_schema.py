"""`?validate=strict` and the worker agree on every event: same schema file, same verdicts."""
import json
import zipfile

import pytest
from hypothesis import given, settings, strategies as st

from analytics_collector.schema import SCHEMA_CANDIDATES, UnsupportedSchema, event_problem, load_schema
from analytics_worker.validation import SCHEMA_PATH, InvalidEvent, validate_event
from ops import build

SCHEMA = load_schema()
TEXT = st.text(max_size=140)
VALUE = st.one_of(st.none(), st.booleans(), st.integers(), TEXT, st.just({}), st.just([]))
TIMESTAMP = st.one_of(
    st.datetimes().map(lambda d: d.isoformat()),
    st.sampled_from(["2026-11-29T10:00:00Z", "2026-02-30T10:00:00Z", "2026-11-29 10:00", "yesterday", ""]),
    VALUE,
)
EVENTS = st.fixed_dictionaries(
    {},
    optional={
        "event_id": st.one_of(st.text(min_size=0, max_size=70), VALUE),
        "event_timestamp": TIMESTAMP,
        "event_type": st.one_of(st.text(max_size=130), VALUE),
        "app_version": st.one_of(st.text(max_size=40), VALUE),
        "user_id": VALUE,
        "meta": st.one_of(st.just({"a": 1}), VALUE),
        "other": VALUE,
    },
)


def worker_verdict(event):
    try:
        validate_event(event)
    except InvalidEvent:
        return False
    return True


@settings(max_examples=400)
@given(EVENTS)
def test_the_collector_and_the_worker_accept_and_refuse_the_same_events(event):
    # GIVEN any event-like object  WHEN both check it  THEN they agree
    assert (event_problem(event, SCHEMA) is None) == worker_verdict(event)


def test_the_checkout_reads_the_workers_schema_file_itself():
    assert SCHEMA_CANDIDATES[1].resolve() == SCHEMA_PATH.resolve()
    assert SCHEMA == json.loads(SCHEMA_PATH.read_text())


def test_a_schema_keyword_the_collector_does_not_implement_stops_it(tmp_path):
    # GIVEN the worker's schema with a keyword the collector's checker lacks
    schema = json.loads(SCHEMA_PATH.read_text())
    schema["properties"]["event_type"]["enum"] = ["a", "b"]
    path = tmp_path / "event.schema.json"
    path.write_text(json.dumps(schema))
    # WHEN loaded  THEN it refuses, naming the keyword, instead of silently accepting more than the worker
    with pytest.raises(UnsupportedSchema, match="enum"):
        load_schema(path)


def test_the_zip_ships_the_workers_schema_byte_for_byte(tmp_path):
    # GIVEN `inv build` of the collector  WHEN reading its zip
    artifact = build.build("analytics_collector", "x86_64", "python3.12", build_dir=tmp_path / "build", dist_dir=tmp_path)
    with zipfile.ZipFile(artifact.path) as archive:
        names = set(archive.namelist())
        shipped = archive.read("analytics_collector/event.schema.json")
    # THEN the schema is there, identical to the worker's, and nothing but the function's own code beside it
    assert shipped == SCHEMA_PATH.read_bytes()
    assert "main.py" in names and all(n == "main.py" or n.startswith("analytics_collector/") for n in names)
