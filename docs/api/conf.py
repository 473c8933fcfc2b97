"""Sphinx configuration of md2tex's API reference (``python -m sphinx -W -b html docs/api
OUT``): every page is made from the package's docstrings."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

project = "md2tex"
author = "md2tex authors"
extensions = ["sphinx.ext.autodoc"]
autodoc_member_order = "bysource"
autodoc_typehints = "signature"
autodoc_default_options = {"members": True, "undoc-members": False}
html_theme = "alabaster"
exclude_patterns: list[str] = []
