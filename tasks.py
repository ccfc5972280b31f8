"""Operator tasks: `inv --list` shows them all. The work lives in the `ops` package."""
from invoke import task

from ops import testing
from ops import lint_infra as lint_infra_module


@task(help={"func": "Run only the tests of this function (analytics_worker, analytics_consumer)."})
def test(c, func=None):
    """Run the test suite (all of it, or one function's tests)."""
    testing.run_tests(c, func)


@task
def lint_infra(c):
    """Run checkov on infrastructure/ in its own virtual environment (zero failed checks)."""
    lint_infra_module.run(c)
