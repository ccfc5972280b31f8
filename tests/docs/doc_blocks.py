"""The fenced code blocks of README.md and doc/*.md, as a reader pastes them (standard library only).

Shell blocks (```sh, ```bash, ```shell) and Python blocks (```python) are commands; every one of them
is run by tests/docs/test_doc_commands.py unless it is marked as needing something the test does
not have, either by a comment line inside the block or an HTML comment on the line(s) before it:

    # needs: aws (a deployed stage)          inside a shell or Python block
    <!-- needs: aws -->                      before the block

The Quickstart's two lines are extracted from here by tests/docs/quickstart.py, which .ci/run runs.

`python tests/docs/doc_blocks.py` prints the blocks: where they are, and which are run.
"""
import re
import sys
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SHELL = frozenset({"sh", "bash", "shell"})
PYTHON = frozenset({"python", "python3", "py"})
FENCE = re.compile(r"^(?P<indent> *)(?P<fence>```+|~~~+)\s*(?P<info>[^`]*)$")
NEEDS_IN_BLOCK = re.compile(r"^\s*#\s*needs:\s*(?P<what>.+?)\s*$", re.IGNORECASE)
NEEDS_BEFORE = re.compile(r"^\s*<!--\s*needs:\s*(?P<what>.+?)\s*-->\s*$", re.IGNORECASE)


@dataclass(frozen=True)
class Block:
    path: Path
    line: int  # 1-based line of the opening fence
    language: str
    text: str
    needs: str  # "" when the test runs it

    @property
    def where(self):
        return f"{self.path.relative_to(ROOT)}:{self.line}"

    @property
    def is_command(self):
        return self.language in SHELL or self.language in PYTHON

    @property
    def runs(self):
        return self.is_command and not self.needs

    @property
    def needs_aws(self):
        return self.needs.lower().startswith("aws")


def documents(root=ROOT):
    """README.md and every doc/*.md, in a stable order."""
    return [root / "README.md", *sorted((root / "doc").glob("*.md"))]


def blocks(path):
    """Every fenced block of a Markdown file."""
    lines = Path(path).read_text(encoding="utf-8").splitlines()
    found, index = [], 0
    while index < len(lines):
        opening = FENCE.match(lines[index])
        if not opening:
            index += 1
            continue
        fence, indent = opening["fence"], len(opening["indent"])
        language = (opening["info"].split() or [""])[0].lower()
        body, end = [], index + 1
        while end < len(lines) and not re.match(rf"^ {{0,{indent + 3}}}{re.escape(fence)}\s*$", lines[end]):
            body.append(lines[end][indent:] if lines[end][:indent].strip() == "" else lines[end])
            end += 1
        needs = _marked_before(lines, index) or next(
            (m["what"] for m in map(NEEDS_IN_BLOCK.match, body) if m), ""
        )
        found.append(Block(Path(path), index + 1, language, "\n".join(body) + "\n", needs))
        index = end + 1
    return found


def _marked_before(lines, index):
    """The `<!-- needs: ... -->` on the lines just above a fence (blank lines between are allowed)."""
    above = index - 1
    while above >= 0 and not lines[above].strip():
        above -= 1
    marked = NEEDS_BEFORE.match(lines[above]) if above >= 0 else None
    return marked["what"] if marked else ""


def command_blocks(paths=None):
    return [block for path in (paths or documents()) for block in blocks(path) if block.is_command]


def quickstart_lines(readme=ROOT / "README.md"):
    """The commands of the first shell block under the README's `## Quickstart` heading."""
    text = Path(readme).read_text(encoding="utf-8")
    section = re.search(r"^## Quickstart\s*$(?P<body>.*?)(?=^## |\Z)", text, re.MULTILINE | re.DOTALL)
    if not section:
        raise SystemExit(f"{readme} has no `## Quickstart` section")
    start = text[: section.start("body")].count("\n")
    for block in blocks(readme):
        if block.line > start and block.language in SHELL:
            commands = [line for line in block.text.splitlines() if line.strip() and not line.lstrip().startswith("#")]
            return commands
    raise SystemExit(f"{readme}: no shell block under `## Quickstart`")


def summary(paths=None):
    found = command_blocks(paths)
    run = [b for b in found if b.runs]
    aws = [b for b in found if b.needs_aws]
    other = [b for b in found if b.needs and not b.needs_aws]
    return found, run, aws, other


def main():
    found, run, aws, other = summary()
    for block in found:
        state = "run" if block.runs else f"needs {block.needs}"
        first = next((line for line in block.text.splitlines() if line.strip()), "")
        print(f"{block.where:28} {block.language:7} {state[:40]:40} {first[:70]}")
    print(
        f"\n{len(found)} command blocks in {len(documents())} documents: {len(run)} run by tests/docs, "
        f"{len(aws)} marked as needing AWS, {len(other)} needing something else"
    )


if __name__ == "__main__":
    sys.exit(main())
