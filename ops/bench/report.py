"""Run every benchmark, print one table, write the JSON report."""
import json
import platform
import time
from datetime import datetime, timezone
from pathlib import Path

from ops.bench import api_calls, dashboard, packaging, store_rate, tracker

GOALS = {"worker_vs_copy_at_1000": 0.6, "api_calls_vs_floor": 1.05, "invocations_per_million": 2000,
         "dashboard_view_ms": 50, "worker_with_rollups_vs_copy_at_1000": 0.55}


def run(rounds, arch, runtime, report_path, out=print, dashboard_events=1_000_000, only_dashboards=False):
    started = time.perf_counter()
    if only_dashboards:
        return _run_dashboards(rounds, report_path, out, dashboard_events, started)
    out(f"store rate: {rounds} rounds of 100 and 1,000 events (worker, raw COPY, execute_values) ...")
    with store_rate.postgres() as url:
        store = store_rate.measure(url, rounds=rounds)
        dashboards = dashboard.measure(url, dashboard_events, rounds=rounds, out=out)
    out("API calls: draining 1,000 events from a moto queue ...")
    calls = api_calls.measure()
    out("worker invocations per million events (the consumer's batching) ...")
    million = api_calls.invocations_per_million()
    out(f"zips ({arch}) and handler import times ...")
    zips = packaging.measure(arch, runtime)
    figures = {
        "store_rate": {str(size): by_size for size, by_size in store.items()},
        "api_calls_per_1000_events": calls,
        "worker_invocations_per_million": million,
        "packaging": zips,
        "tracker": tracker.measure(),
        "dashboards": dashboards,
    }
    return _write(figures, report_path, out, started)


def _write(figures, report_path, out, started):
    """Add when and where it was measured, write the JSON report, print the table; return the report."""
    report = {
        "measured_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "machine": {"python": platform.python_version(), "processor": platform.machine()},
        **figures,
        "goals": GOALS,
        "seconds": round(time.perf_counter() - started, 1),
    }
    Path(report_path).parent.mkdir(parents=True, exist_ok=True)
    Path(report_path).write_text(json.dumps(report, indent=2) + "\n")
    out("")
    out(table(report))
    out(f"\nreport: {report_path}")
    return report


def rows(report):
    """(measure, value, goal, verdict) rows of a full or a dashboards-only report: the one place that judges a goal."""
    if "store_rate" not in report:
        return _dashboard_rows(report)
    store = report["store_rate"]
    calls = report["api_calls_per_1000_events"]
    million = report["worker_invocations_per_million"]
    rows = []
    for size, figures in store.items():
        rows.append((f"worker / COPY, {size} events (median of {figures['rounds']})",
                     f"{figures['worker_vs_copy']:.2f}", ">= 0.60" if size == "1000" else "",
                     _verdict(figures["worker_vs_copy"] >= GOALS["worker_vs_copy_at_1000"]) if size == "1000" else ""))
        rows.append(("  rows/s: worker | COPY | execute_values",
                     f"{figures['worker_rows_per_s']:,.0f} | {figures['copy_rows_per_s']:,.0f} | "
                     f"{figures['execute_values_rows_per_s']:,.0f}", "", ""))
        rows.append((f"  execute_values / COPY, {size} events", f"{figures['execute_values_vs_copy']:.2f}", "", ""))
    rows.append(("API calls per 1,000 events (receive + delete + invoke)",
                 f"{calls['total_calls']} = {calls['receive_calls']} + {calls['delete_calls']} + {calls['worker_invocations']}",
                 "", ""))
    rows.append(("  vs floor / vs one invoke per receive",
                 f"{calls['vs_floor']:.3f} of {calls['floor_calls']} / {calls['one_invoke_per_receive_calls']}",
                 "<= 1.05", _verdict(calls["vs_floor"] <= GOALS["api_calls_vs_floor"])))
    rows.append(("worker invocations per million events", f"{million['worker_invocations']:,}", "<= 2,000",
                 _verdict(million["worker_invocations"] <= GOALS["invocations_per_million"])))
    if "dashboards" in report:
        rows += _dashboard_rows(report)
    for function, figures in report["packaging"].items():
        rows.append((f"{figures['zip']}", f"{figures['zip_bytes']:,} bytes, import {figures['import_ms']:.0f} ms", "", ""))
    if "tracker" in report:
        t = report["tracker"]
        rows.append(("tracker analytics.js: raw | minified | minified + gzip",
                     f"{t['raw_bytes']:,} | {t['minified_bytes']:,} | {t['minified_gzip_bytes']:,} bytes",
                     f"< {t['budget_minified_bytes']:,} minified", _verdict(t["minified_bytes"] < t["budget_minified_bytes"])))
    return rows


def unmet(report):
    """The goals this run did not meet, as `measure: value (goal ...)` texts; empty when all were met."""
    return [f"{measure.strip()}: {value} (goal {goal})" for measure, value, goal, verdict in rows(report) if verdict == "NOT MET"]


def table(report):
    return _format([("measure", "value", "goal", "")] + rows(report))


def _dashboard_rows(report):
    return dashboard.table_rows(report["dashboards"], GOALS["dashboard_view_ms"], GOALS["worker_with_rollups_vs_copy_at_1000"])


def _run_dashboards(rounds, report_path, out, dashboard_events, started):
    """`inv bench --only-dashboards`: just the dashboard figures (e.g. at 20 million events)."""
    with store_rate.postgres() as url:
        dashboards = dashboard.measure(url, dashboard_events, rounds=rounds, out=out)
    return _write({"dashboards": dashboards}, report_path, out, started)


def _format(rows):
    widths = [max(len(row[i]) for row in rows) for i in range(4)]
    lines = ["  ".join(cell.ljust(width) for cell, width in zip(row, widths)).rstrip() for row in rows]
    lines.insert(1, "  ".join("-" * width for width in widths))
    return "\n".join(lines)


def _verdict(met):
    return "met" if met else "NOT MET"
