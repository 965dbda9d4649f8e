"""The course's code, tests and notebooks pass ruff (configured in pyproject.toml)."""

import subprocess

from nbtools import BIN, ROOT


def test_ruff_is_clean():
    targets = ["dlcourse", "coursegrade", "tests", "benchmarks", "solutions", "notebooks", "nbgrader_config.py"]
    result = subprocess.run([str(BIN / "ruff"), "check", *targets], cwd=ROOT, capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr
