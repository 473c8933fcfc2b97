"""escape.py: the one escaping function. Unit tests pin each context; one real pdflatex run
shows that every printable ASCII character survives, as typed, in every place user text goes.
"""

from __future__ import annotations

import re
import string
from pathlib import Path

import pytest
from helpers import build, convert, needs_tex, pdf_info, pdf_text, pdf_urls
from hypothesis import given
from hypothesis import strategies as st

from md2tex.escape import (
    decode_references,
    escape_code,
    escape_references,
    escape_text,
    escape_url,
    pdf_string,
    smart_typography,
    unicode_char,
    url_scheme_allowed,
)

#: macros the escaper may emit; anything else after a backslash is a leak
_KNOWN = {"textbackslash", "textasciitilde", "textasciicircum", "textless", "textgreater",
          "textbar", "textasciigrave", "textquotedbl", "mdcodespace", "allowbreak",
          "textquotesingle", "mdmissingchar"}
_SPECIALS = set("#$%&_^~{}\\")


def assert_inert(latex: str) -> None:
    """No special character acts: every backslash starts a known macro or escapes a special,
    ``{``/``}`` pair up, and ``#$%&_^~`` appear only escaped."""
    i = 0
    depth = 0
    while i < len(latex):
        ch = latex[i]
        if ch == "\\":
            m = re.compile(r"\\([A-Za-z]+|.)").match(latex, i)
            assert m, latex
            name = m.group(1)
            assert name in _KNOWN or name in "#$%&_{} '\"`^~.=-vuHcdbkrtL" or \
                name in {"ae", "oe", "o", "l", "L", "O", "ss", "aa", "AA", "i", "j"} or \
                name.startswith("text"), (name, latex)
            i = m.end()
            continue
        if ch == "{":
            depth += 1
        elif ch == "}":
            depth -= 1
            assert depth >= 0, latex
        else:
            assert ch not in "#$%&_^~", (ch, latex)
        i += 1
    assert depth == 0, latex


@given(st.text(alphabet=st.characters(min_codepoint=32, max_codepoint=126), max_size=60))
def test_escape_text_is_inert_for_any_ascii(text: str) -> None:
    assert_inert(escape_text(text))


@given(st.text(alphabet=st.characters(min_codepoint=32, max_codepoint=126), max_size=60))
def test_escape_code_is_inert_for_any_ascii(text: str) -> None:
    out = escape_code(text)
    assert_inert(out)
    assert "\\verb" not in out.replace("\\textbackslash{}verb", "")


@given(st.text(alphabet=st.characters(min_codepoint=32, max_codepoint=0x2FFF,
                                      exclude_categories=["Cs"]), max_size=30))
def test_escape_text_non_ascii_under_pdflatex_is_ascii(text: str) -> None:
    missing: list[str] = []
    out = escape_text(text, unicode=False, missing=missing.append)
    assert out.isascii()
    for ch in missing:
        assert f"U+{ord(ch):04X}" in out


def test_specials() -> None:
    assert escape_text("# $ % & _ { } ~ ^ \\") == (
        "\\# \\$ \\% \\& \\_ \\{ \\} \\textasciitilde{} \\textasciicircum{} \\textbackslash{}")
    assert escape_text("<a|b>") == "\\textless{}a\\textbar{}b\\textgreater{}"
    assert escape_text("[x]") == "{[}x{]}"


def test_no_accidental_ligatures() -> None:
    assert escape_text(",,") == ",{},"
    assert escape_text(",,,") == ",{},{},"  # every pair of a run
    # literal hyphens; kramdown's en dash for prose "--" comes from smart_typography
    assert escape_text("--") == "-{}-"


def test_unicode_under_pdflatex_and_native_engines() -> None:
    assert escape_text("café") == "caf\\'e"
    assert escape_text("café", unicode=True) == "café"
    assert unicode_char("\u03b8") is not None
    missing: list[str] = []
    out = escape_text("\U0001F600", missing=missing.append)
    assert out == "\\mdmissingchar{U+1F600}" and missing == ["\U0001F600"]


def test_smart_typography() -> None:
    assert smart_typography('"a" \'b\' don\'t') == "\u201ca\u201d \u2018b\u2019 don\u2019t"
    assert smart_typography('("x")') == "(\u201cx\u201d)"
    assert smart_typography("a -- b --- c") == "a \u2013 b \u2014 c"


def test_hyphens_stay_literal() -> None:
    assert escape_text("a--b---c") == "a-{}-b-{}-{}-c"


def test_escape_code_spaces_and_breaks() -> None:
    assert escape_code("a b") == "a\\mdcodespace{}b"
    assert escape_code("x.y") == "x.\\allowbreak{}y"
    assert escape_code("--") == "-{}\\allowbreak{}-{}\\allowbreak{}"
    assert escape_code("'`\"") == "\\textquotesingle{}\\textasciigrave{}\\textquotedbl{}"


@pytest.mark.parametrize(("url", "expected"), [
    ("https://x.org/a_b?c=1&d=2", "https://x.org/a_b?c=1&d=2"),
    ("https://x.org/#frag", "https://x.org/\\#frag"),
    ("https://x.org/50%", "https://x.org/50\\%25"),
    ("https://x.org/a%20b", "https://x.org/a\\%20b"),
    ("https://x.org/a b", "https://x.org/a\\%20b"),
    ("https://x.org/{x}\\y", "https://x.org/\\%7Bx\\%7D\\%5Cy"),
    ("https://x.org/caf\u00e9", "https://x.org/caf\\%C3\\%A9"),
])
def test_escape_url(url: str, expected: str) -> None:
    assert escape_url(url) == expected


@pytest.mark.parametrize(("url", "ok"), [
    ("https://x.org", True), ("http://x", True), ("mailto:a@b.c", True), ("ftp://f", False),
    ("/relative/path", True), ("page.html#x", True), ("javascript:alert(1)", False),
    ("file:///etc/passwd", False), ("data:text/html,x", False), (" JavaScript:x", False),
])
def test_url_schemes(url: str, ok: bool) -> None:
    assert url_scheme_allowed(url) is ok


def test_pdf_string() -> None:
    assert pdf_string("  a\n\tb  &  c ") == "a b \\& c"
    assert pdf_string("Bayes&#8217; &amp; Co&nbsp;x") == "Bayes\u2019 \\& Co x"
    assert "allowbreak" not in pdf_string("x" * 40 + "/" + "y" * 40)


def test_character_references_are_decoded_as_a_browser_does() -> None:
    assert decode_references("a &amp; b &#8217; &#x2014; &nbsp; &copy; &#124;") == \
        "a & b \u2019 \u2014 \xa0 \u00a9 |"
    # unknown names, and "&" without a reference, stay as written
    assert decode_references("&nosuch; AT&T &amp x &#;") == "&nosuch; AT&T &amp x &#;"
    # in prose (after kramdown's typography: a quote written as a reference stays straight)
    assert smart_typography("&quot;a&quot; 'b' &#45;&#45;") == '"a" \u2018b\u2019 --'
    assert escape_text(smart_typography("x&nbsp;y &lt;b&gt;")) == \
        "x~y \\textless{}b\\textgreater{}"
    # escape_text itself keeps every character literal
    assert escape_text("&amp;") == "\\&amp;"
    # text decoded already (HTML's) survives the decoding prose gets
    for text in ("&lt; &amp;amp; AT&T", "&#8217;", "a & b"):
        assert decode_references(escape_references(text)) == text


def test_long_runs_may_break_after_punctuation() -> None:
    ident = "very_long_function_name_without_spaces_anywhere_at_all()"
    out = escape_text(ident)
    assert out.count("\\allowbreak{}") == ident.count("_") + 1
    assert out.replace("\\allowbreak{}", "") == escape_text(ident, breaks=False)
    # short words and ordinary prose are left alone; long words of letters are TeX's to
    # hyphenate; a long stretch of digits breaks every few characters
    assert escape_text("e.g. a_b, x.y") == "e.g. a\\_b, x.y"
    assert "allowbreak" not in escape_text("Donaudampfschifffahrtsgesellschaftskapitaen")
    assert escape_text("0123456789" * 3).count("\\allowbreak{}") == 2
    assert escape_code("x" * 50).count("\\allowbreak{}") == 3


def test_script_capitals_use_a_loaded_alphabet() -> None:
    assert escape_text("\u210b") == "\\ensuremath{\\mathcal{H}}"


# ---------------------------------------------------------------------- real compilation

ASCII = "".join(ch for ch in string.printable if ch not in " \t\n\r\x0b\x0c")
#: short enough that TeX never breaks a chunk across lines (pdftotext would eat a hyphen)
CHUNKS = [ASCII[i : i + 24] for i in range(0, len(ASCII), 24)]


def md_escaped(chunk: str) -> str:
    """Markdown for the literal characters (``\\[`` stays math in md2tex, so brackets are
    written bare: without a link target they are text)."""
    return "".join("\\" + ch if ch in "\\`*_{}()#+-.!<>|~\"'$&%^" else ch for ch in chunk)


@pytest.fixture(scope="module")
def specials_pdf(tmp_path_factory: pytest.TempPathFactory) -> tuple[str, dict[str, str]]:
    prose = "".join(f"P{i}Q {md_escaped(c)} END\n\n" for i, c in enumerate(CHUNKS))
    code = "".join(f"C{i}Q ``{c.replace('`', '')}`` END\n\n" for i, c in enumerate(CHUNKS))
    md = (
        "---\n"
        "title: 'Title #1 $5 50% a_b & {x} ~ ^ \\ <>'\n"
        "author: 'O''Brien & Co_'\n"
        "tags: [c++, 'a_b', '#hash']\n"
        "---\n\n" + prose + code +
        "## Heading # $ % & _ { } ~ ^ \\\\ end\n\n"
        "| col |\n|---|\n| cell # $ % & _ ~ ^ \\\\ \\| end |\n\n"
        "Note[^n].\n\n[^n]: footnote # $ % & _ ~ ^ { } end\n\n"
        "[link text # % & _](https://example.com/a_b?q=1&r=2#frag%20x)\n"
    )
    doc = convert(md)
    assert doc.ok, [d.format() for d in doc.diagnostics]
    pdf = build(doc, tmp_path_factory.mktemp("esc") / "specials.pdf")
    return pdf_text(pdf), pdf_info(pdf)


def chunk_lines(text: str, prefix: str) -> list[str]:
    out = []
    for i in range(len(CHUNKS)):
        line = next(ln for ln in text.splitlines() if ln.startswith(f"{prefix}{i}Q "))
        out.append(line[len(f"{prefix}{i}Q ") :].removesuffix(" END"))
    return out


@needs_tex
def test_every_ascii_character_reads_back_in_prose(
        specials_pdf: tuple[str, dict[str, str]]) -> None:
    text, _ = specials_pdf
    # typographic quotes are intended (kramdown's smart quotes); all else is literal
    expected = [c.replace('"', "\u201d").replace("'", "\u2019") for c in CHUNKS]
    got = [c.replace("\u201c", "\u201d").replace("\u2018", "\u2019")
           for c in chunk_lines(text, "P")]
    assert got == expected


@needs_tex
def test_every_ascii_character_reads_back_in_code(
        specials_pdf: tuple[str, dict[str, str]]) -> None:
    text, _ = specials_pdf
    assert chunk_lines(text, "C") == [c.replace("`", "") for c in CHUNKS]


@needs_tex
def test_specials_in_heading_table_footnote_link(
        specials_pdf: tuple[str, dict[str, str]]) -> None:
    text, _ = specials_pdf
    flat = " ".join(text.split())
    assert "Heading # $ % & _ { } ~ ^ \\ end" in flat
    assert "cell # $ % & _ ~ ^ \\ | end" in flat
    assert "footnote # $ % & _ ~ ^ { } end" in flat
    assert "link text # % & _" in flat


@needs_tex
def test_specials_in_pdf_metadata(specials_pdf: tuple[str, dict[str, str]]) -> None:
    text, info = specials_pdf
    assert info["Title"] == "Title #1 $5 50% a_b & {x} ~ ^ \\ <>"
    assert info["Author"] == "O'Brien & Co_"
    assert info["Keywords"] == "c++, a_b, #hash"
    assert "Title #1 $5 50% a_b & {x} ~ ^ \\ <>" in text


@needs_tex
def test_link_target_survives(tmp_path: Path) -> None:
    doc = convert("[x](https://example.com/a_b?q=1&r=2#frag%20x) and <https://t.org/~u/50%>\n")
    pdf = build(doc, tmp_path / "links.pdf")
    assert pdf_urls(pdf) == ["https://example.com/a_b?q=1&r=2#frag%20x",
                             "https://t.org/~u/50%25"]
