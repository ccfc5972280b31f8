import pytest
from invoke import Config, Context

from ops.functions import ROOT


@pytest.fixture
def ctx():
    """An invoke Context with the project's invoke.yaml, as `inv` builds it."""
    config = Config(project_location=str(ROOT))
    config.load_project()
    return Context(config=config)
