"""Terraform and the Python settings state the same limits.

A Terraform `validation` and the consumer's settings each state a limit (Terraform refuses a bad
plan early; the function refuses a bad environment at cold start). This test finds every consumer
setting that the module analytics_queue passes as `NAME = tostring(var.x)` and fails when the two
allow different ranges.
"""
import re

import pytest

from analytics_consumer.settings import _INTEGERS as CONSUMER_INTEGERS
from ops import hcl
from ops.functions import ROOT

QUEUE_MODULE = ROOT / "infrastructure" / "modules" / "analytics_queue"
_PASSED_AS = re.compile(r"\b([A-Z][A-Z0-9_]+)\s*=\s*tostring\(var\.(\w+)\)")


def terraform_range(variables_tf, variable):
    """(lowest, highest) from the variable's validation `... >= lo && ... <= hi`, or None."""
    body = hcl.plain(hcl.blocks(hcl.load(variables_tf), "variable")[variable])
    for rule in body.get("validation", []):
        condition = rule["condition"]
        lows, highs = re.findall(r">=\s*(-?\d+)", condition), re.findall(r"<=\s*(-?\d+)", condition)
        if lows and highs:
            return int(lows[0]), int(highs[0])
    return None


def passed_settings():
    """[(ENV_NAME, terraform variable)] the module hands the consumer as numbers."""
    text = (QUEUE_MODULE / "main.tf").read_text()
    return sorted({(name, variable) for name, variable in _PASSED_AS.findall(text) if name in CONSUMER_INTEGERS})


def test_the_module_passes_the_consumer_its_numeric_settings():
    assert {"MAX_BATCH_EVENTS", "MAX_PARALLEL_WORKERS", "WORKER_TIMEOUT_SECONDS"} <= {name for name, _ in passed_settings()}


@pytest.mark.parametrize("name,variable", passed_settings())
def test_terraform_and_the_consumer_allow_the_same_range(name, variable):
    # GIVEN the range Terraform's validation allows and the range the consumer's settings allow
    terraform = terraform_range(QUEUE_MODULE / "variables.tf", variable)
    _, _, lowest, highest = CONSUMER_INTEGERS[name]
    # THEN they are the same: a value one accepts, the other does not refuse
    assert terraform == (lowest, highest), (
        f"var.{variable} allows {terraform} in infrastructure/modules/analytics_queue/variables.tf, "
        f"but the consumer's {name} allows {(lowest, highest)} (analytics_consumer/settings.py)"
    )


def test_the_range_reader_notices_a_disagreement(tmp_path):
    # GIVEN a copy of the module's variables with max_batch_events' upper bound changed
    text = (QUEUE_MODULE / "variables.tf").read_text()
    changed = re.sub(r"(coalesce\(var\.max_batch_events, 1\) <= )\d+", r"\g<1>5000", text)
    assert changed != text
    (tmp_path / "variables.tf").write_text(changed)
    # THEN the range read from it differs from the consumer's
    assert terraform_range(tmp_path / "variables.tf", "max_batch_events") == (1, 5000) != CONSUMER_INTEGERS["MAX_BATCH_EVENTS"][2:]


def test_the_schedule_rule_has_one_home():
    # The schedule's regex lives in module lambda; analytics_queue passes the expression on to it.
    copies = [path for path in (ROOT / "infrastructure").rglob("variables.tf") if "rate\\\\((1 (minute" in path.read_text()]
    assert [str(path.relative_to(ROOT)) for path in copies] == ["infrastructure/modules/lambda/variables.tf"]
