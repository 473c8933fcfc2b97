"""HTML that carries content reaches the PDF: distill's elements, asides, theorem-like blocks,
details, figures, notebook exports, character references, long unbreakable runs, and the
element registry library users extend. Each test compiles a real PDF and reads it back."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import pytest
from helpers import (
    assert_within_margins,
    body,
    body_of,
    build,
    codes,
    convert,
    make_png,
    needs_tex,
    pdf_image_count,
    pdf_info,
    pdf_text,
    pdf_words,
    squash,
)

import md2tex
from md2tex.latex.html import ELEMENTS, Element, HtmlRenderer, register_element
from md2tex.latex.images import ImageResolver
from md2tex.latex.render import render_body
from md2tex.markdown.parse import parse_markdown

DISTILL = """\
Ridge regression shrinks coefficients.<d-footnote>Also called **Tikhonov** regularization, \
with $\\lambda > 0$.</d-footnote> It is old.<d-cite key="hoerl1970, tikhonov1963"></d-cite> \
See also<d-cite key=hastie2017></d-cite>.

<d-article>
<d-title><h1>Distill title words</h1></d-title>
<d-byline>Byline words</d-byline>
<p>Article words.<d-footnote>Block footnote with $y^2$.</d-footnote></p>
</d-article>

<aside><p>That is, we favour <i>parsimony</i> and $\\|\\beta\\|_2$ small.</p></aside>

<d-appendix>Appendix words</d-appendix>

<d-bibliography src="/assets/bibliography/papers.bib"></d-bibliography>
"""

THEOREMS = """\
<div class="theorem"><strong>Theorem 3 (Gauss&#8211;Markov).</strong> The estimator \
$\\hat\\beta$ is best when
$$\\mathbb{E}[\\varepsilon] = 0.$$</div>

<div class="lemma" data-title="Shrinkage">For every $\\lambda$ the ridge estimate exists.</div>

<div class="corollary">No lead at all, so the name.</div>

<div class="thm" title="Short class">Themes write short class names.</div>

<blockquote class="definition"><p><b>Definition 1.</b> A <em>penalty</em> is a function \
$P(\\beta)$.</p></blockquote>

<div class="proof">Take $X^\\top X + \\lambda I$, which is invertible.</div>

<details><summary>Show the code</summary>
<pre><code class="language-python">def ridge(X, y, lam):
    return solve(X.T @ X + lam * I, X.T @ y)
</code></pre>
<p>Hidden remark&#8230;</p>
</details>

<center>Centred words here.</center>

<figure><img src="plot.png" alt="a plot"><figcaption>Figure caption &amp; more \
$r^2$</figcaption></figure>

<div class="imgcap">
<div style="display:inline-block"><img src="other.png"></div>
<div class="thecap">Theme caption: <b>left</b> &amp; right.</div>
</div>
"""

NOTEBOOK = """\
<div>
<style scoped>
    .dataframe tbody tr th:only-of-type { vertical-align: middle; }
</style>
<table border="1" class="dataframe">
  <thead><tr style="text-align: right;"><th></th><th>alpha</th><th>beta</th></tr></thead>
  <tbody><tr><th>0</th><td>1.5</td><td>x &amp; y</td></tr>
  <tr><th>1</th><td>2.5</td><td>z&#124;w</td></tr></tbody>
</table>
</div>

<pre>Output line one
    indented &lt;output&gt;</pre>

<style>
p.note { color: darkred; font-family: serif; }
</style>

<script>document.write("scripted")</script>

After the notebook.
"""


@dataclass(frozen=True)
class Built:
    doc: md2tex.Document
    pdf: Path
    #: the PDF's text, whitespace folded
    text: str


@pytest.fixture(scope="module")
def content_pdf(tmp_path_factory: pytest.TempPathFactory) -> Built:
    """One PDF holding every content-carrying element (one TeX run for the module)."""
    folder = tmp_path_factory.mktemp("html")
    make_png(folder / "plot.png")
    make_png(folder / "other.png", rgb=(200, 40, 40))
    doc = convert(DISTILL + "\n" + THEOREMS + "\n" + NOTEBOOK, dollar_math=True,
                  base_dir=folder)
    pdf = build(doc, folder / "content.pdf")
    return Built(doc, pdf, squash(pdf_text(pdf)))


@needs_tex
def test_distill_footnotes_citations_and_containers(content_pdf: Built) -> None:
    doc, text = content_pdf.doc, content_pdf.text
    # footnotes: the mark in the text, the note (Markdown and math typeset) at the foot
    assert "Also called Tikhonov regularization, with λ > 0." in text
    assert "Blockfootnotewithy2." in "".join(text.split()) and "d-footnote" not in text
    assert re.search(r"coefficients\.\s?1", text)
    # every key of both attribute spellings is cited, whatever the citation style prints
    for key in ("hoerl1970", "tikhonov1963", "hastie2017"):
        assert key in text
    assert "d-cite" not in text and "key=" not in text
    for words in ("Distill title words", "Byline words", "Article words", "Appendix words"):
        assert words in text
    assert "raw-html" not in [d.code for d in doc.diagnostics if "d-" in d.message]


def test_citation_and_bibliography_macros() -> None:
    tex = rendered('<p>A<d-cite key="a, b ,c"></d-cite> and <d-cite key=d>'
                              '</d-cite>.</p><d-bibliography src="x.bib"></d-bibliography>')
    assert "\\mdcite{a,b,c}" in tex and "\\mdcite{d}" in tex
    assert "\\mdbibliography" in tex


@needs_tex
def test_aside_is_a_note_set_off_from_the_text(content_pdf: Built) -> None:
    doc, text = content_pdf.doc, content_pdf.text
    assert "That is, we favour parsimony and ∥β∥2 small." in text
    assert "\\begin{mdaside}" in doc.tex


@needs_tex
def test_theorem_like_blocks_keep_title_text_and_math(content_pdf: Built) -> None:
    doc, text = content_pdf.doc, content_pdf.text
    assert "Theorem 3 (Gauss\u2013Markov). The estimator β̂ is best when E[ε] = 0." in text
    assert "Lemma (Shrinkage). For every λ the ridge estimate exists." in text
    assert "Corollary. No lead at all, so the name." in text
    assert "Definition 1. A penalty is a function P (β)." in text
    assert "Proof. Take X \u22a4 X + λI, which is invertible." in text
    assert "Theorem (Short class). Themes write short class names." in text
    assert doc.tex.count("\\begin{mdtheorem}") == 4
    assert "\\begin{mddefinition}" in doc.tex and "\\begin{proof}" in doc.tex


@needs_tex
def test_details_figure_and_center(content_pdf: Built) -> None:
    doc, text = content_pdf.doc, content_pdf.text
    assert "Show the code def ridge(X, y, lam): return solve(X.T @ X + lam * I, X.T @ y)" \
        in text
    assert "Hidden remark. . ." in text or "Hidden remark…" in text
    assert "Centred words here." in text
    assert "Figure caption & more r2" in text and "Theme caption: left & right." in text
    assert pdf_image_count(content_pdf.pdf) == 2
    assert doc.tex.count("\\mdcaption{") == 2
    assert not [d for d in doc.diagnostics if d.code.startswith("image-")]
    assert "\\begin{center}\nCentred words here.\n\\end{center}" in doc.tex


@needs_tex
def test_notebook_exports_keep_tables_and_output_drop_styles(content_pdf: Built) -> None:
    doc, text = content_pdf.doc, content_pdf.text
    # one table row a line, its cells side by side
    rows = ["".join(line.split()) for line in pdf_text(content_pdf.pdf, layout=True)
            .splitlines()]
    start = rows.index("alphabeta")
    assert rows[start + 1:start + 3] == ["01.5x&y", "12.5z|w"]
    assert "Output line one indented <output>" in text
    assert "After the notebook." in text
    for css in ("vertical-align", "dataframe", "font-family", "darkred", "scripted"):
        assert css not in text
    # a style is nothing a reader sees; a script may have drawn something: a warning
    messages = [d.message for d in doc.diagnostics if d.code == "raw-html"]
    assert any("<script>" in m for m in messages)
    assert not any("<style>" in m for m in messages)


def rendered(markdown: str) -> str:
    """The renderer's LaTeX for ``markdown``, before the pipeline turns citation macros into
    citations."""
    tokens, _env = parse_markdown(markdown, 1, True, "mathjax3")
    return render_body(tokens, path="post.md", unicode=False, numbered=False,
                       images=ImageResolver(None, ())).body


# ----------------------------------------------------------------- character references

REFERENCES = """\
---
title: Don&#8217;t <em>panic</em> &amp; go
author: Ada &#8220;Countess&#8221; Lovelace
description: <em>Emphatic</em> summary&nbsp;&mdash; with <code>lam</code> &amp; more.
---
## Heading &amp; Co&#8217;s

It&#8217;s a&nbsp;b &#124; c &amp; d &copy; e &quot;straight&quot; &nosuch; end.

<p>HTML block: caf&eacute; &lt;tag&gt; &amp;amp; done</p>

| Cell &amp; one | Cell&#124;two |
|---|---|
| [link &amp; text](https://example.org) | ![caption &amp; more](missing.png) |

An image: ![alt &#8212; text](missing.png "Title &amp; caption")
"""


@needs_tex
def test_character_references_are_decoded_wherever_they_reach_the_pdf(tmp_path: Path
                                                                       ) -> None:
    doc = convert(REFERENCES)
    pdf = build(doc, tmp_path / "refs.pdf")
    text = squash(pdf_text(pdf))
    assert "Don\u2019t panic & go" in text
    assert "Ada “Countess” Lovelace" in text
    assert "Emphatic summary — with lam & more." in text
    assert "Heading & Co\u2019s" in text
    assert "It\u2019s a b | c & d © e \"straight\" &nosuch; end." in text
    assert "HTML block: café <tag> &amp; done" in text
    assert "Cell & one Cell|two" in text
    assert "link & text" in text and "caption & more" in text
    assert "&#" not in text and "c & d" in text
    # front matter HTML is typeset, not printed; the PDF's metadata is plain text
    assert "\\emph{panic}" in doc.tex and "\\emph{Emphatic}" in doc.tex
    assert "<em>" not in text
    assert pdf_info(pdf)["Title"] == "Don\u2019t panic & go"


# ----------------------------------------------------------------------------- long runs

IDENTIFIER = "very_long_function_name_without_spaces_anywhere_at_all()"
LONGER = "a_much_longer_identifier_" + "made_of_many_parts_" * 4 + "end"
ADDRESS = "https://example.org/a/very/long/path/that/never/ends/with/many/segments/" \
          "and/more/segments/index.html"
HASH = "0123456789abcdef" * 7
LONG_RUNS = f"""\
A call to {IDENTIFIER} in prose, and again `{IDENTIFIER}` as code.

Words first, then {LONGER} in prose and `{LONGER}` as code.

Words first, then the address as link text [{ADDRESS}]({ADDRESS}#top) and a hash {HASH} too.

Struck: <del><span style="color: #d62728">this coloured text is struck through and long \
enough to need two lines on an A4 page, so it has to wrap somewhere in the middle of it \
all</span></del> and after.

Inline HTML: <s>one <b>bold words that go on and on and on</b> and then many more words so \
that this line must wrap around the end of the page width</s> done.
"""


@needs_tex
def test_long_unbreakable_runs_wrap_inside_the_page(tmp_path: Path) -> None:
    doc = convert(LONG_RUNS)
    pdf = build(doc, tmp_path / "long.pdf")
    assert_within_margins(pdf)
    pages, words = pdf_words(pdf)
    assert all(w.x_max <= pages[w.page - 1].width for w in words)
    text = "".join(pdf_text(pdf).split())
    assert text.count(IDENTIFIER) == 2 and text.count(LONGER) == 2
    assert ADDRESS in text and HASH in text
    assert "soithastowrapsomewhereinthemiddleofitall" in text
    assert "bold words that go on and on and on".replace(" ", "") in text
    # ulem cannot break inside another command's argument: the colour goes outside
    assert "\\sout{\\textcolor" not in doc.tex and "\\sout{\\textbf" not in doc.tex


# ---------------------------------------------------------------------------- registry

@needs_tex
def test_register_element_is_the_extension_point(tmp_path: Path) -> None:
    @register_element("d-note", "div.callout")
    def note(html: HtmlRenderer, el: Element) -> str:
        return "\\begin{quote}\\textbf{Note:} " + html.blocks(el.children) + "\\end{quote}"

    try:
        with pytest.raises(ValueError, match="two handlers"):
            register_element("d-note")(note)
        doc = convert("<d-note>\nA *noted* $x^2$ point.\n</d-note>\n\n"
                      "<div class=\"callout other\">Called out.</div>\n")
        assert "raw-html" not in codes(doc)
        text = squash(pdf_text(build(doc, tmp_path / "note.pdf")))
        assert "Note: A noted x2 point." in text and "Note: Called out." in text
        replaced = register_element("d-note", replace=True)(
            lambda html, el: "\\textbf{Replaced}")
        assert ELEMENTS["d-note"].handler is replaced
        assert "\\textbf{Replaced}" in body("<d-note>\ngone\n</d-note>\n")
    finally:
        del ELEMENTS["d-note"], ELEMENTS["div.callout"]
    assert "raw-html" in codes(convert("<d-note>now unknown</d-note>\n"))


def test_safe_mode_keeps_the_images_of_raw_html_by_the_post_image_rules(tmp_path: Path
                                                                        ) -> None:
    # --safe shows raw HTML as text, but its images are not silently lost: one beside the
    # post is shown, one outside the allowed folders is a placeholder with a warning
    make_png(tmp_path / "inside.png")
    md = ('<figure><img src="inside.png" alt="kept"><figcaption>A caption.</figcaption>'
          '</figure>\n\n<div><img src="/etc/outside.png"></div>\n')
    doc = md2tex.convert(md, md2tex.Options(safe=True), path=str(tmp_path / "post.md"))
    body = body_of(doc.tex)
    assert "\\mdincludegraphics{" in body and "A caption." in body
    assert "\\mdimageplaceholder{" in body
    assert "image-outside" in codes(doc) or "image-missing" in codes(doc)
    assert "<img" not in body
