"""`inv demo`: smoke test with a small N, and its exit code when something is not accounted for."""
import io
import json

import pytest
from invoke import Config, Context, Exit

import tasks
from ops.functions import ROOT
from ops.local_stack import demo


def test_the_demo_accounts_for_every_event(migrated_db):
    # GIVEN a fresh database WHEN the demo publishes 40 events (plus duplicates and invalid ones)
    out, err = io.StringIO(), io.StringIO()
    ok = demo.run(40, database_url=migrated_db.url, out=out, err=err, seed=3)
    # THEN everything is accounted for, and the summary says so with a chart and reasons
    text = out.getvalue()
    assert ok, text
    assert "every published event is accounted for" in text
    assert "stored 40 events, by type" in text and "█" in text
    assert "missing required field: event_id" in text
    assert "FAIL" not in text
    assert "publishing" in err.getvalue()  # progress is visible


def test_the_demo_shows_each_functions_log_line_with_request_id_and_cold_start(migrated_db):
    # GIVEN a fresh database WHEN the demo runs
    out = io.StringIO()
    assert demo.run(10, database_url=migrated_db.url, out=out, err=io.StringIO(), seed=5)
    # THEN it shows a structured record of each function, as the deployed handlers log them
    records = [json.loads(line) for line in out.getvalue().splitlines() if line.strip().startswith('{"level"')]
    assert {record["service"] for record in records} == {"analytics_consumer", "analytics_worker"}
    for record in records:
        assert len(record["request_id"]) == 36 and record["cold_start"] is True


def test_inv_demo_exits_1_when_an_event_is_not_accounted_for(migrated_db, monkeypatch, capsys):
    # GIVEN a demo whose plan hides one extra event among the "duplicates" (so one more row is stored than announced)
    real_plan = demo.plan

    def sneaky_plan(n, rng):
        events, duplicates, invalid = real_plan(n, rng)
        extra = dict(events[0], event_id="not-announced")
        return events, duplicates + [extra], invalid

    monkeypatch.setattr(demo, "plan", sneaky_plan)
    monkeypatch.setenv("DATABASE_URL", migrated_db.url)
    config = Config(project_location=str(ROOT))
    config.load_project()
    # WHEN `inv demo -n 15` runs THEN it exits 1 and names the failed check
    with pytest.raises(Exit) as failure:
        tasks.demo(Context(config=config), n=15)
    assert failure.value.code == 1
    assert "FAIL every valid event stored once (16 rows for 15 events)" in capsys.readouterr().out


def test_a_stream_mode_demo_accounts_for_every_event_in_batches_of_the_set_size(migrated_db):
    # GIVEN stream mode with batches of at most 20 messages or 1 s
    out, err = io.StringIO(), io.StringIO()
    # WHEN the demo publishes 40 events (plus 1 duplicate and 7 invalid items: 48 messages)
    ok = demo.run(40, database_url=migrated_db.url, out=out, err=err, seed=3, mode="stream",
                  stream_batch_size=20, stream_batching_window_seconds=1)
    # THEN every message is accounted for, through the poller (not a consumer run), in batches of at most 20
    text = out.getvalue()
    assert ok, text
    assert "FAIL" not in text and "every published event is accounted for" in text
    (summary,) = [line for line in text.splitlines() if line.startswith("== stream poller:")]
    calls = int(summary.split(" worker calls")[0].rsplit(" ", 1)[1])
    assert calls >= 3, summary  # 48 messages, at most 20 a batch
    # AND the lag from publish to a row is printed for the mode
    assert "lag from publish to a row in events (stream mode, batches of up to 20 messages or 1 s): median" in text


def test_the_schedule_demo_prints_its_lag(migrated_db):
    out = io.StringIO()
    assert demo.run(10, database_url=migrated_db.url, out=out, err=io.StringIO(), seed=5)
    assert "lag from publish to a row in events (schedule mode" in out.getvalue()
    assert "over 10 events" in out.getvalue()


def test_an_unknown_mode_is_refused_before_anything_starts():
    with pytest.raises(Exit, match="--mode must be one of schedule, stream, got 'streaming'"):
        demo.run(10, mode="streaming")
