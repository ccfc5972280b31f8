"""`inv test`: pytest over the whole suite or one function's tests."""
from invoke import Exit

from ops.functions import FUNCTIONS


def run_tests(c, func=None):
    if func is None:
        target = ""
    elif func in FUNCTIONS:
        target = f"tests/{func}"
    else:
        raise Exit(f"Unknown function {func!r}: choose one of {', '.join(FUNCTIONS)}.")
    result = c.run(f"python -m pytest {target}", pty=False, warn=True)
    # pytest exits 5 when it collected nothing: treat that as a failure too.
    if result.exited != 0:
        raise Exit(code=result.exited)
