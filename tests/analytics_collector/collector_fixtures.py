"""Helpers of the collector tests: a moto topic with a raw-delivery queue behind it, requests, messages."""
import base64
import gzip
import json
import uuid

from analytics_collector.http import Request
from analytics_collector.keys import KeyRing
from analytics_collector.publish import publish_batch
from analytics_collector.schema import load_schema
from analytics_collector.settings import Settings

REGION = "eu-central-1"
WRITE_KEY = "shop-web-key-0001"
KEYS = {WRITE_KEY: "shop-web"}
SCHEMA = load_schema()


def make_topic_and_queue(sns, sqs, name="event_created_test"):
    """A topic and a queue subscribed with raw delivery, as the stage's analytics_queue module makes them."""
    topic_arn = sns.create_topic(Name=name)["TopicArn"]
    queue_url = sqs.create_queue(QueueName=f"{name}_queue")["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    sns.subscribe(TopicArn=topic_arn, Protocol="sqs", Endpoint=queue_arn, Attributes={"RawMessageDelivery": "true"})
    return topic_arn, queue_url


def queued_events(sqs, queue_url):
    """Every message in the queue, decoded (received and deleted)."""
    found = []
    while True:
        messages = sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10, WaitTimeSeconds=0).get("Messages", [])
        if not messages:
            return found
        for message in messages:
            found.append(json.loads(message["Body"]))
            sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=message["ReceiptHandle"])


def settings(topic_arn="arn:aws:sns:eu-central-1:123456789012:event_created_test", **overrides):
    values = {"topic_arn": topic_arn, "write_keys_json": json.dumps(KEYS), "cors_origins": ("https://shop.example.com",)}
    values.update(overrides)
    return Settings(**values)


def keyring(keys=None):
    return KeyRing(lambda: dict(keys or KEYS), cache_seconds=300)


def sns_publisher(sns, topic_arn, attempts=3):
    return lambda bodies: publish_batch(sns, topic_arn, bodies, attempts=attempts, pause=lambda seconds: None)


def event(**fields):
    base = {"event_id": str(uuid.uuid4()), "event_type": "page_viewed", "event_timestamp": "2026-11-29T10:00:00.000Z"}
    base.update(fields)
    return base


def basic(key):
    return "Basic " + base64.b64encode(f"{key}:".encode()).decode()


def post(body, key=WRITE_KEY, query=None, headers=None, gzipped=False, path="/v1/events"):
    """A POST /v1/events request; `body` is JSON-encoded unless it is bytes already."""
    raw = body if isinstance(body, bytes) else json.dumps(body).encode()
    all_headers = {"content-type": "text/plain;charset=UTF-8"}
    if key is not None:
        all_headers["authorization"] = basic(key)
    if gzipped:
        raw = gzip.compress(raw)
        all_headers["content-encoding"] = "gzip"
    all_headers.update(headers or {})
    return Request(method="POST", path=path, headers=all_headers, query=dict(query or {}), body=raw, source_ip="203.0.113.9")
