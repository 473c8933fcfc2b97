"""docs/embedding.md's plugin runs as written: extracted from the page, run on a site, it
writes a PDF of every post and returns the diagnostics it printed."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from helpers import CORPUS, make_png, needs_tex, pdf_image_count, pdf_text

import md2tex

DOC = Path(__file__).resolve().parents[1] / "docs" / "embedding.md"
#: a corpus site with few posts and its md2tex settings
CORPUS_SITE = CORPUS / "jekyll" / "karpathy__karpathy.github.io"


def plugin() -> Callable[..., list[md2tex.Diagnostic]]:
    """``build_pdfs`` from the page's first Python block."""
    blocks = re.findall(r"```python\n(.*?)```", DOC.read_text(encoding="utf-8"), re.S)
    assert blocks and "def build_pdfs" in blocks[0]
    assert len(blocks[0].strip().splitlines()) <= 28  # "a plugin in twenty lines"
    namespace: dict[str, Any] = {}
    exec(compile(blocks[0], str(DOC), "exec"), namespace)
    build: Callable[..., list[md2tex.Diagnostic]] = namespace["build_pdfs"]
    return build


def _own_site(root: Path) -> Path:
    (root / "_posts").mkdir(parents=True)
    (root / "_config.yml").write_text("title: Own site\n", encoding="utf-8")
    make_png(root / "assets" / "dot.png")
    (root / "_posts" / "2024-05-01-first.md").write_text(
        "---\ntitle: First\n---\n\nEuler: $e^{i\\pi} + 1 = 0$.\n\n![Dot](/assets/dot.png)\n",
        encoding="utf-8")
    (root / "_posts" / "2024-05-02-second.md").write_text(
        "---\ntitle: Second\n---\n\nA missing picture: ![gone](/assets/gone.png)\n\n"
        "Last line of the second post.\n", encoding="utf-8")
    return root


@needs_tex
def test_the_plugin_on_a_small_site(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    problems = plugin()(_own_site(tmp_path / "site"), tmp_path / "pdf")
    first, second = tmp_path / "pdf" / "2024-05-01-first.pdf", tmp_path / "pdf" / \
        "2024-05-02-second.pdf"
    assert pdf_image_count(first) == 1 and "Euler" in pdf_text(first)
    assert "Last line of the second post" in pdf_text(second)
    assert [(Path(d.path).name, d.line, d.code) for d in problems] == [
        ("2024-05-02-second.md", 5, "image-missing")]
    assert "2024-05-02-second.md:5" in capsys.readouterr().out


@needs_tex
@pytest.mark.slow
@pytest.mark.skipif(not CORPUS_SITE.is_dir(), reason=f"shared corpus not present at {CORPUS}")
def test_the_plugin_on_a_corpus_site(tmp_path: Path) -> None:
    config = CORPUS_SITE.parent / f"{CORPUS_SITE.name}.md2tex.yaml"
    problems = plugin()(CORPUS_SITE, tmp_path / "pdf", config)
    posts = sorted(p for p in CORPUS_SITE.iterdir() if p.suffix in (".md", ".markdown"))
    made = sorted(p.stem for p in (tmp_path / "pdf").glob("*.pdf"))
    assert len(posts) > 2 and made == [p.stem for p in posts]
    assert all(d.severity is not md2tex.Severity.ERROR for d in problems), problems
    for pdf in (tmp_path / "pdf").glob("*.pdf"):
        assert len(pdf_text(pdf)) > 1000, pdf
