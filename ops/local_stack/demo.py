"""`inv demo`: a throw-away local stack, N realistic events through the whole pipeline, and a check that
every published event is accounted for (stored, a duplicate, or rejected with a reason)."""
import contextlib
import json
import random
import shutil
import sys
import statistics
import tempfile
import threading
import time
from collections import Counter

from ops.events import INVALID_KINDS, demo_events, invalid_event
from ops.local_stack import check_mode
from ops.local_stack.stack import LocalStack
from ops.messaging import BATCH, Progress

DEMO_BATCH = 100  # events per worker call: several calls, and progress between them
COLLECTOR_SHARE = 0.2  # of the valid events go through the HTTP collector (as a page or app sends them)
COLLECTOR_REQUEST_EVENTS = 25
GARBAGE = "this is not JSON at all"


def plan(n, rng):
    """(valid events, duplicates, invalid items) to publish: about 2 % duplicates, one invalid item of each kind."""
    events = demo_events(n, rng)
    duplicates = [dict(event) for event in rng.sample(events, max(1, n // 50))]
    invalid = []
    for kind in sorted(INVALID_KINDS):
        item, _ = invalid_event(kind, rng=rng)
        invalid.append((kind, json.dumps(item, separators=(",", ":"))))
    invalid.append(("garbage", GARBAGE))
    return events, duplicates, invalid


def publish(sns, topic_arn, bodies, err, sent_at=None):
    """Publish message bodies, BATCH per PublishBatch call; returns how many SNS accepted.

    `sent_at`: a dict filled with event_id -> the time.time() its first copy was sent.
    """
    progress = Progress(len(bodies), "publishing", stream=err)
    accepted = 0
    for start in range(0, len(bodies), BATCH):
        chunk = bodies[start:start + BATCH]
        _record_sent(sent_at, (_event_id(body) for body in chunk))
        response = sns.publish_batch(
            TopicArn=topic_arn,
            PublishBatchRequestEntries=[{"Id": str(i), "Message": body} for i, body in enumerate(chunk)],
        )
        accepted += len(response.get("Successful", []))
        for failure in response.get("Failed", []):
            err.write(f"\nnot published: {failure.get('Code')}: {failure.get('Message', '')}\n")
        progress.update(start + len(chunk))
    return accepted


def post_to_collector(url, write_key, events, err, sent_at=None):
    """POST events to the local collector, COLLECTOR_REQUEST_EVENTS per request; returns how many it accepted (202)."""
    import urllib.error
    import urllib.request

    accepted = 0
    for start in range(0, len(events), COLLECTOR_REQUEST_EVENTS):
        chunk = events[start:start + COLLECTOR_REQUEST_EVENTS]
        _record_sent(sent_at, (event.get("event_id") for event in chunk))
        request = urllib.request.Request(
            f"{url}/v1/events?key={write_key}", data=json.dumps(chunk).encode(), method="POST",
            headers={"Content-Type": "application/json"},
        )
        try:
            with urllib.request.urlopen(request, timeout=30) as response:
                accepted += len(chunk) if response.status == 202 else 0
        except urllib.error.HTTPError as error:
            err.write(f"\ncollector answered {error.code}: {error.read()[:200]!r}\n")
    return accepted


def _event_id(body):
    try:
        document = json.loads(body)
    except ValueError:
        return None
    return document.get("event_id") if isinstance(document, dict) else None


def _record_sent(sent_at, event_ids):
    if sent_at is None:
        return
    now = time.time()
    for event_id in event_ids:
        if isinstance(event_id, str):
            sent_at.setdefault(event_id, now)


def lags(url, schema, sent_at):
    """Seconds from publish to the event's row in `events` (its received_at: when the storing transaction began)."""
    rows = query(url, f'SELECT event_id, extract(epoch FROM received_at)::float8 FROM "{schema}".events')
    return sorted(received - sent_at[event_id] for event_id, received in rows if event_id in sent_at)


def bar_chart(counts, width=40):
    """Lines of a horizontal bar chart of {label: count}, largest first."""
    if not counts:
        return []
    top = max(counts.values())
    label_width = max(len(label) for label in counts)
    lines = []
    for label, count in sorted(counts.items(), key=lambda item: (-item[1], item[0])):
        bar = "█" * max(1, round(width * count / top)) if count else ""
        lines.append(f"  {label.ljust(label_width)} {bar} {count}")
    return lines


def query(url, statement):
    import psycopg2

    with contextlib.closing(psycopg2.connect(url)) as connection, connection.cursor() as cursor:
        cursor.execute(statement)
        return cursor.fetchall()


def run(n, database_url=None, out=None, err=None, seed=None, mode="schedule", stream_batch_size=1000,
        stream_batching_window_seconds=2, guard_every=10):
    """The demo; True when every published event is accounted for.

    `mode`: "schedule" (consumer runs right after publishing) or "stream" (a poller with these batching
    settings runs from before the first publish, as the SQS event source mapping does, and the consumer's
    stream guard every `guard_every` seconds).
    """
    check_mode(mode, stream_batch_size, stream_batching_window_seconds)
    out, err = out or sys.stdout, err or sys.stderr
    started = time.monotonic()
    rng = random.Random(seed)
    events, duplicates, invalid = plan(n, rng)
    data_dir = tempfile.mkdtemp(prefix="analytics-demo-")
    stack = LocalStack(port=0, database_url=database_url, data_dir=data_dir, named=False, out=out, max_batch_events=DEMO_BATCH,
                       collector_port=0, stream_batch_size=stream_batch_size,
                       stream_batching_window_seconds=stream_batching_window_seconds)
    stop_stream, stream_threads = threading.Event(), []
    try:
        print(f"== starting a throw-away local stack (moto server, Postgres in {data_dir})", file=out, flush=True)
        stack.start()
        schema, url = stack.spec.schema, stack.values["admin_database_url"]
        if database_url:  # a shared server may hold earlier rows: count only what this demo adds
            baseline = _counts(url, schema)
        else:
            baseline = (0, 0)
        if mode == "stream":
            print(f"== stream mode: a poller hands the worker batches of up to {stream_batch_size} messages or "
                  f"{stream_batching_window_seconds:g} s (as the SQS event source mapping)", file=out, flush=True)
            poller, stream_threads = stack.start_stream(stop_stream, guard_every=guard_every)

        print(
            f"== publishing {n} events of {len({e['app_title'] for e in events})} apps and "
            f"{len({e['user_id'] for e in events})} users over 7 days to {stack.values['topic_arn']}\n"
            f"   plus {len(duplicates)} duplicates (events sent again with the same event_id: stored once)\n"
            f"   plus {len(invalid)} invalid items (rejected with a reason): "
            + ", ".join(INVALID_KINDS.get(kind, "a message that is not JSON") for kind, _ in invalid),
            file=out,
            flush=True,
        )
        via_collector = events[:int(n * COLLECTOR_SHARE)]
        bodies = [json.dumps(e, separators=(",", ":")) for e in events[len(via_collector):] + duplicates]
        bodies += [body for _, body in invalid]
        rng.shuffle(bodies)
        sent_at = {}
        accepted = publish(stack.client("sns"), stack.values["topic_arn"], bodies, err, sent_at)
        print(f"== posting {len(via_collector)} of the events to the HTTP collector {stack.values['collector_url']}/v1/events "
              f"({COLLECTOR_REQUEST_EVENTS} a request), as pages and apps send them", file=out, flush=True)
        accepted += post_to_collector(stack.values["collector_url"], stack.values["collector_write_key"], via_collector, err, sent_at)
        messages = len(bodies) + len(via_collector)  # what the consumer must receive

        progress = Progress(messages, "storing   ", stream=err)
        stack.worker.on_batch = lambda done: progress.update(min(done, messages))
        if mode == "stream":
            print(f"== waiting for the stream poller to store {stack.values['queue_url']}'s messages", file=out, flush=True)
            _wait_for_stream(poller, accepted, stream_batching_window_seconds)
            _stop_threads(stop_stream, stream_threads, stream_batching_window_seconds + 30)
            totals = Counter(poller.totals)
        else:
            print(f"== draining {stack.values['queue_url']} into the worker (consumer runs, worker in-process)", file=out, flush=True)
            totals = _drain(stack, accepted)
        progress.finish()
        sqs = stack.client("sqs")
        left = _queue_depth(sqs, stack.values["queue_url"]) + _queue_depth(sqs, stack.values["dlq_url"])

        stored_by_type = dict(query(url, f'SELECT event_type, count(*) FROM "{schema}".events GROUP BY 1'))
        rejected_by_reason = dict(query(url, f'SELECT reason, count(*) FROM "{schema}".rejected_events GROUP BY 1'))
        events_rows, rejected_rows = (a - b for a, b in zip(_counts(url, schema), baseline))
        reader = "stream poller" if mode == "stream" else "consumer"
        _print_summary(out, stored_by_type, rejected_by_reason, totals, reader)
        _print_lag(out, lags(url, schema, sent_at), mode, stack, stream_batch_size, stream_batching_window_seconds)

        checks = [
            (f"SNS and the collector accepted every message ({accepted} of {messages})", accepted == messages),
            (f"the {reader} received every message ({totals['received']} of {messages})", totals["received"] == messages),
            (f"every valid event stored once ({events_rows} rows for {n} events)", events_rows == n and totals["stored"] == n),
            (
                f"every duplicate recognised ({totals['duplicates']} of {len(duplicates)})",
                totals["duplicates"] == len(duplicates),
            ),
            (
                f"every invalid item rejected with a reason ({rejected_rows} rows for {len(invalid)} items)",
                rejected_rows == len(invalid) and totals["rejected"] == len(invalid),
            ),
            (f"no failed worker call ({totals['failed_batches']})", totals["failed_batches"] == 0),
            (f"queue and DLQ empty ({left} messages left)", left == 0),
        ]
        _print_log_samples(out, stack, ("analytics_worker",) if mode == "stream" else ("analytics_consumer", "analytics_worker"))
        print("== accounting", file=out)
        for text, ok in checks:
            print(f"  {'ok  ' if ok else 'FAIL'} {text}", file=out)
        ok = all(passed for _, passed in checks)
        print(
            f"== {'every published event is accounted for' if ok else 'NOT every event is accounted for'} "
            f"({time.monotonic() - started:.1f} s); the stack is stopped now. For one that keeps running: inv local",
            file=out,
            flush=True,
        )
        return ok
    finally:
        _stop_threads(stop_stream, stream_threads, stream_batching_window_seconds + 30)
        stack.stop()
        shutil.rmtree(data_dir, ignore_errors=True)


def _stop_threads(stop, threads, timeout):
    stop.set()
    for thread in threads:
        thread.join(timeout=timeout)


def _drain(stack, accepted):
    totals = Counter()
    for _ in range(10):  # a run drains everything; more only if moto delivered late
        summary = stack.drain_once()
        totals.update({k: v for k, v in summary.items() if isinstance(v, int)})
        if totals["received"] >= accepted and summary["received"] == 0:
            break
        if summary["received"] == 0:
            time.sleep(0.2)
    return totals


def _wait_for_stream(poller, accepted, window, patience=60):
    """Until the poller has deleted (acknowledged) every accepted message, or nothing moved for `patience` + window s."""
    last, moved_at = None, time.monotonic()
    while poller.totals["deleted"] < accepted:
        progress = (poller.totals["received"], poller.totals["deleted"])
        if progress != last:
            last, moved_at = progress, time.monotonic()
        elif time.monotonic() - moved_at > patience + window:
            break
        time.sleep(0.1)


def _print_lag(out, seconds, mode, stack, batch_size, window):
    if not seconds:
        print("== lag from publish to a row in events: no rows to measure", file=out)
        return
    if mode == "stream":
        how = f"stream mode, batches of up to {batch_size} messages or {window:g} s"
    else:
        how = (f"schedule mode, drained right after publishing; deployed, add up to the schedule's period, "
               f"{stack.spec.schedule_expression}")
    print(
        f"== lag from publish to a row in events ({how}): median {statistics.median(seconds):.2f} s, "
        f"max {seconds[-1]:.2f} s over {len(seconds)} events",
        file=out, flush=True,
    )


def _print_log_samples(out, stack, functions):
    """The first record of each function's structured log: what CloudWatch would show of this demo."""
    print("== function logs (one JSON line per record, with the call's request id and cold start); first of each:", file=out)
    for function in functions:
        path = stack.log_path(function)
        lines = path.read_text().splitlines() if path.exists() else []
        print(f"  {lines[0] if lines else f'(no {function} record)'}", file=out)


def _counts(url, schema):
    return query(url, f'SELECT (SELECT count(*) FROM "{schema}".events), (SELECT count(*) FROM "{schema}".rejected_events)')[0]


def _queue_depth(sqs, queue_url):
    attributes = sqs.get_queue_attributes(
        QueueUrl=queue_url, AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"]
    )["Attributes"]
    return sum(int(value) for value in attributes.values())


def _print_summary(out, stored_by_type, rejected_by_reason, totals, reader="consumer"):
    print(f"== stored {sum(stored_by_type.values())} events, by type", file=out)
    for line in bar_chart(stored_by_type):
        print(line, file=out)
    print(f"== duplicates (not stored again): {totals['duplicates']}", file=out)
    print(f"== rejected {sum(rejected_by_reason.values())}, by reason (table rejected_events)", file=out)
    for reason, count in sorted(rejected_by_reason.items(), key=lambda item: (-item[1], item[0])):
        print(f"  {count:4d}  {reason[:110]}", file=out)
    print(
        f"== {reader}: {totals['received']} messages received, {totals['worker_invocations']} worker calls, "
        f"{totals['deleted']} deleted, {totals['failed_batches']} failed batches",
        file=out,
        flush=True,
    )
