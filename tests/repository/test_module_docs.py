"""`inv docs`: module READMEs' Inputs/Outputs tables are generated from variables.tf / outputs.tf."""
import shutil

import pytest

from ops import module_docs


def test_regenerating_every_module_readme_changes_nothing():
    # GIVEN the committed module READMEs  WHEN `inv docs --check` regenerates their tables
    stale = module_docs.regenerate(check=True)
    # THEN none differs: the tables were generated, not retyped
    assert not stale, f"run `inv docs`: {[str(module_docs.relative(p)) for p in stale]}"


@pytest.fixture
def copied_module(tmp_path):
    source = module_docs.MODULES_DIR / "messaging"
    target = tmp_path / "messaging"
    shutil.copytree(source, target, ignore=shutil.ignore_patterns(".terraform*"))
    return target


def test_a_new_variable_appears_in_the_generated_table(copied_module):
    # GIVEN a module with a new, described variable
    with open(copied_module / "variables.tf", "a") as handle:
        handle.write('\nvariable "retention_hours" {\n  description = "How long to keep it, in hours (1..24)."\n  type        = number\n  default     = 6\n}\n')
    # WHEN its README is regenerated
    changed = module_docs.regenerate(modules=[copied_module])
    # THEN the README changed and its table holds the new row, once
    text = (copied_module / "README.md").read_text()
    assert changed == [copied_module / "README.md"]
    assert text.count("| `retention_hours` | `number` | `6` | How long to keep it, in hours (1..24). |") == 1
    assert module_docs.regenerate(check=True, modules=[copied_module]) == []


def test_a_variable_without_a_description_fails(copied_module):
    # GIVEN a variable added without a description
    with open(copied_module / "variables.tf", "a") as handle:
        handle.write('\nvariable "undocumented" {\n  type = string\n}\n')
    # WHEN the docs are regenerated  THEN it fails, naming the file and the variable
    with pytest.raises(module_docs.MissingDescription, match=r"variables.tf: variable 'undocumented' has no description"):
        module_docs.regenerate(modules=[copied_module])
