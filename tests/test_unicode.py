# ruff: noqa: RUF001 - these tests are about non-ASCII text
"""Unicode under pdflatex (Latin, Greek, symbols, arrows, sub/superscripts; an emoji is a
placeholder there) and under xelatex (emoji from the symbol font); CJK posts and posts with
emoji switch to xelatex unless the user chose the engine. Real PDFs, read back."""

from __future__ import annotations

import shutil
import unicodedata
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from helpers import HAVE_POPPLER, SAMPLES, pdf_text

import md2tex
from md2tex.escape import escape_text, unicode_char

LATIN = ("---\ntitle: Ünïcödé in prose\n---\n"
         "Café, Łódź, Ångström, Dvořák, straße, œuvre. Greek α β Γ Ω in text; "
         "arrows → ⇒ ↔; relations ≤ ≠ ≈ ∞ ∈; H₂O and x² and 10⁴; ½ € © ™ …; "
         "math italic 𝜙 and a tick ✓; tree └── leaf; an emoji 😀 stays visible.\n\n"
         "```\n└── code box ─ │\n```\n")
CJK = "---\ntitle: 中文标题\n---\n中文段落，含有 English 与 α。\n"

pytestmark = pytest.mark.skipif(
    not (HAVE_POPPLER and shutil.which("pdflatex") and shutil.which("xelatex")),
    reason="needs pdflatex, xelatex and poppler-utils")


def test_unicode_char_coverage() -> None:
    for ch in "éŁřÅαΓ→⇒≤≠∞∈₂²⁴½€©™…𝜙✓└":
        assert unicode_char(ch) is not None, ch
    assert unicode_char("😀") is None
    assert "\\mdmissingchar{U+1F600}" in escape_text("😀")
    assert escape_text("😀", unicode=True) == "😀"
    assert escape_text("中文", unicode=True) == "中文"


def test_engine_choice() -> None:
    assert md2tex.convert(CJK).engine == "xelatex"
    assert md2tex.convert(LATIN).engine == "xelatex"  # the emoji and the box drawing
    assert md2tex.convert("Café, α, → and ≤.\n").engine == "pdflatex"
    forced = md2tex.Options(engine="lualatex", cli_keys=frozenset({"engine"}))
    assert md2tex.convert(CJK, forced).engine == "lualatex"
    assert md2tex.convert("---\nengine: pdflatex\n---\n" + CJK.split("---\n", 2)[2]).engine \
        == "pdflatex"


@pytest.fixture(scope="module")
def pdfs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    out = tmp_path_factory.mktemp("unicode")
    jobs = {
        "latin": (LATIN, md2tex.Options(engine="pdflatex", cli_keys=frozenset({"engine"}))),
        "latin-xe": (LATIN, md2tex.Options(engine="xelatex")),
        "cjk": (CJK, md2tex.Options()),
        "sample": ((SAMPLES / "2024-05-06-cjk-notes.md").read_text(encoding="utf-8"),
                   md2tex.Options()),
    }

    def build(name: str) -> tuple[str, str]:
        text, options = jobs[name]
        pdf = out / f"{name}.pdf"
        md2tex.build_pdf(md2tex.convert(text, options), pdf)
        return name, pdf_text(pdf)

    with ThreadPoolExecutor(2) as pool:
        return dict(pool.map(build, jobs))


def test_latin_greek_symbols_under_pdflatex(pdfs: dict[str, str]) -> None:
    text = unicodedata.normalize("NFKC", pdfs["latin"])
    for word in ("Café", "Łódź", "Ångström", "Dvořák", "Ünïcödé", "α", "Ω", "→", "≤", "∞",
                 "€", "U+1F600"):
        assert word in text, word
    assert "code box" in text


def test_greek_under_xelatex_has_glyphs(pdfs: dict[str, str]) -> None:
    text = pdfs["latin-xe"]
    for word in ("Café", "Łódź", "α β Γ Ω", "😀", "└── leaf"):
        assert word in text, word


def test_cjk_posts(pdfs: dict[str, str]) -> None:
    assert "中文标题" in pdfs["cjk"] and "中文段落" in pdfs["cjk"]
    sample = pdfs["sample"]
    for word in ("梯度下降笔记", "林小雨", "学习率", "代码里的中文注释", "这是一个脚注"):
        assert word in sample, word


def test_cjk_pdf_title_metadata(tmp_path: Path) -> None:
    doc = md2tex.convert(CJK)
    assert "pdftitle={中文标题}" in doc.tex
