"""Shared fixtures. PDFs are compiled once per session and shared by the tests that read them."""

from __future__ import annotations

import os
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import pytest
from helpers import (
    HAVE_PDFLATEX,
    HAVE_POPPLER,
    build,
    case_names,
    convert_case,
    pdf_text,
    prepare_case_dir,
)

import md2tex

try:
    from hypothesis import settings as _hypothesis_settings

    # CI (CI=true) replays the same examples every run: a property test that finds a bug
    # finds it on a developer's machine (random examples), not as a flaky CI result
    _hypothesis_settings.register_profile("ci", derandomize=True, print_blob=True)
    if os.environ.get("CI"):
        _hypothesis_settings.load_profile("ci")
except ImportError:  # pragma: no cover - hypothesis is a test dependency
    pass


@pytest.fixture()
def format_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A private user cache for the test; the folder where md2tex keeps its TeX formats."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    return tmp_path / "xdg" / "md2tex" / "formats"


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "slow: takes more than a few seconds (still run by "
                            "default; deselect with -m 'not slow')")


@dataclass(frozen=True)
class BuiltCase:
    name: str
    doc: md2tex.Document
    pdf: Path
    text: str


@pytest.fixture(scope="session")
def case_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Where the golden cases are converted: holds the images they refer to."""
    return prepare_case_dir(tmp_path_factory.mktemp("cases"))


@pytest.fixture(scope="session")
def built_cases(case_dir: Path) -> Iterator[dict[str, BuiltCase]]:
    """Every ``tests/cases/*.md`` typeset once with pdflatex (in parallel) and read back."""
    if not (HAVE_PDFLATEX and HAVE_POPPLER):
        pytest.skip("needs pdflatex (TeX Live) and poppler-utils")
    out = case_dir / "pdf"
    out.mkdir(exist_ok=True)

    def one(name: str) -> BuiltCase:
        doc = convert_case(name, case_dir)
        pdf = build(doc, out / f"{name}.pdf")
        return BuiltCase(name, doc, pdf, pdf_text(pdf))

    with ThreadPoolExecutor(max_workers=max(2, os.cpu_count() or 2)) as pool:
        built = {b.name: b for b in pool.map(one, case_names())}
    yield built
