"""mathsyntax.py: where math starts and ends. Math is cut out before any Markdown rule sees it.

The single-dollar examples were checked against pandoc 2.17 (``pandoc -f markdown -t latex``),
whose rule md2tex follows.
"""

from __future__ import annotations

from typing import Any

import pytest
from helpers import body, codes, convert
from hypothesis import given
from hypothesis import strategies as st

from md2tex.markdown.delimiters import find_closer, unescape_markdown_math
from md2tex.markdown.parse import parse_markdown


def math_tokens(text: str, dollar_math: bool | str = True) -> list[tuple[str, bool]]:
    """(formula, is_display) for every math token, in document order."""
    tokens, _ = parse_markdown(text, dollar_math=dollar_math)
    out: list[tuple[str, bool]] = []

    def walk(toks: list[dict[str, Any]]) -> None:
        for t in toks:
            if t["type"] == "math_block":
                out.append((t["raw"].strip(), True))
            elif t["type"] == "math":
                out.append((t["raw"].strip(), bool(t["attrs"]["display"])))
            walk(t.get("children", []) if isinstance(t.get("children"), list) else [])

    walk(tokens)
    return out


# ---------------------------------------------------------------------- kramdown's $$ rule


def test_double_dollar_in_a_sentence_is_inline() -> None:
    assert math_tokens("The $$5 \\times 5$$ matrix.\n") == [("5 \\times 5", False)]
    assert body("The $$5 \\times 5$$ matrix.\n").strip() == "The $5 \\times 5$ matrix."


def test_double_dollar_block_is_display() -> None:
    assert math_tokens("Text.\n\n$$\n\\sum_i x_i\n$$\n\nMore.\n") == [("\\sum_i x_i", True)]
    assert math_tokens("$$e^{i\\pi} + 1 = 0$$\n") == [("e^{i\\pi} + 1 = 0", True)]


def test_double_dollar_display_allows_blank_lines() -> None:
    assert math_tokens("$$\na = b\n\nc = d\n$$\n") == [("a = b\nc = d", True)]


def test_double_dollar_display_inside_list_and_quote() -> None:
    assert math_tokens("- item\n\n  $$\n  x^2\n  $$\n") == [("x^2", True)]
    assert math_tokens("> $$\n> y^2\n> $$\n") == [("y^2", True)]


def test_double_dollar_starting_a_paragraph_with_text_after_is_inline() -> None:
    toks = math_tokens("$$a^2$$ is a square.\n")
    assert toks == [("a^2", False)]


def test_unmatched_double_dollar_is_text() -> None:
    assert math_tokens("Use $$ alone and $x$.\n") == [("x", False)]
    assert "\\$\\$ alone" in body("Use $$ alone and $x$.\n")


# ------------------------------------------------------------------ pandoc's single $ rule


@pytest.mark.parametrize(("text", "formulas"), [
    ("From $a$ to $b$.", ["a", "b"]),
    ("Pay $5 and $10.", []),
    ("It costs $5, or $x$ per item.", ["x"]),
    ("Cash $20, plus $x_1$.", ["x_1"]),
    ("A $x$5 b $y$", ["y"]),
    ("$a $b$ c$", ["b"]),
    ("A $ x$ b", []),
    ("A $x $ b", []),
    ("Escaped \\$x\\$ stays text", []),
    ("$\\text{if $n$ is even}$ works", ["\\text{if $n$ is even}"]),
    ("$f(x) = x$", ["f(x) = x"]),
    ("line $a\nb$ breaks", ["a\nb"]),
])
def test_single_dollar_follows_pandoc(text: str, formulas: list[str]) -> None:
    assert [f for f, _ in math_tokens(text + "\n", dollar_math="pandoc")] == formulas


@pytest.mark.parametrize(("text", "formulas"), [
    ("From $a$ to $b$.", ["a", "b"]),
    ("Pay $5 and $10.", ["5 and"]),
    ("A $ x$ b $y $ c", ["x", "y"]),
    ("Escaped \\$x\\$ stays text", []),
    ("$\\text{if $n$ is even}$ works", ["\\text{if $n$ is even}"]),
    ("One $ lone dollar", []),
])
def test_single_dollar_follows_the_engine(text: str, formulas: list[str]) -> None:
    """MathJax's tex2jax and KaTeX's auto-render: the next ``$`` outside braces closes,
    spaces or digits around it do not matter; ``\\$`` is a dollar."""
    assert [f for f, _ in math_tokens(text + "\n")] == formulas


def test_prices_stay_text_in_latex() -> None:
    assert body("Pay $5 and $10 today.\n", dollar_math="pandoc").strip() \
        == "Pay \\$5 and \\$10 today."


def test_single_dollar_never_spans_paragraphs() -> None:
    assert math_tokens("a $x\n\ny$ b\n") == []


def test_single_dollar_off_by_option() -> None:
    assert math_tokens("$x$ and $$y$$\n", dollar_math=False) == [("y", False)]
    assert body("$x_1$ and $$y$$\n", dollar_math=False).strip() == "\\$x\\_1\\$ and $y$"


@pytest.mark.parametrize("value", ["false", "no", "off", "'false'"])
def test_single_dollar_off_by_front_matter(value: str) -> None:
    tex = body(f"---\ndollar_math: {value}\n---\nCost $x_1$ or $$y$$.\n")
    assert "Cost \\$x\\_1\\$ or $y$." in tex


def test_front_matter_md2tex_section_switches_dollars() -> None:
    tex = body("---\nmd2tex:\n  dollar_math: false\n---\n$x$\n")
    assert "\\$x\\$" in tex


def test_command_line_beats_front_matter() -> None:
    from dataclasses import replace

    import md2tex

    opts = replace(md2tex.Options(dollar_math=True), cli_keys=frozenset({"dollar_math"}))
    doc = md2tex.convert("---\ndollar_math: false\n---\n$x$\n", opts)
    assert "$x$" in doc.tex and "\\$x\\$" not in doc.tex


# ------------------------------------------------------------------ backslash delimiters


def test_markdown_escaped_backslash_delimiters() -> None:
    assert math_tokens("Inline \\\\(f(x) = x\\\\) here.\n") == [("f(x) = x", False)]
    assert math_tokens("Show \\\\[ a_1 \\\\] here.\n") == [("a_1", True)]
    assert math_tokens("\\\\[\nb_2\n\\\\]\n") == [("b_2", True)]


def test_plain_backslash_delimiters() -> None:
    assert math_tokens("Inline \\(g_1\\) and \\[h_2\\].\n") == [("g_1", False), ("h_2", True)]
    assert math_tokens("\\[\nk_3\n\\]\n") == [("k_3", True)]


def test_markdown_escapes_inside_escaped_delimiters_are_undone() -> None:
    assert math_tokens("\\\\(a\\_1 \\* b \\\\\\\\ c \\, d\\\\)\n") == [("a_1 * b \\\\ c \\, d",
                                                                         False)]
    assert unescape_markdown_math("x\\_1 \\{a\\} \\\\,") == "x_1 \\{a\\} \\,"


# ---------------------------------------------------------------- bare amsmath environments


@pytest.mark.parametrize("env", ["align", "align*", "gather", "gather*", "multline",
                                 "equation", "equation*", "flalign", "alignat"])
def test_bare_environment_is_display_math(env: str) -> None:
    arg = "{2}" if env == "alignat" else ""
    src = f"Text.\n\n\\begin{{{env}}}{arg}\na &= b_1 \\\\\nc &= d_2\n\\end{{{env}}}\n\nMore.\n"
    toks = math_tokens(src)
    assert len(toks) == 1 and toks[0][1] is True
    assert toks[0][0].startswith(f"\\begin{{{env}}}") and toks[0][0].endswith(f"\\end{{{env}}}")


def test_bare_environment_with_blank_line_inside() -> None:
    toks = math_tokens("\\begin{align}\na &= b\n\nc &= d\n\\end{align}\n")
    assert toks == [("\\begin{align}\na &= b\nc &= d\n\\end{align}", True)]


def test_other_environments_are_not_bare_math() -> None:
    assert math_tokens("\\begin{itemize}\n\\item x_1\n\\end{itemize}\n") == []


# --------------------------------------------------------------- math is protected from MD


@pytest.mark.parametrize("formula", [
    "a_1 * b_2 * c_3", "x_{i}^{*} + y_{j}^{*}", "\\{a\\,b\\}", "a \\\\ b",
    "[x](y)", "`q`", "<b>x</b>", "\\_\\*", "a~b", "https://x.org",
])
def test_markdown_rules_never_touch_math(formula: str) -> None:
    assert math_tokens(f"See $${formula}$$ here.\n") == [(formula, False)]
    assert math_tokens(f"$${formula}$$\n") == [(formula, True)]


@given(st.text(alphabet=st.sampled_from(list("ab_*\\{}^ ,`[]()<>~#&%")), min_size=1,
               max_size=30))
def test_display_math_body_survives_any_markdown_syntax(formula: str) -> None:
    formula = formula.strip()
    if not formula or "$" in formula or formula.endswith("\\"):
        return
    toks = math_tokens(f"$$\n{formula}\n$$\n")
    assert toks == [(formula, True)]


# --------------------------------------------------------------------------- find_closer


def test_find_closer_honours_braces() -> None:
    src = "\\text{if $n$ even} x$ rest"
    assert find_closer(src, 0, "$") == src.index("x$") + 1


def test_find_closer_skips_escaped() -> None:
    assert find_closer("a\\$b$", 0, "$") == 4


def test_find_closer_none() -> None:
    assert find_closer("abc", 0, "$$") == -1


# ---------------------------------------------------------------------- errors and lines


def test_math_token_positions() -> None:
    tokens, _ = parse_markdown("x\n\nSome text\nand $y_1$ here\n", first_line=1)
    para = tokens[2]
    math = next(c for c in para["children"] if c["type"] == "math")
    assert para["line"] == 3
    assert math["attrs"]["line_offset"] == 1
    assert math["attrs"]["column"] == 5


def test_bad_formula_is_reported_at_its_line_and_column() -> None:
    doc = convert("Intro.\n\nText and\nthen $\\frac{a}{b$ end.\n")
    errs = [d for d in doc.warnings if d.code == "math-unbalanced-brace"]  # shown as an error
    assert errs, codes(doc)
    assert errs[0].line == 4
    assert errs[0].column is not None and errs[0].column >= 6
