"""tests/docs: print how many documented command blocks were run and how many are marked as needing something."""
from doc_blocks import documents, summary


def pytest_terminal_summary(terminalreporter):
    found, run, aws, other = summary()
    terminalreporter.write_line(
        f"docs: {len(found)} command blocks in {len(documents())} documents: {len(run)} run against a local stack, "
        f"{len(aws)} marked as needing AWS, {len(other)} needing something else "
        "(`python tests/docs/doc_blocks.py` lists them)"
    )
