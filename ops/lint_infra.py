"""`inv lint-infra`: checkov over infrastructure/ in its own virtual environment.

checkov pulls in about 290 MB of dependencies whose pins clash with the
project's, so it lives in `.venv-checkov/` (git-ignored), made on first use
from the pinned `ops/checkov-requirements.txt`. Its settings are in
`.checkov.yaml` at the repository root; deliberate exceptions are inline
`#checkov:skip=CKV_...:reason` comments next to the resource they concern.
"""
import os
import re
import sys
from pathlib import Path

from invoke import Exit

ROOT = Path(__file__).resolve().parent.parent
VENV = ROOT / ".venv-checkov"
REQUIREMENTS = ROOT / "ops" / "checkov-requirements.txt"
CONFIG = ROOT / ".checkov.yaml"
TARGET = ROOT / "infrastructure"
STAMP = VENV / ".requirements-installed"


def _bin(name):
    sub = "Scripts" if os.name == "nt" else "bin"
    suffix = ".exe" if os.name == "nt" else ""
    return VENV / sub / f"{name}{suffix}"


def ensure_checkov(c):
    """Create .venv-checkov/ and install the pinned checkov unless it is already there."""
    wanted = REQUIREMENTS.read_text()
    if STAMP.exists() and STAMP.read_text() == wanted and _bin("checkov").exists():
        return
    if not _bin("python").exists():
        print(f"Creating {VENV.name}/ for checkov (one time, about 290 MB)...", file=sys.stderr)
        result = c.run(f'"{sys.executable}" -m venv "{VENV}"', warn=True, pty=False)
        if result.exited != 0:
            raise Exit(
                f"Could not create {VENV}: `python3 -m venv` failed (on Debian/Ubuntu install "
                "the python3-venv package). Remove the folder and try again.",
                code=result.exited or 1,
            )
    print(f"Installing checkov from {REQUIREMENTS.relative_to(ROOT)}...", file=sys.stderr)
    result = c.run(
        f'"{_bin("python")}" -m pip install --quiet -r "{REQUIREMENTS}"', warn=True, pty=False
    )
    if result.exited != 0:
        raise Exit(
            f"Installing checkov into {VENV.name}/ failed (see pip's output above). "
            f"Check network access to the package index, or delete {VENV.name}/ and retry.",
            code=result.exited or 1,
        )
    STAMP.write_text(wanted)


def run(c):
    """Run checkov on infrastructure/ (framework terraform); fail on any failed check."""
    ensure_checkov(c)
    cmd = f'"{_bin("checkov")}" --config-file "{CONFIG}" --directory "{TARGET}"'
    result = c.run(cmd, warn=True, pty=False)
    if result.exited != 0:
        raise Exit(
            "checkov reported failed checks in infrastructure/ (listed above). Fix the resource, "
            "or, only where the design deliberately does not meet a check, skip it inline "
            "with `#checkov:skip=CKV_...:<reason>` inside that resource (at most 8 skips in all).",
            code=result.exited,
        )
    print(summary(result.stdout))


SKIP = re.compile(r"#\s*checkov:skip=(?P<check>[A-Z0-9_]+):")
COUNTS = re.compile(r"Passed checks: (?P<passed>\d+), Failed checks: (?P<failed>\d+), Skipped checks: (?P<skipped>\d+)")


def skip_reasons(target=TARGET):
    """The check ids of the inline `#checkov:skip=` comments under infrastructure/, one per deliberate exception."""
    return sorted({m["check"] for path in Path(target).rglob("*.tf") for m in SKIP.finditer(path.read_text())})


def summary(checkov_output, target=TARGET):
    """The closing lines: checkov's skipped checks are the skip reasons applied to every resource they cover."""
    counts = [match.groupdict() for match in COUNTS.finditer(checkov_output)]
    passed, skipped = (sum(int(c[key]) for c in counts) for key in ("passed", "skipped"))
    reasons = skip_reasons(target)
    return (
        f"checkov: no failed checks in infrastructure/ ({passed} passed). Its {skipped} skipped checks come from "
        f"{len(reasons)} skip reasons (inline `#checkov:skip` comments),\n"
        f"each applied to several resources (a module's resource once for every stage that uses it): {', '.join(reasons)}."
    )
