"""Nothing is lost: 5,000 events (5% repeats, 5% invalid) drained through moto SQS into a real Postgres under faults.

Each scenario then lets the consumer run until the queue is empty, moves what the
DLQ holds back with `inv redrive`'s code, drains again, and checks that `events`
holds each valid event exactly once and `rejected_events` each invalid item once.
"""
import random
import time

import boto3
import pytest

from databases import Database
from fault_fixtures import SCHEMA, assert_nothing_lost, postgres, queues  # noqa: F401 - fixtures
from fault_pipeline import (MAX_RECEIVE_COUNT, SETTINGS, VISIBILITY_SECONDS, CountingSqs, FlakyWorker, RefusesThePoison,
                            RunLog, Worker, consumer_run, dlq_message_bodies, event_id_of, make_workload, run_until_empty)
from ops.messaging import redrive

pytestmark = [pytest.mark.faults, pytest.mark.slow]

EVENTS = 5000


def redrive_and_drain(queues, worker, log):
    """What an operator does after a fix: `inv redrive`, then let the consumer drain again."""
    summary = redrive(boto3.Session(region_name="eu-central-1"), queues.dlq_url, queues.queue_url, wait_seconds=0)
    assert summary.left_in_dlq == 0 and summary.failed == 0
    run_until_empty(queues, worker, log)
    return summary.moved


OUTAGE_RUNS = 30


def test_a_long_database_outage_sends_nothing_to_the_dlq(postgres, queues):
    # GIVEN 5,000 messages, and a database that goes down during the worker's 3rd call of the first run
    workload = make_workload(EVENTS, seed=1)
    queues.send(workload.bodies)

    class StopsTheDatabase(Worker):
        def before_call(self, number):
            if number == 3:  # call 1 is the first run's probe
                postgres.stop()

    worker = StopsTheDatabase(postgres.url, SCHEMA)
    counting = CountingSqs(queues.sqs)
    log = RunLog()
    # WHEN the consumer runs on schedule through the run the database failed in and 30 more runs
    # (6 times maxReceiveCount), a gap between runs (over the 30 runs, failed batches' visibility timeout passes)
    for _ in range(1 + OUTAGE_RUNS):
        log.runs.append(consumer_run(queues, worker, sqs=counting))
        time.sleep(VISIBILITY_SECONDS / 4)
    receives_in_outage = counting.receives.copy()
    dlq_in_outage = queues.counts(queues.dlq_url)
    # AND then the database comes back and the consumer runs until the queue is empty
    postgres.start()
    run_until_empty(queues, worker, log)
    # THEN nothing reached the DLQ, during the outage or after
    healthy_runs = sum(1 for run in log.runs[:1 + OUTAGE_RUNS] if run["received"])
    most_receives = max(receives_in_outage.values())
    print(f"\nlong outage: {OUTAGE_RUNS} runs with the database down; DLQ {dlq_in_outage} during, "
          f"{queues.counts(queues.dlq_url)} after; receives per message during the outage: at most {most_receives} "
          f"({len(receives_in_outage)} messages received, runs that found the worker healthy: {healthy_runs}); "
          f"runs after: {len(log.runs) - 1 - OUTAGE_RUNS}")
    assert dlq_in_outage == 0 and queues.counts(queues.dlq_url) == 0
    # AND only the first run (which found the worker healthy) received anything: at most one receive per message
    assert healthy_runs == 1 and most_receives <= healthy_runs
    assert all(run["stopped_because"] == "worker_unavailable" for run in log.runs[:1 + OUTAGE_RUNS])
    assert all(run["received"] == 0 for run in log.runs[1:1 + OUTAGE_RUNS])
    # AND each valid event is stored exactly once, each invalid item rejected once
    assert_nothing_lost(postgres, workload, queues)
    db = Database(postgres.url, SCHEMA)
    print(f"rows: events {db.count('events')} (valid {len(workload.valid_ids)}), "
          f"rejected_events {db.count('rejected_events')} (invalid {workload.invalid_count})")


def test_a_poison_message_reaches_the_dlq_while_the_others_are_stored(postgres, queues):
    # GIVEN 1,000 messages and a worker that fails every batch holding one poison message, storing the others
    workload = make_workload(1000, seed=4)
    poison = workload.bodies[500]
    queues.send(workload.bodies)

    worker = RefusesThePoison(postgres.url, SCHEMA, poison)
    log = RunLog()
    # WHEN the consumer runs until the queue is empty
    run_until_empty(queues, worker, log)
    # THEN the poison message is in the DLQ, received maxReceiveCount times, with at most one batch beside it
    dlq_counts = queues.dlq_receive_counts()
    assert dlq_counts and min(dlq_counts) >= MAX_RECEIVE_COUNT
    assert len(dlq_counts) <= SETTINGS["max_batch_events"]
    dlq_bodies = dlq_message_bodies(queues)
    assert poison in dlq_bodies
    # AND every message not in the DLQ was stored
    db = Database(postgres.url, SCHEMA)
    stored = {row[0] for row in db.query(f"SELECT event_id FROM {SCHEMA}.events")}
    in_dlq = {event_id_of(body) for body in dlq_bodies}
    assert workload.valid_ids - stored <= in_dlq


def test_worker_failing_one_call_in_five(postgres, queues):
    # GIVEN 5,000 messages and a worker that fails 20% of its calls: half before storing, half after committing
    workload = make_workload(EVENTS, seed=2)
    queues.send(workload.bodies)
    rng = random.Random(2)

    worker = FlakyWorker(postgres.url, SCHEMA, rng)
    log = RunLog()
    # WHEN the consumer runs until the queue is empty, then the DLQ is redriven and drained with a healthy worker
    run_until_empty(queues, worker, log)
    failed = log.totals("failed_batches")
    redrive_and_drain(queues, Worker(postgres.url, SCHEMA), log)
    # THEN about a fifth of the calls failed, batches stored-but-unacknowledged came back as duplicates, nothing lost
    assert failed > 0
    assert log.totals("duplicates") > EVENTS // 20
    assert_nothing_lost(postgres, workload, queues)


def test_consumer_running_out_of_time_mid_run(postgres, queues):
    # GIVEN 5,000 messages and a consumer whose time runs short after a few of its checks
    workload = make_workload(EVENTS, seed=3)
    queues.send(workload.bodies)
    worker = Worker(postgres.url, SCHEMA)
    checks = {"n": 0}

    def time_left_ms():
        checks["n"] += 1
        return 60_000 if checks["n"] < 120 else 5_000  # below the 11 s a worker call needs

    # WHEN one run stops for time partway
    first = consumer_run(queues, worker, time_left_ms=time_left_ms)
    # THEN it stopped for time with work left, released what it had not sent, and deleted only what was stored
    assert first["stopped_because"] == "time_budget"
    assert 0 < first["deleted"] < EVENTS
    assert first["deleted"] == first["stored"] + first["duplicates"] + first["rejected"]
    # AND later runs finish the queue with nothing lost
    log = RunLog([first])
    run_until_empty(queues, worker, log)
    redrive_and_drain(queues, worker, log)
    assert_nothing_lost(postgres, workload, queues)


def test_the_workers_probe_fails_exactly_while_the_database_is_down(postgres):
    # GIVEN the worker (its store code and reusable connection), which has stored before
    worker = Worker(postgres.url, SCHEMA)
    assert worker([]) == {"processed": 0, "stored": 0, "duplicates": 0, "rejected": 0}
    # WHEN the database goes down, THEN the probe (an empty batch) fails: it reaches the database
    postgres.stop()
    with pytest.raises(Exception):
        worker([])
    # AND WHEN it is back, the probe passes again (the connection is reopened)
    postgres.start()
    assert worker([]) == {"processed": 0, "stored": 0, "duplicates": 0, "rejected": 0}
