"""What the operator tasks say when something is wrong: short, and what to do."""
import re

import pytest
from invoke import Exit

import tasks
from ops import environment, lint_infra
from ops.bench import report as bench_report
from ops.functions import ROOT


def bench_figures(worker_vs_copy):
    figures = {"rounds": 3, "worker_vs_copy": worker_vs_copy, "worker_rows_per_s": 1.0, "copy_rows_per_s": 2.0,
               "execute_values_rows_per_s": 1.0, "execute_values_vs_copy": 0.5}
    return {
        "store_rate": {"1000": figures},
        "api_calls_per_1000_events": {"vs_floor": 1.005, "total_calls": 202, "receive_calls": 101, "delete_calls": 100,
                                      "worker_invocations": 1, "floor_calls": 201, "one_invoke_per_receive_calls": 300},
        "worker_invocations_per_million": {"worker_invocations": 1000},
        "packaging": {},
        "dashboards": {"events": 1000, "views": {"daily_event_counts": {"view_ms": 2.0, "from_events_ms": 40.0,
                                                                        "from_events_vs_view": 20.0, "equal": True}},
                       "store_1000": {"rounds": 3, "worker_with_rollups_vs_copy": 0.6,
                                      "worker_with_rollups_rows_per_s": 30000, "raw_copy_rows_per_s": 50000,
                                      "worker_without_rollups_vs_copy": 0.7, "worker_with_vs_without_rollups": 0.86}},
    }


@pytest.fixture
def measured(monkeypatch):
    """`inv bench` with the measuring replaced by given figures (the goal check is what is tested here)."""
    monkeypatch.setattr(tasks, "_worker_packages", lambda: None)

    def use(report):
        monkeypatch.setattr(bench_report, "run", lambda *args, **kwargs: report)

    return use


def test_bench_exits_1_when_a_goal_is_not_met(ctx, measured):
    # GIVEN a run whose store rate misses its goal (0.45 < 0.60)
    measured(bench_figures(0.45))
    # WHEN `inv bench` runs THEN it exits 1 and names the goal and --no-check
    with pytest.raises(Exit) as failure:
        tasks.bench(ctx, rounds=3)
    assert failure.value.code == 1
    assert "worker / COPY, 1000 events (median of 3): 0.45 (goal >= 0.60)" in failure.value.message
    assert "--no-check" in failure.value.message and "Benchmark goals not met" in failure.value.message


def test_bench_no_check_only_reports(ctx, measured):
    measured(bench_figures(0.45))
    tasks.bench(ctx, rounds=3, check=False)  # no Exit


def test_bench_exits_0_when_every_goal_is_met(ctx, measured):
    measured(bench_figures(0.70))
    tasks.bench(ctx, rounds=3)
    assert bench_report.unmet(bench_figures(0.70)) == []


CHECKOV_OUTPUT = "terraform scan results:\n\nPassed checks: 193, Failed checks: 0, Skipped checks: 24\n"


def test_lint_infra_summary_says_where_the_skipped_checks_come_from():
    # GIVEN checkov's closing counts and the inline skip comments of infrastructure/
    reasons = lint_infra.skip_reasons()
    # WHEN lint-infra summarises THEN it relates checkov's count to the number of reasons, in two lines
    summary = lint_infra.summary(CHECKOV_OUTPUT)
    assert f"Its 24 skipped checks come from {len(reasons)} skip reasons" in summary
    assert "each applied to several resources" in summary and len(summary.splitlines()) == 2


NUMBERS = {word: n for n, word in enumerate("zero one two three four five six seven eight nine ten eleven twelve".split())}


def test_the_infrastructure_guide_names_as_many_skip_reasons_as_the_code_has():
    # GIVEN the guide's "<number> reasons in all" and the code's inline skip comments
    text = " ".join((ROOT / "doc" / "infrastructure.md").read_text().split())
    said = re.search(r"(\w+) reasons in all", text)
    # THEN they agree (a skip added or removed must be described there too)
    assert said and NUMBERS.get(said.group(1)) == len(lint_infra.skip_reasons()), (said and said.group(0), lint_infra.skip_reasons())


def test_a_missing_runtime_package_says_which_command_installs_it(tmp_path):
    # GIVEN a Pipfile category naming a package that is not installed
    pipfile = tmp_path / "Pipfile"
    pipfile.write_text('[analytics_worker]\npsycopg2-binary = "*"\nno-such-package-xyz = "*"\n')
    # WHEN a task that needs the category checks it THEN one line names the package and the command
    with pytest.raises(Exit) as failure:
        environment.require("analytics_worker", pipfile)
    message = failure.value.message
    assert message.startswith("no-such-package-xyz not installed") and environment.SYNC in message
    assert len(message.splitlines()) == 1
