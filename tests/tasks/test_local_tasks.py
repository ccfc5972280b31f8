"""Tasks that run here: invoke --local, migrate, psql, gen-event, and payload parsing."""
import json
import random
import sys

import pytest
from invoke import Exit

import tasks
from ops import database, events, lambdas
from ops import stage as stage_module
from ops.functions import ROOT

WORKER = ROOT / "functions" / "analytics_worker"
SCHEMA_FILE = WORKER / "analytics_worker" / "event.schema.json"


@pytest.fixture
def local_stack(tmp_path, monkeypatch):
    """Write a `.local/stack.json`-style file for stage `local` (as `inv local` will) and return a writer for it."""
    monkeypatch.delenv(stage_module.OUTPUTS_FILE_VARIABLE, raising=False)
    path = tmp_path / ".local" / "stack.json"
    path.parent.mkdir()
    monkeypatch.setattr(stage_module, "LOCAL_STACK_FILE", path)

    def write(**values):
        path.write_text(json.dumps({"stage": "local", **values}))
        return path

    return write


@pytest.fixture
def fresh_worker_module():
    """Load the worker handler anew for this test (it keeps one connection per process)."""
    saved = sys.modules.pop("analytics_worker_main", None)
    yield
    sys.modules.pop("analytics_worker_main", None)
    if saved is not None:
        sys.modules["analytics_worker_main"] = saved


@pytest.mark.skipif(not (WORKER / "main.py").exists(), reason="functions/analytics_worker/main.py is not written yet")
def test_invoke_local_runs_the_worker_with_the_stages_database(ctx, migrated_db, local_stack, fresh_worker_module, capsys):
    # GIVEN the local stack's database, migrated
    local_stack(admin_database_url=migrated_db.url, schema=migrated_db.schema)
    rng = random.Random(7)
    first, second = events.sample_event(rng=rng), events.sample_event(rng=rng)
    bad, _ = events.invalid_event("bad_timestamp", rng=rng)
    payload = [first, second, json.dumps(first), bad, "not json at all"]
    # WHEN `inv invoke analytics_worker --env local --local --payload ...` runs
    tasks.invoke_(ctx, "analytics_worker", env="local", payload=json.dumps(payload), local=True)
    # THEN the handler's counts are printed and the rows are in the stage's schema
    printed = capsys.readouterr().out
    result = json.loads(printed[printed.index("{\n"):])
    assert result == {"processed": 5, "stored": 2, "duplicates": 1, "rejected": 2}
    assert migrated_db.count("events") == 2
    assert migrated_db.count("rejected_events") == 2


@pytest.mark.skipif(not (WORKER / "main.py").exists(), reason="functions/analytics_worker/main.py is not written yet")
def test_every_invalid_sample_event_is_rejected_by_the_worker(migrated_db, local_stack, fresh_worker_module, capsys):
    local_stack(admin_database_url=migrated_db.url, schema=migrated_db.schema)
    rng = random.Random(1)
    payload = [events.invalid_event(kind, rng=rng)[0] for kind in sorted(events.INVALID_KINDS)]
    result = lambdas.invoke_local("analytics_worker", stage_module.load("local"), payload)
    assert result["rejected"] == len(events.INVALID_KINDS) and result["stored"] == 0


@pytest.mark.skipif(not (WORKER / "main.py").exists(), reason="functions/analytics_worker/main.py is not written yet")
def test_invoke_local_exits_non_zero_when_the_handler_raises(ctx, local_stack, fresh_worker_module, capsys):
    # GIVEN a stage whose database cannot be reached
    local_stack(admin_database_url="postgresql://nobody@127.0.0.1:1/none?connect_timeout=2", schema="analytics_local")
    # WHEN the worker runs locally THEN the error is shown and the exit code is 1
    with pytest.raises(Exit) as failure:
        tasks.invoke_(ctx, "analytics_worker", env="local", payload='[{"event_id": "12"}]', local=True)
    assert failure.value.code == 1
    assert "Traceback" in capsys.readouterr().err


def test_local_settings_of_a_deployed_stage_use_the_writer_role(monkeypatch):
    monkeypatch.setenv(stage_module.OUTPUTS_FILE_VARIABLE, str(ROOT / "tests" / "fixtures" / "terraform_output_dev.json"))
    stage = stage_module.load("dev")
    worker = lambdas.local_environment("analytics_worker", stage)
    assert worker == {
        "DB_HOST": "analytics.c9akciq32.eu-central-1.rds.amazonaws.com", "DB_PORT": "5432", "DB_NAME": "analytics",
        "DB_USER": "analytics_dev_writer", "DB_SCHEMA": "analytics_dev",
    }
    consumer = lambdas.local_environment("analytics_consumer", stage)
    assert consumer == {"SQS_URL": stage.get("queue_url"), "WORKER_LAMBDA_ARN": "analytics_worker_dev"}


def test_invoke_of_an_unknown_function_is_refused(ctx):
    with pytest.raises(Exit, match=r"Unknown function 'analytics_nope': choose one of analytics_collector, analytics_consumer, analytics_worker"):
        tasks.invoke_(ctx, "analytics_nope", env="local", payload="[]", local=True)


# ---- payloads ---------------------------------------------------------------------------------


def test_payload_inline_and_from_a_file(tmp_path):
    assert lambdas.parse_payload('[{"event_id": "12"}]') == [{"event_id": "12"}]
    path = tmp_path / "event.json"
    path.write_text('{"a": 1}')
    assert lambdas.parse_payload(f"@{path}") == {"a": 1}
    assert lambdas.parse_payload(None) == {}


def test_bad_json_payload_names_the_problem(ctx):
    with pytest.raises(Exit, match=r"--payload is not valid JSON: Expecting property name enclosed in double quotes at line 1 column 3"):
        tasks.invoke_(ctx, "analytics_worker", env="local", payload="[{event_id: 12}]", local=True)


def test_bad_json_in_a_payload_file_names_the_file(tmp_path):
    path = tmp_path / "broken.json"
    path.write_text('{"a": 1,}')
    with pytest.raises(Exit, match=rf"{path} is not valid JSON: .* at line 1 column 9"):
        lambdas.parse_payload(f"@{path}")


def test_missing_payload_file_is_named(tmp_path):
    with pytest.raises(Exit, match=r"Payload file .*nope.json does not exist"):
        lambdas.parse_payload(f"@{tmp_path}/nope.json")


# ---- migrate ----------------------------------------------------------------------------------


def test_migrate_creates_the_stages_schema_with_the_admin_url(ctx, migrated_db, local_stack, capsys):
    # GIVEN a stage whose schema does not exist yet
    local_stack(admin_database_url=migrated_db.url, schema="analytics_migrate_test")
    # WHEN `inv migrate --env local` runs
    tasks.migrate(ctx, env="local")
    # THEN the schema holds the tables of the head revision
    tables = {row[0] for row in migrated_db.query(
        "SELECT table_name FROM information_schema.tables WHERE table_schema = %s", ("analytics_migrate_test",)
    )}  # fmt: skip
    assert {"events", "rejected_events"} <= tables
    printed = capsys.readouterr().out
    assert "Migrating schema analytics_migrate_test" in printed and "done" in printed


def test_init_db_is_an_alias_of_migrate():
    assert "init-db" in tasks.migrate.aliases


def test_failed_migration_is_reported(ctx, local_stack):
    local_stack(admin_database_url="postgresql://nobody:pw@127.0.0.1:1/none?connect_timeout=2", schema="analytics_local")
    with pytest.raises(Exit, match=r"Migration of analytics_local to head failed: OperationalError") as failure:
        tasks.migrate(ctx, env="local")
    assert ":pw@" not in str(failure.value)


# ---- psql -------------------------------------------------------------------------------------


def test_psql_execs_with_the_roles_url_and_the_password_out_of_argv(ctx, local_stack, monkeypatch):
    # GIVEN psql is installed and the stage has a reader URL with a password
    local_stack(reader_database_url="postgresql://reader:pa%3Ass@db.example:5432/analytics?sslmode=require")
    monkeypatch.setattr(database.shutil, "which", lambda name: "/usr/bin/psql")
    calls = []
    monkeypatch.setattr(database.os, "execvpe", lambda file, argv, env: calls.append((file, argv, env)))
    # WHEN `inv psql --env local --role reader` runs
    tasks.psql(ctx, env="local", role="reader")
    # THEN psql gets the URL without the password; the password travels in PGPASSWORD
    (file, argv, env), = calls
    assert file == "psql"
    assert argv == ["psql", "postgresql://reader@db.example:5432/analytics?sslmode=require"]
    assert env["PGPASSWORD"] == "pa:ss"  # decoded: libpq takes PGPASSWORD as plain text


def test_psql_missing_says_how_to_install_it(ctx, local_stack, monkeypatch):
    local_stack(reader_database_url="postgresql://reader@db.example/analytics")
    monkeypatch.setattr(database.shutil, "which", lambda name: None)
    with pytest.raises(Exit, match=r"psql is not installed: install the PostgreSQL client"):
        tasks.psql(ctx, env="local")


def test_psql_refuses_an_unknown_role(ctx, local_stack, monkeypatch):
    local_stack(reader_database_url="postgresql://reader@db.example/analytics")
    monkeypatch.setattr(database.shutil, "which", lambda name: "/usr/bin/psql")
    with pytest.raises(Exit, match=r"Unknown role 'owner'"):
        tasks.psql(ctx, env="local", role="owner")


# ---- gen-event --------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def validate():
    if not SCHEMA_FILE.exists():
        pytest.skip("the event JSON Schema is not written yet")
    import fastjsonschema

    return fastjsonschema.compile(json.loads(SCHEMA_FILE.read_text()))


def test_gen_event_prints_a_valid_event_of_the_given_type(ctx, capsys, validate):
    tasks.gen_event(ctx, type="order_placed")
    event = json.loads(capsys.readouterr().out)
    validate(event)
    assert event["event_type"] == "order_placed"


def test_sample_events_are_valid_and_repeatable(validate):
    rng_a, rng_b = random.Random(3), random.Random(3)
    now = events._now()
    for _ in range(50):
        event = events.sample_event(rng=rng_a, now=now)
        validate(event)
        assert event == events.sample_event(rng=rng_b, now=now)


def test_gen_event_invalid_prints_an_event_the_schema_refuses(ctx, capsys, validate):
    import fastjsonschema

    tasks.gen_event(ctx, invalid=True)
    captured = capsys.readouterr()
    with pytest.raises(fastjsonschema.JsonSchemaException):
        validate(json.loads(captured.out))
    assert captured.err.startswith("invalid: ")


@pytest.mark.parametrize("kind", sorted(events.INVALID_KINDS))
def test_each_invalid_kind_is_refused_by_the_schema(kind, validate):
    import fastjsonschema

    event, _ = events.invalid_event(kind)
    with pytest.raises(fastjsonschema.JsonSchemaException):
        validate(event)
