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
"""
import json
import random
import re
import time
from contextlib import contextmanager
from dataclasses import asdict, dataclass

import boto3
from moto import mock_aws

from ops.events import sample_event
from ops.functions import load_handler_module
from ops.local_stack.moto_sqs import apply_quick_sqs

REGION = "eu-central-1"
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


class SqsCallMeter:
    """Wraps moto's request hook: times every SQS call's own cost and then sleeps the injected latency."""

    def __init__(self, latency_seconds: float):
        self.latency = latency_seconds
        self.calls = {}
        self.standin_cpu = 0.0
        self.standin_wall = 0.0
        self.injected = 0.0
        self.last_delete_at = None

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


def _fill(sqs, queue_url, events, seed):
    rng = random.Random(seed)
    bodies = [json.dumps(sample_event(rng=rng)) for _ in range(events)]
    with _attributes_skipped_while_filling():
        for start in range(0, events, 10):
            entries = [{"Id": str(i), "MessageBody": body} for i, body in enumerate(bodies[start:start + 10])]
            sqs.send_message_batch(QueueUrl=queue_url, Entries=entries)


def measure(latency_ms: float, events: int, worker_ms: float, schedule: Schedule, overrides=None, seed=7) -> dict:
    """Fill a moto queue with `events` messages, drain it once with `latency_ms` per SQS call; the figures."""
    load_handler_module("analytics_consumer")
    from analytics_consumer.drain import drain
    from analytics_consumer.settings import Settings

    undo = apply_quick_sqs()
    try:
        with mock_aws():
            sqs = boto3.client("sqs", region_name=REGION, aws_access_key_id="bench", aws_secret_access_key="bench")
            queue_url = sqs.create_queue(QueueName="analytics_events_throughput",
                                         Attributes={"VisibilityTimeout": "600"})["QueueUrl"]
            _fill(sqs, queue_url, events, seed)
            settings = Settings(queue_url=queue_url, worker_function="analytics_worker_bench", **(overrides or {}))

            def worker(bodies):  # answers as a worker storing `worker_ms` per 1,000 events would
                time.sleep(worker_ms / 1000 * len(bodies) / 1000)
                return {"processed": len(bodies), "stored": len(bodies), "duplicates": 0, "rejected": 0}

            meter = SqsCallMeter(latency_ms / 1000)
            with meter.installed():
                cpu, started = time.process_time(), time.perf_counter()
                summary = drain(sqs, settings, worker, time_left_ms=lambda: 900_000, log=lambda *a, **k: None)
                wall, cpu = time.perf_counter() - started, time.process_time() - cpu
    finally:
        undo()
    if summary.deleted != events:
        raise RuntimeError(f"the drain left messages behind: {summary.as_dict()}")
    # Until the last delete: the queue never runs dry at the target rate, so the final empty long polls are not
    # part of a run's drain.
    draining = meter.last_delete_at - started
    consumer_cpu = max(cpu - meter.standin_cpu, 1e-9)
    calls = sum(meter.calls.values())
    rates = {
        "measured": events / draining,
        "standin_removed": events / max(draining - meter.standin_cpu, 1e-9),
        # On a core of its own (as a Lambda of >= 1,769 MB has), without the stand-in: the slower of the
        # consumer's own CPU per event and the receive streams' latency bound.
        "own_core_model": min(
            events / consumer_cpu,
            settings.sqs_streams * 10 / (latency_ms / 1000 + consumer_cpu / calls),
            settings.max_parallel_workers * 1_000_000 / max(worker_ms, 1e-9),
        ),
    }
    return {
        "latency_ms_per_sqs_call": latency_ms,
        "events": events,
        "worker_ms_per_1000_events": worker_ms,
        "sqs_streams": settings.sqs_streams,
        "max_parallel_workers": settings.max_parallel_workers,
        "max_batch_events": settings.max_batch_events,
        "draining_seconds": round(draining, 3),
        "sqs_calls": meter.calls,
        "injected_latency_seconds": round(meter.injected, 3),
        "standin_cpu_seconds": round(meter.standin_cpu, 3),
        "standin_wall_seconds": round(meter.standin_wall, 3),
        "consumer_cpu_ms_per_1000_events": round(consumer_cpu / events * 1e6, 1),
        "cpu_per_wall": round(cpu / wall, 3),
        "events_per_second": {name: round(rate, 1) for name, rate in rates.items()},
        "sustained_events_per_second": {name: round(schedule.sustained(rate), 1) for name, rate in rates.items()},
        "vs_100m_per_day": {name: round(schedule.sustained(rate) * SECONDS_PER_DAY / TARGET_PER_DAY, 3)
                            for name, rate in rates.items()},
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


def run(latencies_ms, events, worker_ms, consumer_timeout=None, worker_timeout=None, overrides=None, report=None,
        baseline_streams=None, out=print):
    schedule = schedule_from_terraform(consumer_timeout, worker_timeout, overrides)
    out(f"schedule: every {schedule.period_seconds} s, consumer timeout {schedule.consumer_timeout_seconds} s, "
        f"stops receiving {schedule.reserve_seconds:.0f} s before it: drains {schedule.draining_seconds:.0f} s "
        f"of every {schedule.period_seconds} ({schedule.draining_seconds / schedule.period_seconds:.0%})")
    out(f"target: {TARGET_PER_DAY:,} events/day = {TARGET_PER_DAY / SECONDS_PER_DAY:,.0f} events/s sustained")
    results = []
    for latency in latencies_ms:
        figures = measure(latency, events, worker_ms, schedule, overrides)
        results.append(figures)
        rate, sustained, ratio = (figures[key] for key in
                                  ("events_per_second", "sustained_events_per_second", "vs_100m_per_day"))
        out(f"{latency:>4g} ms/call: {figures['events']} events drained in {figures['draining_seconds']:.1f} s; "
            f"injected latency {figures['injected_latency_seconds']:.1f} s over {sum(figures['sqs_calls'].values())} "
            f"SQS calls; stand-in CPU {figures['standin_cpu_seconds']:.1f} s; consumer CPU "
            f"{figures['consumer_cpu_ms_per_1000_events']:.0f} ms per 1,000 events; CPU/wall {figures['cpu_per_wall']:.2f}")
        if baseline_streams:
            # The same drain with fewer streams, right after: a ratio measured under the same machine load.
            base = measure(latency, events, worker_ms, schedule, {**(overrides or {}), "sqs_streams": baseline_streams})
            figures["baseline"] = base
            out(f"      {figures['sqs_streams']} streams vs {baseline_streams}: "
                f"{rate['measured'] / base['events_per_second']['measured']:.2f} x measured, "
                f"{rate['standin_removed'] / base['events_per_second']['standin_removed']:.2f} x stand-in removed")
        for name in ("measured", "standin_removed", "own_core_model"):
            out(f"      {name:<16} {rate[name]:>7.0f} ev/s in a run -> sustained {sustained[name]:>6.0f} ev/s "
                f"= {sustained[name] * SECONDS_PER_DAY / 1e6:>5.0f} M/day = {ratio[name]:.2f} x target")
    document = {"schedule": asdict(schedule), "results": results}
    if report:
        from pathlib import Path

        path = Path(report)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(document, indent=2) + "\n")
        out(f"report: {path}")
    return document
