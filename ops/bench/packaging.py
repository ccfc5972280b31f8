"""Zip sizes and the import time of each handler module (a cold-start proxy); the browser tracker's size."""
import statistics
import subprocess
import sys

from ops import build
from ops.functions import FUNCTIONS, function_dir

_IMPORT_TIMER = "import sys, time; sys.path.insert(0, sys.argv[1]); t = time.perf_counter(); import main; print(time.perf_counter() - t)"


def import_seconds(function, runs=5):
    """Median time to import functions/<name>/main.py in a fresh interpreter (this environment's packages)."""
    times = []
    for _ in range(runs):
        output = subprocess.run(
            [sys.executable, "-c", _IMPORT_TIMER, str(function_dir(function))],
            check=True, capture_output=True, text=True,
        ).stdout
        times.append(float(output.strip().splitlines()[-1]))
    return statistics.median(times)


def measure(arch, runtime):
    figures = {}
    for function in FUNCTIONS:
        artifact = build.build(function, arch, runtime)
        figures[function] = {
            "zip": str(artifact.path.name),
            "zip_bytes": artifact.size,
            "import_ms": 1000 * import_seconds(function),
        }
    return figures

