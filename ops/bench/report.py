"""Run every benchmark, print one table, write the JSON report."""
import json
import platform
import time
from datetime import datetime, timezone
from pathlib import Path

from ops.bench import api_calls, packaging, store_rate

GOALS = {"worker_vs_copy_at_1000": 0.6, "api_calls_vs_floor": 1.05, "invocations_per_million": 2000}


def run(rounds, arch, runtime, report_path, out=print):
    started = time.perf_counter()
    out(f"store rate: {rounds} rounds of 100 and 1,000 events (worker, raw COPY, execute_values) ...")
    with store_rate.postgres() as url:
        store = store_rate.measure(url, rounds=rounds)
    out("API calls: draining 1,000 events from a moto queue ...")
    calls = api_calls.measure()
    out("worker invocations per million events (the consumer's batching) ...")
    million = api_calls.invocations_per_million()
    out(f"zips ({arch}) and handler import times ...")
    zips = packaging.measure(arch, runtime)
    report = {
        "measured_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "machine": {"python": platform.python_version(), "processor": platform.machine()},
        "store_rate": {str(size): figures for size, figures in store.items()},
        "api_calls_per_1000_events": calls,
        "worker_invocations_per_million": million,
        "packaging": zips,
        "goals": GOALS,
        "seconds": round(time.perf_counter() - started, 1),
    }
    Path(report_path).parent.mkdir(parents=True, exist_ok=True)
    Path(report_path).write_text(json.dumps(report, indent=2) + "\n")
    out("")
    out(table(report))
    out(f"\nreport: {report_path}")
    return report


def goal_results(report):
    """(goal, measured value, goal as text, met) for every goal in GOALS: the one place that compares a figure with its goal."""
    store = report["store_rate"].get("1000", {}).get("worker_vs_copy")
    calls = report["api_calls_per_1000_events"]["vs_floor"]
    invocations = report["worker_invocations_per_million"]["worker_invocations"]
    return [
        ("worker_vs_copy_at_1000", store, f">= {GOALS['worker_vs_copy_at_1000']:.2f}",
         store is not None and store >= GOALS["worker_vs_copy_at_1000"]),
        ("api_calls_vs_floor", calls, f"<= {GOALS['api_calls_vs_floor']:.2f}", calls <= GOALS["api_calls_vs_floor"]),
        ("invocations_per_million", invocations, f"<= {GOALS['invocations_per_million']:,}",
         invocations <= GOALS["invocations_per_million"]),
    ]


def unmet(report):
    """The goals this run did not meet, as `name = value (goal)` texts; empty when all were met."""
    return [f"{name} = {value} (goal {goal})" for name, value, goal, met in goal_results(report) if not met]


def table(report):
    store = report["store_rate"]
    calls = report["api_calls_per_1000_events"]
    million = report["worker_invocations_per_million"]
    met = {name: ok for name, _, _, ok in goal_results(report)}
    rows = [("measure", "value", "goal", "")]
    for size, figures in store.items():
        rows.append((f"worker / COPY, {size} events (median of {figures['rounds']})",
                     f"{figures['worker_vs_copy']:.2f}", ">= 0.60" if size == "1000" else "",
                     _verdict(met["worker_vs_copy_at_1000"]) if size == "1000" else ""))
        rows.append(("  rows/s: worker | COPY | execute_values",
                     f"{figures['worker_rows_per_s']:,.0f} | {figures['copy_rows_per_s']:,.0f} | "
                     f"{figures['execute_values_rows_per_s']:,.0f}", "", ""))
        rows.append((f"  execute_values / COPY, {size} events", f"{figures['execute_values_vs_copy']:.2f}", "", ""))
    rows.append(("API calls per 1,000 events (receive + delete + invoke)",
                 f"{calls['total_calls']} = {calls['receive_calls']} + {calls['delete_calls']} + {calls['worker_invocations']}",
                 "", ""))
    rows.append(("  vs floor / vs one invoke per receive",
                 f"{calls['vs_floor']:.3f} of {calls['floor_calls']} / {calls['one_invoke_per_receive_calls']}",
                 "<= 1.05", _verdict(met["api_calls_vs_floor"])))
    rows.append(("worker invocations per million events", f"{million['worker_invocations']:,}", "<= 2,000",
                 _verdict(met["invocations_per_million"])))
    for function, figures in report["packaging"].items():
        rows.append((f"{figures['zip']}", f"{figures['zip_bytes']:,} bytes, import {figures['import_ms']:.0f} ms", "", ""))
    widths = [max(len(row[i]) for row in rows) for i in range(4)]
    lines = ["  ".join(cell.ljust(width) for cell, width in zip(row, widths)).rstrip() for row in rows]
    lines.insert(1, "  ".join("-" * width for width in widths))
    return "\n".join(lines)


def _verdict(met):
    return "met" if met else "NOT MET"
