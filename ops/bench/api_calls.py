"""API calls per 1,000 events drained by the consumer, counted from botocore's events against moto."""
import json
import math
import random
from collections import Counter

import boto3
from moto import mock_aws

from ops.events import sample_event
from ops.functions import load_handler_module
from ops.local_stack.moto_sqs import apply_quick_sqs

REGION = "eu-central-1"


def fill_queue(sqs, queue_url, events, rng):
    """Send `events` sample events as message bodies, 10 a call."""
    bodies = [json.dumps(sample_event(rng=rng)) for _ in range(events)]
    for start in range(0, events, 10):
        entries = [{"Id": str(i), "MessageBody": body} for i, body in enumerate(bodies[start:start + 10])]
        sqs.send_message_batch(QueueUrl=queue_url, Entries=entries)


def measure(events=1000, max_batch_events=1000, seed=3):
    """Drain `events` messages once; return the calls made, beside the floor and a one-invoke-per-receive design."""
    load_handler_module("analytics_consumer")  # puts the consumer's package on sys.path
    from analytics_consumer.drain import drain
    from analytics_consumer.settings import Settings

    calls = Counter()
    undo = apply_quick_sqs()
    try:
        with mock_aws():
            sqs = boto3.client("sqs", region_name=REGION, aws_access_key_id="bench", aws_secret_access_key="bench")
            queue_url = sqs.create_queue(QueueName="analytics_events_bench")["QueueUrl"]
            fill_queue(sqs, queue_url, events, random.Random(seed))
            sqs.meta.events.register("before-call.sqs.*", lambda model, **_: calls.update([model.name]))

            def worker(bodies):  # the seam: a worker that acknowledges every batch
                calls.update(["Invoke"])
                return {"processed": len(bodies), "stored": len(bodies), "duplicates": 0, "rejected": 0}

            settings = Settings(queue_url=queue_url, worker_function="analytics_worker_bench",
                                max_batch_events=max_batch_events, receive_wait_seconds=0)
            summary = drain(sqs, settings, worker, time_left_ms=lambda: 900_000, log=lambda *a, **k: None)
    finally:
        undo()
    per_receive = math.ceil(events / 10)
    floor = per_receive + per_receive + math.ceil(events / max_batch_events)
    made = calls["ReceiveMessage"] + calls["DeleteMessageBatch"] + calls["Invoke"]
    return {
        "events": events,
        "deleted": summary.deleted,
        "receive_calls": calls["ReceiveMessage"],
        "delete_calls": calls["DeleteMessageBatch"],
        "worker_invocations": calls["Invoke"],
        "total_calls": made,
        "floor_calls": floor,
        "vs_floor": made / floor,
        "one_invoke_per_receive_calls": 3 * per_receive,
    }


def invocations_per_million(max_batch_events=1000, max_batch_bytes=5_000_000, seed=5):
    """Worker invocations the consumer's batching makes for 1,000,000 SNS-envelope message bodies."""
    load_handler_module("analytics_consumer")
    from analytics_consumer.batching import BatchBuilder

    rng = random.Random(seed)
    # SNS envelopes (no raw delivery) are the larger bodies: the byte bound is tested too.
    templates = [
        json.dumps({"Type": "Notification", "MessageId": str(i), "TopicArn": "arn:aws:sns:eu-central-1:1:t",
                    "Message": json.dumps(sample_event(rng=rng)), "Timestamp": "2026-11-28T10:00:00.000Z",
                    "SignatureVersion": "1", "Signature": "x" * 344})
        for i in range(100)
    ]
    builder = BatchBuilder(max_batch_events, max_batch_bytes)
    batches = 0
    for number in range(1_000_000):
        batches += len(builder.add({"Body": templates[number % 100]}))
    batches += builder.flush() is not None
    return {"events": 1_000_000, "worker_invocations": batches, "body_bytes": len(templates[0])}
