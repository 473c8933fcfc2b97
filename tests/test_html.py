"""Raw HTML that posts use: figures, inline formatting, tables, details, unknown tags."""

from __future__ import annotations

import md2tex
from md2tex.latex.html import colour_of, parse_html, tag_attrs


def body(text: str, **opts: object) -> tuple[str, list[str]]:
    doc = md2tex.convert(text, md2tex.Options(**opts))  # type: ignore[arg-type]
    return doc.tex.split("\\begin{document}")[1], [d.code for d in doc.diagnostics]


def test_parse_helpers() -> None:
    root = parse_html("<p>a <b>b</b><br>c<img src=x></p><!-- gone -->")
    assert root.children[0].text() == "a bc"  # type: ignore[union-attr]
    assert tag_attrs('<img src="a.png" width="300"/>') == ("img", {"src": "a.png",
                                                               "width": "300"}, False)
    assert tag_attrs("</span>") == ("span", {}, True)
    assert colour_of({"style": "color: #e01f1f;"}) == "E01F1F"
    assert colour_of({"style": "color:red"}) == "D62728"
    assert colour_of({"style": "width: 3px"}) is None


def test_inline_tags_pair_and_balance() -> None:
    tex, diags = body("a <b>bold</b> <i>it</i> x<sub>2</sub> e<sup>x</sup> "
                      "<span style=\"color: #286ee0;\">**blue**</span> <code>a_b</code> "
                      "<a href=\"https://example.org\">link</a> <u>under</u> <del>gone</del>"
                      "<br>next <em>never closed\n\nstray </strong> end")
    assert "\\textbf{bold}" in tex and "\\emph{it}" in tex
    assert "x\\textsubscript{2}" in tex and "e\\textsuperscript{x}" in tex
    assert "\\textcolor[HTML]{286EE0}{\\textbf{blue}}" in tex
    assert "\\href{https://example.org}{link}" in tex
    assert "\\newline" in tex and "\\emph{never closed}" in tex
    assert "stray  end" in tex
    assert "raw-html" not in diags


def test_figure_with_caption_math_and_width() -> None:
    tex, diags = body("<center>\n<figure>\n  <img src=\"/assets/none.png\" width=\"350\">\n"
                      "  <figcaption>Points at distance $$r$$ from <b>0</b>.</figcaption>\n"
                      "</figure>\n</center>\n", dollar_math=False)
    assert tex.count("\\begin{center}") == 1
    assert "\\mdcaption{Points at distance $r$ from \\textbf{0}.}" in tex
    assert "\\mdimageplaceholder" in tex and "image-missing" in diags


def test_table_details_lists_and_unknown_tags() -> None:
    tex, diags = body("<details><summary>Show me</summary>\n<p>Hidden <b>text</b></p>\n"
                      "</details>\n\n<table><tr><th>k</th><th>v</th></tr>"
                      "<tr><td>a &amp; b</td><td>1</td></tr></table>\n\n"
                      "<ul><li>one</li><li>two</li></ul>\n\n<blink>old</blink> text\n\n"
                      "<script>alert(1)</script>\n\n<div>kept <span>content</span></div>\n")
    assert "\\textbf{Show me}" in tex and "Hidden \\textbf{text}" in tex
    assert "\\begin{longtable}" in tex and "a \\& b & 1" in tex
    assert "\\item{} one" in tex
    assert "old" in tex and "alert" not in tex
    assert "kept {content}" in tex
    assert diags.count("raw-html") == 2  # <blink> and <script>


def test_br_first_in_paragraph_builds(tmp_path: object) -> None:
    from pathlib import Path

    out = Path(str(tmp_path)) / "br.pdf"
    doc = md2tex.convert("<br />\nText after a break.\n\n<br/>\n\nx<br>\n")
    md2tex.build_pdf(doc, out)
    assert out.stat().st_size > 1000


def test_inline_tags_met_one_at_a_time() -> None:
    """Tags inside a Markdown paragraph reach the renderer one by one: wrappers still see
    their content (a footnote), handlers the element (a citation), ulem stays outermost."""
    tex, diags = body("Text<d-footnote>A **note** $x$.</d-footnote> and a "
                      "<del><span style=\"color:red\">struck red</span> rest</del> and "
                      "long<wbr>word <d-code language=\"py\">x = 1</d-code>.\n")
    assert "\\protect\\footnote{A \\textbf{note} $x$.}" in tex
    assert "\\sout{}{\\textcolor[HTML]{D62728}{\\sout{struck red}}}\\sout{ rest}" in tex
    assert "long\\allowbreak{}word" in tex and "\\texttt{x = 1}" in tex
    assert "raw-html" not in diags


def test_theorem_lead_inside_its_first_paragraph_and_a_distill_code_block() -> None:
    tex, _ = body("<div class=\"remark\"><p><strong>Remark 2</strong> Plain $y$.</p></div>\n\n"
                  "<div class=\"proof\" data-title=\"of Lemma 1\">Easy.</div>\n\n"
                  "<d-code block language=\"python\">\nprint(1 &lt; 2)\n</d-code>\n")
    assert "\\begin{mddefinition}[{Remark 2.}]\nPlain $y$.\n\\end{mddefinition}" in tex
    assert "\\begin{proof}[{Proof (of Lemma 1)}]\nEasy.\n\\end{proof}" in tex
    assert "\\begin{Verbatim}" in tex and "\\PY{l+m+mi}{1} \\PY{o}{\\PYZlt{}}" in tex


def test_pre_classes_that_are_styling_are_not_languages() -> None:
    tex, diags = body("<pre class=\"xr-text-repr-fallback\">x = 1</pre>\n\n"
                      "<pre><code class=\"hljs language-js\">z()</code></pre>\n")
    assert "code-language" not in diags
    assert "\\PY{n+nx}{z}" in tex


def test_html_text_is_decoded_once_math_sees_characters() -> None:
    """A browser decodes HTML's character references before MathJax reads the page; text
    written as ``&lt;tag&gt;`` is text, and ``&amp;lt;`` shows as ``&lt;``."""
    tex, diags = body("<p>Math $$a &lt; b$$ and <d-math>x &lt; y</d-math>; code "
                      "&lt;tag&gt; &amp;lt; done</p>\n\n"
                      "<div>$$\\begin{aligned} a &amp;= b \\\\ c &= d \\end{aligned}$$</div>\n")
    assert "a < b" in tex and "$x < y$" in tex
    assert "\\textless{}tag\\textgreater{} \\&lt; done" in tex
    assert "\\begin{aligned} a &= b \\\\ c &= d \\end{aligned}" in tex
    assert "raw-html" not in diags and not [c for c in diags if c.startswith("math")]
