"""meta.py: front matter to what the template shows (readable date, authors, keywords)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
import yaml
from helpers import convert, needs_tex, pdf_info, pdf_text, preamble_of, squash

import md2tex
from md2tex.escape import escape_text, pdf_string
from md2tex.latex.meta import as_list, authors, readable_date, template_values


@pytest.mark.parametrize(("yaml_value", "expected"), [
    ("2018-06-19 22:19:42 +0800", "19 June 2018"),
    ("2018-06-19 22:19:42 -0500", "19 June 2018"),
    ("2018-06-19 22:19:42 +08:00", "19 June 2018"),
    ("2018-06-19 22:19", "19 June 2018"),
    ("2018-06-19", "19 June 2018"),
    ("2018-06-19T22:19:42Z", "19 June 2018"),
    ("2018-06-19T22:19:42.123+02:00", "19 June 2018"),
    ("2018-6-9", "9 June 2018"),
    ("'2024-01-05'", "5 January 2024"),
    ("June 19, 2018", "June 19, 2018"),
    ("'2018-02-30'", "2018-02-30"),
])
def test_jekyll_dates_become_readable(yaml_value: str, expected: str) -> None:
    value = yaml.safe_load(f"d: {yaml_value}")["d"]
    assert readable_date(value) == expected


def test_date_objects() -> None:
    assert readable_date(dt.date(2020, 2, 29)) == "29 February 2020"
    assert readable_date(dt.datetime(1999, 12, 31, 23, 59)) == "31 December 1999"


@pytest.mark.parametrize(("value", "expected"), [
    (None, []), ("Ada", ["Ada"]), (["Ada", "Bob"], ["Ada", "Bob"]),
    ({"name": "Ada", "url": "x"}, ["Ada"]), ([{"name": "Ada"}, "Bob"], ["Ada", "Bob"]),
])
def test_authors(value: object, expected: list[str]) -> None:
    assert authors(value) == expected


@pytest.mark.parametrize(("value", "expected"), [
    (None, []), ("a b  c", ["a", "b", "c"]), (["x y", 3], ["x y", "3"]),
])
def test_tags_as_list(value: object, expected: list[str]) -> None:
    assert as_list(value) == expected


def test_template_values_escape_everything() -> None:
    meta = {"title": "A & B_1", "subtitle": "50%", "author": ["O'Neil", "#1"],
            "date": "2018-06-19 22:19:42 +0800", "tags": ["t_1", "t2"], "categories": "c3 c4",
            "category": "c5", "excerpt": "ex $5", "layout": "post"}
    v = template_values(meta, escape_text, pdf_string)
    assert v["title"] == "A \\& B\\_1"
    assert v["subtitle"] == "50\\%"
    assert v["author"] == "O'Neil \\and \\#1"
    assert v["date"] == "19 June 2018"
    assert v["keywords"] == ["t\\_1", "t2", "c3", "c4", "c5"]
    assert v["abstract"] == "ex \\$5"
    assert v["pdf"]["keywords"] == "t\\_1, t2, c3, c4, c5"
    assert v["pdf"]["author"] == "O'Neil, \\#1"
    assert v["page"]["layout"] == "post"


def test_description_wins_over_excerpt() -> None:
    v = template_values({"description": "D", "excerpt": "E"}, escape_text, pdf_string)
    assert v["abstract"] == "D"


def test_front_matter_fills_title_author_date_abstract() -> None:
    doc = convert("---\ntitle: \"My #1 post: 100% & more\"\nsubtitle: Sub_title\n"
                  "author: [Ada Lovelace, Charles Babbage]\ndate: 2018-06-19 22:19:42 +0800\n"
                  "tags: [x_y, z]\ncategories: junk\ndescription: About $5 & 10%.\n---\n\nBody\n")
    # after \begin{document}, before \maketitle: what precedes it is the same for every post
    front = doc.tex.partition("\\begin{document}")[2].partition("\\maketitle")[0]
    assert "\\title{My \\#1 post: 100\\% \\& more\\\\[0.3em]\\large Sub\\_title}" in front
    assert "\\author{Ada Lovelace \\and Charles Babbage}" in front
    assert "\\date{19 June 2018}" in front
    assert "pdfkeywords={x\\_y, z, junk}" in front
    assert "pdftitle={My \\#1 post: 100\\% \\& more}" in front
    assert "My \\#1" not in preamble_of(doc.tex)
    assert "\\begin{abstract}\nAbout \\$5 \\& 10\\%.\n\\end{abstract}" in doc.tex
    assert "\\maketitle" in doc.tex


def test_no_title_no_maketitle() -> None:
    doc = convert("Body only\n")
    assert "\\maketitle" not in doc.tex
    assert "\\begin{abstract}" not in doc.tex


def test_odd_front_matter_types_do_not_crash() -> None:
    doc = convert("---\ntitle: 2024\nauthor: {name: Ada}\ntags: 7\ndate: 2024-01-01\n"
                  "description: [not, text]\n---\nBody\n")
    assert "\\title{2024}" in doc.tex
    assert "\\author{Ada}" in doc.tex
    assert "\\date{1 January 2024}" in doc.tex
    assert "front-matter" in [d.code for d in doc.warnings]


def test_document_keeps_raw_meta() -> None:
    doc = convert("---\ntitle: T\ncustom: {a: 1}\n---\nBody\n")
    assert doc.meta["custom"] == {"a": 1}
    assert doc.title == "T"


@needs_tex
def test_jekyll_front_matter_habits_reach_the_pdf(tmp_path: Path) -> None:
    """What a Jekyll theme shows for the front matter: HTML character references decoded
    and tags left out (titles print them as HTML), the date from the file name when the
    front matter has none, the site's author when the post names none."""
    post = tmp_path / "2018-06-19-habits.md"
    post.write_text("---\ntitle: Bayes&#8217; rule &amp; friends\n"
                    "description: An <em>emphatic</em> summary&nbsp;here\n---\n\nBody text.\n",
                    encoding="utf-8")
    doc = md2tex.convert_file(post, md2tex.Options(site={"author": "Site Author"}))
    pdf = tmp_path / "habits.pdf"
    md2tex.build_pdf(doc, pdf)
    text = squash(pdf_text(pdf))
    assert "Bayes\u2019 rule & friends" in text
    assert "An emphatic summary here" in text and "<em>" not in text
    assert "19 June 2018" in text
    assert "Site Author" in text
    assert pdf_info(pdf)["Title"] == "Bayes\u2019 rule & friends"


def test_front_matter_html_is_typeset_not_printed() -> None:
    doc = convert("---\ntitle: A <em>big</em> &amp; <b>bold</b> <u>title</u>\n"
                  "author: [\"Ada &#8220;Countess&#8221;\", B<br>C]\n"
                  "description: <em>x</em> &amp; y <code>f(a_b)</code> <i>open\n---\nBody\n")
    front = doc.tex.split("\\begin{document}")[1]
    assert "\\title{A \\emph{big} \\& \\textbf{bold} title}" in front
    assert "\\author{Ada \\textquotedblleft{}Countess\\textquotedblright{} \\and B C}" in front
    assert "\\emph{x} \\& y \\mdcode{f(a\\_b)} \\emph{open}" in front
    assert "pdftitle={A big \\& bold title}" in front
    assert "pdfsubject={x \\& y f(a\\_b) open}" in front


@needs_tex
def test_formulas_in_the_title_and_description_are_typeset(tmp_path: Path) -> None:
    # MathJax typesets the page's title too: the PDF shows the formula, not its source;
    # a dollar that is not math (a price; a site without $ math) stays text
    post = ("---\ntitle: '$\\chi$ triangles and \\(x^2\\)'\n"
            "description: 'A <em>short</em> look at $\\alpha + \\beta$, for $5'\n---\n\nBody.\n")
    doc = md2tex.convert(post)
    assert "\\title{$\\chi$ triangles and $x^2$}" in doc.tex
    text = squash(pdf_text(md2tex.build_pdf(doc, tmp_path / "post.pdf").pdf))
    assert "\u03c7 triangles and x2" in text and "\u03b1 + \u03b2, for $5" in text
    assert "\\chi" not in text and "$\\" not in text
    plain = md2tex.convert(post, md2tex.Options(dollar_math=False))
    assert "\\title{\\$\\textbackslash{}chi\\$ triangles and $x^2$}" in plain.tex
