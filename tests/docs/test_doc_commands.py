"""Every command of README.md and doc/*.md that needs no AWS account works as written.

The shell and Python blocks of each document are pasted, in order, into one bash session at the
repository root, inside the project's environment (as after the README's Quickstart), while
`inv local` runs: a doc that drifts from the code fails here. A block that needs something this
cannot give (an AWS account, a deployed stage) is marked `# needs: ...` (see doc_blocks.py).

Two things differ from a reader's machine, both so that tests can run side by side: the stack
listens on free ports (moto's replaces the documented 4566 in the blocks), and it keeps its
files in a temporary folder, whose stack.json the tasks read (ANALYTICS_OUTPUTS_FILE) instead
of .local/stack.json.
"""
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import psycopg2
import pytest

from doc_blocks import PYTHON, ROOT, documents, blocks, summary
from ops.local_stack.postgres import free_port

DOCUMENTED_PORT = "4566"
BLOCK_TIMEOUT = 300  # seconds for all blocks of one document


def reader_environment():
    """A shell inside the project's environment: its bin folder first, no AWS or database settings of the caller."""
    environment = {k: v for k, v in os.environ.items() if not k.startswith("AWS_") and k != "DATABASE_URL"}
    bin_dir = Path(sys.executable).parent
    environment.update(
        PATH=f"{bin_dir}{os.pathsep}{environment.get('PATH', '')}",
        VIRTUAL_ENV=sys.prefix,
        PYTHONUNBUFFERED="1",
    )
    return environment


@pytest.fixture(scope="module")
def local_stack(tmp_path_factory):
    """`inv local` on free ports (moto, Postgres, collector), its files in a temporary folder; Ctrl-C afterwards."""
    folder = tmp_path_factory.mktemp("docs-local")
    port = free_port()
    environment = {**reader_environment(), "ANALYTICS_LOCAL_DIR": str(folder)}
    log = open(folder / "local.log", "w+")
    process = subprocess.Popen(
        [sys.executable, "-m", "invoke", "local", "--port", str(port), "--db-port", "0", "--every", "1"],
        cwd=ROOT, env=environment, stdout=log, stderr=subprocess.STDOUT,
    )
    stack_file = folder / "stack.json"
    deadline = time.monotonic() + 120
    while not stack_file.exists():
        if process.poll() is not None or time.monotonic() > deadline:
            log.seek(0)
            pytest.fail(f"`inv local` did not start:\n{log.read()}")
        time.sleep(0.2)
    yield {"port": port, "stack_file": stack_file, "environment": environment}
    process.send_signal(signal.SIGINT)
    try:
        process.wait(timeout=60)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def script(document, port):
    """The document's runnable blocks as one bash session; a failure names its block."""
    parts = ['set -eo pipefail', 'trap \'echo "doc block failed: $DOC_BLOCK (exit $?)" >&2\' ERR']
    for block in blocks(document):
        if not block.runs:
            continue
        text = re.sub(rf"\b{DOCUMENTED_PORT}\b", str(port), block.text)
        parts.append(f"DOC_BLOCK={block.where}")
        if block.language in PYTHON:
            parts.append(f"python - <<'DOC_PYTHON_BLOCK'\n{text}DOC_PYTHON_BLOCK")
        else:
            parts.append(text)
    return "\n".join(parts) + "\n"


def run_document(document, local_stack):
    environment = {**local_stack["environment"], "ANALYTICS_OUTPUTS_FILE": str(local_stack["stack_file"])}
    environment.pop("ANALYTICS_LOCAL_DIR")  # the blocks see the stack only as a reader does, through its stage
    return subprocess.run(
        ["bash", "-c", script(document, local_stack["port"])],
        cwd=ROOT, env=environment, capture_output=True, text=True, timeout=BLOCK_TIMEOUT,
    )


def failure(result):
    """The failed block first, then the tails of what the session printed."""
    failed = [line for line in result.stderr.splitlines() if line.startswith("doc block failed:")]
    return (
        f"{failed[-1] if failed else f'the session ended with exit {result.returncode}'}\n"
        f"--- stderr (end) ---\n{result.stderr[-3000:]}\n--- stdout (end) ---\n{result.stdout[-1500:]}"
    )


DOCUMENTS_WITH_COMMANDS = [path for path in documents() if any(block.runs for block in blocks(path))]


@pytest.mark.parametrize("document", DOCUMENTS_WITH_COMMANDS, ids=lambda path: str(path.relative_to(ROOT)))
def test_every_documented_command_works_as_written(document, local_stack):
    # GIVEN a running local stack and the document's blocks that need no AWS account
    # WHEN they are pasted, in order, into one shell at the repository root
    result = run_document(document, local_stack)
    # THEN every command succeeds
    assert result.returncode == 0, failure(result)


def test_the_readme_producer_examples_reach_the_database(local_stack):
    # GIVEN the README's blocks were run (the AWS CLI and boto3 examples publish e-1 and e-2)
    readme = ROOT / "README.md"
    result = run_document(readme, local_stack)
    assert result.returncode == 0, failure(result)
    # WHEN the stack's consumer runs (every second)
    import json

    url = json.loads(local_stack["stack_file"].read_text())["admin_database_url"]
    deadline, stored = time.monotonic() + 30, set()
    while time.monotonic() < deadline and stored != {"e-1", "e-2"}:
        with psycopg2.connect(url) as connection, connection.cursor() as cursor:
            cursor.execute("SELECT event_id FROM analytics_local.events WHERE event_id IN ('e-1', 'e-2')")
            stored = {row[0] for row in cursor.fetchall()}
        connection.close()
        time.sleep(0.5)
    # THEN both documented events are rows of analytics_local.events
    assert stored == {"e-1", "e-2"}


def test_every_command_block_is_run_or_says_what_it_needs():
    # GIVEN the command blocks of README.md and doc/*.md
    found, run, aws, other = summary()
    # THEN most are run here, and the others name what they need (an AWS account or another reason)
    assert run, "no documented command is checked"
    assert all(block.runs or block.needs for block in found)
    assert len(found) == len(run) + len(aws) + len(other)
