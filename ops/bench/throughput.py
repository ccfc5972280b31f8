"""`inv bench --throughput`: the consumer's events/s against moto's SQS with SQS-like latency injected into every call.

One drain per latency: a queue of `events` messages in moto (in-process, with ops/local_stack/moto_sqs.py's
speed-up), the real drain loop with the consumer's default settings, a worker that answers after
`worker_ms` per 1,000 events (it stores nothing: the store rate is `inv bench`'s other figure).
Every SQS call is timed inside moto's request hook, so two costs are reported apart:

- the injected latency (a sleep after moto answered, as the network and SQS would take);
- the stand-in's own cost: the CPU time moto's Python spends answering. It runs under the GIL, so it
  is time no consumer thread could use; "stand-in removed" takes it off the wall time. That is exact
  when the run is CPU-bound (the usual case here: see cpu_per_wall) and optimistic when it is not.

The sustained rate on the schedule counts whole schedule periods: a run drains until its time
reserve (worker timeout + margin + receive wait) and the schedule's gap follows, so
  sustained = rate x (consumer timeout - reserve) / period.

Each latency is also drained in stream mode: as many StreamPollers (ops/local_stack/stream_poller.py, the
local stand-in of Lambda's SQS event source mapping) at once as stream_maximum_concurrency, with the
Terraform defaults of batch size and batching window, the same worker time per 1,000 events, answering in the
SQS-event shape. A full queue fills a batch long before the window ends; the bench's queue is finite, so once
every message was received the batches in hand are closed at once (a full queue would have filled them), and
the window's wait at the queue's end is not measured. Stream mode has no schedule gaps: per day = rate x 86,400.
In AWS Lambda's own pollers receive and delete, so the stream figures measure our stand-in, not AWS.
"""
import json
import random
import re
import threading
import time
from collections import Counter
from contextlib import contextmanager
from dataclasses import asdict, dataclass

import boto3
from moto import mock_aws

from ops.bench.api_calls import REGION, fill_queue
from ops.functions import load_handler_module
from ops.local_stack.moto_sqs import apply_quick_sqs

TARGET_PER_DAY = 100_000_000
SECONDS_PER_DAY = 86_400


@dataclass
class Schedule:
    period_seconds: int
    consumer_timeout_seconds: int
    reserve_seconds: float  # the consumer stops receiving this long before its timeout

    @property
    def draining_seconds(self) -> float:
        return max(0.0, self.consumer_timeout_seconds - self.reserve_seconds)

    def sustained(self, rate: float) -> float:
        """Events/s averaged over whole schedule periods (the gap between runs and the reserve included)."""
        return rate * self.draining_seconds / self.period_seconds


def period_seconds(schedule_expression: str) -> int:
    match = re.fullmatch(r"rate\((\d+) (minute|minutes|hour|hours|day|days)\)", schedule_expression.strip())
    if not match:
        raise ValueError(f"only rate(...) schedules are measured, not {schedule_expression!r}")
    unit = {"minute": 60, "hour": 3600, "day": 86400}[match.group(2).rstrip("s")]
    return int(match.group(1)) * unit


@dataclass
class StreamMapping:
    batch_size: int
    batching_window_seconds: float
    maximum_concurrency: int  # pollers at once: Lambda runs up to this many batches at once


class SqsCallMeter:
    """Wraps moto's request hook: times every SQS call's own cost and then sleeps the injected latency."""

    def __init__(self, latency_seconds: float):
        self.latency = latency_seconds
        self.calls = {}
        self.standin_cpu = 0.0
        self.standin_wall = 0.0
        self.injected = 0.0
        self.last_delete_at = None
        self._lock = threading.Lock()  # several threads call SQS at once

    @contextmanager
    def installed(self):
        from moto.core.botocore_stubber import BotocoreStubber

        original = BotocoreStubber.__call__
        meter = self

        def timed(stubber, event_name, request, **kwargs):
            if ".sqs." not in event_name:
                return original(stubber, event_name, request, **kwargs)
            cpu, wall = time.thread_time(), time.perf_counter()
            response = original(stubber, event_name, request, **kwargs)
            cpu, wall = time.thread_time() - cpu, time.perf_counter() - wall
            time.sleep(meter.latency)
            name = event_name.rsplit(".", 1)[-1]
            with meter._lock:
                meter.calls[name] = meter.calls.get(name, 0) + 1
                meter.standin_cpu += cpu
                meter.standin_wall += wall
                meter.injected += meter.latency
                if name == "DeleteMessageBatch":
                    meter.last_delete_at = time.perf_counter()
            return response

        BotocoreStubber.__call__ = timed
        try:
            yield self
        finally:
            BotocoreStubber.__call__ = original


@contextmanager
def _attributes_skipped_while_filling():
    """moto computes every queue attribute (scans of all messages) on each send: quadratic while filling.
    Sending only reads ContentBasedDeduplication, so the counts may read 0 while the queue is filled."""
    from moto.sqs.models import Queue

    names = ("approximate_number_of_messages", "approximate_number_of_messages_not_visible",
             "approximate_number_of_messages_delayed")
    saved = {name: getattr(Queue, name) for name in names}
    for name in names:
        setattr(Queue, name, property(lambda self: 0))
    try:
        yield
    finally:
        for name, value in saved.items():
            setattr(Queue, name, value)


@contextmanager
def _filled_queue(events, seed):
    """(client, queue url) of an in-process moto queue (with moto_sqs's speed-up) holding `events` sample events."""
    undo = apply_quick_sqs()
    try:
        with mock_aws():
            sqs = boto3.client("sqs", region_name=REGION, aws_access_key_id="bench", aws_secret_access_key="bench")
            queue_url = sqs.create_queue(QueueName="analytics_events_throughput",
                                         Attributes={"VisibilityTimeout": "600"})["QueueUrl"]
            with _attributes_skipped_while_filling():
                fill_queue(sqs, queue_url, events, random.Random(seed))
            yield sqs, queue_url
    finally:
        undo()


def _worker_answer(events, worker_ms):
    """Answer after `worker_ms` per 1,000 events, as a worker storing them would (it stores nothing)."""
    time.sleep(worker_ms / 1000 * events / 1000)
    return {"processed": events, "stored": events, "duplicates": 0, "rejected": 0}


@contextmanager
def _timed(meter):
    """Install the meter and time the block: yields a dict that gets started, cpu (process) and wall seconds."""
    timing = {}
    with meter.installed():
        cpu, timing["started"] = time.process_time(), time.perf_counter()
        yield timing
        timing["wall"], timing["cpu"] = time.perf_counter() - timing["started"], time.process_time() - cpu


def _sqs_figures(latency_ms, events, worker_ms, meter, timing, reader):
    """(the reader's CPU seconds, the rates measured and stand-in removed, the figures both modes report).

    Until the last delete: the queue never runs dry at the target rate, so a drain's final empty receives are not
    part of it. `reader`: whose CPU is the rest of the process's (the consumer's, the pollers')."""
    draining = meter.last_delete_at - timing["started"]
    reader_cpu = max(timing["cpu"] - meter.standin_cpu, 1e-9)
    rates = {
        "measured": events / draining,
        "standin_removed": events / max(draining - meter.standin_cpu, 1e-9),
    }
    return reader_cpu, rates, {
        "latency_ms_per_sqs_call": latency_ms,
        "events": events,
        "worker_ms_per_1000_events": worker_ms,
        "draining_seconds": round(draining, 3),
        "sqs_calls": dict(meter.calls),
        "injected_latency_seconds": round(meter.injected, 3),
        "standin_cpu_seconds": round(meter.standin_cpu, 3),
        "standin_wall_seconds": round(meter.standin_wall, 3),
        f"{reader}_cpu_ms_per_1000_events": round(reader_cpu / events * 1e6, 1),
        "cpu_per_wall": round(timing["cpu"] / timing["wall"], 3),
    }


def _rounded(rates, per_second):
    """{"events_per_second", "sustained_events_per_second", "vs_100m_per_day"} of the rates in a run."""
    return {
        "events_per_second": {name: round(rate, 1) for name, rate in rates.items()},
        "sustained_events_per_second": {name: round(per_second(rate), 1) for name, rate in rates.items()},
        "vs_100m_per_day": {name: round(per_second(rate) * SECONDS_PER_DAY / TARGET_PER_DAY, 3)
                            for name, rate in rates.items()},
    }


def measure(latency_ms: float, events: int, worker_ms: float, schedule: Schedule, overrides=None, seed=7) -> dict:
    """Fill a moto queue with `events` messages, drain it once with `latency_ms` per SQS call; the figures."""
    load_handler_module("analytics_consumer")
    from analytics_consumer.drain import drain
    from analytics_consumer.settings import Settings

    meter = SqsCallMeter(latency_ms / 1000)
    with _filled_queue(events, seed) as (sqs, queue_url):
        settings = Settings(queue_url=queue_url, worker_function="analytics_worker_bench", **(overrides or {}))
        with _timed(meter) as timing:
            summary = drain(sqs, settings, lambda bodies: _worker_answer(len(bodies), worker_ms),
                            time_left_ms=lambda: 900_000, log=lambda *a, **k: None)
    if summary.deleted != events:
        raise RuntimeError(f"the drain left messages behind: {summary.as_dict()}")
    consumer_cpu, rates, figures = _sqs_figures(latency_ms, events, worker_ms, meter, timing, "consumer")
    calls = sum(meter.calls.values())
    # On a core of its own (as a Lambda of >= 1,769 MB has), without the stand-in: the slower of the
    # consumer's own CPU per event and the receive streams' latency bound.
    rates["own_core_model"] = min(
        events / consumer_cpu,
        settings.sqs_streams * 10 / (latency_ms / 1000 + consumer_cpu / calls),
        settings.max_parallel_workers * 1_000_000 / max(worker_ms, 1e-9),
    )
    return {
        **figures,
        "sqs_streams": settings.sqs_streams,
        "max_parallel_workers": settings.max_parallel_workers,
        "max_batch_events": settings.max_batch_events,
        **_rounded(rates, schedule.sustained),
    }


class _StopWhenAllReceived:
    """The pollers' SQS client: sets `stop` once all `events` messages were received, which closes the batches in
    the pollers' hands (a full queue would have filled them) instead of waiting out the batching window.

    Its receives do not long-poll: the bench's queue runs dry only at its end, where a full queue would not have
    kept a receive waiting its second out."""

    def __init__(self, sqs, events, stop):
        self._sqs, self._events, self._stop = sqs, events, stop
        self._received, self._lock = 0, threading.Lock()

    def __getattr__(self, name):
        return getattr(self._sqs, name)

    def receive_message(self, **kwargs):
        response = self._sqs.receive_message(**{**kwargs, "WaitTimeSeconds": 0})
        with self._lock:
            self._received += len(response.get("Messages", []))
            if self._received >= self._events:
                self._stop.set()
        return response


STREAM_DRAIN_LIMIT_SECONDS = 900  # a bench drain that takes longer has gone wrong


def measure_stream(latency_ms: float, events: int, worker_ms: float, mapping: StreamMapping, seed=7) -> dict:
    """Fill a moto queue with `events` messages, drain it with `mapping.maximum_concurrency` stream pollers at once."""
    from ops.local_stack.stream_poller import StreamPoller

    def handle_event(event):  # the worker's answer to an SQS event: nothing failed, and its counts
        return {"batchItemFailures": [], **_worker_answer(len(event["Records"]), worker_ms)}

    said, stop = [], threading.Event()
    meter = SqsCallMeter(latency_ms / 1000)
    with _filled_queue(events, seed) as (sqs, queue_url):
        client = _StopWhenAllReceived(sqs, events, stop)
        pollers = [StreamPoller(client, queue_url, f"arn:aws:sqs:{REGION}:123456789012:analytics_events_throughput",
                                REGION, handle_event, mapping.batch_size, mapping.batching_window_seconds,
                                say=said.append)
                   for _ in range(mapping.maximum_concurrency)]
        threads = [threading.Thread(target=poller.run, args=(stop,), name=f"bench-poller-{index}", daemon=True)
                   for index, poller in enumerate(pollers)]
        with _timed(meter) as timing:
            for thread in threads:
                thread.start()
            finished = stop.wait(STREAM_DRAIN_LIMIT_SECONDS)
            stop.set()
            for thread in threads:
                thread.join()
    totals = Counter()
    for poller in pollers:
        totals.update(poller.totals)
    if not finished or totals["deleted"] != events or totals["failed_batches"]:
        raise RuntimeError(f"the stream pollers left messages behind: {dict(totals)}; they said: {said[:5]}")
    _, rates, figures = _sqs_figures(latency_ms, events, worker_ms, meter, timing, "poller")
    return {
        **figures,
        "pollers": mapping.maximum_concurrency,
        "batch_size": mapping.batch_size,
        "batching_window_seconds": mapping.batching_window_seconds,
        "batches": totals["worker_invocations"],
        "deleted": totals["deleted"],
        **_rounded(rates, lambda rate: rate),  # no schedule gaps: the pollers run all day
    }


def schedule_from_terraform(consumer_timeout=None, worker_timeout=None, overrides=None) -> Schedule:
    """The schedule, consumer timeout and worker timeout of the Terraform defaults (or the given ones)."""
    load_handler_module("analytics_consumer")
    from analytics_consumer.settings import Settings
    from ops.local_stack.terraform import stack_spec

    spec = stack_spec()
    settings = Settings(queue_url="http://bench/", worker_function="bench",
                        worker_timeout_seconds=int(worker_timeout or spec.worker_timeout_seconds),
                        **{k: v for k, v in (overrides or {}).items() if k != "worker_timeout_seconds"})
    reserve = settings.worker_call_reserve_ms / 1000 + settings.receive_wait_seconds
    return Schedule(period_seconds(spec.schedule_expression), int(consumer_timeout or spec.consumer_timeout_seconds),
                    reserve)


def stream_from_terraform() -> StreamMapping:
    """The event source mapping's batch size, batching window and maximum concurrency of the Terraform defaults."""
    from ops.local_stack.terraform import stack_spec

    spec = stack_spec()
    return StreamMapping(spec.stream_batch_size, spec.stream_batching_window_seconds, spec.stream_maximum_concurrency)


def _say_rates(out, rates, sustained, ratio, names, per_day_text):
    for name in names:
        out(f"      {name:<16} {rates[name]:>7.0f} ev/s {per_day_text} {sustained[name]:>6.0f} ev/s "
            f"= {sustained[name] * SECONDS_PER_DAY / 1e6:>5.0f} M/day = {ratio[name]:.2f} x target")


def _say_sqs(figures, reader):
    return (f"injected latency {figures['injected_latency_seconds']:.1f} s over {sum(figures['sqs_calls'].values())} "
            f"SQS calls; stand-in CPU {figures['standin_cpu_seconds']:.1f} s; {reader} CPU "
            f"{figures[f'{reader}_cpu_ms_per_1000_events']:.0f} ms per 1,000 events; CPU/wall {figures['cpu_per_wall']:.2f}")


def run(latencies_ms, events, worker_ms, consumer_timeout=None, worker_timeout=None, overrides=None, report=None,
        baseline_streams=None, out=print):
    schedule = schedule_from_terraform(consumer_timeout, worker_timeout, overrides)
    out(f"schedule: every {schedule.period_seconds} s, consumer timeout {schedule.consumer_timeout_seconds} s, "
        f"stops receiving {schedule.reserve_seconds:.0f} s before it: drains {schedule.draining_seconds:.0f} s "
        f"of every {schedule.period_seconds} ({schedule.draining_seconds / schedule.period_seconds:.0%})")
    mapping = stream_from_terraform()
    out(f"stream: {mapping.maximum_concurrency} stream pollers at once (stream_maximum_concurrency: Lambda runs up to "
        f"that many batches at once), batches of up to {mapping.batch_size} messages or "
        f"{mapping.batching_window_seconds:g} s (the Terraform defaults);\n"
        f"        a full queue fills a batch before the window ends; when the bench's queue is all received the "
        f"batches in hand close at once, so the window is not measured;\n"
        f"        no schedule gaps: per day = rate x 86,400. In AWS Lambda's own pollers receive and delete: "
        f"these stream figures measure our local stand-in (ops/local_stack/stream_poller.py), not AWS")
    out(f"target: {TARGET_PER_DAY:,} events/day = {TARGET_PER_DAY / SECONDS_PER_DAY:,.0f} events/s sustained")
    results, stream_results = [], []
    for latency in latencies_ms:
        figures = measure(latency, events, worker_ms, schedule, overrides)
        results.append(figures)
        rate, sustained, ratio = (figures[key] for key in
                                  ("events_per_second", "sustained_events_per_second", "vs_100m_per_day"))
        out(f"{latency:>4g} ms/call: {figures['events']} events drained in {figures['draining_seconds']:.1f} s; "
            + _say_sqs(figures, "consumer"))
        if baseline_streams:
            # The same drain with fewer streams, right after: a ratio measured under the same machine load.
            base = measure(latency, events, worker_ms, schedule, {**(overrides or {}), "sqs_streams": baseline_streams})
            figures["baseline"] = base
            out(f"      {figures['sqs_streams']} streams vs {baseline_streams}: "
                f"{rate['measured'] / base['events_per_second']['measured']:.2f} x measured, "
                f"{rate['standin_removed'] / base['events_per_second']['standin_removed']:.2f} x stand-in removed")
        _say_rates(out, rate, sustained, ratio, ("measured", "standin_removed", "own_core_model"),
                   "in a run -> sustained")
        stream = measure_stream(latency, events, worker_ms, mapping)
        stream_results.append(stream)
        cycle = mapping.batch_size * mapping.maximum_concurrency / stream["events_per_second"]["measured"]
        out(f"      stream: {stream['deleted']} events drained in {stream['draining_seconds']:.1f} s in "
            f"{stream['batches']} batches by {stream['pollers']} pollers; " + _say_sqs(stream, "poller"))
        out(f"      stream: a batch of {mapping.batch_size} takes a poller about {cycle:.1f} s here (receive, worker, "
            f"delete), {'under' if cycle < mapping.batching_window_seconds else 'OVER'} the "
            f"{mapping.batching_window_seconds:g} s window")
        _say_rates(out, stream["events_per_second"], stream["sustained_events_per_second"], stream["vs_100m_per_day"],
                   ("measured", "standin_removed"), "streamed, all day ")
    document = {"schedule": asdict(schedule), "results": results,
                "stream": {"mapping": asdict(mapping), "sustained": "the rate in a run: stream mode has no schedule gaps",
                           "results": stream_results}}
    if report:
        from pathlib import Path

        path = Path(report)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(document, indent=2) + "\n")
        out(f"report: {path}")
    return document
