"""MathJax habits md2tex translates (issue 3): text symbols in math, empheq's delimiters,
mhchem's \\ce contents and \\pu, \\sideset on any base. Every translated formula is
converted by md2tex and compiled for real; every refusal is checked to fail in TeX."""

from __future__ import annotations

import subprocess
import tempfile
from pathlib import Path

import pytest
from helpers import compiles, needs_engine, needs_tex

from md2tex import Options, convert
from md2tex.math import table as mathtable
from md2tex.math.check import prepare
from md2tex.tex.packages import installed

needs_mhchem = pytest.mark.skipif(not installed("mhchem"), reason="mhchem not installed")

#: text-mode symbols MathJax's textcomp (and base, for the logos) shows in math
TEXT_SYMBOLS = sorted(n for n, m in mathtable.all_macros().items()
                      if m.mode == "text" and not m.args and not m.optional
                      and (n.startswith("text") or n in ("TeX", "LaTeX")))

EMPHEQ = [r"\empheqlbrace x \empheqrbrace + \empheqbiglangle y \empheqbigrangle",
          r"a_\empheqlvert b^\empheqbigrVert", r"\empheql( p \empheqr) \empheqbigl\{ q "
          r"\empheqbigr\}", r"\empheqlfloor \frac{1}{2} \empheqrceil"]

MHCHEM = [r"\ce{C\bond{#}C + H\bond{~=}O}", r"\ce{\ce{Fe}^{3+}}", r"\ce{\mathrm{M}_2\mathbf{X}}",
          r"\ce{\frac{3}{2} O2}", r"\ce{\overset{\Delta}{->}}", r"\ce{A ->[\frac{1}{2}] B}",
          r"\ce{x {y \color{red} z}}", r"\ce{\rlap{3}Cu}", r"\ce{Na(OH)_{$\frac{n}{3}$}}",
          r"\ce{Ba + 2 $\left( \ce{Cl + 1/2 H2} \right)$}", r"\ce{$Q = \frac{[\ce{Na+}]}{2}$}",
          r"\ce{Fe ->[O2] $\underset{\text{rust}}{\ce{Fe2O3}}$}", r"\ce{{Z'}_{1}}",
          r"\ce{\textdegree C}", r"\ce{A\bond{->}B->C}", r"\ce{\omicron}"]
#: refused inside \ce: each fails in TeX with mhchem loaded
MHCHEM_BAD = [r"\ce{\kern{2mu}}", r"\ce{\smash[b]{3}}", r"\ce{A\bond{x}B}", r"\ce{P; Q}",
              r"\ce{Z'}", r"\ce{\mathbf Q}", r"\ce{\left( Q \right)}", r"\ce{\nosuchcmd}",
              r"\ce{A \gt B}"]

PU = [r"\pu{3 kg}", r"\pu{7 cm3}", r"\pu{9 N m}", r"\pu{9 N*m}", r"\pu{8 m/s}",
      r"\pu{8 J//kg}", r"\pu{2 m s-2}", r"\pu{6.2e-4 mol}", r"\pu{6,2E5 Pa}",
      r"v = \pu{4 m // s K}", r"x^\pu{2 h}"]

SIDESET = [r"\sideset{}{'}{F}", r"\sideset{_1}{^2}Y", r"\sideset{^u}{_v}{p+q} r",
           r"\sideset{}{}{}", r"\sideset{^*}{}\beta", r"\sideset{_i}{_j}\prod_k x"]


def _doc(formulas: list[str], prefix: str = "") -> str:
    post = prefix + "\n".join(f"Formula {i}:\n\n$$\n{f}\n$$\n" for i, f in enumerate(formulas))
    doc = convert(post, Options(equation_numbers="none"))
    errs = [d for d in doc.diagnostics if d.severity.value == "error"]
    assert not errs, errs
    return doc.tex


def _all_compile(formulas: list[str]) -> None:
    if compiles(_doc(formulas)):
        return
    assert [f for f in formulas if not compiles(_doc([f]))] == []


def test_text_symbols_are_wrapped_in_text() -> None:
    assert len(TEXT_SYMBOLS) > 100
    res = prepare(r"p \textdollar q^\textdegree \TeX", display=True)
    assert res.ok
    assert res.latex == r"p {\text{\textdollar}} q^{\text{\textdegree}} {\text{\TeX}}"
    assert [d.code for d in res.diagnostics] == ["mathjax-text-symbol"] * 3
    # inside \text they are left alone
    assert prepare(r"\text{\textdollar 5}", display=True).latex == r"\text{\textdollar 5}"


@pytest.mark.parametrize("tex", [r"\section{x}", r"\par", r"\bfseries x", r"\L", r"\r{a}"])
def test_other_text_commands_still_fail(tex: str) -> None:
    """MathJax defines none of them in math: undefined there (its noundefined shows the
    name in red, the rest typeset); KaTeX refuses the whole formula."""
    codes = [d.code for d in prepare(tex, display=True).diagnostics]
    assert codes == ["math-undefined"]
    codes = [d.code for d in prepare(tex, display=True, engine="katex").diagnostics]
    assert "math-text-command" in codes


@needs_tex
def test_text_symbols_compile() -> None:
    _all_compile([f"a \\{n} b^\\{n}" for n in TEXT_SYMBOLS])
    # as the unbraced argument of another command
    _all_compile([r"\frac\textdollar2 \hat\textcent \mathrm\textyen \sqrt\textbullet",
                  r"\underset\textasteriskcentered{x} \operatorname\LaTeX"])


@needs_engine("xelatex")
def test_text_symbols_compile_with_xelatex() -> None:
    tex = _doc([" ".join(f"\\{n}" for n in TEXT_SYMBOLS)], prefix="\u4e2d\u6587\n\n")
    assert "xeCJK" in tex
    with tempfile.TemporaryDirectory() as tmp:
        Path(tmp, "a.tex").write_text(tex, encoding="utf-8")
        proc = subprocess.run(["xelatex", "-interaction=batchmode", "-halt-on-error",
                               "a.tex"], cwd=tmp, capture_output=True,
                              stdin=subprocess.DEVNULL, timeout=300)
        assert proc.returncode == 0


def test_empheq_delimiters() -> None:
    res = prepare(r"x^\empheqbiglbrace \empheql( y", display=True)
    assert res.ok and "empheq" in res.packages
    assert res.latex == r"x^{\empheqbiglbrace} ( y"


@needs_tex
def test_empheq_delimiters_compile() -> None:
    _all_compile(EMPHEQ)


@needs_tex
@pytest.mark.parametrize("tex", [r"\sqrt\empheqlbrace x", r"\sqrt\sum x", r"\sqrt\log y",
                                 r"\sqrt\left( z \right)"])
def test_operator_as_unbraced_sqrt_argument_fails(tex: str) -> None:
    assert "math-unbraced-arg" in [d.code for d in prepare(tex, display=True).diagnostics]
    pre = "\\documentclass{article}\\usepackage{amsmath,empheq}\\begin{document}"
    assert not compiles(pre + f"\\[{tex}\\]\\end{{document}}")


@needs_tex
@needs_mhchem
def test_mhchem_contents_compile() -> None:
    for f in MHCHEM:
        assert prepare(f, display=True).ok, f
    _all_compile(MHCHEM)


@needs_tex
@needs_mhchem
def test_mhchem_refusals_fail_in_tex() -> None:
    pre = ("\\documentclass{article}\\usepackage{amsmath,amssymb}\\usepackage{mhchem}"
           "\\begin{document}\n")
    for f in MHCHEM_BAD:
        assert not prepare(f, display=True).ok, f
        assert not compiles(pre + f"\\[{f}\\]\n\\end{{document}}\n"), f


def test_pu_translations() -> None:
    assert prepare(r"\pu{2 m s-2}", display=True).latex == \
        r"{2\,\mathrm{m}\,\mathrm{s}^{-2}}"
    assert prepare(r"\pu{8 J//kg}", display=True).latex == \
        r"{8\,\frac{\mathrm{J}}{\mathrm{kg}}}"
    assert prepare(r"\pu{6.2e-4 mol}", display=True).latex == \
        r"{6.2\cdot10^{-4}\,\mathrm{mol}}"
    for beyond in (r"\pu{5 x^2}", r"\pu{}", r"\pu{3 (kg)}"):
        assert not prepare(beyond, display=True).ok, beyond


@needs_tex
def test_pu_compiles() -> None:
    _all_compile(PU)


def test_sideset_on_any_base() -> None:
    res = prepare(r"\sideset{_1}{^2}Y", display=True)
    assert res.ok and res.latex == r"{\sideset{_1}{^2}{\mathop{{Y}}}}"
    assert prepare(r"\sideset{_1}{^2}\sum", display=True).latex == r"\sideset{_1}{^2}\sum"
    assert not prepare(r"x^\sideset{_1}{^2}Y", display=True).ok
    assert not prepare(r"\sideset{_1}{^2}", display=True).ok


@needs_tex
def test_sideset_compiles() -> None:
    _all_compile(SIDESET)
