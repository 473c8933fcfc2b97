"""Raw HTML and math delimiters where the PDF used to differ from the web page: elements in a
list that are not items, math in an HTML block reported at its own line, Markdown in HTML
read as the site reads it, ``$$`` a paragraph never closes, ``<br>`` at a line end,
``<style>``/``<script>`` inside a paragraph, tags in a figure's alt. The last test typesets
all of them in one real PDF and reads it back."""

from __future__ import annotations

from pathlib import Path

from helpers import body, build, convert, needs_tex, pdf_text, squash

import md2tex


def _warnings(doc: md2tex.Document, code: str) -> list[tuple[int | None, int | None]]:
    return [(d.line, d.column) for d in doc.diagnostics if d.code == code]


# ---------------------------------------------------------------- lists and asides

def test_an_element_first_in_a_list_is_an_item_without_a_label() -> None:
    tex = body("<ul>\n<aside>\nnote\n</aside>\n<li>one</li>\n</ul>\n")
    first = tex.index("\\item")
    assert tex[first:].startswith("\\item[]"), tex  # no text before the first \item
    assert "note" in tex[first:] and tex.count("\\item") == 2


def test_an_element_after_an_item_joins_that_item() -> None:
    tex = body("<ol>\n<li>one</li>\n<p>more of one</p>\ntext too\n<li>two</li>\n</ol>\n")
    assert tex.count("\\item") == 2, tex
    assert tex.index("more of one") < tex.index("text too") < tex.index("\\item{} two")


def test_an_aside_in_a_list_or_quote_is_not_framed() -> None:
    # the frame would open the item's first line, where LaTeX reports a missing \item
    for text in ("<ul>\n<aside>\nq\n</aside>\n</ul>\n", "- <aside>x</aside>\n",
                 "> <aside>x</aside>\n", "<blockquote>\n<aside>x</aside>\n</blockquote>\n"):
        tex = body(text)
        assert "mdaside" not in tex and "\\small" in tex, tex
    assert "\\begin{mdaside}" in body("<aside>\nalone\n</aside>\n")


# ------------------------------------------------------- math lines in an HTML block

def test_math_in_an_html_block_is_reported_at_its_own_line_and_column() -> None:
    doc = convert("Intro.\n\n<div>\nfirst line\n  and $\\frac{a$ here\n</div>\n")
    assert _warnings(doc, "math-unbalanced-brace") == [(5, 13)]


def test_math_after_an_element_and_a_reference_keeps_its_line() -> None:
    doc = convert("<div>\n<b>bold</b> &amp; text\nmore\n$x^2^3$ there <i>and $y^2^3$</i>\n"
                  "</div>\n", dollar_math=True)
    assert _warnings(doc, "math-double-script") == [(4, 5), (4, 26)]


def test_math_after_character_references_keeps_its_column() -> None:
    doc = convert("<p>\nA &lt; B &amp;&amp; C, then $x^2^3$\n</p>\n", dollar_math=True)
    assert _warnings(doc, "math-double-script") == [(2, 33)]


def test_math_in_text_of_an_html_list_keeps_its_line() -> None:
    doc = convert("<ul>\n<li>a</li>\n<li>\nb\n$\\frac{c$\n</li>\n</ul>\n", dollar_math=True)
    assert [line for line, _ in _warnings(doc, "math-unbalanced-brace")] == [5]


# ---------------------------------------------------------------- the site's flavour

def test_markdown_in_html_is_read_as_the_site_reads_it() -> None:
    text = "<div>\n**foo(bar)**baz\n</div>\n"
    # kramdown (Jekyll's default) closes the emphasis; CommonMark's flanking rule does not
    assert "\\textbf{foo(bar)}baz" in body(text)
    commonmark = body(text, site={"markdown": "CommonMark"})
    assert "\\textbf" not in commonmark and "**foo(bar)**baz" in commonmark


# ---------------------------------------------------------------- $$ in a paragraph

def test_dollars_a_list_interrupts_are_text_with_a_warning_at_their_lines() -> None:
    # kramdown's GFM reading (Jekyll's default) lets "+ d" start a list: the paragraph ends,
    # neither "$$" closes, and MathJax shows both as text
    doc = convert("Intro line\n$$\na + b\n= c\n+ d\n$$\n")
    assert _warnings(doc, "math-unclosed") == [(2, 1), (6, 1)]
    tex = body("Intro line\n$$\na + b\n= c\n+ d\n$$\n")
    assert tex.count("\\$\\$") == 2 and "\\begin{itemize}" in tex


def test_dollars_closed_within_a_paragraph_are_inline_math_over_lines() -> None:
    doc = convert("Intro line\n$$\na + b\n= c\n$$\nafter\n")
    assert not _warnings(doc, "math-unclosed")
    tex = body("Intro line\n$$\na + b\n= c\n$$\nafter\n")
    assert "$\na + b\n= c\n$" in tex.replace("$ ", "$").replace(" $", "$") or \
        "$a + b\n= c$" in tex, tex
    assert "\\[" not in tex and "\\$" not in tex


# ---------------------------------------------------------------- <br> at a line end

def test_a_br_at_a_line_end_is_one_line_break() -> None:
    tex = body("**Title**<br>\ncontent\n")
    assert "\\textbf{Title}\\newline{}\ncontent" in tex, tex
    assert "\n\n" not in tex.strip()


def test_a_br_between_words_breaks_the_line_between_them() -> None:
    assert "a\\newline{}b" in body("a<br>b\n")
    assert "a\\newline{}\nb" in body("a<br/>\nb\n")


# ------------------------------------------------------ style and script in a paragraph

def test_style_and_script_in_a_paragraph_print_nothing() -> None:
    text = "Text <style>p { color: red }</style> more <script>alert(1)</script> end.\n"
    doc = convert(text)
    tex = body(text)
    assert "color" not in tex and "alert" not in tex
    assert "Text" in tex and "more" in tex and "end." in tex
    assert [d.message for d in doc.diagnostics if d.code == "raw-html"] == [
        "HTML <script> is not typeset; it is left out"]


def test_a_style_left_open_hides_the_rest_of_its_paragraph_only() -> None:
    tex = body("Shown <style>hidden\n\nNext paragraph.\n")
    assert "hidden" not in tex and "Shown" in tex and "Next paragraph." in tex


# ------------------------------------------------------------ tags in a figure's alt

def test_tags_in_a_figure_caption_are_not_printed_in_its_image_placeholder() -> None:
    # a Tufte-style figure tag whose caption holds HTML: the alt (a missing image's
    # placeholder) is the caption's words, not its tags
    tex = body("{% extfigure missing.png 'A diagram.<br/>Credit: "
               '<a href="https://example.org/x">the source</a>\' %}\n')
    placeholder = tex[tex.index("\\mdimageplaceholder"):]
    assert "textless" not in tex and "br/" not in tex
    assert placeholder.startswith("\\mdimageplaceholder{A diagram. Credit: the source}")
    assert "\\href{https://example.org/x}{the source}" in tex  # the caption keeps its link


def test_a_tag_cut_short_at_the_end_of_an_alt_is_not_printed() -> None:
    tex = body('<img src="missing.png" alt="Diagram. Credit: <a href=&quot;https://exa">\n')
    assert "\\mdimageplaceholder{Diagram. Credit: }" in tex, tex


# --------------------------------------------------------------------------- the PDF

@needs_tex
def test_the_defects_typeset_as_the_web_page_shows_them(tmp_path: Path) -> None:
    text = "\n".join([
        "<ul>", "<aside>", "Aside first in a list.", "</aside>", "<li>Item one.</li>",
        "<p>Joined to item one.</p>", "</ul>", "",
        "- <aside>Aside opening a Markdown item.</aside>", "",
        "<blockquote>", "<aside>Aside opening a quote.</aside>", "</blockquote>", "",
        "**Tab title**<br>", "Tab content.", "",
        "Visible <style>p { color: red }</style>words <script>alert(1)</script>only.", "",
        "Intro line", "$$", "a + b", "= c", "$$", "",
        "{% extfigure missing.png 'Plot.<br/>Credit: <a href=\"https://example.org/\">"
        "someone</a>' %}", "",
    ])
    doc = convert(text)
    pdf = build(doc, tmp_path / "defects.pdf")
    raw = pdf_text(pdf)
    seen = squash(raw)
    for words in ("Aside first in a list.", "Item one.", "Joined to item one.",
                  "Aside opening a Markdown item.", "Aside opening a quote.",
                  "Visible words only.",
                  "Image: Plot. Credit: someone"):
        assert words in seen, seen
    assert "color" not in seen and "alert" not in seen and "<br" not in seen
    assert "$$" not in seen and "a+b=c" in "".join(seen.split())
    lines = [line.strip() for line in raw.splitlines()]
    title = lines.index("Tab title")
    assert lines[title + 1] == "Tab content."  # one line break: no empty line between
