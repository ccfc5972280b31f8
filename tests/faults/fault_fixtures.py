"""Fixtures of the fault tests (both delivery modes): a Postgres server a test may stop and start, moto's queues."""
import tempfile
from pathlib import Path

import pytest

from databases import Database
from fault_pipeline import Queues
from ops import migrations
from ops.local_stack.moto_sqs import quick_sqs_patches

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


def assert_nothing_lost(postgres, workload, queues):
    db = Database(postgres.url, SCHEMA)
    stored = [row[0] for row in db.query(f"SELECT event_id FROM {SCHEMA}.events")]
    assert len(stored) == len(set(stored)) == len(workload.valid_ids), "each valid event exactly once"
    assert set(stored) == workload.valid_ids
    assert db.count("rejected_events") == workload.invalid_count, "each invalid item exactly once"
    assert queues.counts(queues.queue_url) == 0 and queues.counts(queues.dlq_url) == 0
