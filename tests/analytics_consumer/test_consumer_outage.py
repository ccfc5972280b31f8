"""Outages are not poison: when the worker cannot store, a run receives nothing more, releases what it holds,
logs one line and returns, so no receive is spent on a message while the database or the worker is down."""
import dataclasses

import pytest
from consumer_fixtures import aws, queue_url, settings, sqs  # noqa: F401 - fixtures
from consumer_queue import FakeWorker, RecordingSqs, event_bodies, queue_counts, run, send_bodies

pytestmark = pytest.mark.faults


def test_a_worker_that_cannot_store_is_found_out_before_anything_is_received(sqs, queue_url, settings):
    # GIVEN 60 messages and a worker whose database is down
    send_bodies(sqs, queue_url, event_bodies(60))
    recording = RecordingSqs(sqs)
    worker = FakeWorker(can_store=lambda: False)
    # WHEN the consumer runs
    summary, records = run(recording, settings, worker)
    # THEN one probe told it so: it received nothing, every message is visible and was never received
    assert (summary.probes, summary.received, summary.worker_invocations) == (1, 0, 0)
    assert summary.stopped_because == "worker_unavailable"
    assert recording.receipt_handles == []
    assert queue_counts(sqs, queue_url) == (60, 0)
    # AND it said so in one clear line
    [line] = records
    assert line["level"] == "ERROR" and "cannot store" in line["message"]
    assert "database is down" in line["error"]


def test_an_outage_mid_run_stops_receiving_and_releases_every_unacknowledged_message(sqs, queue_url, settings):
    # GIVEN 200 messages (8 batches of 25), and a database that goes down during the worker's 3rd batch call
    bodies = event_bodies(200)
    send_bodies(sqs, queue_url, bodies)
    recording = RecordingSqs(sqs)
    state = {"up": True}

    def fail_from_third(number):
        if number >= 3:
            state["up"] = False
        return False

    worker = FakeWorker(fail_call=fail_from_third, can_store=lambda: state["up"])
    one_at_a_time = dataclasses.replace(settings, max_parallel_workers=1)
    # WHEN the consumer runs
    summary, records = run(recording, one_at_a_time, worker)
    # THEN it stopped at the first failure (the probe after it failed) and made no further worker call
    assert summary.stopped_because == "worker_unavailable"
    assert (summary.deleted, summary.failed_batches, summary.worker_invocations) == (50, 1, 3)
    assert summary.probes == 2
    # AND what it held but had not had acknowledged is visible again at once (not after the visibility timeout)
    assert queue_counts(sqs, queue_url) == (150, 0)
    assert summary.released == summary.received - 50
    # AND no message was received more than once, and far fewer than all were received
    assert max(recording.receives_per_body.values()) == 1
    assert summary.received < 200
    # AND one line says why the run stopped
    outage_lines = [record for record in records if "cannot store" in record["message"]]
    assert len(outage_lines) == 1 and outage_lines[0]["released"] == summary.released


def test_a_poison_batch_stays_in_flight_while_the_worker_stores_the_others(sqs, queue_url, settings):
    # GIVEN 100 messages and a worker that refuses any batch holding one poison message, storing the others
    bodies = event_bodies(100)
    poison = bodies[30]
    send_bodies(sqs, queue_url, bodies)
    worker = FakeWorker(fail_call=lambda number: poison in worker.calls[number - 1][1])
    # WHEN the consumer runs
    summary, records = run(sqs, settings, worker)
    # THEN the probe after the failure found the worker healthy, so the run went on and stored every other batch
    assert summary.stopped_because == "queue_empty"
    assert (summary.failed_batches, summary.deleted, summary.probes) == (1, 75, 2)
    # AND the poison batch is left in flight (not released), so it comes back after the visibility timeout,
    # counts a receive each time, and reaches the DLQ after maxReceiveCount
    assert queue_counts(sqs, queue_url) == (0, 25) and summary.released == 0
    [error] = [record for record in records if record["level"] == "ERROR"]
    assert "can store" in error["message"]


def test_no_time_left_to_probe_after_a_failure_releases_what_is_held(sqs, queue_url, settings):
    # GIVEN 100 messages, a worker failing its first batch call, and time running short right after it
    send_bodies(sqs, queue_url, event_bodies(100))
    clock = {"left": 900_000}

    def fail_first(number):
        clock["left"] = settings.worker_call_reserve_ms - 1
        return number == 1

    worker = FakeWorker(fail_call=fail_first)
    # WHEN the consumer runs
    summary, _ = run(sqs, dataclasses.replace(settings, max_parallel_workers=1), worker, lambda: clock["left"])
    # THEN it could not tell an outage from a poison batch, so it released everything it held
    assert summary.stopped_because == "time_budget"
    assert summary.deleted == 0 and summary.probes == 1
    assert queue_counts(sqs, queue_url) == (100, 0)
