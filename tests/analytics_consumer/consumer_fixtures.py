"""Fixtures of the consumer tests: moto (with a faster SQS), a queue, small settings.

Test modules import the fixtures they use from here by name, so each test file
says where its fixtures come from."""
import pytest
from moto import mock_aws

from analytics_consumer.settings import Settings
from consumer_queue import REGION


@pytest.fixture
def aws(monkeypatch):
    """moto in-process for every AWS call of the test (fake credentials, one region)."""
    for name, value in {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_SESSION_TOKEN": "testing",
        "AWS_DEFAULT_REGION": REGION,
        "AWS_REGION": REGION,
    }.items():
        monkeypatch.setenv(name, value)
    for name in ("AWS_PROFILE", "AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_SQS", "AWS_ENDPOINT_URL_LAMBDA"):
        monkeypatch.delenv(name, raising=False)
    # The consumer receives on several threads: moto must hand a message to one receiver at a time, as SQS does.
    from ops.local_stack.moto_sqs import quick_sqs_patches

    for owner, name, replacement in quick_sqs_patches():
        monkeypatch.setattr(owner, name, replacement)
    with mock_aws(config={"lambda": {"use_docker": False}}):
        yield


@pytest.fixture
def sqs(aws):
    import boto3

    return boto3.client("sqs", region_name=REGION)


@pytest.fixture
def queue_url(sqs):
    """An empty queue; a failed batch's messages stay invisible for 5 minutes after a receive."""
    return sqs.create_queue(QueueName="analytics_events_test", Attributes={"VisibilityTimeout": "300"})["QueueUrl"]


@pytest.fixture
def settings(queue_url):
    """Small, fast settings: no long polling, a 1 s worker timeout (so the time reserve is 11 s)."""
    return Settings(
        queue_url=queue_url,
        worker_function="analytics_worker_test",
        worker_timeout_seconds=1,
        max_batch_events=25,
        max_batch_bytes=100_000,
        max_parallel_workers=2,
        receive_wait_seconds=0,
    )
