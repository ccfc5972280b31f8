"""`inv bench --throughput` (ops/bench/throughput.py): its arithmetic, and one small measurement end to end."""
import pytest

from ops.bench import throughput


def test_the_sustained_rate_counts_whole_schedule_periods():
    # GIVEN a 5-minute schedule, a 240 s consumer timeout and a 71 s reserve (60 s worker timeout + 10 s + 1 s)
    schedule = throughput.Schedule(period_seconds=throughput.period_seconds("rate(5 minutes)"),
                                   consumer_timeout_seconds=240, reserve_seconds=71)
    # WHEN a run drains 3,000 events/s
    # THEN the sustained rate is 3,000 x 169 / 300
    assert schedule.sustained(3000) == pytest.approx(1690)


def test_only_rate_schedules_are_measured():
    with pytest.raises(ValueError, match="only rate"):
        throughput.period_seconds("cron(0 * * * ? *)")


@pytest.mark.slow
def test_a_measurement_reports_the_injected_latency_and_the_stand_ins_cost_apart():
    # GIVEN 300 messages and 2 ms injected per SQS call
    schedule = throughput.Schedule(300, 240, 71)
    # WHEN the bench drains them
    figures = throughput.measure(latency_ms=2, events=300, worker_ms=10, schedule=schedule)
    # THEN every call was charged the injected latency, the stand-in's own time is reported beside it,
    # and removing it can only raise the rate
    calls = sum(figures["sqs_calls"].values())
    assert figures["sqs_calls"]["ReceiveMessage"] >= 30 and figures["sqs_calls"]["DeleteMessageBatch"] == 30
    assert figures["injected_latency_seconds"] == pytest.approx(calls * 0.002, rel=0.01)
    assert figures["standin_cpu_seconds"] > 0
    rates = figures["events_per_second"]
    assert rates["standin_removed"] >= rates["measured"] > 0
    assert figures["sustained_events_per_second"]["measured"] == pytest.approx(rates["measured"] * 169 / 300, rel=0.01)
