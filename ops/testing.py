"""`inv test`: pytest over the whole suite or one function's tests."""
from invoke import Exit

from ops.functions import checked_name


def run_tests(c, func=None):
    target = "" if func is None else f"tests/{checked_name(func)}"
    result = c.run(f"python -m pytest {target}", pty=False, warn=True)
    # pytest exits 5 when it collected nothing: treat that as a failure too.
    if result.exited != 0:
        raise Exit(code=result.exited)
