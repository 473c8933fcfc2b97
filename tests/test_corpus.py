"""The corpus target: every site of ../shared/corpus/jekyll/, built as its README says
(``md2tex batch SITE -o OUT --config SITE.md2tex.yaml``, through the library's
``load_site_config`` + ``convert_many``): at least 99% of the posts become PDFs, no post is
refused because of math (a formula TeX cannot typeset costs that formula, not the post), and
every failure names a Markdown line.

Slow (several minutes on 2 cores: mostly xelatex for the CJK posts), so opt-in:
``MD2TEX_CORPUS=1 python -m pytest tests/test_corpus.py -s``. Prints the per-site table.
"""

from __future__ import annotations

import os
import shutil
import time
from pathlib import Path

import pytest
from helpers import CORPUS

from md2tex.site.batch import convert_many, find_posts
from md2tex.site.config import load_site_config

JEKYLL = CORPUS / "jekyll"
TARGET = 0.99

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(os.environ.get("MD2TEX_CORPUS") != "1",
                       reason="corpus run takes several minutes: set MD2TEX_CORPUS=1"),
    pytest.mark.skipif(not JEKYLL.is_dir(), reason="shared corpus folder is absent"),
    pytest.mark.skipif(not (shutil.which("pdflatex") and shutil.which("xelatex")),
                       reason="needs pdflatex and xelatex"),
]


def sites() -> list[Path]:
    return sorted(p for p in JEKYLL.iterdir() if p.is_dir())


def test_corpus_success_rate(tmp_path: Path) -> None:
    started = time.monotonic()
    rows: list[tuple[str, int, int, int]] = []
    failures: list[str] = []
    refused_for_math: list[str] = []
    for site in sites():
        config = load_site_config(site, JEKYLL / f"{site.name}.md2tex.yaml")
        root, posts = find_posts(site)
        report = convert_many(posts, tmp_path / site.name, config.apply(), root=root,
                              jobs=2)
        failed = [r for r in report.results if r.status == "failed"]
        rows.append((site.name, len(posts), len(posts) - len(failed), len(failed)))
        for result in failed:
            errors = [d for d in result.diagnostics if d.severity.value == "error"]
            failures.append(f"{result.path}: " + "; ".join(
                f"{d.line}: [{d.code}] {d.message[:100]}" for d in errors[:2]))
            if any(d.code.startswith(("math-", "mathjax-")) for d in errors):
                refused_for_math.append(failures[-1])
            assert any(d.line is not None for d in errors), failures[-1]
    elapsed = time.monotonic() - started

    print(f"\n{'site':50} posts  PDFs  failed   ({elapsed:.0f} s)")
    for name, total, ok, bad in rows:
        print(f"{name:50} {total:5} {ok:5} {bad:7}")
    total = sum(r[1] for r in rows)
    ok = sum(r[2] for r in rows)
    print(f"{'total':50} {total:5} {ok:5} {total - ok:7}   ({ok / total:.1%})")
    for line in failures:
        print("  ", line)
    assert len(rows) >= 14
    assert not refused_for_math, refused_for_math
    assert ok / total >= TARGET, failures
