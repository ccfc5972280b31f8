"""`inv local` as a user runs it: a process that serves the stage `local` until SIGINT, then leaves nothing behind."""
import json
import os
import signal
import socket
import subprocess
import sys
import time

import psutil
import psycopg2
import pytest

from ops.functions import ROOT

EVERY = 1  # seconds between consumer runs


def free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def port_is_free(port):
    """Nothing listens on it (connections in TIME-WAIT, which the kernel closes by itself, do not count)."""
    with socket.socket() as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def inv(*args, environment, **options):
    return subprocess.run([sys.executable, "-m", "invoke", *args], cwd=ROOT, env=environment, capture_output=True, text=True, timeout=120, **options)


def wait_for(condition, timeout, what):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.2)
    pytest.fail(f"timed out after {timeout} s waiting for {what}")


def count_events(url):
    with psycopg2.connect(url) as connection, connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM analytics_local.events")
        count = cursor.fetchone()[0]
    connection.close()
    return count


@pytest.mark.slow
def test_inv_local_serves_the_local_stage_and_stops_cleanly_on_ctrl_c(tmp_path):
    # GIVEN `inv local` started in its own folder (embedded Postgres there) on a free port
    port, db_port = free_port(), free_port()
    stack_file = tmp_path / "stack.json"
    environment = {k: v for k, v in os.environ.items() if not k.startswith("AWS_") and k != "DATABASE_URL"}
    environment.update(ANALYTICS_LOCAL_DIR=str(tmp_path), PYTHONUNBUFFERED="1")
    log = open(tmp_path / "local.log", "w+")
    process = subprocess.Popen(
        [sys.executable, "-m", "invoke", "local", "--port", str(port), "--db-port", str(db_port), "--every", str(EVERY)],
        cwd=ROOT, env=environment, stdout=log, stderr=subprocess.STDOUT,
    )
    try:
        wait_for(stack_file.exists, 90, "the stack file")
        values = json.loads(stack_file.read_text())
        postmaster = int((tmp_path / "pgdata" / "postmaster.pid").read_text().split()[0])
        assert values["endpoint_url"] == f"http://127.0.0.1:{port}" and psutil.pid_exists(postmaster)
        tasks_environment = {**environment, "ANALYTICS_OUTPUTS_FILE": str(stack_file)}

        # WHEN a second `inv local` starts THEN it refuses with a clear message
        second = inv("local", "--port", str(free_port()), "--db-port", str(free_port()), environment=environment)
        assert second.returncode == 1 and "already running" in second.stderr

        # WHEN `inv publish-event --env local -n 20` runs in another process (no AWS settings of its own)
        published = inv("publish-event", "--env", "local", "-n", "20", environment=tasks_environment)
        assert published.returncode == 0, published.stderr
        # THEN the scheduled consumer stores the 20 events within two schedule periods (plus start-up slack)
        wait_for(lambda: count_events(values["admin_database_url"]) == 20, 2 * EVERY + 10, "20 stored events")

        # AND `inv outputs --env local` shows the stack
        outputs = inv("outputs", "--env", "local", environment=tasks_environment)
        assert outputs.returncode == 0 and values["topic_arn"] in outputs.stdout
        # with the values a dashboard connects with (the reader over TCP), as `inv local` printed them
        for name in ("dashboard_host", "dashboard_port", "dashboard_user", "dashboard_password"):
            assert any(line.split() == [name, str(values[name])] for line in outputs.stdout.splitlines()), outputs.stdout
        assert values["dashboard_port"] == db_port and values["dashboard_user"] == "analytics_local_reader"

        # WHEN the user presses Ctrl-C
        process.send_signal(signal.SIGINT)
        assert process.wait(timeout=60) == 0
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    # THEN nothing it started is left: the stack file is gone, Postgres stopped, the port free
    log.seek(0)
    output = log.read()
    assert "stopped" in output, output
    assert not stack_file.exists()
    wait_for(lambda: not psutil.pid_exists(postmaster) or psutil.Process(postmaster).status() == psutil.STATUS_ZOMBIE, 10, "Postgres to stop")
    assert port_is_free(port) and port_is_free(db_port)
    leftovers = [p.pid for p in psutil.process_iter(["cmdline"]) if str(tmp_path) in " ".join(p.info["cmdline"] or [])]
    assert leftovers == []


def test_the_local_stage_refuses_a_stack_file_whose_process_is_gone(tmp_path, monkeypatch):
    # GIVEN a stack file left by a local stack that was killed
    from invoke import Exit

    from ops import local_stack, stage

    path = tmp_path / "stack.json"
    path.write_text(json.dumps({"stage": "local", "endpoint_url": "http://127.0.0.1:1", "pid": 2**22 + 12345}))
    monkeypatch.setenv(stage.OUTPUTS_FILE_VARIABLE, str(path))
    # WHEN a task loads the stage THEN it says to start the stack again
    with pytest.raises(Exit, match="not running any more"):
        local_stack.use_local_stage(stage.load("local"))


@pytest.mark.slow
def test_inv_local_in_stream_mode_stores_what_is_published_without_a_consumer_run(tmp_path):
    # GIVEN `inv local --mode stream` (a poller in the process instead of the consumer's schedule)
    port, db_port = free_port(), free_port()
    stack_file = tmp_path / "stack.json"
    environment = {k: v for k, v in os.environ.items() if not k.startswith("AWS_") and k != "DATABASE_URL"}
    environment.update(ANALYTICS_LOCAL_DIR=str(tmp_path), PYTHONUNBUFFERED="1")
    log = open(tmp_path / "local.log", "w+")
    process = subprocess.Popen(
        [sys.executable, "-m", "invoke", "local", "--port", str(port), "--db-port", str(db_port), "--mode", "stream"],
        cwd=ROOT, env=environment, stdout=log, stderr=subprocess.STDOUT,
    )
    try:
        wait_for(stack_file.exists, 90, "the stack file")
        values = json.loads(stack_file.read_text())
        # WHEN 20 events are published
        published = inv("publish-event", "--env", "local", "-n", "20",
                        environment={**environment, "ANALYTICS_OUTPUTS_FILE": str(stack_file)})
        assert published.returncode == 0, published.stderr
        # THEN the poller stores them (its batching window is 2 s; slack for a busy machine)
        wait_for(lambda: count_events(values["admin_database_url"]) == 20, 30, "20 stored events")
        process.send_signal(signal.SIGINT)
        assert process.wait(timeout=60) == 0
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    log.seek(0)
    output = log.read()
    # AND it said so: the poller's settings, its batches, no consumer run
    assert "stream poller    batches of up to 1000 messages or 2 s" in output, output
    assert "stream: received" in output and "consumer:" not in output
    assert not stack_file.exists()
