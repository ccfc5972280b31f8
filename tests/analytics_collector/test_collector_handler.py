"""The Lambda handler end to end: a function-URL / HTTP API event in, an HTTP answer out, the events in the queue."""
import base64
import gzip
import json

import boto3
import pytest

from collector_fixtures import KEYS, REGION, WRITE_KEY, basic, event, queued_events
from ops.functions import load_handler_module


def http_event(body, headers=None, query=None, method="POST", base64_body=False):
    return {
        "version": "2.0",
        "rawPath": "/v1/events",
        "headers": {"content-type": "text/plain", **(headers or {})},
        "queryStringParameters": query,
        "requestContext": {"http": {"method": method, "path": "/v1/events", "sourceIp": "198.51.100.7", "userAgent": "t"}},
        "body": base64.b64encode(body).decode() if base64_body else body.decode(),
        "isBase64Encoded": base64_body,
    }


@pytest.fixture
def handler(aws, monkeypatch):
    sns, sqs, topic_arn, queue_url = aws
    ssm = boto3.client("ssm", region_name=REGION)
    ssm.put_parameter(Name="/analytics/test/collector/write-keys", Value=json.dumps(KEYS), Type="SecureString")
    monkeypatch.setenv("TOPIC_ARN", topic_arn)
    monkeypatch.setenv("WRITE_KEYS_PARAMETER", "/analytics/test/collector/write-keys")
    monkeypatch.setenv("CORS_ORIGINS", "https://shop.example.com")
    module = load_handler_module("analytics_collector")
    module._wiring.cache_clear()
    yield module.main, (sqs, queue_url)
    module._wiring.cache_clear()


def test_a_gzipped_base64_body_with_basic_auth_is_published(handler):
    # GIVEN the handler with its keys in SSM, and a gzipped body as API Gateway passes it (base64)
    main, (sqs, queue_url) = handler
    sent = [event(), event()]
    request = http_event(gzip.compress(json.dumps(sent).encode()), base64_body=True,
                         headers={"authorization": basic(WRITE_KEY), "content-encoding": "gzip", "origin": "https://shop.example.com"})
    # WHEN invoked
    answer = main(request, None)
    # THEN 202 with CORS for the page, and both events are in the queue
    assert answer["statusCode"] == 202 and json.loads(answer["body"]) == {"accepted": 2}
    assert answer["headers"]["Access-Control-Allow-Origin"] == "https://shop.example.com"
    assert {e["event_id"] for e in queued_events(sqs, queue_url)} == {e["event_id"] for e in sent}


def test_a_wrong_key_is_refused_with_401_and_json(handler):
    main, (sqs, queue_url) = handler
    answer = main(http_event(json.dumps(event()).encode(), query={"key": "not-a-key-000"}), None)
    assert answer["statusCode"] == 401 and answer["headers"]["Content-Type"] == "application/json"
    assert "Unknown write key" in json.loads(answer["body"])["error"]
    assert queued_events(sqs, queue_url) == []
