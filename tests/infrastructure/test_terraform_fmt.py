"""`terraform fmt` agrees with the layout of every .tf file (where a terraform binary is installed)."""
import shutil
import subprocess
from pathlib import Path

import pytest

INFRASTRUCTURE = Path(__file__).resolve().parents[2] / "infrastructure"


@pytest.mark.skipif(shutil.which("terraform") is None, reason="no terraform binary on PATH: fmt not checked")
def test_terraform_fmt_finds_nothing_to_change():
    result = subprocess.run(
        ["terraform", "fmt", "-check", "-recursive", "-list=true", str(INFRASTRUCTURE)],
        capture_output=True, text=True,
    )
    assert result.returncode == 0, f"files terraform fmt would change:\n{result.stdout}"
