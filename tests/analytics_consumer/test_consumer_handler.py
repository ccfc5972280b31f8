"""The Lambda handler end to end on moto: SQS for real, the worker as moto's Docker-free Lambda."""
import io
import json
import zipfile

import boto3
import pytest
import requests
from consumer_fixtures import aws, queue_url, sqs  # noqa: F401 - fixtures
from consumer_queue import REGION, event_bodies, queue_counts, send_bodies

from analytics_consumer.settings import SettingsError
from ops.functions import load_handler_module

SUMMARY_KEYS = {"received", "stored", "duplicates", "rejected", "failed_batches", "worker_invocations"}


class FakeContext:
    def get_remaining_time_in_millis(self):
        return 300_000


@pytest.fixture
def handler_module():
    """The consumer's handler module with its cached AWS clients cleared before and after (each test's own moto)."""
    module = load_handler_module("analytics_consumer")
    clients = (module.sqs_client, module.lambda_client, module.mapping_client)
    for client in clients:
        client.cache_clear()
    yield module
    for client in clients:
        client.cache_clear()


@pytest.fixture
def worker_arn(aws):
    iam = boto3.client("iam", region_name=REGION)
    role = iam.create_role(RoleName="worker-role", AssumeRolePolicyDocument="{}")["Role"]["Arn"]
    code = io.BytesIO()
    with zipfile.ZipFile(code, "w") as archive:
        archive.writestr("main.py", "def main(event, context):\n    return {}\n")
    return boto3.client("lambda", region_name=REGION).create_function(
        FunctionName="analytics_worker_test", Runtime="python3.12", Role=role, Handler="main.main",
        Code={"ZipFile": code.getvalue()},
    )["FunctionArn"]


def worker_answers(*answers):
    """Queue canned answers of moto's Docker-free Lambda (one per Invoke)."""
    response = requests.post(
        "http://motoapi.amazonaws.com/moto-api/static/lambda-simple/response",
        json={"results": [json.dumps(answer) for answer in answers], "region": REGION},
    )
    assert response.status_code == 201


def test_the_handler_drains_the_queue_and_logs_one_json_summary_line(
    handler_module, sqs, queue_url, worker_arn, monkeypatch, capsys
):
    # GIVEN 12 messages in the queue, the handler's environment, and a worker that stores 10 and rejects 2
    send_bodies(sqs, queue_url, event_bodies(12))
    for name, value in {"SQS_URL": queue_url, "WORKER_LAMBDA_ARN": worker_arn, "RECEIVE_WAIT_SECONDS": "0",
                        "WORKER_TIMEOUT_SECONDS": "5"}.items():
        monkeypatch.setenv(name, value)
    probe_answer = {"processed": 0, "stored": 0, "duplicates": 0, "rejected": 0}  # the run's first call: a probe
    worker_answers(probe_answer, {"processed": 12, "stored": 10, "duplicates": 0, "rejected": 2})
    # WHEN Lambda calls the handler
    result = handler_module.main({"source": "aws.events"}, FakeContext())
    # THEN it returns the summary, logs it as exactly one JSON line, and the queue is empty
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 1
    logged = json.loads(lines[0])
    assert logged["level"] == "INFO"
    assert {key: logged[key] for key in result} == result
    assert SUMMARY_KEYS <= set(result)
    assert (result["received"], result["stored"], result["rejected"], result["worker_invocations"]) == (12, 10, 2, 1)
    assert result["failed_batches"] == 0
    assert queue_counts(sqs, queue_url) == (0, 0)


def test_the_handler_refuses_to_run_without_its_settings(handler_module, aws, monkeypatch):
    # GIVEN no SQS_URL in the environment
    monkeypatch.delenv("SQS_URL", raising=False)
    monkeypatch.setenv("WORKER_LAMBDA_ARN", "analytics_worker_test")
    # WHEN Lambda calls the handler
    # THEN it fails with an error naming the variable
    with pytest.raises(SettingsError, match="SQS_URL is not set"):
        handler_module.main({}, FakeContext())
