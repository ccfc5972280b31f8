"""A burst of events against the local collector from concurrent clients: what it accepted, how fast it answered.

`python -m ops.local_stack.collector_burst` runs it on a throw-away local stack and checks that
every event the collector answered 202 for is stored exactly once
(tests/analytics_collector/test_collector_burst.py does the same under pytest).
"""
import http.client
import json
import threading
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from ops.local_stack.collector_server import percentile


@dataclass
class BurstResult:
    statuses: Counter = field(default_factory=Counter)
    accepted_ids: list = field(default_factory=list)  # event_ids of the requests answered 202
    client_ms: list = field(default_factory=list)  # round trip of each request, as a client sees it
    seconds: float = 0.0

    def summary(self, timings_ms):
        handler_ms = [whole for whole, _ in timings_ms]
        own_ms = [whole - publish for whole, publish in timings_ms]
        return {
            "requests": sum(self.statuses.values()),
            "statuses": dict(self.statuses),
            "events_accepted": len(self.accepted_ids),
            "seconds": round(self.seconds, 2),
            "requests_per_second": round(sum(self.statuses.values()) / self.seconds, 1) if self.seconds else None,
            "handler_p50_ms": _round(percentile(handler_ms, 0.50)),
            "handler_p99_ms": _round(percentile(handler_ms, 0.99)),
            "handler_without_sns_p50_ms": _round(percentile(own_ms, 0.50)),
            "handler_without_sns_p99_ms": _round(percentile(own_ms, 0.99)),
            "client_p50_ms": _round(percentile(self.client_ms, 0.50)),
            "client_p99_ms": _round(percentile(self.client_ms, 0.99)),
        }


def _round(value):
    return None if value is None else round(value, 1)


def burst(url, write_key, requests=1000, events_per_request=10, clients=8):
    """POST `requests` arrays of `events_per_request` new events from `clients` threads (keep-alive connections)."""
    parts = urlsplit(url)
    result = BurstResult()
    lock = threading.Lock()
    counter = iter(range(requests))

    def client():
        connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=60)
        try:
            while True:
                with lock:
                    if next(counter, None) is None:
                        return
                events = [
                    {"event_id": str(uuid.uuid4()), "event_type": "burst", "event_timestamp": "2026-11-29T12:00:00Z",
                     "app_title": "burst", "meta": {"n": n}}
                    for n in range(events_per_request)
                ]
                started = time.perf_counter()
                connection.request("POST", f"/v1/events?key={write_key}", body=json.dumps(events),
                                   headers={"Content-Type": "application/json"})
                response = connection.getresponse()
                response.read()
                elapsed = (time.perf_counter() - started) * 1000
                with lock:
                    result.statuses[response.status] += 1
                    result.client_ms.append(elapsed)
                    if response.status == 202:
                        result.accepted_ids += [e["event_id"] for e in events]
        finally:
            connection.close()

    started = time.perf_counter()
    threads = [threading.Thread(target=client, name=f"burst-client-{i}") for i in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    result.seconds = time.perf_counter() - started
    return result


class BackgroundDrain:
    """The consumer run over and over in a thread (as the schedule would, only sooner), keeping moto's queue short."""

    def __init__(self, stack):
        self.stack, self.totals, self._stop = stack, Counter(), threading.Event()
        self._thread = threading.Thread(target=self._run, name="burst-drain", daemon=True)

    def _run(self):
        while not self._stop.is_set():
            summary = self.stack.drain_once()
            self.totals.update({k: v for k, v in summary.items() if isinstance(v, int)})
            if summary["received"] == 0:
                self._stop.wait(0.2)

    def __enter__(self):
        self._thread.start()
        return self

    def wait_for(self, received, timeout_seconds):
        deadline = time.monotonic() + timeout_seconds
        while self.totals["received"] < received and time.monotonic() < deadline:
            time.sleep(0.2)

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()


def burst_and_store(stack, requests=1000, events_per_request=10, clients=8, timeout_seconds=900):
    """The burst against `stack`'s collector, drained into Postgres; a summary with the stored counts."""
    stack.collector.timings_ms.clear()
    with BackgroundDrain(stack) as drain:
        result = burst(stack.values["collector_url"], stack.values["collector_write_key"], requests, events_per_request, clients)
        drain.wait_for(len(result.accepted_ids), timeout_seconds)
    rows, distinct = stored_counts(stack.values["admin_database_url"], stack.spec.schema, result.accepted_ids)
    return {
        **result.summary(list(stack.collector.timings_ms)),
        "consumer": {k: drain.totals[k] for k in ("received", "stored", "duplicates", "rejected", "failed_batches")},
        "stored_rows": rows,
        "stored_distinct_event_ids": distinct,
    }


def stored_counts(url, schema, event_ids):
    """(rows, distinct event_ids) in `events` among `event_ids`."""
    import contextlib

    import psycopg2

    with contextlib.closing(psycopg2.connect(url)) as connection, connection.cursor() as cursor:
        cursor.execute(
            f'SELECT count(*), count(DISTINCT event_id) FROM "{schema}".events WHERE event_id = ANY(%s)', (list(event_ids),)
        )
        return cursor.fetchone()


def main():
    import io
    import shutil
    import tempfile

    from ops.local_stack.stack import LocalStack

    data_dir = tempfile.mkdtemp(prefix="analytics-burst-")
    stack = LocalStack(port=0, data_dir=data_dir, named=False, out=io.StringIO(), collector_port=0, max_batch_events=1000)
    try:
        stack.start()
        print(json.dumps(burst_and_store(stack), indent=2))
    finally:
        stack.stop()
        shutil.rmtree(data_dir, ignore_errors=True)


if __name__ == "__main__":
    main()
