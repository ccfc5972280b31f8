"""`inv forget-user`, `inv prune` and `inv rollups-rebuild` as an operator runs them against a stage."""
import json
import random

import pytest
from dashboard_checks import assert_rollups_exact, make_events, role_url, stage_db  # noqa: F401
from invoke import Exit

import tasks
from analytics_worker.store import store_batch
from ops import stage as stage_module


@pytest.fixture
def stored(stage_db, tmp_path, monkeypatch):
    """A stage whose outputs name the test database; 400 events stored through the writer."""
    import psycopg2

    outputs = tmp_path / "outputs.json"
    outputs.write_text(json.dumps({"admin_database_url": stage_db.url, "schema": stage_db.schema}))
    monkeypatch.setenv(stage_module.OUTPUTS_FILE_VARIABLE, str(outputs))
    events = make_events(random.Random(9), 400)
    with psycopg2.connect(role_url(stage_db, "writer")) as connection:
        store_batch(connection, stage_db.schema, [json.dumps(e) for e in events] + [json.dumps({"user_id": "user-7", "event_type": "no id"})])
    connection.close()
    return stage_db


def test_forget_user_on_prod_asks_first_and_deletes_nothing_unconfirmed(ctx, stored, monkeypatch, capsys):
    # GIVEN stage prod, and an operator who does not type the stage's name
    monkeypatch.setattr("builtins.input", lambda prompt: "yes")
    before = stored.count("events")
    # WHEN `inv forget-user user-7 --env prod` runs THEN it stops with what to do, and nothing is deleted
    with pytest.raises(Exit, match="--yes"):
        tasks.forget_user(ctx, "user-7", env="prod")
    assert stored.count("events") == before


def test_forget_user_prints_what_it_removed_and_a_second_run_removes_nothing(ctx, stored, monkeypatch, capsys):
    # GIVEN user-7 has events and one rejected item that names them
    mine = stored.query(f"SELECT count(*) FROM {stored.schema}.events WHERE user_id = 'user-7'")[0][0]
    assert mine > 0
    # WHEN the operator confirms by typing the stage's name
    monkeypatch.setattr("builtins.input", lambda prompt: "prod")
    tasks.forget_user(ctx, "user-7", env="prod")
    # THEN it says what it removed, nothing of the user is left, and the rollups are right
    assert f"forgot user 'user-7' in {stored.schema}: {mine} events and 1 rejected items removed" in capsys.readouterr().out
    assert stored.query(f"SELECT count(*) FROM {stored.schema}.events WHERE user_id = 'user-7'") == [(0,)]
    assert stored.count("rejected_events") == 0
    assert_rollups_exact(stored)
    # AND a second run (scripted, --yes) removes nothing
    tasks.forget_user(ctx, "user-7", env="prod", yes=True)
    assert "0 events and 0 rejected items removed" in capsys.readouterr().out


def test_prune_deletes_before_the_day_in_batches_and_is_idempotent(ctx, stored, capsys):
    # WHEN `inv prune --before 2026-03-06 --env dev` runs (dev: no confirmation)
    tasks.prune(ctx, "2026-03-06", env="dev")
    first = capsys.readouterr().out
    # THEN no event before that day is left, the rollups are right, and running it again removes nothing
    assert "events before 2026-03-06 00:00 UTC" in first
    assert stored.query(f"SELECT count(*) FROM {stored.schema}.events WHERE event_timestamp < '2026-03-06Z'") == [(0,)]
    assert stored.count("events") > 0
    assert_rollups_exact(stored)
    tasks.prune(ctx, "2026-03-06", env="dev")
    assert "0 events and 0 rejected items removed" in capsys.readouterr().out


def test_prune_refuses_a_date_it_cannot_read(ctx, stored):
    with pytest.raises(Exit, match="YYYY-MM-DD"):
        tasks.prune(ctx, "last march", env="dev")


def test_rollups_rebuild_changes_the_time_zone(ctx, stored, capsys):
    # WHEN `inv rollups-rebuild --time-zone Asia/Kolkata` runs
    tasks.rollups_rebuild(ctx, env="dev", time_zone="Asia/Kolkata")
    # THEN the stage cuts days there and the rollups equal a recount in that zone
    assert "rebuilt with days in Asia/Kolkata" in capsys.readouterr().out
    assert stored.query(f"SELECT time_zone FROM {stored.schema}.rollup_settings") == [("Asia/Kolkata",)]
    assert_rollups_exact(stored)
