"""Rescues and new checks from the formula benchmark: every translation compiles, every new
error really fails in TeX (one batched pdflatex run each, bisected only on failure)."""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest
from helpers import compiles

from md2tex import Options, convert
from md2tex.math.check import prepare
from md2tex.tex.packages import installed

needs_tex = pytest.mark.skipif(shutil.which("pdflatex") is None, reason="pdflatex not installed")

#: MathJax habits md2tex now translates (each must compile after conversion)
RESCUES = [
    r"\textcolor{3b4}{bar}", r"\colorbox{DarkOrange}{q}", r"\sqrt[\small 3]{x+1}",
    r"\begin{array}{c>{\columncolor{yellow}}c} a & b \\ c & d \end{array}",
    r"x\raise{2pt}{y}z", r"x\lower{2pt}{y}z", r"\raise 1em {x}", r"\lower.5em{x^2}",
    r"\hskip{1cm}x", r"\kern{1em}x", r"\mkern{1em}x", r"\mspace{1cm}x", r"\mspace{1em}x",
    r"\kern{3mu}x", r"\mkern2pt x", r"\hskip 1em plus 2em x", r"a\kern1emb",
    r"\begin{array}{l!{k}c!{k}r}p & q &u\\ v & w & t\end{array}",
    r"\begin{array}{m{1cm}b{1cm}>{\bf}c}a & b &c\end{array}",
    r"{\begin{aligned}p\\[6mu] q\end{aligned}}", r"p\label{P}q\label{Q}",
    r"\def\w{7}\w{\def\w{8}\w{\global\def\w{9}\w}\w}\w", r"\long\def\foo{}\foo",
    r"\let\x=\| \left\x A\right\x \begingroup \let\x=| \left\x B \right\x \endgroup",
    r"\pmqty{p & q \\ u & v}", r"\dv{\vb{x}}{t}", r"\symscr a", r"\unicode{65}",
    r"\array{a&b\\c&d}", r"\begin{array}{*{2}lc}p & q & u\\v & w & t\end{array}",
    r"a \nsubseteqq b \eqsim c \underbar{X} \char`a \slash d", r"a\sp{2}\sb{3}",
    r"\TextOrMath{a}{b}", r"\definecolor{mc}{rgb}{1,0,0}\color{mc}x",
    r"\color[RGB]{255,0,0}{x} \color{red!50!blue} y",
    r"\begin{empheq}[left=M\Leftarrow]{align} p&=q\\ u&=v \end{empheq}",
    r"\begin{array}{cc} \rowcolor{yellow} a & b \end{array}",
    r"\sqrt[\uproot{2}\beta]{k}", r"\mathtoolsset{centercolon} a \coloneqq b",
    r"\DeclarePairedDelimiter\abs{\lvert}{\rvert} \abs{x}", r"\text{$x\)} \text{\(y$}",
    r"\newtagform{brackets}{[}{]}\usetagform{brackets} E=mc^2",
    r"\def\w#1 #2{(#1;#2)} \w{p}{q}", r"\def\bar[#1]#2{#1 + #2}\bar[a]{b}",
    r"a\\[1,5cm]b", r"\begin{matrix}\hline p&q\cr \hline u&v\end{matrix}",
    r"\xmathstrut[0.3]{0.2} \raisebox{5pt}{t} \rule{1pt}{1pt}",
    r"\raisebox{4pt}{\frac p q}", r"\verb ++ \verb|x|", r"\bigl{(}1+2\bigr)3",
    r"\idotsint\limits_a^b", r"\vcenter{\hbox{$x$}}", r"\genfrac(]{0pt}{}{a}{b}",
    r"\underbracket[1pt][10px]{x+y+z}", r"\char65 \char`a",
    r"\colorbox{green}{\beta} \fcolorbox{red}{cyan}{\frac{p}{q}}",
    r"\text{{\tiny a\Tiny a \scriptsize a}a}", r"\begin{xxalignat}{2} p&q & u&v \end{xxalignat}",
    r"\begin{matrix*}[r] a & b \end{matrix*} \begin{multlined}[t] a \\ b\end{multlined}",
    r"\begin{matrix}p&q\\ [u]&v\end{matrix}", r"\begin{array}{r@{,}l}a&b\end{array}",
    r"\rule{18mu}{18mu} \raisebox{9mu}{x}", r"\let\x\sqrt \x[3]{2}",
    r"\begin{aligned} a &= \substack{a\\b} \\ c \end{aligned}",
    r"\begin{cases} 1 & if {x\\y} \end{cases}",  # MathJax ignores \\ in braces
    r"\o + \r{a} + x^\L",  # undefined in MathJax: the names in red, the rest typeset
]
MHCHEM = [r"\ce{H2O ->[heat] CO2 ^}", r"\text{\ce{A}}", r"\ce{A->[heat]B}", r"\ce{A->B}",
          r"\ce{A<->[text]B}", r"\ce{\alpha-Fe}"]

#: formulas md2tex now reports: each must fail in TeX as written
FLAGGED = [
    r"\mkern x", r"\kern x", r"\raise{2pt}", r"\begin{array}{lp{uvw}r}p&q&t\end{array}",
    r"\frac", r"\frac{a}", r"\sqrt^23", r"\hat\frac12", r"\limits\omega",
    r"\def\|{w} \left\| Y \right\|", r"\let\sqrt=\notdefinedanywhere \sqrt{y}", r"\endgroup",
    r"\begingroup x", "A \\\u00a0B", r"\text{\U{65}}", r"1'_2^3", r"hello \cr world",
    r"\begin{array}{ll} p & q \\ u & \rowcolor{green} v \end{array}", r"\hline",
    r"\mathtoolsset{use-unicode = false}", r"\uproot{3}\sqrt[4]{p}",
    r"\sqrt[\uproot{-3}\uproot{3}\gamma]{m}", r"\text{{a $}$ b }", r"\matrix a",
    r"\def\w#1{p #1 q #u} \w{p}", r"\def\bar[#1]#3{}", r"\definecolor{t}{rgb}{1}",
    r"\color[rgb]{1.5,0,0}{x}", r"\mqty{\imat{3}}",
    r"\begin{CD}A @<a< B\end{CD}", r"x \begin{numcases}{A=} x & y \end{numcases}",
    r"\DeclarePairedDelimiter\nrm{\lVert}{\rVert} \DeclarePairedDelimiter\nrm{[}{]}",
    r"\qty\big{}[]", r"1\over 2\over 3", r"\verb|hello", r"\vcenter{\frac a b}",
    r"\xmathstrut{abc}", r"\sideset{^a}{C}", r"\raisebox5pt{text}",
    r"\rule[1]{2em}{3em}", r"{1^}", r"\tilde \mathcal{M}", r"\let\aa\textbf\aa",
    r"\begin{aligned}a\tag{A}\tag{B}\end{aligned}", r"\usetagform{bold} a",
    r"\gdef\foo|{}\foo", r"\gdef\bar#1#2#3#4#5#6#7#8#9#10{x}",
    r"\underbracket[][10px]{x+y+z}", r"\text{\)}",
    r"\genfrac{[}{q}{}{1}{3}{4}", r"\sqrt\over2", r"\def\foo{c^}\foo", r"\char'777",
    r"\ArrowBetweenLines", r"\url end",
    r"\begin{numcases}{F=} u & v & w \end{numcases}", r"\ce{A; B}", r"\ce{\ca}",
    r"\begin{crampedsubarray}{ll} p & q \\ u & v \end{crampedsubarray}", r"\text{\' }",
    r"\begin{empheq}{split}  \end{empheq}",
    r"\begin{array}{l@{p\\q}r}u&v\end{array}", r"\begin{CD}A @<a<< B @>>b C\end{CD}",
    r"\begin{multlined}[abc] a \end{multlined}", r"\begin{matrix*}[] a \end{matrix*}",
    r"a\\ [b]", r"\rule{1em}[2em]", r"\begin{math}q\end{math}", r"\ce{\kern{1.5mu}}",
    r"\text{a\mskip{1em}e}", r"\sqrt[\uproot-1.5\gamma]{m}",
    r"\eval[x|_0^\infty",
]


def _post(formulas: list[str]) -> str:
    return "\n".join(f"Formula {i}:\n\n$$\n{f}\n$$\n" for i, f in enumerate(formulas))


def _tex(formulas: list[str]) -> str:
    doc = convert(_post(formulas), Options(equation_numbers="none"))
    errs = [d for d in doc.diagnostics if d.severity.value == "error"]
    assert not errs, errs
    return doc.tex



@needs_tex
def test_rescuescompiles() -> None:
    formulas = RESCUES + (MHCHEM if installed("mhchem") else [])
    if compiles(_tex(formulas)):
        return
    bad = [f for f in formulas if not compiles(_tex([f]))]
    assert bad == []


def test_mhchem_needs_the_package() -> None:
    res = prepare(r"\ce{H2O}", display=True)
    if installed("mhchem"):
        assert res.ok and "mhchem" in res.packages
    else:
        assert [d.code for d in res.diagnostics] == ["math-package-missing"]


@needs_tex
def test_flagged_fail_in_tex() -> None:
    for f in FLAGGED:
        res = prepare(f, display=True, line=1, column=1)
        assert not res.ok, f
    mhchem = installed("mhchem")
    pre = ("\\documentclass{article}\\usepackage[T1]{fontenc}\\usepackage{amsmath,amssymb,"
           "mathtools,amscd,cases,colortbl,xcolor" + (",mhchem" if mhchem else "") +
           "}\\begin{document}\n")
    flagged = [f for f in FLAGGED if mhchem or "\\ce" not in f]
    quiet: list[str] = []
    for k in range(0, len(flagged), 12):
        chunk = flagged[k : k + 12]
        log = _nonstop(pre, chunk)
        parts = log.split("MARK")[1:]
        if len(parts) != len(chunk) + 1:  # TeX lost its way: each one alone
            parts = [_nonstop(pre, [f]).split("MARK", 1)[-1] for f in chunk]
        quiet += [f for f, part in zip(chunk, parts, strict=False)
                  if "\n!" not in part and not part.startswith("!")]
    assert quiet == []


def _nonstop(pre: str, formulas: list[str]) -> str:
    body = "\n".join(f"\\typeout{{M\\string ARK{i}}}\\[{f}\\]\\par"
                     for i, f in enumerate(formulas))
    with tempfile.TemporaryDirectory() as tmp:
        Path(tmp, "a.tex").write_text(pre + body + "\\typeout{M\\string ARKEND}\\end{document}",
                                      encoding="utf-8")
        subprocess.run(["pdflatex", "-interaction=nonstopmode", "a.tex"], cwd=tmp,
                       capture_output=True, stdin=subprocess.DEVNULL, timeout=120)
        return Path(tmp, "a.log").read_text(errors="replace")


#: valid TeX as written, but md2tex cannot carry them over (definitions are hoisted to the
#: preamble): reported rather than broken
UNSUPPORTED = [r"\def\x#1{\@ifnextchar x{yes}{no}}\x{}x",
               r"\let\aa\textbf\let\textbf\sqrt\textbf[1]"]
#: TeX programming: no error from the checker, TeX's verdict is asked (mathprobe.py)
NEEDS_TEX = [r"\let\a a\a", r"\def\w{5}\w\textbf{\w\def\w{6}\w}\w", r"\let\eqq==p\eqq q"]


@pytest.mark.parametrize("tex", UNSUPPORTED)
def test_unsupported_definitions_are_reported(tex: str) -> None:
    assert not prepare(tex, display=True, line=1, column=1).ok


@pytest.mark.parametrize("tex", NEEDS_TEX)
def test_tex_programming_needs_tex(tex: str) -> None:
    res = prepare(tex, display=True, line=1, column=1)
    assert res.ok and res.needs_tex and not res.definitions
    # definitions stay in the formula, as TeX reads them
    assert res.latex.startswith(tex[:6]) and res.latex.endswith(tex[-3:])


def test_recursive_definition_is_reported() -> None:
    # TeX would loop until killed, so this one is not compiled
    res = prepare(r"\def\x{\x} \x", display=True, line=1, column=1)
    assert [d.code for d in res.diagnostics if d.severity.value == "error"] == [
        "math-definition"]
