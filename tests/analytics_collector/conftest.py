import boto3
import pytest
from moto import mock_aws

from collector_fixtures import REGION, make_topic_and_queue


@pytest.fixture
def aws(monkeypatch):
    """moto for SNS and SQS: (sns, sqs, topic ARN, queue URL) with the queue subscribed to the topic."""
    for name in ("AWS_ENDPOINT_URL", "AWS_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)
    with mock_aws():
        sns, sqs = boto3.client("sns", region_name=REGION), boto3.client("sqs", region_name=REGION)
        topic_arn, queue_url = make_topic_and_queue(sns, sqs)
        yield sns, sqs, topic_arn, queue_url
