"""Sample events and message bodies for the worker tests."""
import json
import uuid


def event(**fields):
    """A valid v1 event; keyword arguments override or add fields (None removes one)."""
    base = {
        "event_id": str(uuid.uuid4()),
        "event_timestamp": "2026-11-28T10:15:00Z",
        "event_type": "page_viewed",
        "app_title": "shop",
        "app_version": "1.4.0",
        "user_id": "user-7",
        "user_name": "Ann Example",
        "meta": {"path": "/products/42", "duration_ms": 130},
    }
    base.update(fields)
    return {key: value for key, value in base.items() if value is not None}


def raw_body(event_fields):
    """An SQS message body as SNS raw message delivery leaves it: the event's JSON text."""
    return json.dumps(event_fields)


def sns_envelope(event_fields, message_id=None):
    """An SQS message body as SNS leaves it without raw delivery: a notification envelope."""
    return json.dumps({
        "Type": "Notification",
        "MessageId": message_id or str(uuid.uuid4()),
        "TopicArn": "arn:aws:sns:eu-central-1:123456789012:event_created_test",
        "Message": json.dumps(event_fields),
        "Timestamp": "2026-11-28T10:15:01.000Z",
        "SignatureVersion": "1",
    })


def sqs_event(bodies, queue_arn="arn:aws:sqs:eu-central-1:123456789012:event_created_test"):
    """What an SQS event source mapping hands the worker: one record per message, its body unchanged."""
    return {"Records": [
        {
            "messageId": str(uuid.uuid4()),
            "receiptHandle": f"handle-{position}",
            "body": body,
            "attributes": {"ApproximateReceiveCount": "1", "SentTimestamp": "1764324900000"},
            "messageAttributes": {},
            "md5OfBody": "",
            "eventSource": "aws:sqs",
            "eventSourceARN": queue_arn,
            "awsRegion": "eu-central-1",
        }
        for position, body in enumerate(bodies)
    ]}
