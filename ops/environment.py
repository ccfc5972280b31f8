"""The project's Python environment: a task that needs a pipenv category's packages says how to get them."""
import importlib.metadata
import tomllib

from invoke import Exit

from ops.functions import ROOT

SYNC = 'pipenv sync --categories="dev-packages analytics_worker"'


def missing(category, pipfile=ROOT / "Pipfile"):
    """The packages of the Pipfile's [category] that are not installed in this environment."""
    names = tomllib.loads(pipfile.read_text()).get(category, {})
    absent = []
    for name in names:
        try:
            importlib.metadata.distribution(name)
        except importlib.metadata.PackageNotFoundError:
            absent.append(name)
    return absent


def require(category="analytics_worker", pipfile=ROOT / "Pipfile"):
    absent = missing(category, pipfile)
    if absent:
        raise Exit(
            f"{', '.join(absent)} not installed in this environment (Pipfile category [{category}]): "
            f"run `{SYNC}` (line 1 of the README's Quickstart does)."
        )
