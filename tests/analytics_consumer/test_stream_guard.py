"""Stream mode's guard: the event source mapping is paused while the worker cannot store, resumed when it can.

The mapping is moto's (Lambda's GetEventSourceMapping / UpdateEventSourceMapping); the worker is any
callable with the worker seam's contract, or moto's Docker-free Lambda for the handler.
"""
import json

import boto3
import pytest
from botocore.stub import Stubber
from consumer_fixtures import aws, queue_url, sqs  # noqa: F401 - fixtures
from consumer_queue import REGION
from test_consumer_handler import FakeContext, handler_module, worker_answers, worker_arn  # noqa: F401 - fixtures

from analytics_consumer.settings import SettingsError, settings_from_env
from analytics_consumer.stream_guard import BUSY, PAUSED, RESUMED, UNCHANGED, EventSourceMapping, guard_stream
from analytics_consumer.worker_invoke import WorkerFailed

STORES = {"processed": 0, "stored": 0, "duplicates": 0, "rejected": 0}  # the worker's answer to a probe


def healthy_worker(batch):
    assert batch == [], "the guard only probes: an empty batch"
    return dict(STORES)


def worker_without_database(batch):
    raise WorkerFailed("the worker raised (Unhandled) OperationalError: could not connect to server")


class Log:
    def __init__(self):
        self.records = []

    def __call__(self, level, message, **fields):
        self.records.append((level, message, fields))


@pytest.fixture
def lambda_api(aws):
    return boto3.client("lambda", region_name=REGION)


@pytest.fixture
def mapping(lambda_api, sqs, queue_url, worker_arn):
    """The stream's event source mapping (moto), enabled, from the queue to the worker; no message is ever sent."""
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    uuid = lambda_api.create_event_source_mapping(
        EventSourceArn=queue_arn, FunctionName=worker_arn, BatchSize=1000, MaximumBatchingWindowInSeconds=60,
        FunctionResponseTypes=["ReportBatchItemFailures"], Enabled=True,
    )["UUID"]
    return EventSourceMapping(lambda_api, uuid)


def test_the_stream_is_paused_while_the_worker_cannot_store_and_resumed_when_it_can(mapping):
    log = Log()
    # GIVEN an enabled mapping and a worker whose database is down
    # WHEN the guard runs
    result = guard_stream(worker_without_database, mapping, log=log)
    # THEN it disabled the mapping and logged one ERROR naming the cause
    assert mapping.state() == "Disabled"
    assert (result["worker_can_store"], result["action"]) == (False, PAUSED)
    [(level, message, fields)] = log.records
    assert level == "ERROR" and "stream paused" in message and "could not connect" in fields["error"]
    # AND WHEN it runs again during the outage, THEN it leaves the mapping paused and says nothing more
    assert guard_stream(worker_without_database, mapping, log=log)["action"] == UNCHANGED
    assert mapping.state() == "Disabled" and len(log.records) == 1
    # AND WHEN the database is back, THEN the next run enables the mapping again and says so
    result = guard_stream(healthy_worker, mapping, log=log)
    assert mapping.state() == "Enabled"
    assert (result["worker_can_store"], result["action"]) == (True, RESUMED)
    assert log.records[-1][:2] == ("INFO", "the worker stores again: stream resumed")


def test_a_healthy_worker_leaves_an_enabled_mapping_alone(mapping, lambda_api):
    # GIVEN an enabled mapping and a worker that stores
    before = lambda_api.get_event_source_mapping(UUID=mapping.uuid)["LastModified"]
    log = Log()
    # WHEN the guard runs THEN nothing changes and nothing is logged
    assert guard_stream(healthy_worker, mapping, log=log) == {
        "worker_can_store": True, "action": UNCHANGED, "mapping_state": "Enabled", "error": None}
    assert lambda_api.get_event_source_mapping(UUID=mapping.uuid)["LastModified"] == before
    assert log.records == []


def test_a_worker_answer_that_is_not_counts_counts_as_cannot_store(mapping):
    # GIVEN a worker that answers something else than its counts (a broken deployment)
    # WHEN the guard runs THEN the stream is paused: its batches would fail too
    result = guard_stream(lambda batch: {"errorMessage": "boom"}, mapping, log=Log())
    assert result["action"] == PAUSED and mapping.state() == "Disabled"
    assert "no valid count 'processed'" in result["error"]


def test_a_mapping_busy_changing_state_is_left_for_the_next_run(aws):
    # GIVEN a mapping that is enabled but being updated, so Lambda refuses another update (moto has no such state)
    lambda_api = boto3.client("lambda", region_name=REGION)
    uuid = "0b1c2d3e-4f50-6172-8394-a5b6c7d8e9f0"
    stubber = Stubber(lambda_api)
    stubber.add_response("get_event_source_mapping", {"UUID": uuid, "State": "Enabled"}, {"UUID": uuid})
    stubber.add_client_error("update_event_source_mapping", service_error_code="ResourceInUseException",
                             service_message="The resource you requested is currently in use.", http_status_code=400,
                             expected_params={"UUID": uuid, "Enabled": False})
    log = Log()
    # WHEN the guard finds the worker down
    with stubber:
        result = guard_stream(worker_without_database, EventSourceMapping(lambda_api, uuid), log=log)
    # THEN it does not fail the run: it says the next run tries again
    assert result["action"] == BUSY and result["worker_can_store"] is False
    assert [level for level, _, _ in log.records] == ["WARNING"]
    assert "next guard run tries again" in log.records[0][1]


def test_the_handler_guards_the_mapping_in_stream_mode_and_does_not_drain(
    handler_module, mapping, sqs, queue_url, worker_arn, monkeypatch, capsys
):
    # GIVEN the consumer's environment in stream mode (the mapping's UUID) and a worker that cannot store
    for name, value in {"SQS_URL": queue_url, "WORKER_LAMBDA_ARN": worker_arn, "STREAM_MAPPING_UUID": mapping.uuid,
                        "WORKER_TIMEOUT_SECONDS": "5"}.items():
        monkeypatch.setenv(name, value)
    worker_answers({"errorType": "OperationalError", "errorMessage": "could not connect to server"})
    # WHEN the schedule calls the handler
    result = handler_module.main({"source": "aws.events"}, FakeContext())
    # THEN the mapping is paused, and the run logged the ERROR and its result as JSON lines
    assert (result["action"], mapping.state()) == (PAUSED, "Disabled")
    records = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [record["level"] for record in records] == ["ERROR", "INFO"]
    assert records[-1]["action"] == PAUSED and records[-1]["message"] == "analytics_consumer stream guard finished"


def test_a_stream_mapping_uuid_that_is_not_one_is_refused_naming_it():
    environ = {"SQS_URL": "https://sqs.eu-central-1.amazonaws.com/123456789012/q", "WORKER_LAMBDA_ARN": "analytics_worker_dev"}
    assert settings_from_env(environ).stream_mapping_uuid is None
    with pytest.raises(SettingsError, match="STREAM_MAPPING_UUID='analytics' is not an event source mapping's UUID"):
        settings_from_env({**environ, "STREAM_MAPPING_UUID": "analytics"})
