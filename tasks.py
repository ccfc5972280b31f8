"""Operator tasks: `inv --list` shows them all. The work lives in the `ops` package."""
from invoke import task

from ops import testing


@task(help={"func": "Run only the tests of this function (analytics_worker, analytics_consumer)."})
def test(c, func=None):
    """Run the test suite (all of it, or one function's tests)."""
    testing.run_tests(c, func)
