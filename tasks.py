"""Operator tasks: `inv --list` shows them all. The work lives in the `ops` package."""
import json
import sys

from invoke import Exit, task

from ops import testing
from ops import lint_infra as lint_infra_module
from ops.functions import FUNCTIONS, checked_name

ENV_HELP = "Stage: dev, staging, prod, or local (default: `env` in invoke.yaml)."
FUNC_HELP = f"Function: {' or '.join(FUNCTIONS)}."
ARCH_HELP = "Lambda architecture, x86_64 or arm64 (default: build.arch in invoke.yaml)."


def _worker_packages():
    from ops import environment

    environment.require("analytics_worker")  # psycopg2 & co.: the local stack, migrations, in-process worker


def _env(c, env):
    return env or c.config.get("env")


def _stage(c, env):
    from ops import local_stack, stage

    loaded = stage.load(_env(c, env))
    local_stack.use_local_stage(loaded)  # stage `local`: the running stack's endpoint, dummy credentials
    return loaded


def _session(c, stage):
    from ops import aws

    return aws.for_context(c, stage)


def _function(func):
    if not func:
        raise Exit(f"Name a function: {', '.join(FUNCTIONS)}.")
    return checked_name(func)


def _default(c, key, given=None):
    """`given` when the user gave it, else the default `key` (dotted) from invoke.yaml, the one home of defaults."""
    if given is not None:
        return given
    value = c.config
    for part in key.split("."):
        try:
            value = value[part]
        except (KeyError, TypeError):
            raise Exit(f"invoke.yaml has no {key}: restore it from the repository's invoke.yaml, or give the option.") from None
    return value


def _build_settings(c, arch):
    return _default(c, "build.arch", arch), _default(c, "build.runtime")


@task(
    iterable=["func"],
    help={
        "func": f"Build only this function (repeatable; default: all). {FUNC_HELP}",
        "arch": ARCH_HELP,
    },
)
def build(c, func=None, arch=None):
    """Build the Lambda zips dist/<function>-<arch>.zip (deterministic; prints size and SHA-256)."""
    from ops import build as builder

    arch, runtime = _build_settings(c, arch)
    builder.check_arch(arch)
    for name in func or FUNCTIONS:
        artifact = builder.build(_function(name), arch, runtime)
        print(artifact.describe())


@task(help={"func": f"Run only the tests of this function. {FUNC_HELP}"})
def test(c, func=None):
    """Run the test suite (all of it, or one function's tests)."""
    testing.run_tests(c, func)


@task(
    name="invoke",
    help={
        "func": FUNC_HELP,
        "env": ENV_HELP,
        "payload": "The event: inline JSON, or @path/to/file.json (default: {}).",
        "local": "Run the handler in this process with the stage's settings instead of the deployed function.",
    },
)
def invoke_(c, func, env=None, payload=None, local=False):
    """Invoke a function synchronously and print its log tail and response."""
    from ops import lambdas

    func = _function(func)
    event = lambdas.parse_payload(payload)
    if local or _env(c, env) == "local":
        _worker_packages()
    stage = _stage(c, env)
    if stage.env == "local" and "endpoint_url" in stage.values:
        from ops import local_stack

        local_stack.invoke(func, stage, event)  # moto's Lambda would need Docker: run in this process
    elif local:
        lambdas.invoke_local(func, stage, event)
    else:
        lambdas.invoke_deployed(_session(c, stage), stage.function_name(func), event)


@task(help={"func": FUNC_HELP, "env": ENV_HELP, "arch": ARCH_HELP})
def update(c, func, env=None, arch=None):
    """Quick code update: re-zip the function's source over its built dependencies and deploy it."""
    from ops import build as builder
    from ops import lambdas

    func = _function(func)
    arch, runtime = _build_settings(c, arch)
    stage = _stage(c, env)
    name = stage.function_name(func)
    session = _session(c, stage)
    lambdas.check_architecture(session, name, arch)
    artifact = builder.rebuild_source(func, arch, runtime)
    print(artifact.describe())
    lambdas.update_code(session, name, artifact)


@task(
    help={
        "func": FUNC_HELP,
        "env": ENV_HELP,
        "since": "How far back to start, e.g. 30s, 10m, 2h, 1d (default 10m).",
        "follow": "Keep polling for new events until Ctrl-C.",
    }
)
def log(c, func, env=None, since="10m", follow=False):
    """Print a function's CloudWatch log events (optionally following them)."""
    from ops import aws, lambdas

    func = _function(func)
    seconds = lambdas.parse_since(since)
    stage = _stage(c, env)
    name = stage.function_name(func)
    with aws.errors(f"Reading the logs of {name}"):
        shown = lambdas.show_logs(_session(c, stage), name, seconds, follow=follow)
    if not shown and not follow:
        print(f"(no log events of {name} in the last {since})", file=sys.stderr)


@task(
    name="gen-event",
    help={
        "type": "The event_type of the event (default: a random one).",
        "invalid": "Make an event that the worker rejects (its defect goes to stderr).",
    },
)
def gen_event(c, type=None, invalid=False):
    """Print one sample event (valid, or with --invalid one the worker rejects)."""
    from ops import events

    if invalid:
        event, kind = events.invalid_event(event_type=type)
        print(f"invalid: {events.INVALID_KINDS[kind]}", file=sys.stderr)
    else:
        event = events.sample_event(type)
    print(json.dumps(event, indent=2))


@task(
    name="publish-event",
    help={
        "env": ENV_HELP,
        "n": "How many sample events to publish (default 1).",
        "type": "The event_type of every event (default: random ones).",
    },
)
def publish_event(c, env=None, n=1, type=None):
    """Publish N sample events to the stage's SNS topic, 10 per PublishBatch call."""
    from ops import messaging

    if n < 1:
        raise Exit("-n must be at least 1.")
    stage = _stage(c, env)
    topic = stage.get("topic_arn")
    summary = messaging.publish_events(_session(c, stage), topic, n, event_type=type)
    print(
        f"published {summary.published} of {n} events to {topic} in {summary.calls} PublishBatch calls, "
        f"{summary.failed} failed, {summary.seconds:.1f} s"
    )
    if summary.failed:
        raise Exit(code=1)


@task(help={"env": ENV_HELP, "limit": "Move at most this many messages (default 0: all)."})
def redrive(c, env=None, limit=0):
    """Move the messages of the stage's dead-letter queue back to its queue."""
    from ops import messaging

    stage = _stage(c, env)
    dlq, queue = stage.get("dlq_url"), stage.get("queue_url")
    summary = messaging.redrive(_session(c, stage), dlq, queue, limit=limit or None)
    print(f"moved {summary.moved} messages from {dlq} to {queue}, {summary.failed} failed, about {summary.left_in_dlq} left in the DLQ")
    if summary.failed:
        raise Exit(code=1)


@task(
    aliases=["init-db"],
    help={"env": ENV_HELP, "revision": "Alembic revision to upgrade to (default head)."},
)
def migrate(c, env=None, revision="head"):
    """Upgrade the stage's database schema with alembic (admin role)."""
    _worker_packages()
    from ops import database

    database.migrate(_stage(c, env), revision, out=sys.stdout)
    print("done")


@task(help={"env": ENV_HELP, "role": "Connect as admin, writer or reader (default reader)."})
def psql(c, env=None, role="reader"):
    """Open psql on the stage's database as one of its roles."""
    from ops import database

    database.psql(_stage(c, env), role)


@task
def reader_password(c):
    """Make the SCRAM-SHA-256 verifier of a dashboard (reader) password for the shared root's reader_password_scrams."""
    import getpass

    from ops import database

    password = getpass.getpass("Reader password (kept by you and your BI tool, never by Terraform): ")
    if getpass.getpass("Again: ") != password:
        raise Exit("The two passwords differ; nothing was made. Run `inv reader-password` again.")
    print(database.reader_password_verifier(password))


@task(help={"env": ENV_HELP})
def outputs(c, env=None):
    """Print the stage's resolved endpoints (secrets masked)."""
    stage = _stage(c, env)
    print(f"# stage {stage.env}, from {stage.source}")
    shown = stage.masked()
    width = max((len(name) for name in shown), default=0)
    for name, value in shown.items():
        if not isinstance(value, str):
            value = json.dumps(value)
        print(f"{name.ljust(width)}  {value}")


@task
def lint_infra(c):
    """Run checkov on infrastructure/ in its own virtual environment (zero failed checks)."""
    lint_infra_module.run(c)


MODE_HELP = ("How the queue reaches the worker: schedule (consumer runs) or stream (a poller, as the SQS event source "
             "mapping; batches of local.stream_batch_size or local.stream_batching_window_seconds) (default: local.mode).")


def _delivery(c, mode):
    """The delivery mode and the stream poller's batching, from the argument and invoke.yaml's local section."""
    return {
        "mode": _default(c, "local.mode", mode),
        "stream_batch_size": int(_default(c, "local.stream_batch_size")),
        "stream_batching_window_seconds": float(_default(c, "local.stream_batching_window_seconds")),
    }


@task(
    help={
        "port": "Port of the moto server on 127.0.0.1 (default: local.port in invoke.yaml).",
        "every": "Seconds between consumer runs, in stream mode the stream guard's (default: local.every in invoke.yaml).",
        "db_port": "TCP port of the embedded Postgres on 127.0.0.1 (default: local.db_port in invoke.yaml; 0: a free one).",
        "collector_port": "Port of the HTTP collector on 127.0.0.1, 0 for a free one (default: local.collector_port).",
        "mode": MODE_HELP,
    }
)
def local(c, port=None, every=None, db_port=None, collector_port=None, mode=None):
    """Run the whole pipeline on this machine (moto, embedded Postgres, scheduled consumer or stream) until Ctrl-C."""
    _worker_packages()
    import os

    from ops import local_stack

    local_stack.run(
        port=int(_default(c, "local.port", port)),
        every=float(_default(c, "local.every", every)),
        database_url=os.environ.get("DATABASE_URL") or None,
        db_port=int(_default(c, "local.db_port", db_port)),
        collector_port=int(_default(c, "local.collector_port", collector_port)),
        **_delivery(c, mode),
    )


@task(help={"n": "How many valid events to publish (default: local.demo_events in invoke.yaml).", "mode": MODE_HELP})
def demo(c, n=None, mode=None):
    """Start a throw-away local stack, publish N events (plus duplicates and invalid ones), drain, summarise."""
    _worker_packages()
    import os

    from ops.local_stack import demo as demo_module

    n = int(_default(c, "local.demo_events", n))
    if n < 1:
        raise Exit("-n must be at least 1.")
    if not demo_module.run(n, database_url=os.environ.get("DATABASE_URL") or None, guard_every=float(_default(c, "local.every")),
                           **_delivery(c, mode)):
        raise Exit("Not every published event is accounted for: see above.", code=1)


@task(
    help={
        "rounds": "Rounds per store-rate figure; the median of the paired ratios is reported (default: bench.rounds).",
        "arch": ARCH_HELP,
        "report": "Where to write the JSON report (default: bench.report in invoke.yaml).",
        "dashboard_events": "Events generated for the dashboard figures (default: bench.dashboard_events, 1,000,000).",
        "only_dashboards": "Measure only the dashboard figures (views vs events, store rate with rollups).",
        "check": "Exit 1 when a goal is not met (default); --no-check only reports.",
        "throughput": "Instead: the consumer's and the stream pollers' events/s against moto's SQS with latency "
                      "injected per call (settings: bench.throughput in invoke.yaml).",
        "latencies": "With --throughput: milliseconds per SQS call, comma-separated (default: bench.throughput.latencies_ms).",
        "events": "With --throughput: messages in the queue per measurement (default: bench.throughput.events).",
    }
)
def bench(c, rounds=None, arch=None, report=None, dashboard_events=None, only_dashboards=False, check=True,
          throughput=False, latencies=None, events=None):
    """Benchmark store rate vs COPY, API calls, zip sizes, imports, dashboards; or (--throughput) the queue readers' rates."""
    _worker_packages()
    from ops.bench import report as bench_report

    if throughput:
        from ops.bench import throughput as throughput_bench

        options = dict(_default(c, "bench.throughput"))
        default_latencies = options.pop("latencies_ms")
        try:
            latencies_ms = [float(value) for value in str(latencies or default_latencies).split(",")]
        except ValueError:
            raise Exit(f"--latencies={latencies!r}: give milliseconds per SQS call, comma-separated, e.g. 5,10,20.")
        options["events"] = int(events or options["events"])
        throughput_bench.run(latencies_ms, **options)
        return
    arch, runtime = _build_settings(c, arch)
    rounds = int(_default(c, "bench.rounds", rounds))
    if rounds < 3:
        raise Exit("--rounds must be at least 3: the report is a median of paired rounds.")
    dashboard_events = int(_default(c, "bench.dashboard_events", dashboard_events))
    if dashboard_events < 1000:
        raise Exit("--dashboard-events must be at least 1000.")
    measured = bench_report.run(
        rounds, arch, runtime, _default(c, "bench.report", report),
        dashboard_events=dashboard_events, only_dashboards=only_dashboards,
    )
    missed = bench_report.unmet(measured)
    if missed and check:
        raise Exit(f"Benchmark goals not met: {'; '.join(missed)}. Rerun on a quiet machine, or `inv bench --no-check` to only report.", code=1)


def _retention_settings(c):
    return int(_default(c, "retention.batch_size")), list(_default(c, "retention.confirm_stages"))


@task(
    name="forget-user",
    help={
        "user_id": "The user_id whose events and readable rejected items are deleted.",
        "env": ENV_HELP,
        "yes": "Do not ask for confirmation on the stages that need it (retention.confirm_stages: prod).",
    },
)
def forget_user(c, user_id, env=None, yes=False):
    """Erase a user: delete their events and rejected items, correcting the rollups (admin role)."""
    from ops import retention

    stage = _stage(c, env)
    batch_size, confirm_stages = _retention_settings(c)
    retention.confirm(stage.env, confirm_stages, yes)
    retention.forget_user(stage.database_url("admin"), stage.get("schema"), user_id, batch_size)


@task(
    help={
        "before": "Delete events from before this day (YYYY-MM-DD, in the rollups' time zone) and rejections received before it.",
        "env": ENV_HELP,
        "yes": "Do not ask for confirmation on the stages that need it (retention.confirm_stages: prod).",
    },
)
def prune(c, before, env=None, yes=False):
    """Delete old events in bounded batches, correcting the rollups (admin role)."""
    from ops import retention

    day = retention.parse_date(before)
    stage = _stage(c, env)
    batch_size, confirm_stages = _retention_settings(c)
    retention.confirm(stage.env, confirm_stages, yes)
    retention.prune(stage.database_url("admin"), stage.get("schema"), day, batch_size)


@task(
    name="rollups-rebuild",
    help={
        "env": ENV_HELP,
        "time_zone": "Cut days in this zone from now on, e.g. UTC, Europe/Berlin, Asia/Kolkata (default: keep the stage's).",
    },
)
def rollups_rebuild(c, env=None, time_zone=None):
    """Rebuild the dashboard rollups from the stored events (optionally in another time zone)."""
    from ops import retention

    stage = _stage(c, env)
    retention.set_time_zone(stage.database_url("admin"), stage.get("schema"), time_zone)


@task(help={"check": "Only report READMEs whose tables are out of date (exit 1 if any), without writing."})
def docs(c, check=False):
    """Regenerate the Inputs/Outputs tables of each Terraform module README from variables.tf and outputs.tf."""
    from ops import module_docs

    try:
        changed = module_docs.regenerate(check=check)
    except module_docs.MissingDescription as error:
        raise Exit(str(error)) from None
    for readme in changed:
        print(f"{'out of date' if check else 'updated'}: {module_docs.relative(readme)}")
    if not changed:
        print("module READMEs are up to date")
    elif check:
        raise Exit("Run `inv docs` to regenerate them.", code=1)
