"""The consumer handler's log line: one JSON record with the call's request id and cold start."""
import json

import pytest
from consumer_fixtures import aws, queue_url, sqs  # noqa: F401 - fixtures
from test_consumer_handler import handler_module  # noqa: F401 - fixture

from ops.lambdas import LocalContext


@pytest.fixture
def handler(handler_module, monkeypatch, queue_url):
    """The consumer as a new container sees it, pointed at an empty queue."""
    monkeypatch.setattr(handler_module.log, "_calls_served", 0)
    monkeypatch.setenv("SQS_URL", queue_url)
    monkeypatch.setenv("WORKER_LAMBDA_ARN", "analytics_worker_test")
    monkeypatch.setenv("RECEIVE_WAIT_SECONDS", "0")
    return handler_module


def test_each_run_logs_its_summary_with_request_id_and_cold_start(handler, capsys):
    # GIVEN a new container WHEN the schedule calls it twice
    first, second = LocalContext("analytics_consumer_test"), LocalContext("analytics_consumer_test")
    handler.main({"source": "aws.events"}, first)
    handler.main({"source": "aws.events"}, second)
    # THEN every record carries its run's request id and cold start (no worker exists here, so the
    # probe's warning comes first), and each run ends with one summary line; only the first is a cold start
    records = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert {(r["request_id"], r["cold_start"]) for r in records} == {(first.aws_request_id, True), (second.aws_request_id, False)}
    lines = [r for r in records if r["message"] == "analytics_consumer run finished"]
    assert [(r["message"], r["service"], r["request_id"], r["cold_start"]) for r in lines] == [
        ("analytics_consumer run finished", "analytics_consumer", first.aws_request_id, True),
        ("analytics_consumer run finished", "analytics_consumer", second.aws_request_id, False),
    ]
    assert lines[0]["received"] == 0 and lines[0]["stopped_because"]
