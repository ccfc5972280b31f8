"""Every link and citation in the user-facing text resolves inside a clone of this repository."""
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SCANNED = ["README.md", "doc", "functions", "ops", "infrastructure", "collector", "tasks.py", "invoke.yaml"]
TEXT_SUFFIXES = {".md", ".py", ".tf", ".yaml", ".yml", ".js", ".html", ".json", ".mmd", ".dot", ".sample"}
MARKDOWN_LINK = re.compile(r"\]\(([^)#\s]+)(?:#[^)]*)?\)")


def scanned_files():
    for name in SCANNED:
        path = ROOT / name
        if path.is_file():
            yield path
        elif path.is_dir():
            for file in sorted(path.rglob("*")):
                if file.is_file() and file.suffix in TEXT_SUFFIXES and not {".terraform", "node_modules"} & set(file.parts):
                    yield file


FILES = list(scanned_files())


@pytest.mark.parametrize("path", FILES, ids=lambda p: str(p.relative_to(ROOT)))
def test_nothing_points_outside_the_repository(path):
    # GIVEN a file a user reads or runs  WHEN we look for the team's workspace folder
    text = path.read_text(errors="replace")
    # THEN it is not cited: a user's clone has no ../shared beside it
    assert "../shared" not in text, f"{path.relative_to(ROOT)} cites ../shared, which a clone does not have"


@pytest.mark.parametrize("path", [p for p in FILES if p.suffix == ".md"], ids=lambda p: str(p.relative_to(ROOT)))
def test_relative_markdown_links_resolve(path):
    # GIVEN a Markdown page  WHEN we follow each relative link  THEN the target exists in the clone
    broken = []
    for target in MARKDOWN_LINK.findall(path.read_text()):
        if re.match(r"^[a-z]+:", target):
            continue  # http:, https:, mailto:
        if not (path.parent / target).resolve().exists():
            broken.append(target)
    assert not broken, f"{path.relative_to(ROOT)} links to missing files: {broken}"
