"""Must show (issue 2): 2,500 messages, a worker failing every third call, one consumer run.

moto's SQS is quadratic in the queue length; the `aws` fixture removes the cause
without changing its answers (see consumer_fixtures.py), so this runs in seconds.
"""
import dataclasses
import math
import time
from collections import Counter

import pytest
from consumer_fixtures import aws, queue_url, settings, sqs  # noqa: F401 - fixtures
from consumer_queue import FakeWorker, RecordingSqs, event_bodies, queue_counts, remaining_bodies, send_bodies

from analytics_consumer.drain import drain

MESSAGES = 2500
BATCH = 100  # 25 batches, so "every third call" fails 8 of them
BATCHES = math.ceil(MESSAGES / BATCH)


def defaults_with(settings, max_batch_events):
    """The production defaults (4 parallel calls, 1 s long polling, 60 s worker timeout), batches of the given size."""
    return dataclasses.replace(
        settings, max_batch_events=max_batch_events, max_batch_bytes=5_000_000, max_parallel_workers=4,
        receive_wait_seconds=1, worker_timeout_seconds=60,
    )


@pytest.fixture
def big_run_settings(settings):
    return defaults_with(settings, BATCH)


def consume(sqs, settings, worker):
    started = time.perf_counter()
    summary = drain(sqs, settings, worker, time_left_ms=lambda: 900_000, log=lambda *args, **kwargs: None)
    print(f"consumer run: {time.perf_counter() - started:.1f} s, summary {summary.as_dict()}")
    return summary


@pytest.mark.slow
@pytest.mark.faults
@pytest.mark.parametrize("batch, failed_batches, failed_messages", [
    (BATCH, 8, 800),  # 25 batches of 100: calls 3, 6, ..., 24 fail
    (1000, 1, 500),  # the default size: batches of 1000, 1000, 500; the third (500) fails
])
def test_a_worker_failing_every_third_call_leaves_exactly_its_batches(
    sqs, queue_url, settings, batch, failed_batches, failed_messages
):
    # GIVEN 2,500 messages in the queue, batches of `batch`, and a worker that fails on every third call
    batches = math.ceil(MESSAGES / batch)
    bodies = event_bodies(MESSAGES)
    started = time.perf_counter()
    send_bodies(sqs, queue_url, bodies)
    print(f"sent {MESSAGES} messages in {time.perf_counter() - started:.1f} s")
    recording = RecordingSqs(sqs)
    worker = FakeWorker(fail_call=lambda number: number % 3 == 0)
    # WHEN the consumer runs once
    summary = consume(recording, defaults_with(settings, batch), worker)
    # THEN it called the worker once per batch (not once per receive) and every message went in one batch
    receives = len(recording.receipt_handles) / 10
    assert summary.worker_invocations == len(worker.calls) == batches < receives
    assert Counter(body for sent in worker.batches for body in sent) == Counter(bodies)
    # AND the queue holds exactly the messages of the failed batches
    failed = [body for sent in worker.failed_batches for body in sent]
    assert summary.failed_batches == len(worker.failed_batches) == failed_batches
    assert len(failed) == failed_messages
    assert (summary.received, summary.deleted) == (MESSAGES, MESSAGES - len(failed))
    assert queue_counts(sqs, queue_url) == (0, len(failed))
    assert sorted(remaining_bodies(sqs, queue_url, recording.receipt_handles)) == sorted(failed)
    print(f"queue after the run: {len(failed)} messages of {summary.failed_batches} failed batches")


@pytest.mark.slow
def test_a_healthy_worker_empties_a_queue_of_2500(sqs, queue_url, big_run_settings):
    # GIVEN 2,500 messages in the queue and a healthy worker
    send_bodies(sqs, queue_url, event_bodies(MESSAGES))
    worker = FakeWorker()
    # WHEN the consumer runs once
    summary = consume(sqs, big_run_settings, worker)
    # THEN the queue is empty, and the worker was called once per batch
    assert queue_counts(sqs, queue_url) == (0, 0)
    assert summary.worker_invocations == len(worker.calls) == BATCHES
    assert (summary.received, summary.stored, summary.deleted, summary.failed_batches) == (MESSAGES, MESSAGES, MESSAGES, 0)
    assert summary.stopped_because == "queue_empty"
