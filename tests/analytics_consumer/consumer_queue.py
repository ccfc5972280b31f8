"""Helpers of the consumer tests: fill a queue, read what is left in it, a fake worker, fault injection."""
import json
import threading
from collections import Counter

from analytics_consumer.worker_invoke import WorkerFailed

REGION = "eu-central-1"


def event_bodies(count, start=0, pad=0):
    """`count` distinct message bodies (raw event JSON text), each optionally padded to grow it."""
    return [
        json.dumps({"event_id": f"e-{number}", "event_type": "test", "event_timestamp": "2026-11-28T12:00:00Z",
                    "pad": "x" * pad})
        for number in range(start, start + count)
    ]


def send_bodies(sqs, queue_url, bodies):
    for start in range(0, len(bodies), 10):
        entries = [{"Id": str(i), "MessageBody": body} for i, body in enumerate(bodies[start:start + 10])]
        response = sqs.send_message_batch(QueueUrl=queue_url, Entries=entries)
        assert not response.get("Failed"), response["Failed"]


def queue_counts(sqs, queue_url):
    """(visible, in flight) as SQS reports them."""
    attributes = sqs.get_queue_attributes(
        QueueUrl=queue_url,
        AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
    )["Attributes"]
    return int(attributes["ApproximateNumberOfMessages"]), int(attributes["ApproximateNumberOfMessagesNotVisible"])


def remaining_bodies(sqs, queue_url, receipt_handles):
    """Every body still in the queue: make the given received messages visible again, then receive all."""
    for start in range(0, len(receipt_handles), 10):
        entries = [
            {"Id": str(i), "ReceiptHandle": handle, "VisibilityTimeout": 0}
            for i, handle in enumerate(receipt_handles[start:start + 10])
        ]
        sqs.change_message_visibility_batch(QueueUrl=queue_url, Entries=entries)  # deleted ones fail: fine
    bodies = []
    while True:
        messages = sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10, VisibilityTimeout=300).get(
            "Messages", []
        )
        if not messages:
            return bodies
        bodies += [message["Body"] for message in messages]


class FakeWorker:
    """The worker seam in-process: answers the contract's counts, records every call, fails chosen calls.

    A probe (an empty batch) is counted apart, in `probes`; it fails while `can_store()` is false.
    Batch calls are numbered without the probes; a batch call fails when `fail_call(number)` is true
    or while `can_store()` is false.
    """

    def __init__(self, fail_call=lambda number: False, answer=None, can_store=lambda: True):
        self.fail_call = fail_call
        self.answer = answer
        self.can_store = can_store
        self.calls = []  # (call number, batch) in call order
        self.failed_batches = []
        self.probes = 0
        self._lock = threading.Lock()

    def __call__(self, batch):
        assert all(isinstance(body, str) for body in batch)
        if not batch:
            with self._lock:
                self.probes += 1
            if not self.can_store():
                raise WorkerFailed("injected: the database is down")
            return {"processed": 0, "stored": 0, "duplicates": 0, "rejected": 0}
        with self._lock:
            number = len(self.calls) + 1
            self.calls.append((number, list(batch)))
            if self.fail_call(number) or not self.can_store():
                self.failed_batches.append(list(batch))
                raise WorkerFailed(f"injected failure of call {number}")
        if self.answer is not None:
            return self.answer(batch)
        return {"processed": len(batch), "stored": len(batch), "duplicates": 0, "rejected": 0}

    @property
    def batches(self):
        return [batch for _, batch in self.calls]


class RecordingSqs:
    """The real (moto) SQS client, recording received receipt handles and delete calls.

    `fail_delete_first_time` names message bodies whose first DeleteMessageBatch
    entry is answered as Failed (as SQS does under internal errors) instead of
    being passed on; `always_fail_delete` names bodies that never get deleted.
    """

    def __init__(self, client, fail_delete_first_time=(), always_fail_delete=()):
        self._client = client
        self.receipt_handles = []
        self.receives_per_body = Counter()
        self.delete_calls = []
        self._body_of_handle = {}
        self._fail_once = set(fail_delete_first_time)
        self._fail_always = set(always_fail_delete)

    def __getattr__(self, name):
        return getattr(self._client, name)

    def receive_message(self, **kwargs):
        response = self._client.receive_message(**kwargs)
        for message in response.get("Messages", []):
            self.receipt_handles.append(message["ReceiptHandle"])
            self.receives_per_body[message["Body"]] += 1
            self._body_of_handle[message["ReceiptHandle"]] = message["Body"]
        return response

    def delete_message_batch(self, QueueUrl, Entries):
        self.delete_calls.append(len(Entries))
        passed, failed = [], []
        for entry in Entries:
            body = self._body_of_handle.get(entry["ReceiptHandle"])
            if body in self._fail_always or body in self._fail_once:
                self._fail_once.discard(body)
                failed.append({"Id": entry["Id"], "SenderFault": False, "Code": "InternalError", "Message": "injected"})
            else:
                passed.append(entry)
        response = {"Successful": [], "Failed": failed}
        if passed:
            real = self._client.delete_message_batch(QueueUrl=QueueUrl, Entries=passed)
            response["Successful"] = real.get("Successful", [])
            response["Failed"] += real.get("Failed", [])
        return response


def run(sqs, settings, worker, time_left_ms=lambda: 900_000, log=None):
    """One consumer run with the given worker (900 s left unless told); (summary, the log records it wrote)."""
    from analytics_consumer.drain import drain

    records = []

    def keep(level, message, **fields):
        records.append({"level": level, "message": message, **fields})

    summary = drain(sqs, settings, worker, time_left_ms, log=log or keep, sleep=lambda seconds: None)
    return summary, records
