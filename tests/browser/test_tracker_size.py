"""The tracker stays under 3 KB minified (terser, pinned in collector/js/package.json), and minified it still runs."""
import shutil
import subprocess

import pytest

from ops.bench import tracker


def test_the_tracker_is_under_3_kb_minified():
    # GIVEN terser from `npm ci --prefix collector/js`
    minified = tracker.terser()
    if minified is None:
        pytest.skip("terser is not installed: npm ci --prefix collector/js")
    # WHEN measuring THEN the minified tracker fits the budget
    figures = tracker.measure()
    print(f"\ntracker: {figures}")
    assert figures["minified_bytes"] < tracker.BUDGET_MINIFIED_BYTES


@pytest.mark.skipif(shutil.which("node") is None, reason="node is not installed (apt-get install -y nodejs)")
def test_the_minified_tracker_still_defines_the_api():
    # GIVEN both minified forms  WHEN node evaluates them with a stub window  THEN init/identify/track/flush/stats exist
    for source in filter(None, (tracker.terser(), tracker.minify(tracker.TRACKER.read_text()))):
        script = "var window = {}; " + source + \
                 "; console.log(Object.keys(window.analytics).sort().join(','))"
        output = subprocess.run(["node", "-e", script], capture_output=True, text=True, check=True).stdout.strip()
        assert output == "flush,identify,init,stats,track"
