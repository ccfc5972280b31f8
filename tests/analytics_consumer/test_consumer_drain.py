"""The drain loop against a moto SQS queue, with the worker seam as a plain Python function."""
import dataclasses
import json
import threading
import time
from collections import Counter

import pytest
from consumer_fixtures import aws, queue_url, settings, sqs  # noqa: F401 - fixtures
from consumer_queue import FakeWorker, RecordingSqs, event_bodies, queue_counts, remaining_bodies, run, send_bodies

from analytics_consumer.batching import encode_batch


def test_acknowledged_batches_are_deleted_and_bodies_arrive_untouched(sqs, queue_url, settings):
    # GIVEN 60 messages in the queue and a healthy worker, batches of at most 25
    bodies = event_bodies(60)
    send_bodies(sqs, queue_url, bodies)
    worker = FakeWorker()
    # WHEN the consumer runs
    summary, records = run(sqs, settings, worker)
    # THEN every body reached the worker once, as the exact string that was sent,
    # in 3 calls (not one per receive), and the queue is empty
    assert Counter(body for batch in worker.batches for body in batch) == Counter(bodies)
    assert [len(batch) for batch in worker.batches] == [25, 25, 10]
    assert queue_counts(sqs, queue_url) == (0, 0)
    assert summary.as_dict() == {
        "received": 60, "stored": 60, "duplicates": 0, "rejected": 0, "failed_batches": 0,
        "worker_invocations": 3, "deleted": 60, "delete_failures": 0, "released": 0, "probes": 1,
        "stopped_because": "queue_empty",
    }
    assert records == []


def test_summary_adds_up_the_workers_counts(sqs, queue_url, settings):
    # GIVEN 30 messages and a worker that finds one duplicate and one reject in every batch
    send_bodies(sqs, queue_url, event_bodies(30))
    worker = FakeWorker(answer=lambda batch: {
        "processed": len(batch), "stored": len(batch) - 2, "duplicates": 1, "rejected": 1})
    # WHEN the consumer runs (batches of 25: two calls)
    summary, _ = run(sqs, settings, worker)
    # THEN the summary holds the sums of the answers
    assert (summary.stored, summary.duplicates, summary.rejected) == (26, 2, 2)
    assert summary.worker_invocations == 2


def test_an_empty_queue_makes_no_worker_call(sqs, queue_url, settings):
    # GIVEN an empty queue
    worker = FakeWorker()
    # WHEN the consumer runs
    summary, _ = run(sqs, settings, worker)
    # THEN it stops at once without calling the worker
    assert (summary.received, summary.worker_invocations, summary.stopped_because) == (0, 0, "queue_empty")


@pytest.mark.faults
def test_a_failing_worker_leaves_exactly_its_batch_in_the_queue(sqs, queue_url, settings):
    # GIVEN 60 messages and a worker whose second call raises
    bodies = event_bodies(60)
    send_bodies(sqs, queue_url, bodies)
    recording = RecordingSqs(sqs)
    worker = FakeWorker(fail_call=lambda number: number == 2)
    # WHEN the consumer runs
    summary, records = run(recording, settings, worker)
    # THEN the other batches are deleted, the failed one is still in the queue (in flight until
    # its visibility timeout ends), and the run went on after the failure
    failed = worker.failed_batches[0]
    assert summary.failed_batches == 1 and summary.worker_invocations == 3
    assert summary.deleted == 60 - len(failed)
    assert queue_counts(sqs, queue_url) == (0, len(failed))
    assert sorted(remaining_bodies(sqs, queue_url, recording.receipt_handles)) == sorted(failed)
    # AND one error line says so, without any message body in it
    [error] = [record for record in records if record["level"] == "ERROR"]
    assert error["events"] == len(failed) and "injected failure of call 2" in error["error"]
    assert not any(body in json.dumps(error) for body in bodies)


@pytest.mark.faults
@pytest.mark.parametrize("answer", [
    {"ok": True},
    {"processed": 3, "stored": 3, "duplicates": 0, "rejected": 0},  # fewer than the batch held
    {"processed": 10, "stored": 9, "duplicates": 0, "rejected": 0},  # does not add up
    ["not", "counts"],
])
def test_an_answer_that_is_not_the_counts_counts_as_a_failure(sqs, queue_url, settings, answer):
    # GIVEN 10 messages and a worker answering something other than the counts of the batch
    send_bodies(sqs, queue_url, event_bodies(10))
    worker = FakeWorker(answer=lambda batch: answer)
    # WHEN the consumer runs
    summary, records = run(sqs, settings, worker)
    # THEN nothing is deleted: the batch will come back
    assert (summary.failed_batches, summary.deleted) == (1, 0)
    assert queue_counts(sqs, queue_url) == (0, 10)
    assert [record["level"] for record in records] == ["ERROR"]


def test_batches_are_bounded_by_count(sqs, queue_url, settings):
    # GIVEN 30 messages and at most 7 events per batch
    send_bodies(sqs, queue_url, event_bodies(30))
    worker = FakeWorker()
    # WHEN the consumer runs
    summary, _ = run(sqs, dataclasses.replace(settings, max_batch_events=7), worker)
    # THEN the worker got full batches of 7 and the rest in one last call
    assert [len(batch) for batch in worker.batches] == [7, 7, 7, 7, 2]
    assert summary.worker_invocations == 5
    assert queue_counts(sqs, queue_url) == (0, 0)


def test_batches_are_bounded_by_encoded_bytes_and_a_big_message_goes_alone(sqs, queue_url, settings):
    # GIVEN messages of about 300 bytes, one of about 3,000 bytes among them, and a bound of 1,000 bytes
    small = event_bodies(12, pad=200)
    big = event_bodies(1, start=100, pad=3000)[0]
    bodies = small[:5] + [big] + small[5:]
    send_bodies(sqs, queue_url, bodies)
    worker = FakeWorker()
    limit = 1000
    # WHEN the consumer runs
    summary, _ = run(sqs, dataclasses.replace(settings, max_batch_bytes=limit, max_parallel_workers=1), worker)
    # THEN every batch but the big message's own encodes within the bound, the big one went alone (unsplit),
    # each batch was as full as the bound allows (the next message would not have fit),
    # and everything was delivered and deleted
    batches = worker.batches
    assert [big] in batches
    assert all(len(encode_batch(batch)) <= limit for batch in batches if batch != [big])
    assert all(len(encode_batch(batch + [following[0]])) > limit for batch, following in zip(batches, batches[1:]))
    assert max(len(batch) for batch in batches) == 3
    assert Counter(body for batch in worker.batches for body in batch) == Counter(bodies)
    assert summary.deleted == 13 and queue_counts(sqs, queue_url) == (0, 0)


class Clock:
    """A Lambda's remaining time that only goes down when the worker is called."""

    def __init__(self, left_ms, per_call_ms):
        self.left_ms = left_ms
        self.per_call_ms = per_call_ms
        self.left_at_calls = []

    def time_left_ms(self):
        return self.left_ms

    def worker(self, inner):
        def call(batch):
            if not batch:  # a probe: quick
                return inner(batch)
            self.left_at_calls.append(self.left_ms)
            self.left_ms -= self.per_call_ms
            return inner(batch)
        return call


def test_no_worker_call_starts_that_could_outlive_the_run(sqs, queue_url, settings):
    # GIVEN 100 messages, 40 s left, each worker call using 12 s, one call at a time,
    # and a reserve of 11 s for a call (worker timeout 1 s + 10 s margin)
    send_bodies(sqs, queue_url, event_bodies(100))
    clock = Clock(left_ms=40_000, per_call_ms=12_000)
    worker = FakeWorker()
    one_at_a_time = dataclasses.replace(settings, max_parallel_workers=1)
    # WHEN the consumer runs
    summary, _ = run(sqs, one_at_a_time, clock.worker(worker), time_left_ms=clock.time_left_ms)
    # THEN it made exactly the calls that fit (at 40, 28 and 16 s left), each with the reserve left,
    # and stopped for lack of time
    assert clock.left_at_calls == [40_000, 28_000, 16_000]
    assert all(left >= one_at_a_time.worker_call_reserve_ms for left in clock.left_at_calls)
    assert summary.stopped_because == "time_budget"
    # AND what was not processed is in the queue, visible again at once (not stuck until a visibility timeout)
    assert summary.deleted == 75
    assert queue_counts(sqs, queue_url) == (25, 0)
    assert summary.released == summary.received - 75


def test_with_too_little_time_left_nothing_is_received(sqs, queue_url, settings):
    # GIVEN 10 messages and less time left than one worker call needs
    send_bodies(sqs, queue_url, event_bodies(10))
    worker = FakeWorker()
    # WHEN the consumer runs
    summary, _ = run(sqs, settings, worker, time_left_ms=lambda: settings.worker_call_reserve_ms - 1)
    # THEN it neither receives nor calls the worker: the queue is as it was
    assert (summary.received, summary.worker_invocations, summary.stopped_because) == (0, 0, "time_budget")
    assert queue_counts(sqs, queue_url) == (10, 0)


def test_a_run_whose_time_runs_short_while_streams_wait_for_buffer_room_still_ends(sqs, queue_url, settings):
    # GIVEN messages in the queue, more receive streams (4) than the buffer has room for receives (batches of 10:
    # one receive), and time that runs short as soon as the run has started its streams
    send_bodies(sqs, queue_url, event_bodies(30))
    checks = {"n": 0}

    def time_left_ms():
        checks["n"] += 1
        return 900_000 if checks["n"] == 1 else settings.worker_call_reserve_ms - 1

    narrow = dataclasses.replace(settings, max_batch_events=10, sqs_streams=4)
    # WHEN the consumer runs (in a thread, so a hang fails the test instead of stalling it)
    finished = []
    thread = threading.Thread(target=lambda: finished.append(run(sqs, narrow, FakeWorker(), time_left_ms)), daemon=True)
    thread.start()
    thread.join(timeout=20)
    # THEN it ends, for lack of time, having received nothing (a stream that stops for time gives its room back,
    # so the streams still waiting for room see the time too)
    assert finished, "the run hung: a receive stream kept waiting for buffer room that a stopped stream held"
    summary, _ = finished[0]
    assert (summary.stopped_because, summary.received) == ("time_budget", 0)
    assert queue_counts(sqs, queue_url) == (30, 0)


@pytest.mark.faults
def test_entries_that_fail_to_delete_are_retried(sqs, queue_url, settings):
    # GIVEN 30 messages, and SQS failing the first delete of 3 of them (a partial DeleteMessageBatch failure)
    bodies = event_bodies(30)
    send_bodies(sqs, queue_url, bodies)
    flaky = RecordingSqs(sqs, fail_delete_first_time=[bodies[0], bodies[11], bodies[29]])
    # WHEN the consumer runs
    summary, records = run(flaky, settings, FakeWorker())
    # THEN the failed entries were retried and every acknowledged message is gone
    assert (summary.deleted, summary.delete_failures) == (30, 0)
    assert queue_counts(sqs, queue_url) == (0, 0)
    assert max(flaky.delete_calls) <= 10 and len(flaky.delete_calls) > 3  # 3 chunks of 10 + retries
    assert records == []


@pytest.mark.faults
def test_entries_that_never_delete_are_counted_and_logged(sqs, queue_url, settings):
    # GIVEN 30 messages, 2 of which SQS refuses to delete every time
    bodies = event_bodies(30)
    send_bodies(sqs, queue_url, bodies)
    stuck = [bodies[3], bodies[17]]
    broken = RecordingSqs(sqs, always_fail_delete=stuck)
    # WHEN the consumer runs
    summary, records = run(broken, settings, FakeWorker())
    # THEN the others are deleted, the 2 are counted and reported, and they stay in the queue
    assert (summary.deleted, summary.delete_failures) == (28, 2)
    assert sorted(remaining_bodies(sqs, queue_url, broken.receipt_handles)) == sorted(stuck)
    [warning] = records
    assert warning["level"] == "WARNING" and warning["count"] == 2


def test_worker_calls_run_in_parallel_up_to_the_bound(sqs, queue_url, settings):
    # GIVEN 100 messages (4 batches of 25), at most 2 calls at a time, and a slow worker
    send_bodies(sqs, queue_url, event_bodies(100))
    lock = threading.Lock()
    running = []
    peak = []
    inner = FakeWorker()

    def slow_worker(batch):
        with lock:
            running.append(1)
            peak.append(len(running))
        time.sleep(0.2)
        with lock:
            running.pop()
        return inner(batch)

    # WHEN the consumer runs
    summary, _ = run(sqs, settings, slow_worker)
    # THEN two calls overlapped, never more, and all 4 batches were delivered and deleted
    assert max(peak) == 2
    assert summary.worker_invocations == 4 and summary.deleted == 100
    assert queue_counts(sqs, queue_url) == (0, 0)


class SlowSqs(RecordingSqs):
    """moto SQS with every receive and delete taking `seconds` (as SQS's network latency would), recording
    how many receives ran at once, which threads deleted, and the most messages held at any time."""

    def __init__(self, client, seconds, delete_seconds=None):
        super().__init__(client)
        self.seconds = seconds
        self.delete_seconds = seconds if delete_seconds is None else delete_seconds
        self.lock = threading.Lock()
        self.receiving = 0
        self.peak_receiving = 0
        self.deleting = 0
        self.receives_during_deletes = 0
        self.delete_threads = set()
        self.held = 0
        self.peak_held = 0

    def receive_message(self, **kwargs):
        with self.lock:
            self.receiving += 1
            self.peak_receiving = max(self.peak_receiving, self.receiving)
            if self.deleting:
                self.receives_during_deletes += 1
        time.sleep(self.seconds)
        try:
            response = super().receive_message(**kwargs)
        finally:
            with self.lock:
                self.receiving -= 1
        with self.lock:
            self.held += len(response.get("Messages", []))
            self.peak_held = max(self.peak_held, self.held)
        return response

    def delete_message_batch(self, QueueUrl, Entries):
        with self.lock:
            self.deleting += 1
            self.delete_threads.add(threading.current_thread().name)
        time.sleep(self.delete_seconds)
        try:
            response = super().delete_message_batch(QueueUrl=QueueUrl, Entries=Entries)
        finally:
            with self.lock:
                self.deleting -= 1
                self.held -= len(response.get("Successful", []))
        return response

    def change_message_visibility_batch(self, QueueUrl, Entries):
        response = self._client.change_message_visibility_batch(QueueUrl=QueueUrl, Entries=Entries)
        with self.lock:
            self.held -= len(response.get("Successful", []))
        return response


def test_several_receive_streams_run_at_once_and_deletes_are_off_the_receiving_path(sqs, queue_url, settings):
    # GIVEN 300 messages, 3 SQS streams, and SQS calls that each take 30 ms
    bodies = event_bodies(300)
    send_bodies(sqs, queue_url, bodies)
    slow = SlowSqs(sqs, seconds=0.03)
    worker = FakeWorker()
    # WHEN the consumer runs
    summary, _ = run(slow, dataclasses.replace(settings, sqs_streams=3), worker)
    # THEN 3 receives were in flight at once (never more), deletes ran on their own threads while receives went on,
    # and every message was delivered once and deleted
    assert slow.peak_receiving == 3
    assert slow.delete_threads and all(name.startswith("sqs-delete") for name in slow.delete_threads)
    assert slow.receives_during_deletes > 0
    assert Counter(body for batch in worker.batches for body in batch) == Counter(bodies)
    assert (summary.deleted, summary.stopped_because) == (300, "queue_empty")
    assert queue_counts(sqs, queue_url) == (0, 0)


def test_receive_streams_do_not_run_ahead_of_the_worker(sqs, queue_url, settings):
    # GIVEN 400 messages, 4 streams, batches of 25, one worker call at a time, and a slow worker (0.1 s a call)
    send_bodies(sqs, queue_url, event_bodies(400))
    slow = SlowSqs(sqs, seconds=0.005)
    inner = FakeWorker()

    def slow_worker(batch):
        time.sleep(0.1)
        return inner(batch)

    # WHEN the consumer runs
    summary, _ = run(slow, dataclasses.replace(settings, max_parallel_workers=1, sqs_streams=4), slow_worker)
    # THEN it never held more (received, not yet deleted or released) than the batch in the worker, one batch
    # waiting for it, the batch being built, the previous batch being deleted, and one batch's worth of receives
    # waiting (4 x 25 + 30), far from the whole queue: what it holds, the time left must cover
    assert slow.peak_held <= 4 * 25 + 30
    assert (summary.deleted, summary.stopped_because) == (400, "queue_empty")


def test_receive_streams_do_not_run_ahead_of_slow_deletes(sqs, queue_url, settings):
    # GIVEN 600 messages, 4 streams, batches of 25, a quick worker, quick receives and slow deletes (60 ms a call)
    send_bodies(sqs, queue_url, event_bodies(600))
    slow = SlowSqs(sqs, seconds=0.001, delete_seconds=0.06)
    # WHEN the consumer runs
    summary, _ = run(slow, dataclasses.replace(settings, max_parallel_workers=1, sqs_streams=4), FakeWorker())
    # THEN acknowledged messages waiting for their delete held back receiving: what it held (received, not yet
    # deleted) stayed within a few batches (in the worker, waiting, being built, one batch of receives, and the
    # deletes of one batch per worker slot), not the whole queue, so nothing waits long enough to come back
    assert slow.peak_held <= 6 * 25 + 30
    assert (summary.deleted, summary.stopped_because) == (600, "queue_empty")
