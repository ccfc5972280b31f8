"""Must show: 10,000 events in 1,000 requests from 8 concurrent clients to the local collector; every 202'd event stored once."""
import io
import json

import pytest

from ops.local_stack.collector_burst import burst_and_store
from ops.local_stack.stack import LocalStack


@pytest.fixture
def stack_with_collector(migrated_db, tmp_path):
    running = LocalStack(port=0, database_url=migrated_db.url, data_dir=tmp_path, named=False, out=io.StringIO(),
                         collector_port=0, max_batch_events=1000)
    running.start()
    yield running
    running.stop()


@pytest.mark.slow
def test_a_burst_of_10000_events_is_stored_exactly_once(stack_with_collector):
    # GIVEN the local stack with its collector, drained continuously
    # WHEN 8 clients post 1,000 requests of 10 new events each
    summary = burst_and_store(stack_with_collector, requests=1000, events_per_request=10, clients=8)
    print("\nburst:", json.dumps(summary))
    # THEN every request got an answer, and every event of a 202 is in `events` exactly once
    assert summary["requests"] == 1000
    assert summary["stored_rows"] == summary["stored_distinct_event_ids"] == summary["events_accepted"]
    assert summary["statuses"] == {202: 1000}, "the local collector in front of moto should accept every request"
    assert summary["consumer"]["duplicates"] == 0 and summary["consumer"]["rejected"] == 0
