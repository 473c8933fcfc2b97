"""Patterns that made real Jekyll posts fail (issue 4), each reproduced by a formula written
for this test (no corpus text) and compiled for real: the PDF must come out, or the post must
fail before TeX with a diagnostic at its Markdown line."""

from __future__ import annotations

from pathlib import Path

import pytest
from helpers import body, build, convert, needs_tex, pdf_text, squash

import md2tex

#: name -> (Markdown, single-dollar math on, text the LaTeX body must contain)
CASES: dict[str, tuple[str, bool, list[str]]] = {
    # a line holding only a TeX comment between align rows became a blank line
    "comment-line-in-align": (
        "Text.\n\n$$\n\\begin{align}\n  a &= b \\\\\n    %\n  &= c % why\n"
        "\\end{align}\n$$\n\nAfter.\n", False, ["\\begin{align*}"]),
    # kramdown reads a bare environment as Markdown text: \\\ is a row break, \\{ a brace,
    # \{ a group, \| a bar, \_ a subscript
    "kramdown-escaped-bare-env": (
        "Before.\n\n\\begin{align} p(x \\| y) &= \\left\\\\{ a\\_1 \\right\\\\} \\\\\\ "
        "&= \\{n \\choose k\\} + \\{m \\choose j\\} \\end{align}\n\nAfter.\n", False,
        ["p(x | y)", "\\left\\{ a_1 \\right\\}", "\\\\ &=", "{n \\choose k} + {m \\choose j}"]),
    # the same environment written for TeX keeps its \\ rows and \| norms
    "tex-bare-env": (
        "Before.\n\n\\begin{align}\n\\|x\\| &= 1 \\\\\ny_1 &= 2\n\\end{align}\n\nAfter.\n",
        False, ["\\|x\\| &= 1 \\\\"]),
    # single-dollar math is Markdown text to kramdown too
    "kramdown-escaped-dollar": (
        "A set $\\\\{ v_i \\\\\\}$ and a point $\\theta^\\*$ here.\n", True,
        ["$\\{ v_i \\}$", "$\\theta^*$"]),
    # \( inside \\( .. \\) is an escaped parenthesis
    "escaped-paren-in-paren-math": (
        "A pair \\\\( \\(a, b\\) \\\\) here.\n", False, ["$(a, b)$"]),
    # MathJax shows a '$' inside math as a dollar sign
    "dollar-inside-double-dollar": (
        "It costs $$\\mu = $5K$$ a year.\n", False, ["\\mu = \\$5K"]),
    # x^\vec{a}, t_\max: MathJax takes the macro and its argument as the script
    "unbraced-script-macros": (
        "See $$Q^\\vec{\\mu}_i + t_\\max + s^\\sqrt[3]{2} + x_\\sum$$ here.\n", False,
        ["Q^{\\vec{\\mu}}_i", "t_{\\max}", "s^{\\sqrt[3]{2}}", "x_{\\sum}"]),
}


@needs_tex
@pytest.mark.parametrize("name", sorted(CASES))
def test_pattern_compiles(name: str, tmp_path: Path) -> None:
    text, dollar, wanted = CASES[name]
    tex = body(text, dollar_math=dollar)
    for piece in wanted:
        assert piece in tex, (piece, tex)
    doc = convert(text, dollar_math=dollar)
    assert doc.ok, doc.diagnostics
    pdf = build(doc, tmp_path / f"{name}.pdf")
    assert text.split()[-1] in squash(pdf_text(pdf))  # the text after the formula is there


@needs_tex
def test_site_macro_ending_in_a_command_that_takes_arguments(tmp_path: Path) -> None:
    # the arguments of the body's last command come from where the macro is used
    doc = convert("Bold $\\bv{x} + \\bv y$ here.\n", dollar_math=True,
                  macros="\\renewcommand{\\bv}{\\mathbf}\n")
    assert doc.ok, doc.diagnostics
    build(doc, tmp_path / "m.pdf")


def test_comment_spacer_line_is_silent() -> None:
    doc = convert("$$\n\\begin{aligned}\na &= b \\\\\n  %\n&= c\n\\end{aligned}\n$$\n")
    assert "math-comment" not in [d.code for d in doc.diagnostics]
    doc = convert("$$\np = 50%\n$$\n")  # a percent sign meant, dropped: say so
    assert "math-comment" in [d.code for d in doc.diagnostics]


@needs_tex
def test_dollar_inside_math_prints_a_dollar(tmp_path: Path) -> None:
    pdf = build(convert("It costs $$\\mu = $5K$$ a year.\n"), tmp_path / "d.pdf")
    assert "$5K" in squash(pdf_text(pdf))


@needs_tex
def test_typo_macro_is_shown_in_red_and_named_at_its_line(tmp_path: Path) -> None:
    text = "Title line.\n\nA kernel of $K \\tims K$ cells.\n"
    doc = convert(text, dollar_math=True)
    found = [d for d in doc.diagnostics if d.code == "math-undefined"]
    assert found and found[0].line == 3 and "\\tims" in found[0].message
    assert found[0].severity.value == "warning"
    assert found[0].hint is not None and "\\times" in found[0].hint
    # built as MathJax shows it: the unknown name in red, the rest typeset
    pdf = build(doc, tmp_path / "typo.pdf")
    assert "A kernel of K\\timsK cells." in squash(pdf_text(pdf))
    strict = convert(text, dollar_math=True, strict=True)
    with pytest.raises(md2tex.InputError):
        md2tex.build_pdf(strict, tmp_path / "strict.pdf")  # refused: TeX never runs


@pytest.mark.parametrize(("formula", "escaped"), [
    ("a \\\\\\ b", True),            # \\\ then a space: kramdown's row break
    ("\\\\{ x \\\\}", True),         # \\{ : an escaped brace
    ("a\\_1 + b\\_2", True),         # \_ and no TeX row break
    ("a\\_1 \\\\ b", False),         # \\ row break: written for TeX, \_ kept
    ("\\|x\\| \\\\ y", False),
    ("\\|x\\|_2", False),            # \| alone is TeX's norm
    ("\\\\[5pt] x", False),
    ("\\{r_{nk}}", True),          # braces balance only as kramdown reads \{ (as {)
    ("\\{x\\} \\cup \\{y\\}", False),  # balanced either way: TeX's set braces
    ("\\pi\\'", True),             # \' : kramdown's escaped quote, a prime in math
])
def test_markdown_escaped(formula: str, escaped: bool) -> None:
    from md2tex.markdown.delimiters import markdown_escaped
    assert markdown_escaped(formula) is escaped
