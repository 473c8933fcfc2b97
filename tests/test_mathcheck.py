"""mathcheck: diagnostics at the right place, and translations that really compile."""

from __future__ import annotations

import shutil
import subprocess
import tempfile
import time
from pathlib import Path

import pytest
from helpers import compiles

from md2tex import Options, convert
from md2tex.math.check import prepare


def codes(tex: str, display: bool = True, **kw: object) -> list[str]:
    res = prepare(tex, display=display, **kw)  # type: ignore[arg-type]
    return [d.code for d in res.diagnostics if d.severity.value == "error"]


@pytest.mark.parametrize(("tex", "code"), [
    ("{x", "math-unbalanced-brace"),
    ("x}", "math-unbalanced-brace"),
    (r"\left( x", "math-left-right"),
    (r"x \right)", "math-left-right"),
    (r"\begin{aligned} a \end{matrix}", "math-env-mismatch"),
    (r"\begin{aligned} a", "math-env-mismatch"),
    (r"\begin{foo} a \end{foo}", "math-unknown-env"),
    ("x^a^b", "math-double-script"),
    ("x_a_b", "math-double-script"),
    ("x^2'", "math-double-script"),
    (r"\begin{subarray}{c} a & b \end{subarray}", "math-array-columns"),
    (r"\begin{alignat}{1} a & b & c \end{alignat}", "math-alignat-columns"),
    (r"\begin{cases*} a & b & c \end{cases*}", "math-extra-column"),
    ("a & b", "math-ampersand"),
    (r"\begin{gathered} a & b \end{gathered}", "math-ampersand"),
    (r"\begin{aligned} \left( a & b \right) \end{aligned}", "math-left-right"),
    ("#1", "math-hash"),
    ("^^M", "math-script"),
    (r"\section{x}", "math-undefined"),  # MathJax has no text-mode commands in math
    (r"\alpah", "math-undefined"),
    (r"{x}\limits_a", "math-limits"),
    (r"\begin{array}{cq} a \end{array}", "math-array-spec"),
])
def test_errors(tex: str, code: str) -> None:
    assert code in codes(tex)


def test_did_you_mean_and_position() -> None:
    res = prepare(r"a + \alpah", display=False, path="p.md", line=3, column=5, opener_len=1)
    d = res.diagnostics[0]
    assert (d.path, d.line, d.column) == ("p.md", 3, 10)
    assert d.hint is not None and "\\alpha" in d.hint
    res = prepare("a\nb + \\foo", display=True, path="p.md", line=3, column=1, opener_len=2)
    assert (res.diagnostics[0].line, res.diagnostics[0].column) == (4, 5)


def test_deep_nesting_is_a_diagnostic() -> None:
    t = time.perf_counter()
    assert codes("{" * 10000 + "x" + "}" * 10000) == ["math-too-long"]
    assert codes("{" * 5000 + "x" + "}" * 5000) == ["math-too-deep"]
    assert codes(r"\left(" * 3000 + "x") != []
    assert time.perf_counter() - t < 2


@pytest.mark.parametrize("tex", [
    r"x^\mathrm{d} + y_\frac12 + z^\text{a}", r"\sum\limits_{i=1}^n x_i'^2", r"x'' + {x^a}^b",
    r"\begin{aligned} a &= b & c &= d \\ e &= f \end{aligned}",
    r"\begin{array}{c|c} a & b \\ \hline c & d \end{array}",
    r"\left\{ x \middle| y \right.", r"\mathop{x}\limits_a", r"\operatorname*{arg\,max}_x f",
    r"\begin{pmatrix} p & q \\ r & s \end{pmatrix}", r"\text{a $x^2$ b}",
])
def test_valid_formulas_pass(tex: str) -> None:
    assert codes(tex) == []


def test_user_macros_are_known() -> None:
    assert codes(r"\R^n", macros={"R": 0}) == []
    assert codes(r"\newcommand{\R}{\mathbb{R}} \R^n") == []
    assert codes(r"\R^n") == ["math-undefined"]


def test_warnings() -> None:
    res = prepare(r"\mathbb{2} + \mathbb{x}", display=False)
    assert [d.code for d in res.diagnostics] == ["math-mathbb", "math-mathbb"]


@pytest.mark.parametrize(("tex", "expected"), [
    (r"\rlap{x}", r"\mathrlap{x}"),
    (r"a \lt b \gt c", "a < b > c"),
    (r"\require{cancel} \cancel{x}", r"\cancel{x}"),
    (r"\color{#f00}{x}", r"\color[HTML]{FF0000}{x}"),
    (r"\bbox[red]{x}", "{x}"),
    (r"\text{a_b}", r"\text{a\_b}"),
    (r"\text{where \alpha > 0}", r"\text{where $\alpha$ > 0}"),
    ("a\n\n\nb", "a\nb"),
    ("x\u2081\u2082", "x_{12}"),
    (r"\pmatrix{a & b \cr c & d}", r"\begin{pmatrix}a & b \cr c & d\end{pmatrix}"),
    (r"\begin{split} a &= b &= c \end{split}", r"\begin{aligned} a &= b &= c \end{aligned}"),
    (r"x^\sqrt2 + Q^\vec{\mu}_i + t_\max", r"x^{\sqrt2} + Q^{\vec{\mu}}_i + t_{\max}"),
    ("a \\\\\n  %\n b", "a \\\\\n  %\n b"),
    # commands that take no argument yet fail as an unbraced script (MathJax takes them)
    (r"x^\cdots + \omega^\* + e_\, + a \* b", r"x^{\cdots} + \omega^{\*} + e_{\,} + a \* b"),
    (r"x^\alpha", r"x^\alpha"),
    # \\ inside braces: MathJax ignores it there (LaTeX would end an alignment row)
    (r"\begin{aligned} p_{a\\ =b} &= {c \\[2pt] d} \end{aligned}",
     r"\begin{aligned} p_{a  =b} &= {c   d} \end{aligned}"),
])
def test_translations(tex: str, expected: str) -> None:
    res = prepare(tex, display=True)
    assert res.ok, res.diagnostics
    assert res.latex == expected


@pytest.mark.parametrize(("engine", "expected"), [
    ("mathjax2", r"\textcolor{red}{x} + y"),  # MathJax 2: \color{c}{x} colours just x
    ("mathjax3", r"\color{red}{x} + y"),  # its color extension: a switch, as in LaTeX
    ("katex", r"\color{red}{x} + y"),
])
def test_color_follows_the_engine(engine: str, expected: str) -> None:
    res = prepare(r"\color{red}{x} + y", display=False, engine=engine)
    assert res.ok, res.diagnostics
    assert res.latex == expected


def test_discretionary_times_is_checked_not_deferred() -> None:
    """``\\*`` (MathJax 3's discretionary times, LaTeX's too) is a known command: no
    "needs TeX's verdict", and braced where it is a script."""
    res = prepare(r"P(\omega^\*) = a \* b", display=True)
    assert res.ok and res.latex == r"P(\omega^{\*}) = a \* b"
    assert [d.code for d in res.diagnostics] == ["math-script-brace"]


def test_braces_with_a_line_break_follow_the_engine() -> None:
    """KaTeX breaks the line inside the group: the lines are stacked (a script's with
    \\substack), also when a top-level \\\\ puts the formula in gathered."""
    tex = "p_{a\\\\ =b}(x) = {c \\\\ d}, \\\\ q"
    res = prepare(tex, display=True, engine="katex")
    assert res.ok, res.diagnostics
    assert res.latex == ("\\begin{gathered}p_{\\substack{a\\\\ =b}}(x) = "
                         "{\\begin{gathered}c \\\\ d\\end{gathered}}, \\\\ q\\end{gathered}")
    assert [d.code for d in res.diagnostics].count("math-group-break") == 2
    res = prepare(tex, display=True, engine="mathjax3")
    assert res.ok and res.latex == "p_{a  =b}(x) = {c   d}, \\\\ q"
    assert compiles("\\documentclass{article}\\usepackage{amsmath}\\begin{document}\\["
                    + prepare(tex, display=True, engine="katex").latex
                    + "\\]\\end{document}\n")


def test_display_environment_handling() -> None:
    res = prepare(r"\begin{align} a &= b \end{align}", display=True)
    assert res.environment == "align*"
    res = prepare(r"x = \begin{align} a &= b \end{align}", display=True)
    assert res.environment is None and "aligned" in res.latex
    res = prepare(r"\begin{aligned} a &= b \tag{1} \end{aligned}", display=True)
    assert res.latex.endswith(r"\tag{1}")
    res = prepare(r"\begin{matrix}" + "&".join("a" * 12) + r"\end{matrix}", display=True)
    assert res.max_matrix_cols == 12


# ------------------------------------------------------------------ real compiles
#: MathJax habits: each becomes one $$ block of one post, compiled once (bisected on failure)
MATHJAX_HABITS = [
    r"\rlap{x} \llap{y} \clap{z}", r"\large x + \Huge y", r"a \lt b \gt c \le d \ne e",
    r"\require{cancel} \cancel{x} + \bcancel{y}", r"\newcommand{\RR}{\mathbb{R}} \RR^n",
    r"\renewcommand{\S}{\mathcal{S}} \S", r"\newcommand{\L}{\mathcal{L}} \L(\theta)",
    r"\renewcommand{\foo}{x} \foo", r"\def\bar#1{\overline{#1}} \bar{x}",
    r"\DeclareMathOperator{\Tr}{Tr} \Tr A", r"\DeclareMathOperator*{\argmax}{arg\,max} "
    r"\argmax_x f", r"\color{red}{x} + y", r"\color{#0a0}{x} \textcolor{#ff8800}{y}",
    r"\bbox[yellow]{x} \class{c}{y} \cssId{i}{z} \style{color:red}{w}", r"\unicode{x2192} "
    r"\unicode{8730}", r"\href{https://example.org/a#b}{x} + \url{https://example.org/%20}",
    r"\begin{align} a &= b \\ c &= d \end{align}", r"x = \begin{align} a &= b \end{align}",
    r"\begin{aligned} a &= b \tag{3} \end{aligned}", r"\begin{split} a &= b &= c \end{split}",
    r"\text{a_b^c and \alpha > 0}", "a\n\nb",
    "\u03b8 \u2212 \u2264 \u2208 x\u2081 \u0177 \u2192 \u211d \u00d7 \u00b7",
    r"\mathbb{R} \mathscr{L} \bm{x} \boldsymbol{y}", r"\begin{matrix}" + "&".join("a" * 14)
    + r"\end{matrix}", r"\pmatrix{a & b \cr c & d}", r"\begin{array}{c:c} a & b \end{array}",
    r"\left\lt x \right\gt", r"\begin{gather} a \\ b \end{gather} ",
    r"\begin{equation} x \tag{A} \end{equation}", r"\braket{\phi|\psi}",
    r"\xrightarrow{f} \coloneqq \mathclap{x}", "a % comment\n+ b",
    r"x^\cdots + \omega^\* + e_\, + y^\coloneqq + z_\iff",
    r"\begin{aligned} p_{a\\ =b} &= {c \\ d} \end{aligned}",
]



def _post(formulas: list[str]) -> str:
    return "\n".join(f"Formula {i}:\n\n$$\n{f}\n$$\n" for i, f in enumerate(formulas))


@pytest.mark.skipif(shutil.which("pdflatex") is None, reason="pdflatex not installed")
def test_translationscompiles() -> None:
    def convert_ok(formulas: list[str]) -> str:
        doc = convert(_post(formulas), Options(equation_numbers="none"))
        errs = [d for d in doc.diagnostics if d.severity.value == "error"]
        assert not errs, errs
        return doc.tex

    if compiles(convert_ok(MATHJAX_HABITS)):
        return
    bad = [f for f in MATHJAX_HABITS if not compiles(convert_ok([f]))]
    assert bad == []


#: what md2tex flags must really fail in TeX (as written, amsmath loaded)
FLAGGED = ["x^a^b", r"\begin{subarray}{c} a & b \end{subarray}",
           r"\begin{cases*} a & b & c \end{cases*}", r"{x}\limits_a", "a & b",
           r"\begin{alignat}{1} a & b & c \end{alignat}", r"\left( x", r"\alpah",
           r"\begin{aligned} \left( a & b \right) \end{aligned}"]


@pytest.mark.skipif(shutil.which("pdflatex") is None, reason="pdflatex not installed")
def test_flagged_formulas_fail_in_tex() -> None:
    pre = ("\\documentclass{article}\\usepackage{amsmath,amssymb,mathtools}"
           "\\begin{document}\n")
    for f in FLAGGED:
        assert codes(f), f
    # all of them in one nonstopmode run: one '!' error per formula, cut by markers
    body = "\n".join(f"\\typeout{{M\\string ARK{i}}}\\[{f}\\]" for i, f in enumerate(FLAGGED))
    with tempfile.TemporaryDirectory() as tmp:
        Path(tmp, "a.tex").write_text(pre + body + "\\end{document}", encoding="utf-8")
        subprocess.run(["pdflatex", "-interaction=nonstopmode", "a.tex"], cwd=tmp,
                       capture_output=True, stdin=subprocess.DEVNULL, timeout=120)
        log = Path(tmp, "a.log").read_text(errors="replace")
    chunks = log.split("MARK")[1:]
    assert len(chunks) == len(FLAGGED)
    for f, chunk in zip(FLAGGED, chunks, strict=True):
        assert "\n!" in chunk or chunk.startswith("!"), f


# ------------------------------------------- checker fixes (each verified by a real compile)

#: formulas TeX accepts that the checker used to reject (self-written)
TEX_ACCEPTS = [
    "\\kern2 % a comment inside the dimension\npt a",            # comment-aware dimension
    "\\def\\qq{3 % the brace here is a comment }\n4}\\qq",       # comment-aware \def body
    "f'^'",                                                       # primes then ^'
    "\\left\\lparen a+b \\right\\rparen",                        # mathtools delimiters
    "\\bigl\\lparen c\\bigr\\rparen",
    "\\root 5 \\of {y+1}",                                       # plain TeX \root...\of
    "\\char`\\% + \\char`q + \\char`\\Q",                         # \char with backquote
    "\\begin{aligned} & \\Aboxed{u & = v} \\end{aligned}",       # & inside \Aboxed
    "\\xrightarrow[{[t]}]{s}",                                    # ']' inside braces in [..]
    "\\operatorname*{arg\\,max}\\limits_{t} g(t)",               # \limits after operatorname*
    "\\begin{gathered} p \\begin{alignedat}{0} p&=q \\end{alignedat} \\end{gathered}",
    "\\def\\g[#1]#2{#1 \\cdot #2}\\g[\\sqrt{5}]{w}",             # delimited \def, used
    "\\begin{align}m\\tag{A1}\\\\n\\tag{A2}\\end{align}",        # one \tag per row
    "\\def\\hh!#1!!{#1}\\text{\\hh! p q !!}",                    # delimited macro in \text
]


@pytest.mark.parametrize("tex", TEX_ACCEPTS)
def test_checker_accepts_what_tex_accepts(tex: str) -> None:
    res = prepare(tex, display=True, line=1, column=1)
    assert res.ok, [d.message for d in res.diagnostics]
    assert not res.needs_tex


@pytest.mark.skipif(shutil.which("pdflatex") is None, reason="needs pdflatex")
def test_checker_fixes_compile() -> None:
    """TeX's verdict is the truth: md2tex's output for each formula compiles."""
    for tex in TEX_ACCEPTS:
        doc = convert("$$\n" + tex + "\n$$\n", Options(equation_numbers="none"))
        assert doc.ok, (tex, [d.message for d in doc.errors])
        assert compiles(doc.tex), tex


def test_unsafe_stays_an_error_in_tex_programming() -> None:
    # TeX programming does not open the door to unknown commands (SECURITY.md layer 2)
    for tex in ("\\global\\input{x}", "\\expandafter\\csname foo\\endcsname",
                "\\noexpand\\relax\\catcode`\\|=0", "y^^5cinput"):
        assert not prepare(tex, display=True, line=1, column=1).ok, tex
