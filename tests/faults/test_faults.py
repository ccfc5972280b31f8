"""Nothing is lost: 5,000 events (5% repeats, 5% invalid) drained through moto SQS into a real Postgres under faults.

Each scenario then lets the consumer run until the queue is empty, moves what the
DLQ holds back with `inv redrive`'s code, drains again, and checks that `events`
holds each valid event exactly once and `rejected_events` each invalid item once.
"""
import random
import tempfile
from pathlib import Path

import boto3
import pytest

from databases import Database
from fault_pipeline import (MAX_RECEIVE_COUNT, Queues, RunLog, Worker, consumer_run, make_workload,
                            run_until_empty)
from ops import migrations
from ops.local_stack.moto_sqs import quick_sqs_patches
from ops.messaging import redrive

pytestmark = [pytest.mark.faults, pytest.mark.slow]

EVENTS = 5000
SCHEMA = "analytics_faults"


@pytest.fixture
def postgres():
    """A Postgres server of this test's own, which the test may stop and start (data kept)."""
    import pgserver

    # Not pytest's tmp_path: as root, pgserver runs Postgres as its own user, which may not enter that folder.
    folder = tempfile.TemporaryDirectory(prefix="faults-pg-")

    class Server:
        def __init__(self):
            self.folder = Path(folder.name) / "pgdata"
            self.server = pgserver.get_server(self.folder, cleanup_mode="stop")
            self.url = self.server.get_uri()

        def stop(self):
            self.server.cleanup()
            self.server = None

        def start(self):
            self.server = pgserver.get_server(self.folder, cleanup_mode="stop")

    server = Server()
    migrations.upgrade(server.url, SCHEMA)
    yield server
    if server.server is not None:
        server.stop()
    folder.cleanup()


@pytest.fixture
def queues(monkeypatch):
    from moto import mock_aws

    for name, value in {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
                        "AWS_DEFAULT_REGION": "eu-central-1", "AWS_REGION": "eu-central-1"}.items():
        monkeypatch.setenv(name, value)
    for name in ("AWS_PROFILE", "AWS_ENDPOINT_URL"):
        monkeypatch.delenv(name, raising=False)
    for owner, name, replacement in quick_sqs_patches():
        monkeypatch.setattr(owner, name, replacement)
    with mock_aws():
        yield Queues.create()


def redrive_and_drain(queues, worker, log):
    """What an operator does after a fix: `inv redrive`, then let the consumer drain again."""
    summary = redrive(boto3.Session(region_name="eu-central-1"), queues.dlq_url, queues.queue_url, wait_seconds=0)
    assert summary.left_in_dlq == 0 and summary.failed == 0
    run_until_empty(queues, worker, log)
    return summary.moved


def assert_nothing_lost(postgres, workload, queues):
    db = Database(postgres.url, SCHEMA)
    stored = [row[0] for row in db.query(f"SELECT event_id FROM {SCHEMA}.events")]
    assert len(stored) == len(set(stored)) == len(workload.valid_ids), "each valid event exactly once"
    assert set(stored) == workload.valid_ids
    assert db.count("rejected_events") == workload.invalid_count, "each invalid item exactly once"
    assert queues.counts(queues.queue_url) == 0 and queues.counts(queues.dlq_url) == 0


def test_database_stopped_and_restarted_partway(postgres, queues):
    # GIVEN 5,000 messages, and a database that goes down after the worker's 3rd call
    workload = make_workload(EVENTS, seed=1)
    queues.send(workload.bodies)

    class StopsTheDatabase(Worker):
        def before_call(self, number):
            if number == 3:
                postgres.stop()

    worker = StopsTheDatabase(postgres.url, SCHEMA)
    log = RunLog()
    outage_runs = MAX_RECEIVE_COUNT + 1

    def restart_after_outage(runs_so_far):
        if runs_so_far == outage_runs:
            postgres.start()

    # WHEN the consumer keeps running on schedule through an outage longer than the redrive rule allows
    run_until_empty(queues, worker, log, between_runs=restart_after_outage)

    # THEN batches failed while the database was down, and what failed 5 receives is in the DLQ, nowhere else
    assert log.totals("failed_batches") > 0
    dlq_counts = queues.dlq_receive_counts()
    assert dlq_counts, "the outage outlasted maxReceiveCount: some messages must be in the DLQ"
    assert min(dlq_counts) >= MAX_RECEIVE_COUNT
    # AND after a redrive and more runs, nothing is lost
    moved = redrive_and_drain(queues, worker, log)
    assert moved == len(dlq_counts)
    assert_nothing_lost(postgres, workload, queues)


def test_worker_failing_one_call_in_five(postgres, queues):
    # GIVEN 5,000 messages and a worker that fails 20% of its calls: half before storing, half after committing
    workload = make_workload(EVENTS, seed=2)
    queues.send(workload.bodies)
    rng = random.Random(2)

    class Flaky(Worker):
        def before_call(self, number):
            if rng.random() < 0.10:
                raise RuntimeError("injected: worker crashed before storing")

        def after_call(self, number):
            if rng.random() < 0.10 / 0.9:
                raise TimeoutError("injected: worker timed out after committing; the ack is lost")

    worker = Flaky(postgres.url, SCHEMA)
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
