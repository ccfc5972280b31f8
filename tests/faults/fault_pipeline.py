"""A whole pipeline for fault tests: moto SQS (queue + DLQ), the real consumer drain loop (schedule mode) or the
local stream poller with the consumer's stream guard (stream mode), the real worker store, and a Postgres
server of the test's own that can be stopped and started."""
import json
import random
import threading
import time
from collections import Counter
from dataclasses import dataclass, field

import boto3

from analytics_consumer.drain import drain
from analytics_consumer.settings import Settings
from ops.events import sample_event
from ops.local_stack.stack import InProcessWorker

REGION = "eu-central-1"
MAX_RECEIVE_COUNT = 5  # the Terraform default of analytics_queue
# Short, so failed batches come back within a test; long enough that a run never holds a message past it on a
# busy machine (in AWS the visibility timeout exceeds the consumer's timeout, so a run never sees its own
# messages again).
VISIBILITY_SECONDS = 8


@dataclass
class Workload:
    """Message bodies to send, and what must end up in the database."""
    bodies: list
    valid_ids: set
    invalid_count: int


def make_workload(events, seed):
    """`events` bodies: 90% distinct valid events, 5% repeats of them (as SNS envelopes), 5% distinct invalid items."""
    rng = random.Random(seed)
    repeats = invalid = events // 20
    valid = [sample_event(rng=rng) for _ in range(events - repeats - invalid)]
    bodies = [json.dumps(event) for event in valid]
    bodies += [json.dumps({"Type": "Notification", "MessageId": f"repeat-{i}", "Message": json.dumps(event)})
               for i, event in enumerate(rng.sample(valid, repeats))]
    bodies += [json.dumps({"event_id": f"bad-{i}", "event_type": "x", "event_timestamp": "not a time"})
               for i in range(invalid)]
    rng.shuffle(bodies)
    return Workload(bodies, {event["event_id"] for event in valid}, invalid)


@dataclass
class Queues:
    sqs: object
    queue_url: str
    dlq_url: str

    @classmethod
    def create(cls):
        sqs = boto3.client("sqs", region_name=REGION)
        dlq_url = sqs.create_queue(QueueName="analytics_events_faults_dlq")["QueueUrl"]
        dlq_arn = sqs.get_queue_attributes(QueueUrl=dlq_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        queue_url = sqs.create_queue(
            QueueName="analytics_events_faults",
            Attributes={
                "VisibilityTimeout": str(VISIBILITY_SECONDS),
                "RedrivePolicy": json.dumps({"deadLetterTargetArn": dlq_arn, "maxReceiveCount": MAX_RECEIVE_COUNT}),
            },
        )["QueueUrl"]
        return cls(sqs, queue_url, dlq_url)

    def send(self, bodies):
        for start in range(0, len(bodies), 10):
            entries = [{"Id": str(i), "MessageBody": body} for i, body in enumerate(bodies[start:start + 10])]
            assert not self.sqs.send_message_batch(QueueUrl=self.queue_url, Entries=entries).get("Failed")

    def counts(self, url):
        attributes = self.sqs.get_queue_attributes(
            QueueUrl=url, AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"]
        )["Attributes"]
        return int(attributes["ApproximateNumberOfMessages"]) + int(attributes["ApproximateNumberOfMessagesNotVisible"])

    def dlq_receive_counts(self):
        """ApproximateReceiveCount of every message in the DLQ (they are made visible again afterwards)."""
        counts, handles = [], []
        while True:
            messages = self.sqs.receive_message(
                QueueUrl=self.dlq_url, MaxNumberOfMessages=10, AttributeNames=["ApproximateReceiveCount"],
                VisibilityTimeout=60,
            ).get("Messages", [])
            if not messages:
                break
            counts += [int(m["Attributes"]["ApproximateReceiveCount"]) for m in messages]
            handles += [m["ReceiptHandle"] for m in messages]
        for start in range(0, len(handles), 10):
            entries = [{"Id": str(i), "ReceiptHandle": h, "VisibilityTimeout": 0}
                       for i, h in enumerate(handles[start:start + 10])]
            self.sqs.change_message_visibility_batch(QueueUrl=self.dlq_url, Entries=entries)
        return counts


def event_id_of(body):
    item = json.loads(body)
    if item.get("Type") == "Notification":
        item = json.loads(item["Message"])
    return item.get("event_id")


def dlq_message_bodies(queues):
    """The bodies in the DLQ (received, left invisible for a minute)."""
    bodies = []
    while True:
        messages = queues.sqs.receive_message(QueueUrl=queues.dlq_url, MaxNumberOfMessages=10,
                                              VisibilityTimeout=60).get("Messages", [])
        if not messages:
            return bodies
        bodies += [message["Body"] for message in messages]


SETTINGS = dict(worker_function="analytics_worker_faults", worker_timeout_seconds=1, max_batch_events=250,
                max_parallel_workers=4, receive_wait_seconds=0, sqs_streams=2)


class Worker(InProcessWorker):
    """The worker seam of the local stack (store_batch, one connection per parallel call), with fault hooks."""

    def __init__(self, url, schema):
        super().__init__(url, schema, parallel=SETTINGS["max_parallel_workers"])
        self.calls = 0
        self._lock = threading.Lock()

    def __call__(self, bodies):
        with self._lock:
            self.calls += 1
            number = self.calls
        self.before_call(number)
        result = super().__call__(bodies)
        self.after_call(number)
        return result

    def before_call(self, number):
        """Fault hook: raise to fail the call before anything is stored."""

    def after_call(self, number):
        """Fault hook: raise to fail the call after the batch was committed (the ack is lost)."""


class FlakyWorker(Worker):
    """Fails a fifth of its calls (`rng` decides): half before storing, half after committing (the ack is lost).

    `probes_fail=False` spares the probes (empty batches), so the batches alone draw from `rng`: the same
    outcomes in the same order however a guard's probes interleave with them.
    """

    def __init__(self, url, schema, rng, probes_fail=True):
        super().__init__(url, schema)
        self.rng, self.probes_fail = rng, probes_fail

    def __call__(self, bodies):
        if not bodies and not self.probes_fail:
            return InProcessWorker.__call__(self, bodies)
        return super().__call__(bodies)

    def before_call(self, number):
        if self.rng.random() < 0.10:
            raise RuntimeError("injected: worker crashed before storing")

    def after_call(self, number):
        if self.rng.random() < 0.10 / 0.9:
            raise TimeoutError("injected: worker timed out after committing; the ack is lost")


class RefusesThePoison(Worker):
    """Fails every call whose batch holds the `poison` body; stores the others."""

    def __init__(self, url, schema, poison):
        super().__init__(url, schema)
        self.poison = poison

    def __call__(self, bodies):
        if self.poison in bodies:
            raise RuntimeError("injected: the worker crashes on this message")
        return super().__call__(bodies)


@dataclass
class RunLog:
    runs: list = field(default_factory=list)

    def totals(self, key):
        return sum(run[key] for run in self.runs)


class CountingSqs:
    """The SQS client, counting how often each message (by MessageId) was received."""

    def __init__(self, client):
        self._client = client
        self.receives = Counter()

    def __getattr__(self, name):
        return getattr(self._client, name)

    def receive_message(self, **kwargs):
        response = self._client.receive_message(**kwargs)
        self.receives.update(message["MessageId"] for message in response.get("Messages", []))
        return response


def consumer_run(queues, worker, time_left_ms=lambda: 900_000, sqs=None):
    settings = Settings(queue_url=queues.queue_url, **SETTINGS)
    return drain(sqs or queues.sqs, settings, worker, time_left_ms=time_left_ms, log=lambda *a, **k: None).as_dict()


def run_until_empty(queues, worker, log, max_runs=40, between_runs=None):
    """Consumer runs (as the schedule would make them) until the queue holds nothing, visible or in flight."""
    for _ in range(max_runs):
        log.runs.append(consumer_run(queues, worker))
        if between_runs:
            between_runs(len(log.runs))
        if queues.counts(queues.queue_url) == 0:
            return
        time.sleep(VISIBILITY_SECONDS)  # failed batches become visible again
    raise AssertionError(f"queue not empty after {max_runs} consumer runs")


# ---- stream mode: the local stand-in of the SQS event source mapping, and the consumer's stream guard ----
STREAM_BATCH = dict(batch_size=250, batching_window_seconds=0.2)
# The guard's period, well inside the visibility timeout (deployed: every 60 s against at least 590 s), so a
# batch failed in an outage is not received again before the guard has paused the stream.
GUARD_EVERY_SECONDS = 1


class Stream:
    """A StreamPoller (as Lambda's poller) feeding `worker` in a thread, with the consumer's stream guard in another."""

    def __init__(self, queues, worker, guard=True, sqs=None):
        from ops.local_stack.stream_poller import StreamPoller

        sqs = sqs or queues.sqs
        queue_arn = sqs.get_queue_attributes(QueueUrl=queues.queue_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        self.queues, self.worker, self.guarded = queues, worker, guard
        self.poller = StreamPoller(sqs, queues.queue_url, queue_arn, REGION, worker.handle_event, **STREAM_BATCH,
                                   say=lambda *args: None)
        self._stop, self._threads = threading.Event(), []

    def __enter__(self):
        self._threads = [threading.Thread(target=self.poller.run, args=(self._stop,), daemon=True)]
        if self.guarded:
            self._threads.append(threading.Thread(
                target=self.poller.guard, args=(self.worker, GUARD_EVERY_SECONDS, self._stop, lambda *a, **k: None),
                daemon=True))
        for thread in self._threads:
            thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout=60)

    def until_empty(self, patience=180):
        """Wait until the queue holds nothing, visible or in flight (failed batches come back after the visibility timeout)."""
        deadline = time.monotonic() + patience
        while self.queues.counts(self.queues.queue_url):
            if time.monotonic() > deadline:
                raise AssertionError(f"queue not empty after {patience} s of streaming: {dict(self.poller.totals)}")
            time.sleep(0.5)
