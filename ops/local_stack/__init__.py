"""`inv local` and the stage `local`: the whole pipeline on one machine (see stack.py, demo.py)."""
import json
import os
import signal
import sys
import threading

from invoke import Exit

from ops.local_stack.stack import CREDENTIALS, LocalStack, stack_file


def connection_lines(values):
    """How a BI tool reaches the stack's database as the read-only reader (also shown by `inv outputs --env local`)."""
    v = values
    return (
        f"  dashboards       host {v['dashboard_host']}  port {v['dashboard_port']}  database {v['dashboard_database']}  "
        f"user {v['dashboard_user']}  password {v['dashboard_password']}   (read-only, schema {v['schema']})\n"
        f"                   psql \"host={v['dashboard_host']} port={v['dashboard_port']} dbname={v['dashboard_database']} "
        f"user={v['dashboard_user']} password={v['dashboard_password']}\"\n"
    )


MODES = ("schedule", "stream")


def check_mode(mode, stream_batch_size, stream_batching_window_seconds):
    """Exit with what to do when the delivery mode or the stream batching settings are out of range."""
    if mode not in MODES:
        raise Exit(f"--mode must be one of {', '.join(MODES)}, got {mode!r}.")
    if not 1 <= stream_batch_size <= 10000:
        raise Exit(f"local.stream_batch_size must be between 1 and 10000 (as in Terraform), got {stream_batch_size}.")
    if not 0 <= stream_batching_window_seconds <= 300:
        raise Exit(f"local.stream_batching_window_seconds must be between 0 and 300 (as in Terraform), got {stream_batching_window_seconds}.")


def run(port, every, database_url=None, out=None, db_port=0, collector_port=None, mode="schedule",
        stream_batch_size=1000, stream_batching_window_seconds=2):
    """Start the stack, print how to reach it, drain on a schedule (or stream) until SIGINT/SIGTERM, then stop it all."""
    out = out or sys.stdout
    if every <= 0:
        raise Exit("--every must be a positive number of seconds.")
    check_mode(mode, stream_batch_size, stream_batching_window_seconds)
    stop = threading.Event()

    def on_signal(signum, frame):
        stop.set()

    previous = {sig: signal.signal(sig, on_signal) for sig in (signal.SIGINT, signal.SIGTERM)}
    stack = LocalStack(port=port, database_url=database_url, out=out, db_port=db_port, collector_port=collector_port,
                       stream_batch_size=stream_batch_size, stream_batching_window_seconds=stream_batching_window_seconds)
    try:
        stack.start()
        v = stack.values
        print(
            "\nThe local stack is running (stage `local`; the other tasks take --env local).\n"
            f"  AWS_ENDPOINT_URL={v['endpoint_url']}   (any access key works, e.g. AWS_ACCESS_KEY_ID=local)\n"
            f"  region           {v['region']}\n"
            f"  topic ARN        {v['topic_arn']}\n"
            f"  queue            {v['queue_url']}  (DLQ {v['dlq_url']})\n"
            f"  database         psql '{v['admin_database_url']}'   (admin; schema {v['schema']})\n"
            f"  worker           stores as {v['dashboard_user'].replace('_reader', '_writer')} (INSERT only)\n"
            + connection_lines(v)
            + (f"  consumer         every {every:g} s, worker in this process\n" if mode == "schedule" else
               f"  stream poller    batches of up to {stream_batch_size} messages or {stream_batching_window_seconds:g} s "
               "(as the SQS event source mapping), worker in this process\n"
               f"  stream guard     every {every:g} s the consumer probes the worker and pauses the poller while it "
               "cannot store\n") +
            f"{collector_lines(v)}"
            f"  written to       {stack_file()}\n"
            "Try (in the project environment, see the README): inv publish-event --env local -n 50\n"
            "Ctrl-C stops it.",
            file=out,
            flush=True,
        )
        if mode == "stream":
            _, threads = stack.start_stream(stop, guard_every=every, report=True)
        else:
            threads = [threading.Thread(target=stack.run_schedule, args=(every, stop), name="consumer-schedule", daemon=True)]
            threads[0].start()
        while not stop.wait(0.5):
            pass
        print("\nstopping ...", file=out, flush=True)
        for thread in threads:
            thread.join(timeout=stack.spec.consumer_timeout_seconds)
    finally:
        stack.stop()
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    print("stopped: moto server, Postgres; stack file removed.", file=out, flush=True)


def collector_lines(values):
    if "collector_url" not in values:
        return ""
    url = values["collector_url"]
    return (
        f"  collector        POST {url}/v1/events   write key {values['collector_write_key']}\n"
        f"  demo page        {url}/demo.html\n"
    )


def _alive(pid):
    try:
        os.kill(int(pid), 0)
    except (OSError, TypeError, ValueError):
        return False
    return True


def use_local_stage(stage):
    """Point boto3 (in this process) at the running local stack: its endpoint and dummy credentials."""
    if stage.env != "local":
        return
    endpoint = stage.values.get("endpoint_url")
    if not endpoint:
        return  # an outputs file for stage `local` that did not come from `inv local`
    pid = stage.values.get("pid")
    if pid is not None and not _alive(pid):
        raise Exit(
            f"The local stack that wrote {stage.source} (pid {pid}) is not running any more: "
            "start it again with `inv local` (it replaces the stale file)."
        )
    os.environ["AWS_ENDPOINT_URL"] = endpoint
    os.environ.update(CREDENTIALS)
    for name in ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_SECURITY_TOKEN"):
        os.environ.pop(name, None)
    # psql for `inv psql --env local`: the embedded server's own, when none is installed.
    import importlib.util

    if importlib.util.find_spec("pgserver") is not None:
        from pathlib import Path

        bin_dir = Path(importlib.util.find_spec("pgserver").origin).parent / "pginstall" / "bin"
        os.environ["PATH"] = os.environ.get("PATH", "") + os.pathsep + str(bin_dir)


def invoke(function, stage, payload, out=None):
    """`inv invoke <function> --env local`: the worker with the stack's database; the consumer drains once.

    Both run in this process (moto's Lambda would need Docker); the consumer calls the worker in-process too.
    """
    from ops import lambdas

    out = out or sys.stdout
    if function == "analytics_worker":
        return lambdas.invoke_local(function, stage, payload, out=out)
    if function == "analytics_collector":
        raise Exit(
            f"The local collector is an HTTP server: POST events to {stage.values.get('collector_url', '<collector_url>')}/v1/events"
            f"?key={stage.values.get('collector_write_key', '<key>')} (`inv outputs --env local` shows both)."
        )
    from ops.local_stack.stack import InProcessWorker

    stack = LocalStack(named=False, out=sys.stderr)
    stack.values = dict(stage.values)
    stack.worker = InProcessWorker(stage.database_url("writer"), stage.get("schema"), stack.settings().max_parallel_workers)
    try:
        summary = stack.drain_once(log=lambda level, message, **fields: print(json.dumps({"level": level, "message": message, **fields}, default=str), file=sys.stderr))
    finally:
        stack.worker.close()
    print(json.dumps(summary, indent=2), file=out)
    return summary
