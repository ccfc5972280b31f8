"""Nothing lost in stream mode: the local stand-in of the SQS event source mapping (a poller in a thread, batches
of 250 or 0.2 s) feeding the real worker store, with the consumer's stream guard probing every second, under faults.

The same rules as on the schedule (test_faults.py): an outage sends nothing to the DLQ, a failed batch comes back
whole and nothing else, a poison message reaches the DLQ with at most its batch, and nothing is lost.
"""
import random
import time

import boto3
import pytest

from databases import Database
from fault_fixtures import SCHEMA, assert_nothing_lost, postgres, queues  # noqa: F401 - fixtures
from fault_pipeline import (MAX_RECEIVE_COUNT, STREAM_BATCH, VISIBILITY_SECONDS, CountingSqs, FlakyWorker,
                            RefusesThePoison, Stream, Worker, dlq_message_bodies, event_id_of, make_workload)
from ops.messaging import redrive

pytestmark = [pytest.mark.faults, pytest.mark.slow]

EVENTS = 2500
# Long enough for a failed batch to come back six times, past maxReceiveCount, if nothing paused the stream.
OUTAGE_SECONDS = 6 * VISIBILITY_SECONDS


class StopsTheDatabase(Worker):
    """Stops the database as the poller hands it its `at`-th batch (probes, empty batches, do not count)."""

    def __init__(self, postgres, at):
        super().__init__(postgres.url, SCHEMA)
        self.postgres, self.at, self.batches = postgres, at, 0

    def __call__(self, bodies):
        if bodies:  # only the poller's thread sends batches
            self.batches += 1
            if self.batches == self.at:
                self.postgres.stop()
        return super().__call__(bodies)


def stream_through_an_outage(postgres, queues, guard):
    """5% repeats, 5% invalid; the database stops at the 3rd batch and is down for OUTAGE_SECONDS, then streaming
    goes on until the queue is empty. Returns the workload, the stream and what was seen during the outage."""
    workload = make_workload(EVENTS, seed=1)
    queues.send(workload.bodies)
    counting = CountingSqs(queues.sqs)
    with Stream(queues, StopsTheDatabase(postgres, at=3), guard=guard, sqs=counting) as stream:
        while postgres.server is not None:
            time.sleep(0.05)
        time.sleep(OUTAGE_SECONDS)
        during = {"most_receives": max(counting.receives.values()), "received": len(counting.receives),
                  "dlq": queues.counts(queues.dlq_url), "mapping": stream.poller.mapping.state(),
                  "failed_batches": stream.poller.totals["failed_batches"]}
        postgres.start()
        stream.until_empty()
    print(f"\nstream outage ({'with' if guard else 'without'} the guard): {OUTAGE_SECONDS} s down; during it: {during}; "
          f"DLQ after: {queues.counts(queues.dlq_url)}; guard runs: {dict(stream.poller.guard_actions)}")
    return workload, stream, during


def test_a_long_database_outage_sends_nothing_to_the_dlq(postgres, queues):
    # GIVEN 2,500 messages streaming to the worker, the consumer's guard every second, and a database that goes down
    # WHEN it stays down long enough for a failed batch to come back six times, then comes back
    workload, stream, during = stream_through_an_outage(postgres, queues, guard=True)
    # THEN the guard paused the stream during the outage and resumed it after
    assert during["mapping"] == "Disabled"
    assert stream.poller.guard_actions["paused"] >= 1 and stream.poller.guard_actions["resumed"] >= 1
    # AND no message was received more than once during the outage, and nothing reached the DLQ
    assert during["most_receives"] == 1
    assert during["dlq"] == 0 and queues.counts(queues.dlq_url) == 0
    # AND each valid event is stored exactly once, each invalid item rejected once
    assert_nothing_lost(postgres, workload, queues)


def test_without_the_guard_the_same_outage_pushes_messages_into_the_dlq(postgres, queues):
    # GIVEN the same outage, and no guard (Lambda's poller goes on receiving while the database is down)
    workload, stream, during = stream_through_an_outage(postgres, queues, guard=False)
    # THEN the failed batches came back until SQS moved them to the DLQ: why stream mode needs the guard
    assert during["most_receives"] >= MAX_RECEIVE_COUNT
    assert during["dlq"] > 0
    # AND an operator's redrive after the outage brings them back: still nothing lost
    summary = redrive(boto3.Session(region_name="eu-central-1"), queues.dlq_url, queues.queue_url, wait_seconds=0)
    assert summary.moved > 0 and summary.failed == 0
    with Stream(queues, Worker(postgres.url, SCHEMA), guard=False) as again:
        again.until_empty()
    assert_nothing_lost(postgres, workload, queues)


def test_a_worker_failing_every_third_batch_leaves_exactly_its_messages(postgres, queues):
    # GIVEN 2,500 messages, batches of 100 (25 batches), a worker failing every third batch before it stores,
    # and a visibility timeout long enough that no failed message comes back during the test
    workload = make_workload(EVENTS, seed=5)
    queues.send(workload.bodies)
    queues.sqs.set_queue_attributes(QueueUrl=queues.queue_url, Attributes={"VisibilityTimeout": "600"})

    class FailsEveryThirdBatch(Worker):
        failed_records = []

        def handle_event(self, event):
            if self.calls % 3 == 2:  # this is the 3rd, 6th, ... call
                self.calls += 1
                self.failed_records += event["Records"]
                raise RuntimeError("injected: the worker fails this batch")
            return super().handle_event(event)

    worker = FailsEveryThirdBatch(postgres.url, SCHEMA)
    stream = Stream(queues, worker, guard=False)
    stream.poller.batch_size, stream.poller.window = 100, 5.0
    # WHEN the poller has received every message once
    while stream.poller.totals["received"] < EVENTS:
        stream.poller.poll_once()
    # THEN 8 of the 25 batches failed, and the queue holds exactly their 800 messages, in flight
    totals = stream.poller.totals
    assert (totals["worker_invocations"], totals["failed_batches"]) == (25, 8)
    assert (totals["deleted"], totals["failed_items"]) == (EVENTS - 800, 0)
    assert queues.counts(queues.queue_url) == 800
    handles = [record["receiptHandle"] for record in worker.failed_records]
    for start in range(0, len(handles), 10):
        queues.sqs.change_message_visibility_batch(QueueUrl=queues.queue_url, Entries=[
            {"Id": str(i), "ReceiptHandle": handle, "VisibilityTimeout": 0} for i, handle in enumerate(handles[start:start + 10])])
    left = []
    while messages := queues.sqs.receive_message(QueueUrl=queues.queue_url, MaxNumberOfMessages=10).get("Messages"):
        left += [message["Body"] for message in messages]
    assert sorted(left) == sorted(record["body"] for record in worker.failed_records)
    # AND every valid event with a copy outside those was stored (a repeat's other copy may have been)
    stored = {row[0] for row in Database(postgres.url, SCHEMA).query(f"SELECT event_id FROM {SCHEMA}.events")}
    assert workload.valid_ids - {event_id_of(body) for body in left} <= stored <= workload.valid_ids


def test_worker_failing_one_call_in_five(postgres, queues):
    # GIVEN 2,500 messages in batches of 50 and a worker that fails 20% of them: half before storing, half after
    # committing (the guard's probes pass, so the batches' outcomes do not depend on when it runs)
    workload = make_workload(EVENTS, seed=2)
    queues.send(workload.bodies)
    stream = Stream(queues, FlakyWorker(postgres.url, SCHEMA, random.Random(2), probes_fail=False))
    stream.poller.batch_size = 50
    # WHEN it streams until the queue is empty, and the DLQ (if anything reached it) is redriven with a healthy worker
    with stream:
        stream.until_empty()
    redrive(boto3.Session(region_name="eu-central-1"), queues.dlq_url, queues.queue_url, wait_seconds=0)
    with Stream(queues, Worker(postgres.url, SCHEMA)) as again:
        again.until_empty()
    # THEN batches failed, those stored but unacknowledged came back as duplicates, and nothing was lost
    assert stream.poller.totals["failed_batches"] > 0
    assert stream.poller.totals["duplicates"] + again.poller.totals["duplicates"] > EVENTS // 20
    assert_nothing_lost(postgres, workload, queues)


def test_a_poison_message_reaches_the_dlq_while_the_others_are_stored(postgres, queues):
    # GIVEN 1,000 messages and a worker that fails every batch holding one poison message, storing the others
    workload = make_workload(1000, seed=4)
    poison = workload.bodies[500]
    queues.send(workload.bodies)

    # WHEN it streams until the queue is empty (the guard's probes pass: the database is up)
    with Stream(queues, RefusesThePoison(postgres.url, SCHEMA, poison)) as stream:
        stream.until_empty()
    # THEN the poison message is in the DLQ, received maxReceiveCount times, with at most one batch beside it
    dlq_counts = queues.dlq_receive_counts()
    assert dlq_counts and min(dlq_counts) >= MAX_RECEIVE_COUNT
    assert len(dlq_counts) <= STREAM_BATCH["batch_size"]
    dlq_bodies = dlq_message_bodies(queues)
    assert poison in dlq_bodies
    assert stream.poller.guard_actions["paused"] == 0
    # AND every message not in the DLQ was stored
    stored = {row[0] for row in Database(postgres.url, SCHEMA).query(f"SELECT event_id FROM {SCHEMA}.events")}
    assert workload.valid_ids - stored <= {event_id_of(body) for body in dlq_bodies}
