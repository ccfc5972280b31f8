"""How much a failed task says: one or two lines that say what to do; the full detail with ANALYTICS_VERBOSE=1."""
import os

VARIABLE = "ANALYTICS_VERBOSE"


def enabled():
    return os.environ.get(VARIABLE, "").strip().lower() not in ("", "0", "false", "no")


def detail(text, what):
    """What to append to a failure message: the full `text` when verbose, else how to see `what`."""
    if enabled():
        return f"\n--- {what} ---\n{text.strip()}"
    return f"\n({VARIABLE}=1 shows {what}.)"
