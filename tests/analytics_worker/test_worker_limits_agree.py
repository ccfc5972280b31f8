"""The worker and the Terraform that configures it agree on which schema names are allowed.

Terraform's `validation` and the worker's settings each state the rule; this test fails
when they drift apart (names Terraform would deploy that the worker refuses, or back).
"""
import re
from pathlib import Path

import pytest

from analytics_worker.settings import POSTGRES_IDENTIFIER_MAX_BYTES, SettingsError, settings_from_env
from ops import hcl

MODULES = Path(__file__).resolve().parents[2] / "infrastructure" / "modules"
_SETS_DB_SCHEMA = re.compile(r"\bDB_SCHEMA\s*=\s*var\.(\w+)")
_REGEX_CONDITION = re.compile(r'regex\(\s*"((?:[^"\\]|\\.)*)"\s*,\s*var\.(\w+)\s*\)')

SAMPLE_NAMES = [
    "analytics_dev", "a", "_private", "a" * POSTGRES_IDENTIFIER_MAX_BYTES, "a" * (POSTGRES_IDENTIFIER_MAX_BYTES + 1),
    "Analytics", "1abc", "analytics-dev", "analytics dev", "analytics;drop",
]


def schema_rules():
    """(module, variable, regex) for each module variable that becomes the worker's DB_SCHEMA."""
    rules = []
    for main_tf in sorted(MODULES.glob("*/main.tf")):
        for variable in _SETS_DB_SCHEMA.findall(main_tf.read_text()):
            body = hcl.plain(hcl.blocks(hcl.load(main_tf.parent / "variables.tf"), "variable")[variable])
            conditions = [v["condition"] for v in body.get("validation", [])]
            patterns = [m.group(1) for c in conditions for m in _REGEX_CONDITION.finditer(c) if m.group(2) == variable]
            rules.append((main_tf.parent.name, variable, patterns))
    return rules


def worker_accepts(schema):
    try:
        settings_from_env({"DB_URL": "postgresql://db.internal/analytics", "DB_SCHEMA": schema})
    except SettingsError:
        return False
    return True


def test_terraform_and_the_worker_allow_the_same_schema_names():
    rules = schema_rules()
    assert rules, "no module sets the worker's DB_SCHEMA from a variable: update this test to find it"
    for module, variable, patterns in rules:
        assert patterns, f"modules/{module}: variable {variable} (the worker's DB_SCHEMA) has no regex validation"
        for name in SAMPLE_NAMES:
            terraform_accepts = all(re.fullmatch(pattern.replace("\\\\", "\\"), name) for pattern in patterns)
            assert terraform_accepts == worker_accepts(name), (
                f"modules/{module} var.{variable} {'accepts' if terraform_accepts else 'refuses'} {name!r} "
                f"({len(name)} bytes) but the worker's settings {'accept' if worker_accepts(name) else 'refuse'} it"
            )


@pytest.mark.parametrize("pattern", [r"^[a-z_][a-z0-9_]{0,55}$", r"^[a-z][a-z0-9_]{0,62}$"])
def test_the_comparison_notices_a_disagreement(pattern):
    # A Terraform rule 7 bytes shorter, or one refusing a leading underscore, is caught by some sample
    assert any(bool(re.fullmatch(pattern, name)) != worker_accepts(name) for name in SAMPLE_NAMES)
