"""The site's math engine is the specification: each construct as MathJax/KaTeX treats it,
written here as a small post, typeset by TeX and read back from the PDF (``pdftotext``).

In the PDF, math shows as its symbols (``\\alpha`` as the Greek letter) and text as what was
written (a ``$`` sign and ``\\alpha`` spelled out): that is how these tests tell them apart.
"""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

import pytest

import md2tex
from md2tex.mathengine import dollar_mode, site_math_settings
from md2tex.site.config import load_site_config
from tests.helpers import build, codes, needs_tex, run_md2tex, squash

#: the Greek letters math turns ``\\alpha``, ``\\beta``, ``\\gamma`` into
ALPHA, BETA, GAMMA = "\N{GREEK SMALL LETTER ALPHA}", "\N{GREEK SMALL LETTER BETA}", \
    "\N{GREEK SMALL LETTER GAMMA}"


def pdf_lines(pdf: Path) -> list[str]:
    """The PDF's lines in content order (``pdftotext -raw``: a display formula's symbols
    stay where the formula stands)."""
    out = subprocess.run(["pdftotext", "-raw", "-enc", "UTF-8", str(pdf), "-"],
                         capture_output=True, check=True, timeout=60)
    return [line.strip() for line in out.stdout.decode("utf-8").splitlines()]


def pdf_text(pdf: Path) -> str:
    """The PDF's text in content order, white space folded."""
    return squash(" ".join(pdf_lines(pdf)))


def pdf_of(text: str, tmp_path: Path, **options: Any) -> str:
    """The text a reader sees in the PDF md2tex makes of ``text``."""
    doc = md2tex.convert(text, md2tex.Options(**options), path="post.md")
    assert doc.ok, [str(d) for d in doc.diagnostics]
    return pdf_text(build(doc, tmp_path / "post.pdf"))


# ---------------------------------------------------------------------------- delimiters

@needs_tex
def test_spaced_single_dollar_is_math_under_mathjax3(tmp_path: Path) -> None:
    text = pdf_of("Spaced $ \\alpha + \\beta $ here.\n", tmp_path)
    assert f"{ALPHA} + {BETA}" in text
    assert "$" not in text


@needs_tex
def test_spaced_single_dollar_is_text_under_pandoc_rule(tmp_path: Path) -> None:
    text = pdf_of("Spaced $ \\alpha + \\beta $ here.\n", tmp_path, dollar_math="pandoc")
    assert "$ \\alpha + \\beta $" in text
    assert ALPHA not in text


@needs_tex
def test_prices_are_text_under_pandoc_rule_and_math_under_the_engine(tmp_path: Path) -> None:
    post = "Pay $5 and $10 today.\n"
    assert "Pay $5 and $10 today." in pdf_of(post, tmp_path, dollar_math="pandoc")
    # MathJax typesets "5 and " as math: its letters are math italic, no dollar is left
    assert "$" not in pdf_of(post, tmp_path, math_engine="mathjax2")


@needs_tex
def test_escaped_dollars_are_dollar_signs(tmp_path: Path) -> None:
    text = pdf_of("It costs \\$5 and \\$10, and $x$ is math.\n", tmp_path)
    assert "It costs $5 and $10, and x is math." in text


@needs_tex
def test_double_dollars_in_raw_html_are_display(tmp_path: Path) -> None:
    """kramdown leaves a ``<div>``'s text alone: MathJax finds ``$$..$$`` there, display."""
    post = ("<div class=\"theorem\">\n  For $\\beta < 1$:\n  $$\n  \\gamma = 1\n  $$\n"
            "  so it holds.\n</div>\n")
    lines = pdf_lines(build(md2tex.convert(post, path="post.md"), tmp_path / "post.pdf"))
    # a theorem-like block gets its title, as themes style it
    assert f"Theorem. For {BETA} < 1:" in lines
    assert f"{GAMMA} = 1" in lines  # a line of its own
    assert "so it holds." in lines


@needs_tex
def test_double_dollars_after_a_closing_tag_follow_kramdown(tmp_path: Path) -> None:
    """A line right after ``</figure>`` belongs to CommonMark's HTML block, but kramdown
    ends the block at the closing tag: the line is Markdown and ``$$..$$`` in it inline."""
    post = "<figure>\n<figcaption>A figure.</figcaption>\n</figure>\nSo $$\\beta$$ is inline.\n"
    lines = pdf_lines(build(md2tex.convert(post, path="post.md"), tmp_path / "post.pdf"))
    assert f"So {BETA} is inline." in lines


@needs_tex
def test_distill_d_math_is_math(tmp_path: Path) -> None:
    """distill's ``<d-math>`` (KaTeX typesets its text; ``block``: display), in a sentence,
    right after one, or on lines of its own."""
    post = ("Such that\n<d-math block>\n\\begin{aligned} a &= \\alpha \\end{aligned}\n"
            "</d-math>\nand <d-math>\\beta^2</d-math> inline.\n\n"
            "<d-math block center>\n\n\\gamma = 1\n</d-math>\nNext.\n")
    doc = md2tex.convert(post, md2tex.Options(math_engine="katex"), path="post.md")
    assert "raw-html" not in codes(doc)
    lines = pdf_lines(build(doc, tmp_path / "post.pdf"))
    assert f"a = {ALPHA}" in lines and f"{GAMMA} = 1" in lines
    assert f"and {BETA}2 inline." in lines
    # inside an HTML block (the lines after </figure> belong to it in CommonMark)
    post = ("<figure>\n<figcaption>A figure.</figcaption>\n</figure>\nSo\n<d-math block>\n"
            "\\begin{aligned} a &= \\alpha \\end{aligned}\n</d-math>\nand <d-math>\\beta^2"
            "</d-math> more.\n")
    doc = md2tex.convert(post, md2tex.Options(math_engine="katex"), path="post.md")
    lines = pdf_lines(build(doc, tmp_path / "post.pdf"))
    assert f"a = {ALPHA}" in lines and f"and {BETA}2 more." in lines


@needs_tex
def test_mathjax2_math_scripts_are_math(tmp_path: Path) -> None:
    """MathJax 2 typesets ``<script type="math/tex">`` (``; mode=display``: display), in a
    sentence, on lines of its own and inside raw HTML; other scripts print nothing."""
    post = ('For <script type="math/tex">\\alpha^2</script> inline.\n\n'
            '<script type="math/tex; mode=display">\\gamma = 1</script>\n\n'
            '<div>\nIn a div <script type="math/tex">\\beta_1</script> too.\n'
            '<script type="text/javascript">var hidden = "SCRIPTTEXT";</script>\n</div>\n\n'
            'Text <script>var gone = "INLINESCRIPT";</script> after.\n')
    doc = md2tex.convert(post, md2tex.Options(math_engine="mathjax2"), path="post.md")
    lines = pdf_lines(build(doc, tmp_path / "post.pdf"))
    assert f"For {ALPHA}2 inline." in lines
    assert f"{GAMMA} = 1" in lines  # a display of its own
    assert f"In a div {BETA}1 too." in lines
    text = " ".join(lines)
    assert "SCRIPTTEXT" not in text and "INLINESCRIPT" not in text and "math/tex" not in text


@needs_tex
def test_empty_double_dollars_in_a_sentence_show_nothing(tmp_path: Path) -> None:
    assert "The ratio is the odds." in pdf_of("The ratio $$$$ is the odds.\n", tmp_path)


@needs_tex
def test_pandoc_rule_from_front_matter_and_config(tmp_path: Path) -> None:
    post = "---\ndollar_math: pandoc\n---\nSpaced $ \\alpha $ here.\n"
    assert "$ \\alpha $" in pdf_of(post, tmp_path)
    config = tmp_path / "md2tex.yaml"
    config.write_text("dollar_math: pandoc\nmath_engine: katex\n", encoding="utf-8")
    options = load_site_config(tmp_path, config).apply()
    assert (options.dollar_math, options.math_engine) == ("pandoc", "katex")


@needs_tex
def test_katexmm_block_is_math_and_dollars_outside_are_text(tmp_path: Path) -> None:
    post = ("Outside, $\\alpha$ is text.\n\n"
            "{% katexmm %}\n"
            "Inside, $\\beta$ is math, and\n\n"
            "$$\n\\gamma^2\n$$\n"
            "{% endkatexmm %}\n\n"
            "Outside again, $\\delta$.\n")
    doc = md2tex.convert(post, md2tex.Options(math_engine="katex"), path="post.md")
    assert "liquid-tag" not in codes(doc)
    text = pdf_text(build(doc, tmp_path / "post.pdf"))
    assert "Outside, $\\alpha$ is text." in text
    assert f"Inside, {BETA} is math" in text
    assert GAMMA in text
    assert "Outside again, $\\delta$." in text


@needs_tex
def test_double_dollars_in_a_katexmm_sentence_are_display(tmp_path: Path) -> None:
    """jekyll-katex renders ``$$..$$`` as display math wherever it stands in a katexmm block;
    outside, kramdown's rule holds (inside a sentence: inline)."""
    post = ("{% katexmm %}\nInside with $$\\gamma$$ displayed.\n{% endkatexmm %}\n\n"
            "Outside with $$\\beta$$ inline.\n")
    doc = md2tex.convert(post, md2tex.Options(math_engine="katex"), path="post.md")
    lines = pdf_lines(build(doc, tmp_path / "post.pdf"))
    assert GAMMA in lines  # a line of its own
    assert f"Outside with {BETA} inline." in lines


# -------------------------------------------------------------------------- environments

@needs_tex
@pytest.mark.parametrize("env", ["align", "equation", "gather", "multline", "eqnarray",
                                 "align*", "cases"])
def test_environment_inside_a_paragraph_is_math(tmp_path: Path, env: str) -> None:
    row = {"align": "x &= \\alpha", "align*": "x &= \\alpha", "eqnarray": "x &=& \\alpha",
           "cases": "\\alpha & x > 0"}.get(env, "x = \\alpha")
    post = f"We have \\begin{{{env}}} {row} \\end{{{env}}} and so on.\n"
    text = pdf_of(post, tmp_path)
    assert ALPHA in text
    assert "begin" not in text
    assert text.index("We have") < text.index(ALPHA) < text.index("and so on.")


@needs_tex
def test_environment_right_after_a_line_of_text_is_math(tmp_path: Path) -> None:
    post = "A line of text\n\\begin{align}\nx &= \\alpha \\\\\ny &= \\beta\n\\end{align}\nends.\n"
    text = pdf_of(post, tmp_path)
    assert ALPHA in text and BETA in text and "begin" not in text


@needs_tex
def test_bare_environment_katex_does_not_process_stays_text(tmp_path: Path) -> None:
    """KaTeX's auto-render takes equation/align/alignat/gather/CD only; multline is text."""
    for post in ("We have \\begin{multline} x = \\alpha \\end{multline} here.\n",
                 "We have\n\n\\begin{multline}\nx = \\alpha\n\\end{multline}\n\nhere.\n"):
        assert "\\begin{multline}" in pdf_of(post, tmp_path, math_engine="katex")
        assert ALPHA in pdf_of(post, tmp_path, math_engine="mathjax3")


@needs_tex
def test_eqref_across_the_post_is_a_number(tmp_path: Path) -> None:
    post = ("First \\begin{equation} E = mc^2 \\label{eq:energy} \\end{equation} in a "
            "sentence.\n\n"
            "Some more text.\n\n"
            "By \\eqref{eq:energy} and $\\eqref{eq:energy}$ we conclude.\n")
    text = pdf_of(post, tmp_path)
    assert "By (1) and (1) we conclude." in text
    assert "??" not in text


@needs_tex
def test_eqref_to_a_labelled_double_dollar_formula_is_a_number(tmp_path: Path) -> None:
    post = "$$ E = mc^2 \\label{eq:e} $$\n\n$$ F = ma $$\n\nBy \\eqref{eq:e}.\n"
    text = pdf_of(post, tmp_path)
    assert "E = mc2 (1)" in text and "By (1)." in text
    assert "(2)" not in text


@needs_tex
def test_ams_numbering_numbers_environments_not_double_dollars(tmp_path: Path) -> None:
    post = ("$$\\begin{equation} a = \\alpha \\end{equation}$$\n\n"
            "$$\\begin{align} b &= \\beta \\\\ c &= \\gamma \\end{align}$$\n\n"
            "$$ d = \\delta $$\n")
    text = pdf_of(post, tmp_path, equation_numbers="ams")
    assert "(1)" in text and "(2)" in text and "(3)" in text
    assert "(4)" not in text
    assert "(1)" not in pdf_of(post, tmp_path)  # MathJax's default: no numbers


@needs_tex
def test_all_numbering_numbers_every_display_formula(tmp_path: Path) -> None:
    """MathJax ``tags: "all"`` (TeXt's ``mathjax_autoNumber: true``): ``$$..$$`` too, not a
    starred environment; ``\\eqref`` to a ``$$`` formula finds its number."""
    post = ("$$ a = \\alpha \\label{eq:a} $$\n\n"
            "$$\\begin{align*} b &= \\beta \\end{align*}$$\n\n"
            "$$\\begin{align} c &= \\gamma \\end{align}$$\n\nBy \\eqref{eq:a}.\n")
    text = pdf_of(post, tmp_path, equation_numbers="all")
    assert "(1)" in text and "(2)" in text and "(3)" not in text
    assert "By (1)." in text


@needs_tex
def test_tag_after_end_align_in_the_same_block(tmp_path: Path) -> None:
    post = "$$\n\\begin{align}\na &= \\alpha \\\\\nb &= \\beta\n\\end{align} \\tag{7}\n$$\n"
    text = pdf_of(post, tmp_path)
    assert "(7)" in text and ALPHA in text and BETA in text


@needs_tex
def test_tag_and_label_inside_a_starred_environment(tmp_path: Path) -> None:
    post = ("$$\\begin{align*} a &= \\alpha \\tag{A} \\label{eq:star} \\\\ b &= \\beta "
            "\\end{align*}$$\n\nSee \\eqref{eq:star}.\n")
    text = pdf_of(post, tmp_path)
    assert "See (A)." in text
    assert text.count("(A)") == 2


# ------------------------------------------------------------------------- the site says

def test_site_settings_from_theme_and_kramdown_keys() -> None:
    assert site_math_settings({"kramdown": {"math_engine": "katex"}}) == {"math_engine": "katex"}
    assert site_math_settings({"kramdown": {"math_engine": None}}) == {}
    assert site_math_settings({"enable_katex": True}) == {"math_engine": "katex"}
    assert site_math_settings({"katex": {"js_path": "assets"}}) == {"math_engine": "katex"}
    assert site_math_settings({"mathjax": True, "mathjax_autoNumber": True}) == {
        "math_engine": "mathjax3", "equation_numbers": "all"}
    assert site_math_settings({"mathjax": False}) == {}
    assert [dollar_mode(v) for v in (True, "pandoc", "off", "x")] == [True, "pandoc", False, None]


def test_front_matter_chooses_the_engine() -> None:
    post = "---\nmath_engine: katex\n---\nWe have \\begin{multline} x \\end{multline}.\n"
    assert md2tex.convert(post).options.math_engine == "katex"
    post = "---\nmath_engine: mathjax9\n---\nx\n"
    assert md2tex.convert(post).options.math_engine == "mathjax3"


@needs_tex
def test_jekyll_config_kramdown_katex_selects_katex(tmp_path: Path) -> None:
    site = tmp_path / "site"
    (site / "_posts").mkdir(parents=True)
    (site / "_config.yml").write_text("title: A site\nkramdown:\n  math_engine: katex\n",
                                      encoding="utf-8")
    (site / "_posts" / "2020-01-01-post.md").write_text(
        "---\ntitle: Post\n---\nWe have \\begin{multline} x = \\alpha \\end{multline} here.\n",
        encoding="utf-8")
    assert load_site_config(site).apply().math_engine == "katex"
    out = tmp_path / "out"
    proc = run_md2tex(["batch", site, "-o", out, "-j", "1"])
    assert proc.returncode == 0, proc.stdout + proc.stderr
    (pdf,) = out.rglob("*.pdf")
    # KaTeX does not take a bare multline: the PDF shows it as the site does, as text
    assert "\\begin{multline}" in pdf_text(pdf)


def test_md2tex_config_wins_over_the_jekyll_config(tmp_path: Path) -> None:
    (tmp_path / "_config.yml").write_text("enable_katex: true\nmathjax_autoNumber: true\n",
                                          encoding="utf-8")
    assert load_site_config(tmp_path).apply().math_engine == "katex"
    (tmp_path / "md2tex.yaml").write_text("math_engine: mathjax2\nequation_numbers: ams\n",
                                          encoding="utf-8")
    options = load_site_config(tmp_path).apply()
    assert (options.math_engine, options.equation_numbers) == ("mathjax2", "ams")
