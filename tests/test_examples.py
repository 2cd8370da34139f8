"""The Python examples run against the installed package and print what they promise."""

import subprocess
import sys

import pytest

from conftest import ROOT


@pytest.mark.parametrize(
    "example, expected",
    [
        ("jobs_and_workflows.py", "third = 18446744073709551616 (2**64 = 18446744073709551616)"),
        ("asyncio_service.py", "job 1: notified ada"),
        ("quickstart.py", "charge failed: RateLimitError"),
    ],
)
def test_an_example_runs(example, expected):
    result = subprocess.run([sys.executable, str(ROOT / "examples" / example)], capture_output=True, text=True, timeout=120, cwd=ROOT)
    assert result.returncode == 0, result.stderr
    assert expected in result.stdout
