"""The structured logger every function ships (analytics_*/log.py): one JSON line per record, request id, cold start."""
import io
import json
from pathlib import Path

import pytest

import analytics_collector.log as collector_log
import analytics_consumer.log as consumer_log
import analytics_worker.log as worker_log
from analytics_worker.log import Logger
from ops.lambdas import LocalContext

ROOT = Path(__file__).resolve().parents[2]
COPIES = [ROOT / f"functions/{name}/{name}/log.py" for name in ("analytics_worker", "analytics_consumer", "analytics_collector")]


def records(stream):
    return [json.loads(line) for line in stream.getvalue().splitlines()]


def test_every_function_ships_the_same_logger_module():
    # Each zip holds only its own folder, so each function keeps a copy; they must not drift apart.
    worker, *others = (path.read_bytes() for path in COPIES)
    assert all(other == worker for other in others), "functions/*/*/log.py differ: copy the one you changed over the others"


def test_each_function_logs_under_its_own_name():
    assert (worker_log.log.service, consumer_log.log.service, collector_log.log.service) == (
        "analytics_worker", "analytics_consumer", "analytics_collector")


def test_a_record_carries_the_request_id_and_cold_start_of_its_call():
    # GIVEN a new container's logger and a handler that logs
    stream = io.StringIO()
    log = Logger("analytics_worker", stream=stream)

    @log.lambda_call
    def handler(event, context):
        log.info("batch stored", stored=event["n"])
        return event["n"]

    first, second = LocalContext("f"), LocalContext("f")
    # WHEN the container serves two calls
    assert handler({"n": 3}, first) == 3
    handler({"n": 5}, second)
    # THEN each call's record is one JSON line with its request id; only the first is a cold start
    assert stream.getvalue().count("\n") == 2
    assert records(stream) == [
        {"level": "INFO", "message": "batch stored", "service": "analytics_worker",
         "request_id": first.aws_request_id, "cold_start": True, "stored": 3},
        {"level": "INFO", "message": "batch stored", "service": "analytics_worker",
         "request_id": second.aws_request_id, "cold_start": False, "stored": 5},
    ]


def test_a_failing_call_leaves_an_error_record_and_still_raises():
    stream = io.StringIO()
    log = Logger("analytics_consumer", stream=stream)

    @log.lambda_call
    def handler(event, context):
        raise RuntimeError("the database is down " + "x" * 1000)

    context = LocalContext("f")
    with pytest.raises(RuntimeError):
        handler({}, context)
    (record,) = records(stream)
    assert (record["level"], record["message"], record["request_id"], record["cold_start"]) == (
        "ERROR", "call failed", context.aws_request_id, True
    )
    assert record["error"].startswith("RuntimeError: the database is down") and len(record["error"]) < 350


def test_records_outside_a_call_have_no_request_id_and_fields_never_overwrite_the_record():
    stream = io.StringIO()
    log = Logger("analytics_worker", stream=stream)
    log("WARNING", "outside any call", level="mine", message="mine too", cold_start="also mine", when=Path("/x"))
    assert records(stream) == [
        {"level": "WARNING", "message": "outside any call", "service": "analytics_worker",
         "field_level": "mine", "field_message": "mine too", "field_cold_start": "also mine", "when": "/x"}
    ]
