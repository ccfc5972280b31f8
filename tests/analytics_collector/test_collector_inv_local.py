"""`inv local` serves the collector: it prints the URL and a write key, and what is POSTed there lands in Postgres."""
import json
import os
import signal
import subprocess
import sys
import time
import urllib.request
import uuid

import psycopg2
import pytest

from ops.functions import ROOT
from ops.local_stack.postgres import free_port


def wait_for(condition, timeout, what):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.2)
    pytest.fail(f"timed out after {timeout} s waiting for {what}")


def stored(url, event_ids):
    with psycopg2.connect(url) as connection, connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM analytics_local.events WHERE event_id = ANY(%s)", (event_ids,))
        count = cursor.fetchone()[0]
    connection.close()
    return count


@pytest.mark.slow
def test_inv_local_prints_the_collector_and_stores_what_it_accepts(tmp_path):
    # GIVEN `inv local` on free ports in its own folder
    stack_file = tmp_path / "stack.json"
    environment = {k: v for k, v in os.environ.items() if not k.startswith("AWS_") and k != "DATABASE_URL"}
    environment.update(ANALYTICS_LOCAL_DIR=str(tmp_path), PYTHONUNBUFFERED="1")
    log = open(tmp_path / "local.log", "w+")
    process = subprocess.Popen(
        [sys.executable, "-m", "invoke", "local", "--port", str(free_port()), "--every", "1", "--collector-port", "0"],
        cwd=ROOT, env=environment, stdout=log, stderr=subprocess.STDOUT,
    )
    try:
        wait_for(stack_file.exists, 90, "the stack file")
        values = json.loads(stack_file.read_text())
        url, key = values["collector_url"], values["collector_write_key"]
        printed = wait_for(lambda: "demo page" in (tmp_path / "local.log").read_text() and (tmp_path / "local.log").read_text(),
                           30, "the banner")
        # THEN the banner names the collector's URL and its write key
        assert f"POST {url}/v1/events" in printed and f"write key {key}" in printed
        # WHEN three events are POSTed with that key
        events = [{"event_id": str(uuid.uuid4()), "event_type": "t", "event_timestamp": "2026-11-29T12:00:00Z"} for _ in range(3)]
        request = urllib.request.Request(f"{url}/v1/events?key={key}", data=json.dumps(events).encode(), method="POST")
        with urllib.request.urlopen(request, timeout=30) as response:
            assert response.status == 202
        # THEN the scheduled consumer stores them, and the demo page is served
        wait_for(lambda: stored(values["admin_database_url"], [e["event_id"] for e in events]) == 3, 60, "the events in Postgres")
        with urllib.request.urlopen(f"{url}/demo.html", timeout=30) as page:
            assert page.status == 200 and b"analytics.init" in page.read()
    finally:
        process.send_signal(signal.SIGINT)
        process.wait(timeout=60)
    assert "stopped" in (tmp_path / "local.log").read_text()
