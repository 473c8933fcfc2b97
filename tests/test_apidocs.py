"""The API reference is generated from the docstrings (``docs/api``, Sphinx autodoc) and
builds with warnings as errors, as CI builds it; every public name is in it."""

from __future__ import annotations

import html
import re
import subprocess
import sys
from pathlib import Path

import pytest

import md2tex

pytest.importorskip("sphinx", reason="sphinx is not installed (pip install 'md2tex[test]')")

DOCS = Path(__file__).resolve().parents[1] / "docs" / "api"


def test_the_api_reference_builds_without_warnings(tmp_path: Path) -> None:
    proc = subprocess.run([sys.executable, "-m", "sphinx", "-W", "--keep-going", "-q",
                           "-b", "html", "-d", str(tmp_path / "doctrees"), str(DOCS),
                           str(tmp_path / "html")], capture_output=True, text=True,
                          timeout=600)
    assert proc.returncode == 0, proc.stderr
    page = html.unescape(re.sub(r"<[^>]+>", "", (tmp_path / "html" / "index.html")
                                .read_text(encoding="utf-8")))
    missing = [name for name in md2tex.__all__ if name != "__version__"
               and f"md2tex.{name}" not in page]
    assert missing == []
    # what the docstrings say reaches the page; what is internal does not
    assert "Without output, return the PDF" in page
    assert "cli_keys" not in page and "posts:" not in page
