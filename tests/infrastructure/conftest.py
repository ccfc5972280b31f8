"""Fixtures of the offline Terraform checks (see hcl_checks.py)."""
import pytest

import hcl_checks


@pytest.fixture(scope="session")
def schemas():
    """The provider schemas; the test skips, saying where to get them, when they are absent."""
    try:
        directory = hcl_checks.find_schemas()
    except hcl_checks.SchemasNotFound as missing:
        pytest.skip(str(missing))
    return hcl_checks.Schemas.load(directory)
