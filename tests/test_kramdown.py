"""kramdown's reading where Jekyll posts rely on it and CommonMark reads otherwise: Markdown
inside block HTML, emphasis next to CJK, tables without edge pipes, hard_wrap, ``![^1]``,
long link texts. Tokens and LaTeX first; then each group as a real PDF read back."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from md2tex.markdown.kramdown import JEKYLL_DEFAULT, Flavour, flavour_of, table_cells
from md2tex.markdown.parse import parse_markdown
from tests.helpers import (
    assert_within_margins,
    body,
    build,
    convert,
    needs_engine,
    needs_tex,
    pdf_text,
    pdf_urls,
    run_md2tex,
    squash,
)

Token = dict[str, Any]

COMMONMARK = Flavour(kramdown=False)


def walk(tokens: list[Token]) -> Iterator[Token]:
    for tok in tokens:
        yield tok
        if isinstance(tok.get("children"), list):
            yield from walk(tok["children"])


def types(src: str, flavour: Flavour = JEKYLL_DEFAULT) -> list[str]:
    return [t["type"] for t in walk(parse_markdown(src, flavour=flavour)[0])]


def top(src: str, flavour: Flavour = JEKYLL_DEFAULT) -> list[Token]:
    return [t for t in parse_markdown(src, flavour=flavour)[0] if t["type"] != "blank_line"]


# ------------------------------------------------------------------- the site's flavour

def test_flavour_from_the_jekyll_config() -> None:
    assert flavour_of({}) == Flavour()
    assert flavour_of({"kramdown": {"parse_block_html": True, "hard_wrap": "true"}}) == \
        Flavour(parse_block_html=True, hard_wrap=True)
    # hard_wrap belongs to the GFM input (Jekyll's default); plain kramdown input has none
    assert not flavour_of({"kramdown": {"input": "kramdown", "hard_wrap": True}}).hard_wrap
    assert not flavour_of({"markdown": "CommonMarkGhPages"}).kramdown


# ----------------------------------------------------------------- Markdown in block HTML

DIV_MARKDOWN = """<div class="box" markdown="1">
Some **bold** words.

* first item
* second item
</div>

After the div.
"""


def test_markdown_attribute_parses_the_content_as_blocks() -> None:
    tokens = top(DIV_MARKDOWN)
    assert [t["type"] for t in tokens] == ["html_element", "paragraph"]
    element = tokens[0]
    assert element["attrs"]["open"] == '<div class="box" markdown="1">'
    assert element["attrs"]["close"].strip() == "</div>"
    inner = [t for t in element["children"] if t["type"] != "blank_line"]
    assert [(t["type"], t["line"]) for t in inner] == [("paragraph", 2), ("list", 4)]
    tex = body(DIV_MARKDOWN)
    assert "\\textbf{bold}" in tex and "\\item{} first item" in tex.replace("\n", " ")
    assert "**" not in tex and "markdown" not in tex


def test_markdown_span_parses_the_content_inline() -> None:
    src = '<p markdown="span">A *span* and `code`</p>\n'
    # markdown="1" on a paragraph element means its natural (span) content too
    assert top(src)[0]["children"] == top(src.replace("span", "1", 1))[0]["children"]
    tokens = top(src)
    assert tokens[0]["type"] == "html_element"
    assert [c["type"] for c in tokens[0]["children"]] == ["paragraph"]
    tex = body(src)
    assert "\\emph{span}" in tex and "\\mdcode{code}" in tex


def test_markdown_content_sits_inside_the_element() -> None:
    assert body('<h2 markdown="1">Title *x*</h2>\n').strip() == "\\textbf{Title \\emph{x}}"
    tex = body('<center markdown="1">\n**Bold** centred\n\nSecond paragraph\n</center>\n')
    inside = tex[tex.index("\\begin{center}"):tex.index("\\end{center}")]
    assert "\\textbf{Bold} centred" in inside and "Second paragraph" in inside


def test_lists_and_tables_asked_for_markdown_stay_whole() -> None:
    src = '<ul markdown="1">\n<li markdown="1">**a** item</li>\n<li>plain</li>\n</ul>\n'
    assert [t["type"] for t in top(src)] == ["block_html"]
    tex = body(src)
    assert tex.count("\\item") == 2 and "\\textbf{a} item" in tex


def test_markdown_zero_keeps_the_element_html() -> None:
    src = '<div markdown="0">\n\n# not a heading\n\n</div>\n'
    assert [t["type"] for t in top(src)] == ["block_html"]
    tex = body(src)
    assert "\\section" not in tex and "not a heading" in tex


OPTIONS_POST = """<section>
**before** the options line
</section>

{::options parse_block_html="true" /}

<section>
## A heading in a section

1. one
2. two
</section>
"""


def test_options_line_turns_parse_block_html_on_from_there() -> None:
    tokens = top(OPTIONS_POST)
    assert [t["type"] for t in tokens] == ["block_html", "html_element"]
    assert [t["type"] for t in tokens[1]["children"] if t["type"] != "blank_line"] == \
        ["heading", "list"]
    tex = body(OPTIONS_POST)
    assert "parse_block_html" not in tex and "{::" not in tex
    assert "\\begin{enumerate}" in tex


def test_site_parse_block_html_setting() -> None:
    src = "<section>\n- one\n- two\n</section>\n"
    assert "list" not in types(src)
    assert "list" in types(src, Flavour(parse_block_html=True))
    tex = body(src, site={"kramdown": {"parse_block_html": True}})
    assert "\\begin{itemize}" in tex


def test_jekyll_config_kramdown_settings_reach_the_post(tmp_path: Path) -> None:
    (tmp_path / "_config.yml").write_text(
        "title: T\nkramdown:\n  input: GFM\n  parse_block_html: true\n  hard_wrap: true\n",
        encoding="utf-8")
    posts = tmp_path / "_posts"
    posts.mkdir()
    (posts / "2020-01-01-k.md").write_text(
        "---\ntitle: K\n---\n<section>\n1. one\n2. two\n</section>\n\nfirst\nsecond\n",
        encoding="utf-8")
    out = tmp_path / "k.tex"
    proc = run_md2tex([posts / "2020-01-01-k.md", "-o", out])
    assert proc.returncode == 0, proc.stderr
    tex = out.read_text(encoding="utf-8")
    assert "\\begin{enumerate}" in tex and "first\\newline\nsecond" in tex


DETAILS = """<details><summary markdown="span">**Appendix**</summary>
Moving on, the proof:
$$
a^2 + b^2 = c^2
$$

```python
def square(x):
    return x * x
```
</details>

Text after.
"""


def test_details_content_is_typeset_and_code_is_code() -> None:
    tokens = top(DETAILS)
    assert tokens[0]["type"] == "html_element"
    assert "<summary" in tokens[0]["attrs"]["open"]
    inner = [t for t in tokens[0]["children"] if t["type"] != "blank_line"]
    # the $$ lines right after a paragraph line are in the paragraph (kramdown)
    assert [t["type"] for t in inner] == ["paragraph", "block_code"]
    assert [t["raw"].strip() for t in walk(inner) if t["type"] == "math"] == ["a^2 + b^2 = c^2"]
    tex = body(DETAILS)
    assert "\\textbf{Appendix}" in tex
    assert "\\begin{Verbatim}" in tex and "```" not in tex


def test_details_with_highlight_tag_shows_code() -> None:
    src = ("<details>\n<summary>Code</summary>\n{% highlight python %}\nx = [1, 2]\n"
           "{% endhighlight %}\n</details>\n")
    tex = body(src)
    assert "\\begin{Verbatim}" in tex and "highlight" not in tex


def test_details_of_plain_lines_stay_html_text() -> None:
    # no blank line, no fence: the content reaches the page as HTML text, and MathJax reads
    # the $$ pair across the line that starts with "- "
    src = "<details>\n<summary>Proof.</summary>\nHence\n$$\na\n- b\n$$\n</details>\n"
    assert [t["type"] for t in top(src)] == ["block_html"]
    tex = body(src)
    assert "\\begin{itemize}" not in tex and "\\[\na - b\n\\]" in tex


AL_FOLIO_ROW = """<div class="row mt-3">

    <div class="col-sm mt-3 mt-md-0">
        <p>Left figure text</p>
    </div>

    <div class="col-sm mt-3 mt-md-0">
        <p>Right figure text</p>
    </div>

</div>
"""


def test_indented_nested_divs_are_html_not_code() -> None:
    assert "block_code" in types(AL_FOLIO_ROW, COMMONMARK)
    assert "block_code" not in types(AL_FOLIO_ROW)
    tex = body(AL_FOLIO_ROW)
    assert "Left figure text" in tex and "Right figure text" in tex
    assert "Verbatim" not in tex and "&lt;div" not in tex and "<div" not in tex


@needs_tex
def test_markdown_in_html_pdf(tmp_path: Path) -> None:
    post = "# Notes\n\n" + DIV_MARKDOWN + "\n" + DETAILS + "\n" + AL_FOLIO_ROW
    doc = convert(post)
    text = pdf_text(build(doc, tmp_path / "html.pdf"))
    flat = squash(text)
    for words in ("Some bold words.", "first item", "Appendix", "Left figure text",
                  "Right figure text", "Text after."):
        assert words in flat
    assert "def square(x):" in text and "return x * x" in text
    for leftover in ("**", "```", "markdown=", "<div", "</details>"):
        assert leftover not in text


# ------------------------------------------------------------------- emphasis next to CJK

def strong_texts(src: str, flavour: Flavour = JEKYLL_DEFAULT) -> list[str]:
    return ["".join(c.get("raw", "") for c in t["children"])
            for t in walk(parse_markdown(src, flavour=flavour)[0]) if t["type"] == "strong"]


def test_bold_before_hangul_after_a_parenthesis() -> None:
    src = "**정규화(regularization)**란 과적합을 막는 방법이다.\n"
    assert strong_texts(src) == ["정규화(regularization)"]
    assert strong_texts(src, COMMONMARK) == []
    assert "\\textbf{정규화(regularization)}란" in body(src)


def test_italic_before_kana_and_kramdown_space_rules() -> None:
    ems = [t for t in walk(parse_markdown("*強調*です。\n")[0]) if t["type"] == "emphasis"]
    assert len(ems) == 1
    # kramdown: no emphasis after an opening space or before a closing one, nor inside words
    assert "emphasis" not in types("a * b * c\n")
    assert "emphasis" not in types("snake_case_name\n")
    assert strong_texts("**「引用」**です\n") == ["「引用」"]


@needs_engine("xelatex")
def test_cjk_emphasis_pdf(tmp_path: Path) -> None:
    doc = convert("**정규화(regularization)**란 방법이다.\n\n*強調*です。\n")
    text = squash(pdf_text(build(doc, tmp_path / "cjk.pdf")))
    assert "정규화(regularization)란" in text.replace(" ", "")
    assert "強調です" in text.replace(" ", "")
    assert "*" not in text


# --------------------------------------------------------------------------------- tables

def text_of(tok: Token) -> str:
    return tok.get("raw") or "".join(text_of(c) for c in tok.get("children", []))


def table_rows(src: str, flavour: Flavour = JEKYLL_DEFAULT) -> list[list[str]]:
    return [[text_of(c) for c in tok["children"]]
            for tok in walk(parse_markdown(src, flavour=flavour)[0])
            if tok["type"] in ("table_head", "table_row")]


def test_rows_without_trailing_or_leading_pipe() -> None:
    src = "| x | y |\n|---|---|\n| 1 | 2\n3 | 4 |\n5 | 6\n"
    assert table_rows(src) == [["x", "y"], ["1", "2"], ["3", "4"], ["5", "6"]]
    assert table_rows("a | b\n--|--\n1 | 2\n") == [["a", "b"], ["1", "2"]]
    # CommonMark's table ends at the row without its trailing pipe
    assert len(table_rows(src, COMMONMARK)) < 4


def test_table_without_header_and_cells_kept_whole() -> None:
    assert table_rows("| only | body |\n| rows | here |\n") == [["only", "body"],
                                                              ["rows", "here"]]
    assert table_cells("| `a|b` | c \\| d | $x|y$ |", single_dollar=True)[1:4] == [
        " `a|b` ", " c \\| d ", " $x|y$ "]


def test_table_after_a_paragraph_line_is_paragraph_text() -> None:
    src = "Some text\n| x | y |\n|---|---|\n| 1 | 2 |\n"
    assert "table" not in types(src)
    assert "table" in types("Some text\n\n| x | y |\n|---|---|\n| 1 | 2 |\n")
    # a line of prose whose only pipes are in a formula, code or escaped is no table
    for prose in ("The posterior $p(z|x)$ is hard.\n", "Run `a | b` now.\n", "x \\| y\n",
                  "- [Part one | Part two](https://example.org/)\n"):
        assert "table" not in types(prose)


def test_html_and_tables_inside_quotes_and_list_items() -> None:
    quoted = top('> - item\n>\n> <div markdown="1">\n> **in** a quote\n> </div>\n')
    assert [t["type"] for t in quoted[0]["children"]] == ["list", "html_element"]
    assert "table" in types("- | a | b\n  |---|---\n  | 1 | 2\n")


def test_table_rows_keep_their_lines() -> None:
    doc = convert("intro\n\n| a | b\n|---|---\n| 1 | 2\n| 3 | 4\n")
    tex = doc.tex
    for line, cells in ((5, "1 & 2"), (6, "3 & 4")):
        assert f"%L{line}\n{cells}" in tex



# ------------------------------------------------------------------------ quotes' lines

LAZY_QUOTE = ("> Definition:\n>\n> $$\nf(z)\n=\n\\sum_{n=0}^{\\infty} a_n z^n\n+\n"
              "\\sum_{n=1}^{\\infty} b_n z^{-n}\n$$\n>\n> where $b_1$ is the residue.\n\n"
              "After the quote.\n")
QUOTE_THEN_LIST = ("Before.\n\n> A quote\n- with a list line right after\n\n"
                   "> Quoted paragraph\ncontinued lazily.\n\nPlain paragraph.\n")


def test_kramdown_quote_runs_to_the_blank_line() -> None:
    # kramdown: a quote takes every line up to a blank line, with or without '>': the
    # lines of a $$ block (one of them a lone '+') and a list line stay in the quote
    quote = top(LAZY_QUOTE)[0]
    assert quote["type"] == "block_quote"
    assert [t["type"] for t in quote["children"] if t["type"] != "blank_line"] == [
        "paragraph", "math_block", "paragraph"]
    assert [t["type"] for t in top("> A quote\n- a list line\n")[0]["children"]] == [
        "paragraph", "list"]
    # a block attribute list line, '^' and a block HTML tag end it; a span tag does not
    for end in ("{: .note}\n", "^\n", "<div>x</div>\n"):
        assert len(top("> quoted\n" + end)[0]["children"]) == 1
    assert len(top("> quoted\n<em>still</em> quoted\n")) == 1
    # so does a fence without '>': a blank line inside its code would end the quote and
    # leave the fence open, to run on over the rest of the post
    fenced = top("> quoted\n```python\nx = 1\n\ny = 2\n```\n\nAfter the code.\n")
    assert [t["type"] for t in fenced] == ["block_quote", "block_code", "paragraph"]
    assert fenced[1]["raw"] == "x = 1\n\ny = 2\n"


def test_end_of_block_marker_separates_blocks_and_is_not_shown() -> None:
    src = "para\n^\nnext para\n\n> quoted\n^\nafter the quote\n"
    assert [t["type"] for t in top(src)] == ["paragraph", "paragraph", "block_quote",
                                             "paragraph"]
    assert "textasciicircum" not in body(src)
    assert "\\textasciicircum{}" in body(src, site={"markdown": "CommonMark"})


def test_commonmark_quote_keeps_its_place_before_the_list_that_ends_it() -> None:
    # mistune reads the list (and the quote after it) while reading the first quote, then
    # put that quote before the last block only
    tokens = [t for t in top(QUOTE_THEN_LIST, COMMONMARK) if t["type"] != "blank_line"]
    assert [(t["type"], t.get("line")) for t in tokens] == [
        ("paragraph", 1), ("block_quote", 3), ("list", 4), ("block_quote", 6),
        ("paragraph", 9)]


@needs_tex
def test_lazy_quote_lines_pdf(tmp_path: Path) -> None:
    doc = convert(LAZY_QUOTE + "\n" + QUOTE_THEN_LIST)
    assert not [d for d in doc.diagnostics if d.code == "math-unclosed"]
    text = squash(pdf_text(build(doc, tmp_path / "quotes.pdf")))
    assert "$$" not in text and "\\sum" not in text
    order = ["Definition:", "where", "residue.", "After the quote.", "Before.", "A quote",
             "with a list line", "Quoted paragraph continued lazily.", "Plain paragraph."]
    places = [text.find(squash(words)) for words in order]
    assert -1 not in places and places == sorted(places), list(zip(order, places, strict=True))


@needs_tex
def test_tables_pdf(tmp_path: Path) -> None:
    post = ("| Name | Value\n|------|------\n| alpha | 1\nbeta | 2 |\n\n"
            "| gamma | 3 |\n| delta | 4 |\n")
    text = pdf_text(build(convert(post), tmp_path / "tables.pdf"), layout=True)
    rows = [line.split() for line in text.splitlines() if line.strip()]
    for row in (["Name", "Value"], ["alpha", "1"], ["beta", "2"], ["gamma", "3"],
                ["delta", "4"]):
        assert row in rows
    assert "|" not in text


# ------------------------------------------------------------------------------ hard_wrap

HARD_WRAP_SITE = {"kramdown": {"input": "GFM", "hard_wrap": True}}


def test_hard_wrap_makes_line_breaks() -> None:
    src = "Roses are red,\nviolets are blue.\n"
    assert "\\newline" not in body(src)
    tex = body(src, site=HARD_WRAP_SITE)
    assert "Roses are red,\\newline\nviolets are blue." in tex


def test_hard_wrap_from_an_options_line_applies_below_it() -> None:
    src = "one\ntwo\n\n{::options hard_wrap=\"true\" /}\n\nthree\nfour\n"
    tex = body(src)
    assert "one\ntwo" in tex and "three\\newline\nfour" in tex


def test_hard_wrap_beside_a_display_formula() -> None:
    tex = body("Text\n\\begin{align}\na &= b\n\\end{align}\nmore\nend\n", site=HARD_WRAP_SITE)
    assert "Text\n\\begin{align*}" in tex and "\\end{align*}\nmore\\newline\nend" in tex


def test_hard_wrap_keeps_attribute_lists_and_lone_images_apart() -> None:
    tex = body("![alt](missing.png)\n{: width=\"50%\"}\n", site=HARD_WRAP_SITE)
    assert "\\newline" not in tex and "\\begin{center}" in tex


@needs_tex
def test_hard_wrap_pdf(tmp_path: Path) -> None:
    src = "First line here\nsecond line here\n\nNext paragraph.\n"
    wrapped = pdf_text(build(convert(src, site=HARD_WRAP_SITE), tmp_path / "w.pdf"))
    plain = pdf_text(build(convert(src), tmp_path / "p.pdf"))
    assert "First line here\nsecond line here" in wrapped
    assert "First line here second line here" in plain


# ------------------------------------------------------------------- footnote after a "!"

def test_footnote_right_after_an_exclamation_mark() -> None:
    src = "Wow![^1] and ![real image](x.png)\n\n[^1]: The note.\n"
    kinds = types(src)
    assert "footnote_ref" in kinds and "image" in kinds
    assert "Wow!\\footnote{The note.}" in body(src)


@needs_tex
def test_footnote_after_exclamation_pdf(tmp_path: Path) -> None:
    text = squash(pdf_text(build(convert("Wow![^1] indeed.\n\n[^1]: Footnote text.\n"),
                                 tmp_path / "fn.pdf")))
    assert "Footnote text." in text and "[^1]" not in text and "^" not in text


# ------------------------------------------------------------------------- long link text

LONG_URL = ("https://example.org/a/very/long/path/that/keeps/going/and/going/"
            "with_identifiers_and-hyphens/index.html?query=value&another=thing")


def test_link_text_is_breakable() -> None:
    tex = body(f"See [{LONG_URL}]({LONG_URL}#anchor).\n")
    target, _, text = tex[tex.index("\\href{") + 6:].partition("}{")
    assert "\\allowbreak" not in target  # the address itself stays whole
    assert text.count("\\allowbreak{}") >= 10 and "identifiers" in text


@needs_tex
def test_long_link_texts_stay_on_the_page(tmp_path: Path) -> None:
    post = (f"Read [{LONG_URL}]({LONG_URL}#x) and "
            f"[{'averyveryverylongwordwithoutanybreakpoints' * 2}](https://example.org/).\n\n"
            f"<{LONG_URL}>\n")
    pdf = build(convert(post), tmp_path / "links.pdf")
    assert_within_margins(pdf)
    assert "example.org" in pdf_text(pdf)


# ------------------------------------------------------------ link addresses with spaces

def links(src: str, flavour: Flavour = JEKYLL_DEFAULT) -> list[tuple[str, str]]:
    """(kind, address) of each link and image of ``src``."""
    return [(t["type"], t["attrs"]["url"]) for t in walk(top(src, flavour))
            if t["type"] in ("link", "image")]


def test_link_address_may_hold_spaces() -> None:
    # kramdown reads the address up to the parenthesis that balances the opening one
    assert links("[Paper, Lee](Recursive Nets (2016) in the Wild) after\n") == \
        [("link", "Recursive%20Nets%20(2016)%20in%20the%20Wild")]
    assert links("![plot](my plot.png)\n") == [("image", "my%20plot.png")]
    # white space before a quoted title ends the address
    tok = next(t for t in walk(top('[a](b c "The title") x\n')) if t["type"] == "link")
    assert tok["attrs"] == {"url": "b%20c", "title": "The title"}
    # an address around a list of links is one address: only the first text is shown
    src = ("Studies on [**examples**]([Blog: A](https://a.org/x), [B, 2015](https://b.org/y))"
           " raise the alarm.\n")
    assert [kind for kind, _ in links(src)] == ["link"]
    assert body(src).startswith("Studies on \\textbf{examples} raise the alarm.")


def test_link_address_with_spaces_is_text_where_kramdown_reads_no_link() -> None:
    assert links("[a](b c\n") == [] and "{[}a{]}(b c" in body("[a](b c\n")
    assert links('[a](b "title" x)\n') == []
    assert links("[a](b c)\n", COMMONMARK) == []  # CommonMark: no link


@needs_tex
def test_link_address_with_spaces_pdf(tmp_path: Path) -> None:
    post = ("Read [the paper](https://example.org/papers/deep nets.pdf) and "
            "[this post]( {{ site.baseurl }} {% post_url 2018-06-24-attention %}) today.\n")
    pdf = build(convert(post, site={"url": "https://blog.example.org"}), tmp_path / "l.pdf")
    text = squash(pdf_text(pdf))
    assert "Read the paper and this post today." in text and "](" not in text
    assert "https://example.org/papers/deep%20nets.pdf" in pdf_urls(pdf)
    assert "https://blog.example.org/2018/06/24/attention.html" in pdf_urls(pdf)


# ----------------------------------------------------------------- span attribute lists

IAL_POST = ('See [the notes](https://example.org/n.pdf){:target="\\_blank"}; and '
            "*this*{: .note #x data-x='a\\_b'} too.\n")


def test_span_attribute_list_with_backslashes_is_one_text_and_removed() -> None:
    texts = [t["raw"] for t in walk(top(IAL_POST)) if t["type"] == "text"]
    # kept whole: the backslash is no escape there
    assert any('{:target="\\_blank"}' in text for text in texts)
    tex = body(IAL_POST)
    assert "{:" not in tex and "target" not in tex and "data-x" not in tex
    assert tex.startswith("See \\href{https://example.org/n.pdf}{the notes}; and "
                          "\\emph{this} too.")
    # outside an attribute list a backslash still escapes
    assert "\\_blank" in body("a \\_blank\\_ b\n")


@needs_tex
def test_span_attribute_list_with_backslashes_pdf(tmp_path: Path) -> None:
    text = squash(pdf_text(build(convert(IAL_POST), tmp_path / "ial.pdf")))
    assert "See the notes; and this too." in text
    assert "{:" not in text and "blank" not in text


# ------------------------------------------------------------------ CommonMark sites stay

def test_commonmark_flavour_keeps_commonmark_rules() -> None:
    doc = convert("**정규화(regularization)**란\n", site={"markdown": "CommonMarkGhPages"})
    assert "\\textbf" not in doc.tex


@pytest.mark.parametrize("src", ["<div>\n", "<details>\n<summary>x", "| a |\n", "a|\n|-\n",
                                 "<div markdown=\"1\">\n<div markdown=\"1\">\n</div>",
                                 "{::options parse_block_html=\"maybe\" /}\n<div>x</div>\n"])
def test_broken_input_parses(src: str) -> None:
    assert convert(src).tex
