# ruff: noqa: RUF001 - these tests are about non-ASCII text
"""Every script a post uses is typeset (md2tex/scripts.py): Hangul, kana, Han, Greek,
Cyrillic, symbols and emoji, in body, headings, titles and code; characters no font has are
warnings at their Markdown line; a main script without a font is an error; Latin quotes stay
Latin under xeCJK. Self-written posts, built to real PDFs and read back with poppler."""

from __future__ import annotations

import re
import shutil
import subprocess
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from helpers import HAVE_POPPLER, pdf_text

import md2tex
from md2tex import scripts
from md2tex.diagnostics import BuildError

pytestmark = pytest.mark.skipif(
    not (HAVE_POPPLER and shutil.which("pdflatex") and shutil.which("xelatex")),
    reason="needs pdflatex, xelatex and poppler-utils")

FORCED_PDFLATEX = md2tex.Options(engine="pdflatex", cli_keys=frozenset({"engine"}))

KOREAN = """---
title: "한국어 제목 🎉"
---
# 머리말 😀 heading

정규화(regularization)란 모델이 과적합되지 않도록 하는 방법이다.

목록 ① 과 상자 ┌─┐ 그리고 화살표 → 와 체크 ✓, 수식 $x + 😀$.

```
print("코드 😀 └─┘")
```
"""
JAPANESE = "ひらがなとカタカナの文章です。漢字も少し。\n"
GREEK_CYRILLIC = "Greek words Καλημέρα κόσμε and Cyrillic words Привет мир.\n"
#: a private-use character on Markdown line 4 (no font has it)
PRIVATE_USE = "# Title\n\nA first paragraph.\nIts second line has \ue000 in it.\n"
PUNCT_LATIN = "It’s a “quoted” word — and more.\n"
PUNCT_CJK = "It’s a “quoted” word — 中文的句子。\n"


def _fonts(pdf: Path) -> str:
    return subprocess.run(["pdffonts", str(pdf)], capture_output=True, text=True,
                          check=True).stdout


def _word_widths(pdf: Path) -> dict[str, float]:
    """Width of each word ``pdftotext -bbox`` finds (the first of equal words)."""
    html = subprocess.run(["pdftotext", "-bbox", str(pdf), "-"], capture_output=True,
                          text=True, check=True).stdout
    out: dict[str, float] = {}
    for m in re.finditer(r'<word xMin="([\d.]+)" yMin="[\d.]+" xMax="([\d.]+)" '
                         r'yMax="[\d.]+">([^<]*)</word>', html):
        out.setdefault(m.group(3), float(m.group(2)) - float(m.group(1)))
    return out


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory,
          ) -> dict[str, tuple[Path, md2tex.Document, tuple[md2tex.Diagnostic, ...]]]:
    out = tmp_path_factory.mktemp("scripts")
    jobs = {
        "korean": (KOREAN, md2tex.Options()),
        "japanese": (JAPANESE, md2tex.Options()),
        "greek-pdflatex": (GREEK_CYRILLIC, FORCED_PDFLATEX),
        "greek-xelatex": (GREEK_CYRILLIC, md2tex.Options()),
        "private": (PRIVATE_USE, md2tex.Options(engine="xelatex")),
        "punct-latin": (PUNCT_LATIN, md2tex.Options(engine="xelatex")),
        "punct-cjk": (PUNCT_CJK, md2tex.Options()),
    }

    def build(name: str) -> tuple[str, tuple[Path, md2tex.Document,
                                             tuple[md2tex.Diagnostic, ...]]]:
        text, options = jobs[name]
        doc = md2tex.convert(text, options, path=f"{name}.md")
        pdf = out / f"{name}.pdf"
        result = md2tex.build_pdf(doc, pdf)
        return name, (pdf, doc, result.diagnostics)

    with ThreadPoolExecutor(2) as pool:
        return dict(pool.map(build, jobs))


def test_script_table_and_engine_choice() -> None:
    plan = scripts.plan("한국어 문장입니다. 정규화란 with ひらがな, 漢字, ①, 😀 and →")
    assert {"hangul", "kana", "han", "symbols", "emoji", "arrows", "latin"} <= plan.names
    assert plan.main == "hangul" and plan.needs == scripts.CJK
    assert plan.cjk is not None and plan.cjk.cjk == "KR"
    assert scripts.plan("ひらがなと漢字").cjk.cjk == "JP"  # type: ignore[union-attr]
    assert scripts.plan("Café α → ≤").needs == scripts.ANY
    assert scripts.plan("Greek words Καλημέρα").needs == scripts.UNICODE
    assert md2tex.convert("Café, α → β.\n").engine == "pdflatex"
    for text, code in (("한국어 문장.\n", "engine-cjk"), ("Привет.\n", "engine-scripts"),
                       ("An emoji 😀.\n", "engine-scripts"), ("Circled ①.\n", "engine-scripts")):
        doc = md2tex.convert(text)
        assert doc.engine == "xelatex", text
        assert any(d.code == code for d in doc.diagnostics), text
    assert md2tex.convert("한국어.\n", FORCED_PDFLATEX).engine == "pdflatex"


def test_hangul_with_a_real_font(built: dict[str, tuple[Path, md2tex.Document,
                                                        tuple[md2tex.Diagnostic, ...]]]) -> None:
    pdf, doc, diagnostics = built["korean"]
    text = pdf_text(pdf)
    for word in ("정규화", "과적합되지", "한국어 제목", "머리말", "코드"):
        assert word in text, word
    # kramdown-style Korean: no glue inserted between Hangul and Latin
    assert "정규화(regularization)란" in text
    fonts = _fonts(pdf)
    assert re.search(r"NotoSerifCJK\S*-Regular", fonts) and "NotoSansCJK" in fonts  # code
    assert not [d for d in diagnostics if d.code == "missing-glyph"], diagnostics
    assert "xeCJK" in doc.tex and "Noto Serif CJK KR" in doc.tex


def test_symbols_and_emoji_in_body_heading_title_code_and_math(
        built: dict[str, tuple[Path, md2tex.Document, tuple[md2tex.Diagnostic, ...]]]) -> None:
    pdf, _doc, _diagnostics = built["korean"]
    text = pdf_text(pdf)
    for ch in ("①", "┌─┐", "→", "✓", "└─┘", "x + 😀"):  # the last one in math
        assert ch in text, ch
    title, heading, code = text.split("\n")[0], text[text.index("머리말"):], \
        text[text.index("print"):]
    assert "🎉" in title and "😀" in heading.split("\n")[0] and "😀" in code.split("\n")[0]
    assert "Symbola" in _fonts(pdf)


def test_kana(built: dict[str, tuple[Path, md2tex.Document,
                                     tuple[md2tex.Diagnostic, ...]]]) -> None:
    pdf, doc, _diagnostics = built["japanese"]
    assert "ひらがなとカタカナの文章です" in pdf_text(pdf)
    assert "Noto Serif CJK JP" in doc.tex and "NotoSerifCJK" in _fonts(pdf)


def test_greek_and_cyrillic(built: dict[str, tuple[Path, md2tex.Document,
                                                   tuple[md2tex.Diagnostic, ...]]]) -> None:
    pdf, doc, _diagnostics = built["greek-xelatex"]
    assert doc.engine == "xelatex"  # chosen for the Greek words and the Cyrillic
    text = pdf_text(pdf)
    assert "Καλημέρα κόσμε" in text and "Привет мир" in text
    assert "CMUSerif" in _fonts(pdf)
    # pdflatex, because the user said so: Greek letters typeset, Cyrillic (no T2A fonts)
    # a visible placeholder and a warning at the line, never silence
    pdf, doc, _diagnostics = built["greek-pdflatex"]
    text = pdf_text(pdf)
    assert doc.engine == "pdflatex"
    assert "κ" in text and "α" in text  # math letters
    assert "U+041F" in text
    assert any(d.code == "missing-character" and d.line == 1 for d in doc.diagnostics)


def test_missing_glyph_is_a_warning_at_its_line(
        built: dict[str, tuple[Path, md2tex.Document, tuple[md2tex.Diagnostic, ...]]]) -> None:
    _pdf, _doc, diagnostics = built["private"]
    found = [d for d in diagnostics if d.code == "missing-glyph"]
    assert found and found[0].line == 4 and "U+E000" in found[0].message
    assert found[0].path == "private.md"


def test_main_script_without_font_is_an_error(tmp_path: Path) -> None:
    # a CJK font without Hangul (Fandol) for a Korean post: empty boxes, so no PDF
    doc = md2tex.convert("한국어 문장입니다. 모든 글자가 없다.\n",
                         md2tex.Options(variables={"cjk_font": "FandolSong-Regular.otf"}),
                         path="ko.md")
    with pytest.raises(BuildError) as info:
        md2tex.build_pdf(doc, tmp_path / "ko.pdf")
    codes = [d.code for d in info.value.diagnostics]
    assert codes[0] == "missing-font" and "hangul" in info.value.diagnostics[0].message
    assert "missing-glyph" in codes
    assert not (tmp_path / "ko.pdf").exists()
    # a script md2tex sets no font up for: an error when the post is written in it, a
    # warning when an English post quotes a word of it
    hebrew = md2tex.convert("שלום עולם, זהו פוסט בעברית עם הרבה מילים.\n", path="he.md")
    with pytest.raises(BuildError) as info:
        md2tex.build_pdf(hebrew, tmp_path / "he.pdf")
    assert info.value.diagnostics[0].code == "missing-font"
    quoted = md2tex.convert("An English post\nquoting שלום once.\n", path="en.md")
    result = md2tex.build_pdf(quoted, tmp_path / "en.pdf")
    [found] = [d for d in result.diagnostics if d.code == "missing-glyph"]
    assert found.line == 2 and "U+05E9" in found.message


def test_latin_punctuation_stays_latin_under_xecjk(
        built: dict[str, tuple[Path, md2tex.Document, tuple[md2tex.Diagnostic, ...]]]) -> None:
    latin = _word_widths(built["punct-latin"][0])
    cjk = _word_widths(built["punct-cjk"][0])
    assert built["punct-cjk"][1].engine == "xelatex"
    for word in ("It’s", "“quoted”", "—"):
        assert word in latin and word in cjk, word
        # the same Latin glyphs: full-width CJK quotes or dashes would be ~1 em wide each
        assert abs(latin[word] - cjk[word]) < 0.3, (word, latin[word], cjk[word])


@pytest.mark.skipif(shutil.which("lualatex") is None or shutil.which("pdfimages") is None,
                    reason="needs lualatex and pdfimages")
def test_colour_emoji_under_lualatex(tmp_path: Path) -> None:
    doc = md2tex.convert("# Party 🎉\n\nA smile 😀 and a tick ✓.\n",
                         md2tex.Options(engine="lualatex", cli_keys=frozenset({"engine"})))
    pdf = tmp_path / "lua.pdf"
    result = md2tex.build_pdf(doc, pdf)
    assert not [d for d in result.diagnostics if d.code == "missing-glyph"]
    images = subprocess.run(["pdfimages", "-list", str(pdf)], capture_output=True, text=True,
                            check=True).stdout
    assert len(re.findall(r"^\s*1\s+\d+\s+image\s", images, re.M)) >= 2  # colour bitmaps
    assert "tick ✓" in pdf_text(pdf)


def test_emoji_in_heading_and_title_never_breaks_pdflatex(tmp_path: Path) -> None:
    # pdflatex because the user said so: no font has the emoji, a placeholder (also in the
    # bookmarks and the PDF title) and a warning, and the PDF is built
    doc = md2tex.convert("---\ntitle: Party 🎉\n---\n# Heading 😀\n\nText 🚀.\n",
                         FORCED_PDFLATEX, path="p.md")
    md2tex.build_pdf(doc, tmp_path / "p.pdf")
    text = pdf_text(tmp_path / "p.pdf")
    assert "U+1F389" in text and "Heading U+1F600" in text
    lines = {d.line for d in doc.diagnostics if d.code == "missing-character"}
    assert {4, 6} <= lines


def test_cjk_post_under_an_engine_without_cjk_fonts_is_an_error() -> None:
    doc = md2tex.convert("한국어 문장입니다. 정규화란 무엇인가?\n", FORCED_PDFLATEX, path="k.md")
    assert [d.code for d in doc.errors] == ["missing-font"]
    assert "xelatex" in (doc.errors[0].hint or "")
    # a few CJK characters in an English post: a warning
    doc = md2tex.convert("An English post with one word 中文 in it.\n", FORCED_PDFLATEX)
    assert doc.ok and any(d.code == "missing-glyph" for d in doc.warnings)
