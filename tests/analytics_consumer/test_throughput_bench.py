"""`inv bench --throughput` (ops/bench/throughput.py): its arithmetic, and one small measurement end to end."""
import json

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


@pytest.mark.slow
def test_the_report_has_the_stream_pollers_figures_beside_the_schedules(tmp_path):
    # GIVEN 300 messages per drain, 2 ms injected per SQS call and the Terraform defaults of the stream mapping
    mapping = throughput.stream_from_terraform()
    lines = []
    # WHEN the bench runs and writes its report
    document = throughput.run([2], events=300, worker_ms=10, report=tmp_path / "throughput.json", out=lines.append)
    # THEN the stream figures are in the report: every message drained, by as many pollers as the mapping's
    # maximum concurrency, in batches no larger than its batch size
    assert json.loads((tmp_path / "throughput.json").read_text()) == json.loads(json.dumps(document))
    assert document["stream"]["mapping"] == {"batch_size": mapping.batch_size,
                                             "batching_window_seconds": mapping.batching_window_seconds,
                                             "maximum_concurrency": mapping.maximum_concurrency}
    [stream] = document["stream"]["results"]
    assert stream["events"] == stream["deleted"] == 300
    assert stream["pollers"] == mapping.maximum_concurrency
    assert 300 / mapping.batch_size <= stream["batches"] <= 300
    # AND the injected latency and the stand-in's own cost are apart, every delete charged
    assert stream["sqs_calls"]["DeleteMessageBatch"] == 30 and stream["sqs_calls"]["ReceiveMessage"] >= 30
    assert stream["injected_latency_seconds"] == pytest.approx(sum(stream["sqs_calls"].values()) * 0.002, rel=0.01)
    assert stream["standin_cpu_seconds"] > 0
    # AND removing the stand-in's cost can only raise the rate; with no schedule gaps the sustained rate is the rate
    rates = stream["events_per_second"]
    assert rates["standin_removed"] >= rates["measured"] > 0
    assert stream["sustained_events_per_second"] == rates
    assert stream["vs_100m_per_day"]["measured"] == pytest.approx(
        rates["measured"] * throughput.SECONDS_PER_DAY / throughput.TARGET_PER_DAY, rel=0.01)
    # AND the printed text says whose pollers these are
    assert any("not AWS" in line for line in lines)
