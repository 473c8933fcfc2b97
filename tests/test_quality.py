"""The code stays type-checked (mypy --strict) and lint-clean (ruff): part of the suite."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def _run(*cmd: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=300)


def test_mypy_strict() -> None:
    pytest.importorskip("mypy")
    result = _run(sys.executable, "-m", "mypy")
    assert result.returncode == 0, result.stdout + result.stderr


def test_ruff() -> None:
    beside = Path(sys.executable).parent / "ruff"  # a virtual environment's, not on PATH
    ruff = str(beside) if beside.is_file() else shutil.which("ruff")
    if ruff is None:
        pytest.skip("ruff is not installed")
    result = _run(ruff, "check", "md2tex", "tests", "benchmarks")
    assert result.returncode == 0, result.stdout + result.stderr
