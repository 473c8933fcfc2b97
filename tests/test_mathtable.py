"""The math tables are claims about TeX Live; every row is checked here by a real pdflatex run.

For each package group one document uses every macro of the group with its arity (math rows
inside ``\\[...\\]``, text rows in running text, each followed by an ``\\outer`` macro that
TeX refuses to read as an argument) and every environment with a minimal body. Only when a
document fails is it bisected, so a green run costs one compile per group.

The opposite claims are checked with one ``nonstopmode`` run per group whose log is cut at a
marker per row: every non-kernel row *needs* its package (it fails with only the package's
base loaded), every math-only row fails in text, every text-only row fails (or warns) in
math, and every row fails with one argument fewer. Finally everything, optional arguments
included, is compiled together under the packages of the md2tex template, to catch clashes.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import tempfile
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from functools import cache, partial
from pathlib import Path
from typing import TypeVar

import pytest

from md2tex.math import table as mathtable
from md2tex.math.table import EnvironmentInfo, MacroInfo

T = TypeVar("T")

#: An ``\outer`` macro put right after a usage: if the command tried to read one argument
#: more than the table says, TeX stops with "Forbidden control sequence".
ARGSTOP = r"\mdtexargstop"

#: Packages that a package's rows must *not* be available with (its "base"): the rows of
#: ``amssymb`` must fail with only ``amsfonts`` loaded, and so on.
PACKAGE_BASE: dict[str, tuple[str, ...]] = {
    "amssymb": ("amsfonts",),
    "mathtools": ("amsmath",),
    "esint": ("amsmath",),
    "empheq": ("amsmath",),
}

#: The packages md2tex's default template loads (pdflatex), around the math packages.
TEMPLATE_BEFORE = (r"\usepackage[T1]{fontenc}", r"\usepackage{lmodern}",
                   r"\usepackage{textcomp}", r"\usepackage{amsmath,amssymb}")
TEMPLATE_AFTER = (r"\usepackage[dvipsnames]{xcolor}", r"\usepackage{graphicx}",
                  r"\usepackage{longtable,booktabs,array}")
TEMPLATE_LAST = (r"\usepackage{xurl}", r"\usepackage{hyperref}")
#: Math packages that only work when loaded after ``array`` (loaded later, array undoes
#: arydshln's changes to the array preamble and \hdashline is undefined).
AFTER_ARRAY = frozenset({"arydshln"})
#: Loaded for the mode and arity checks, as the template always loads them (amsmath changes
#: how some kernel commands behave, e.g. \overrightarrow becomes math-only).
TEMPLATE_MATH = ("amsmath", "amssymb")
#: Packages the template loads itself (with options): not loaded again as math packages,
#: which would clash (``xcolor`` before ``[dvipsnames]{xcolor}`` is an option clash).
TEMPLATE_LOADS = frozenset({"kernel", "amsmath", "amssymb", "xcolor", "graphicx", "array",
                            "hyperref"})
#: Math packages that must come late (hyperref wants to be last of all).
LATE_PACKAGES = ("hyperref",)

#: Mandatory arguments that must be something particular (default: ``x`` each).
ARGS: dict[str, tuple[str, ...]] = {
    "hspace": ("1em",), "hspace*": ("1em",), "vspace": ("1em",), "vspace*": ("1em",),
    "mspace": ("3mu",),
    "color": ("red",), "textcolor": ("red", "x"), "colorbox": ("red", "x"),
    "fcolorbox": ("red", "blue", "x"), "definecolor": ("mdtexcolor", "rgb", "1,0,0"),
    "rule": ("1pt", "1pt"), "raisebox": ("1pt", "x"), "parbox": ("1cm", "x"),
    "genfrac": ("(", ")", "0pt", "0", "a", "b"),
    "href": ("https://example.org", "x"), "url": ("https://example.org",),
    "nolinkurl": ("https://example.org",),
    "cancelto": ("0", "x"), "skew": ("3", r"\hat", "A"), "substack": (r"a\\b",),
    "newcommand": (r"\mdtexnew", "x"), "providecommand": (r"\mdtexprov", "x"),
    "renewcommand": (r"\alpha", "a"),
    "DeclarePairedDelimiter": (r"\mdtexpaired", r"\lvert", r"\rvert"),
    "newtagform": ("mdtexform", "[", "]"), "renewtagform": ("default", "(", ")"),
    "usetagform": ("default",),
    "begin": ("center",), "end": ("center",), "xmathstrut": ("0.1",),
    "newenvironment": ("mdtexenv", "", ""), "renewenvironment": ("center", "", ""),
    "mathversion": ("bold",), "mathtoolsset": ("showonlyrefs=false",),
    "displaylines": (r"a \cr b",), "bordermatrix": (r"& a \cr b & c",),
}

#: Math usages that are not "name + braced arguments"; put inside ``\[...\]``.
MATH: dict[str, str] = {
    "left": r"\left( x \right)", "right": r"\left( x \right)",
    "char": r"\char`a", "sp": r"a\sp{2}", "sb": r"a\sb{2}", "newline": r"a \newline b",
    "middle": r"\left( x \middle| y \right)",
    **{name: rf"\{name}( x" for name in
       ("big", "Big", "bigg", "Bigg", "bigl", "Bigl", "biggl", "Biggl", "bigm", "Bigm", "biggm",
        "Biggm")},
    **{name: rf"x \{name})" for name in ["bigr", "Bigr", "biggr", "Biggr"]},
    **{name: rf"{{a \{name} b}}" for name in ["over", "atop", "choose", "brace", "brack"]},
    "above": r"{a \above 1pt b}", "overwithdelims": r"{a \overwithdelims() b}",
    "atopwithdelims": r"{a \atopwithdelims() b}",
    "abovewithdelims": r"{a \abovewithdelims() 1pt b}",
    "buildrel": r"\buildrel a \over =", "root": r"\root 3 \of x",
    "not": r"a \not= b", "centernot": r"a \centernot\in b",
    "limits": r"\sum\limits_a^b", "nolimits": r"\sum\nolimits_a^b",
    "displaylimits": r"\sum\displaylimits_a^b", "nonscript": r"a \nonscript\mskip 3mu b",
    "hskip": r"a \hskip 1em b", "mskip": r"a \mskip 3mu b", "kern": r"a \kern 1pt b",
    "mkern": r"a \mkern 3mu b", "raise": r"\raise 1pt\hbox{x}", "lower": r"\lower 1pt\hbox{x}",
    "sideset": r"\sideset{_a}{^b}\sum", "leftroot": r"\sqrt[\leftroot{1}\uproot{2}3]{x}",
    "uproot": r"\sqrt[\leftroot{1}\uproot{2}3]{x}",
    "adjustlimits": r"\adjustlimits\lim_{a} \sup_{b} x",
    "smashoperator": r"\smashoperator[r]{\sum_{a b c}} x",
    "hdotsfor": r"\begin{matrix} a & b \\ \hdotsfor{2} \end{matrix}",
    "\\": r"\begin{array}{c} a \\ b \end{array}", "cr": r"\begin{array}{c} a \cr b \end{array}",
    "hline": r"\begin{array}{c} \hline a \end{array}",
    "hdashline": r"\begin{array}{c} a \\ \hdashline b \end{array}",
    "noalign": r"\begin{array}{c} a \\ \noalign{\smallskip} b \end{array}",
    "omit": r"\begin{array}{c} \omit a \end{array}",
    "vline": r"\begin{array}{c} a \vline \end{array}",
    "cline": r"\begin{array}{cc} a & b \\ \cline{1-2} \end{array}",
    "cdashline": r"\begin{array}{cc} a & b \\ \cdashline{1-2} \end{array}",
    "multicolumn": r"\begin{array}{cc} \multicolumn{2}{c}{x} \end{array}",
    "cellcolor": r"\begin{array}{c} \cellcolor{red} x \end{array}",
    "rowcolor": r"\begin{array}{c} \rowcolor{red} x \end{array}",
    "columncolor": r"\begin{array}{>{\columncolor{red}}c} x \end{array}",
    "begin": r"\begin{array}{c} x \end{array}", "end": r"\begin{array}{c} x \end{array}",
    "def": r"\def\mdtexdef{x}", "let": r"\let\mdtexlet=x", "verb": r"\verb|x|",
    "begingroup": r"\begingroup x \endgroup", "endgroup": r"\begingroup x \endgroup",
}

#: Math usages that are whole display environments, used at paragraph level.
DISPLAY: dict[str, str] = {
    "intertext": r"\begin{align*} a \\ \intertext{x} b \end{align*}",
    "shortintertext": r"\begin{align*} a \\ \shortintertext{x} b \end{align*}",
    "raisetag": r"\begin{align} a \raisetag{1pt} \end{align}",
    "displaybreak": r"\begin{align*} a \displaybreak[0] \\ b \end{align*}",
    "shoveleft": r"\begin{multline*} a \\ \shoveleft{b} \\ c \end{multline*}",
    "shoveright": r"\begin{multline*} a \\ \shoveright{b} \\ c \end{multline*}",
    "MoveEqLeft": r"\begin{align*} \MoveEqLeft a \\ &= b \end{align*}",
    "ArrowBetweenLines": (r"\begin{alignat*}{2} && a &= b \\ \ArrowBetweenLines && c &= d"
                          r" \end{alignat*}"),
    "vdotswithin": r"\begin{align*} a &= b \\ & \vdotswithin{=} \\ &= c \end{align*}",
    "shortvdotswithin": r"\begin{align*} a &= b \shortvdotswithin{=} &= c \end{align*}",
    "Aboxed": r"\begin{align*} \Aboxed{a &= b} \end{align*}",
}

#: Text usages that are not "name + braced arguments".
TEXT: dict[str, str] = {
    "\\": r"a \\ b", "cr": r"\begin{tabular}{c} a \cr b \end{tabular}",
    "hline": r"\begin{tabular}{c} \hline a \end{tabular}",
    "hdashline": r"\begin{tabular}{c} a \\ \hdashline b \end{tabular}",
    "noalign": r"\begin{tabular}{c} a \\ \noalign{\smallskip} b \end{tabular}",
    "omit": r"\begin{tabular}{c} \omit a \end{tabular}",
    "vline": r"\begin{tabular}{c} a \vline \end{tabular}",
    "cline": r"\begin{tabular}{cc} a & b \\ \cline{1-2} \end{tabular}",
    "cdashline": r"\begin{tabular}{cc} a & b \\ \cdashline{1-2} \end{tabular}",
    "multicolumn": r"\begin{tabular}{cc} \multicolumn{2}{c}{x} \end{tabular}",
    "cellcolor": r"\begin{tabular}{c} \cellcolor{red} x \end{tabular}",
    "rowcolor": r"\begin{tabular}{c} \rowcolor{red} x \end{tabular}",
    "columncolor": r"\begin{tabular}{>{\columncolor{red}}c} x \end{tabular}",
    "item": r"\begin{itemize} \item x \end{itemize}", "verb": r"\verb|x|",
    "begin": r"\begin{center} x \end{center}", "end": r"\begin{center} x \end{center}",
    "def": r"\def\mdtexdef{x}", "let": r"\let\mdtexlet=x",
    "begingroup": r"\begingroup x \endgroup", "endgroup": r"\begingroup x \endgroup",
    "hskip": r"a \hskip 1em b", "kern": r"a \kern 1pt b",
    "raise": r"a \raise 1pt\hbox{x}", "lower": r"a \lower 1pt\hbox{x}",
    "newline": r"a \newline b", "linebreak": r"a \linebreak b", "/": r"a\/ b",
    "char": r"\char`a",
}

#: Usages with every optional argument given, one per row that has any; checked under the
#: template's packages (\smash[t] for one needs amsmath, which the template always loads).
OPTIONAL: dict[str, str] = {
    **{name: rf"\[ \{name}[b]{{a}} \]" for name in
       ("xrightarrow", "xleftarrow", "xLeftarrow", "xRightarrow", "xleftrightarrow",
        "xLeftrightarrow", "xhookleftarrow", "xhookrightarrow", "xmapsto", "xrightharpoondown",
        "xrightharpoonup", "xleftharpoondown", "xleftharpoonup", "xrightleftharpoons",
        "xleftrightharpoons", "xlongrightarrow", "xlongleftarrow")},
    "overbracket": r"\[ \overbracket[1pt][2pt]{x} \]",
    "underbracket": r"\[ \underbracket[1pt][2pt]{x} \]",
    "makebox": r"\[ \makebox[1cm][l]{x} \]", "framebox": r"\[ \framebox[1cm][r]{x} \]",
    "raisebox": r"\[ \raisebox{1pt}[2pt][1pt]{x} \]",
    "parbox": r"\[ \parbox[t][1cm][s]{1cm}{x} \]", "smash": r"\[ \smash[t]{x} \]",
    **{name: rf"\[ \{name}[\scriptstyle]{{x}} \]" for name in
       ("mathrlap", "mathllap", "mathclap", "cramped", "crampedclap", "crampedrlap",
        "crampedllap")},
    "mathmakebox": r"\[ \mathmakebox[1cm][l]{x} \]", "xmathstrut": r"\[ \xmathstrut[0.2]{0.1} \]",
    "rule": r"\[ \rule[1pt]{1pt}{1pt} \]", "cfrac": r"\[ \cfrac[l]{a}{b} \]",
    "sqrt": r"\[ \sqrt[3]{x} \]",
    "displaybreak": r"\begin{align*} a \displaybreak[2] \\ b \end{align*}",
    "MoveEqLeft": r"\begin{align*} \MoveEqLeft[2] a \\ &= b \end{align*}",
    "ArrowBetweenLines": (r"\begin{alignat*}{2} && a &= b \\ \ArrowBetweenLines[\Updownarrow]"
                          r" && c &= d \end{alignat*}"),
    "smashoperator": r"\[ \smashoperator[lr]{\sum_{a b c}} x \]",
    "hdotsfor": r"\[ \begin{matrix} a & b \\ \hdotsfor[2]{2} \end{matrix} \]",
    "color": r"\[ \color[rgb]{1,0,0} x \]", "textcolor": r"\[ \textcolor[rgb]{1,0,0}{x} \]",
    "colorbox": r"\[ \colorbox[rgb]{1,0,0}{x} \]",
    "fcolorbox": r"\[ \fcolorbox[rgb]{1,0,0}[rgb]{0,0,1}{x} \]",
    "definecolor": r"\definecolor[named]{mdtexopt}{rgb}{1,0,0}",
    "href": r"\href[pdfnewwindow]{https://example.org}{x}",
    "cellcolor": r"\[ \begin{array}{c} \cellcolor[rgb]{1,0,0} x \end{array} \]",
    "rowcolor": r"\[ \begin{array}{c} \rowcolor[rgb]{1,0,0}[1pt][1pt] x \end{array} \]",
    "columncolor": r"\[ \begin{array}{>{\columncolor[rgb]{1,0,0}[1pt][1pt]}c} x \end{array} \]",
    "newcommand": r"{\newcommand{\mdtexopt}[1][a]{#1}}",
    "renewcommand": r"{\renewcommand{\alpha}[1][a]{#1}}",
    "providecommand": r"{\providecommand{\mdtexprovopt}[1][a]{#1}}",
    "newenvironment": r"{\newenvironment{mdtexoptenv}[1][a]{#1}{}}",
    "renewenvironment": r"{\renewenvironment{center}[1][a]{#1}{}}",
    **{name: rf"\{name}[s]{{x}}" for name in
       ("section", "subsection", "subsubsection", "paragraph")},
    "footnote": r"\footnote[3]{x}",
    "newtagform": r"\newtagform{mdtexoptform}[\textbf]{[}{]}",
    "renewtagform": r"\renewtagform{default}[\textbf]{(}{)}",
    "\\": r"\[ \begin{array}{c} a \\[2pt] b \end{array} \]",
    "linebreak": r"a \linebreak[2] b", "item": r"\begin{itemize} \item[-] x \end{itemize}",
    "hdashline": r"\[ \begin{array}{c} a \\ \hdashline[2pt/1pt] b \end{array} \]",
    "cdashline": r"\[ \begin{array}{cc} a & b \\ \cdashline{1-2}[2pt/1pt] \end{array} \]",
}

#: Rows that only make sense in the preamble; the usage goes there.
PREAMBLE: dict[str, str] = {
    "DeclareMathOperator": r"\DeclareMathOperator{\mdtexop}{op}",
    "DeclareMathOperator*": r"\DeclareMathOperator*{\mdtexopl}{opl}",
}

#: Rows whose mode is a judgement the log cannot show: \cal and \mit silently do nothing in
#: text; \noindent, \indent, \centering, \newline and \linebreak are silently ignored in
#: a display.
MODE_UNCHECKED = frozenset({"cal", "mit", "noindent", "indent", "centering", "newline",
                            "linebreak"})

#: Minimal bodies of environments (``&`` count matters); default: ``a``.
ENV_BODY: dict[str, str] = {
    **{n: r"a &= b \\ c &= d" for n in
       ["align", "align*", "flalign", "flalign*", "aligned", "split"]},
    **{n: r"a &= b & c &= d" for n in
       ("alignat", "alignat*", "alignedat", "xalignat", "xalignat*", "xxalignat")},
    **{n: r"a \\ b" for n in
       ("gather", "gather*", "gathered", "lgathered", "rgathered", "multline", "multline*",
        "multlined", "subarray", "crampedsubarray")},
    "eqnarray": r"a &=& b \\ c &=& d", "eqnarray*": r"a &=& b \\ c &=& d",
    "CD": r"A @>>> B", "subequations": r"\begin{equation} y \end{equation}",
    "spreadlines": r"\begin{align} a \\ b \end{align}", "empheq": r"a &= b",
    "numcases": r"a & b \\ c & d", "subnumcases": r"a & b \\ c & d",
}
#: Arguments of environments; default ``{2}`` for a numeric one, ``{cc}`` for a preamble.
ENV_ARGS: dict[str, str] = {
    "array": "{cc}", "subarray": "{c}", "crampedsubarray": "{c}", "spreadlines": "{1em}",
    "empheq": "{align}", "numcases": "{f=}", "subnumcases": "{f=}",
}


def _braced(args: Iterable[str]) -> str:
    return "".join("{" + a + "}" for a in args)


def _generic(info: MacroInfo) -> str:
    args = ARGS.get(info.name, ("x",) * info.args)
    assert len(args) == info.args, f"ARGS[{info.name!r}] disagrees with the table"
    return "\\" + info.name + _braced(args) + ARGSTOP


def math_usage(info: MacroInfo) -> str | None:
    """LaTeX that uses the row in math, wrapped for the body; None for text-only rows."""
    if info.mode == "text" or info.name in PREAMBLE:
        return None
    if info.name in DISPLAY:
        return DISPLAY[info.name]
    return r"\[ " + MATH.get(info.name, _generic(info)) + r" \]"


def text_usage(info: MacroInfo) -> str | None:
    """LaTeX that uses the row in running text; None for math-only rows."""
    if info.mode == "math" or info.name in PREAMBLE:
        return None
    return "{" + TEXT.get(info.name, MATH.get(info.name, _generic(info))) + "}"


def wrong_mode_usage(info: MacroInfo) -> str | None:
    """The row used in the mode the table says it is not for; None when nothing to check."""
    if info.name in MODE_UNCHECKED or info.name in PREAMBLE or info.name in DISPLAY:
        return None
    # No ARGSTOP here: in the wrong mode, error recovery re-reads tokens and an \outer one
    # found by a look-ahead (as in \dotsc) derails the rows that follow.
    plain = _generic(info).replace(ARGSTOP, "")
    if info.mode == "math":
        return MATH.get(info.name, plain)
    if info.mode == "text":
        return r"\[ " + TEXT.get(info.name, plain) + r" \]"
    return None


def environment_usage(env: EnvironmentInfo) -> str:
    """A minimal instance of the environment (inner ones inside ``\\[...\\]``)."""
    args = ENV_ARGS.get(env.name, "{2}" * env.args)
    body = ENV_BODY.get(env.name, r"a & b \\ c & d" if "matri" in env.name or "cases" in
                        env.name else "a")
    if env.name == "math":
        return r"\begin{math} a \end{math}"
    text = rf"\begin{{{env.name}}}{args} {body} \end{{{env.name}}}"
    return text if env.kind == "display" else r"\[ " + text + r" \]"


def package_lines(packages: Iterable[str]) -> list[str]:
    """``\\usepackage`` lines, kernel dropped, hyperref last."""
    wanted = [p for p in dict.fromkeys(packages) if p != "kernel"]
    early = [p for p in wanted if p not in LATE_PACKAGES]
    late = [p for p in wanted if p in LATE_PACKAGES]
    return [rf"\usepackage{{{p}}}" for p in early + late]


def document(preamble: Sequence[str], body: str) -> str:
    """A whole article with the ARGSTOP guard defined."""
    return "\n".join([r"\documentclass{article}", *preamble,
                      r"\outer\def" + ARGSTOP + "{}", r"\begin{document}", body,
                      r"\end{document}", ""])


@dataclass(frozen=True)
class Item:
    """One thing to compile: a row's usage and what the preamble needs for it."""

    label: str
    body: str
    preamble: str = ""


def _items_for(rows: Sequence[MacroInfo], envs: Sequence[EnvironmentInfo]) -> list[Item]:
    items: list[Item] = []
    for r in rows:
        if r.name in PREAMBLE:
            items.append(Item(f"\\{r.name} (preamble)", "", PREAMBLE[r.name]))
        for where, usage in (("math", math_usage(r)), ("text", text_usage(r))):
            if usage is not None:
                items.append(Item(f"\\{r.name} ({where})", usage + "\n\n"))
    items += [Item(f"{{{e.name}}} (environment)", environment_usage(e) + "\n\n") for e in envs]
    return items


def _run(tex: str, halt: bool) -> tuple[bool, str]:
    """Compile; (success, log)."""
    with tempfile.TemporaryDirectory(prefix="mdtex-mt-") as tmp:
        Path(tmp, "t.tex").write_text(tex, encoding="utf-8")
        cmd = ["pdflatex", "-interaction=nonstopmode", "-no-shell-escape", "t.tex"]
        if halt:
            cmd.insert(2, "-halt-on-error")
        env = {**os.environ, "max_print_line": "100000", "error_line": "254",
               "half_error_line": "238"}
        proc = subprocess.run(cmd, cwd=tmp, capture_output=True, env=env, timeout=120,
                              stdin=subprocess.DEVNULL, check=False)
        log_path = Path(tmp, "t.log")
        log = log_path.read_text(encoding="latin-1") if log_path.exists() else ""
    # A font command in math only warns, but it does not do its job: a failure too.
    ok = proc.returncode == 0 and not re.search(r"^! |invalid in math mode", log, re.M)
    return ok, log


def _compiles(preamble: Sequence[str], items: Sequence[Item]) -> bool:
    pre = [*preamble, *(i.preamble for i in items if i.preamble)]
    return _run(document(pre, "".join(i.body for i in items)), halt=True)[0]


def assert_preamble_works(preamble: Sequence[str]) -> None:
    """Fail at once, with TeX's words, when the packages alone do not load: otherwise every
    row would seem to fail and bisecting them all would take long."""
    ok, log = _run(document(preamble, "x"), halt=True)
    errors = [line for line in log.splitlines() if line.startswith("! ")]
    assert ok, "the preamble alone fails: " + " / ".join(errors or [log[-1500:]])


def bisect_failures(items: Sequence[T], ok: Callable[[Sequence[T]], bool]) -> list[T]:
    """Items that fail on their own; all of them if only their combination fails."""
    if ok(items):
        return []
    if len(items) <= 1:
        return list(items)
    mid = len(items) // 2
    bad = bisect_failures(items[:mid], ok) + bisect_failures(items[mid:], ok)
    return bad or list(items)


MARK = "@@mdtexrow "

#: After a row, close whatever groups its errors left open (e-TeX tells their types), so
#: that one row's error recovery cannot spill into the next row's part of the log.
RESYNC = r"""\def\mdtexresync{\ifnum\currentgrouplevel>0 \expandafter\mdtexclose\fi}
\def\mdtexclose{\aftergroup\mdtexresync
  \ifcase\currentgrouptype\or\egroup\or\egroup\or\egroup\or\egroup\or\egroup
  \or\crcr\egroup\or\egroup\or\egroup\or\egroup\or\egroup\or\egroup\or\egroup\or\egroup
  \or\endgroup\or\ifinner$\else$$\fi\or\right.\fi}
"""


def failing_rows(preamble: Sequence[str], usages: Sequence[str], extra: str = "") -> list[bool]:
    """One nonstopmode run; per usage, whether the log shows an error (or ``extra``) for it.

    Each usage ends a paragraph, which resets TeX's count of errors (it gives up at 100).
    """
    body = RESYNC + "".join(rf"\typeout{{{MARK}{i}}}" + u + r"\par\mdtexresync\par" + "\n"
                            for i, u in enumerate(usages))
    body += rf"\typeout{{{MARK}end}}" + "\n"
    _, log = _run(document(preamble, body), halt=False)
    bad = [False] * len(usages)
    current: int | None = None
    reached_end = False
    pattern = re.compile(r"^! " + (f"|{extra}" if extra else ""), re.M)
    for line in log.splitlines():
        if line.startswith(MARK):
            tag = line[len(MARK):].strip()
            current = int(tag) if tag.isdigit() else None
            reached_end = reached_end or tag == "end"
        elif current is not None and pattern.search(line):
            bad[current] = True
    assert reached_end, "pdflatex gave up before the last row:\n" + log[-3000:]
    return bad


def _groups() -> dict[str, tuple[list[MacroInfo], list[EnvironmentInfo]]]:
    groups: dict[str, tuple[list[MacroInfo], list[EnvironmentInfo]]] = {}
    for m in mathtable.all_macros().values():
        groups.setdefault(m.package, ([], []))[0].append(m)
    for e in mathtable.all_environments().values():
        groups.setdefault(e.package, ([], []))[1].append(e)
    return groups


def _parallel(jobs: Sequence[Callable[[], T]]) -> list[T]:
    with ThreadPoolExecutor(max_workers=max(2, os.cpu_count() or 2)) as pool:
        return list(pool.map(lambda job: job(), jobs))


@dataclass(frozen=True)
class Check:
    """Labelled usages that must each show an error, checked in one nonstopmode run."""

    preamble: tuple[str, ...]
    usages: tuple[tuple[str, str], ...]
    extra: str = ""


def _without_error(check: Check) -> list[str]:
    bad = failing_rows(check.preamble, [u for _, u in check.usages], check.extra)
    return [label for (label, _), b in zip(check.usages, bad, strict=True) if not b]


def _run_checks(checks: Iterable[Check]) -> list[str]:
    """Labels of the usages that did *not* fail."""
    jobs = [partial(_without_error, c) for c in checks if c.usages]
    return [label for labels in _parallel(jobs) for label in labels]


needs_pdflatex = pytest.mark.skipif(shutil.which("pdflatex") is None,
                                    reason="pdflatex is not on PATH; rows cannot be verified")


def _group_job(pkg: str, rows: list[MacroInfo], envs: list[EnvironmentInfo]) -> list[str]:
    pre = package_lines([pkg])
    assert_preamble_works(pre)
    items = _items_for(rows, envs)
    return [i.label for i in bisect_failures(items, partial(_compiles, pre))]


@cache
def _group_failures() -> dict[str, list[str]]:
    """Per package: rows and environments that do not compile with just that package."""
    groups = sorted(_groups().items())
    jobs = [partial(_group_job, pkg, rows, envs) for pkg, (rows, envs) in groups]
    return dict(zip([pkg for pkg, _ in groups], _parallel(jobs), strict=True))


@needs_pdflatex
@pytest.mark.slow
@pytest.mark.parametrize("package", sorted({m.package for m in
                                            mathtable.all_macros().values()} |
                                           {e.package for e in
                                            mathtable.all_environments().values()}))
def test_rows_compile_with_their_package(package: str) -> None:
    bad = _group_failures()[package]
    assert not bad, f"with only {package!r} loaded these fail: {', '.join(bad)}"


def _preamble_row_works_without_package(row: MacroInfo) -> list[str]:
    pre = package_lines(PACKAGE_BASE.get(row.package, ()))
    return ["\\" + row.name] if _compiles([*pre, PREAMBLE[row.name]], []) else []


@needs_pdflatex
@pytest.mark.slow
def test_rows_need_their_package() -> None:
    """A row claimed for a package must fail without it (given the package's base)."""
    checks: list[Check] = []
    for pkg, (rows, envs) in sorted(_groups().items()):
        if pkg == "kernel":
            continue
        usages: list[tuple[str, str]] = []
        for r in rows:
            usage = math_usage(r) or text_usage(r)
            if usage is not None:  # None: a preamble row, checked below
                usages.append(("\\" + r.name, usage.replace(ARGSTOP, "")))
        usages += [("{" + e.name + "}", environment_usage(e)) for e in envs]
        checks.append(Check(tuple(package_lines(PACKAGE_BASE.get(pkg, ()))), tuple(usages)))
    unneeded = _run_checks(checks)
    preamble_rows = [r for r in mathtable.all_macros().values()
                     if r.name in PREAMBLE and r.package != "kernel"]
    jobs = [partial(_preamble_row_works_without_package, r) for r in preamble_rows]
    unneeded += [label for labels in _parallel(jobs) for label in labels]
    assert not unneeded, "these work without their package: " + ", ".join(unneeded)


def short_usage(info: MacroInfo) -> str | None:
    """The row with its last mandatory argument missing, in its mode; None if not checkable."""
    if (info.args == 0 or info.name in MATH or info.name in DISPLAY or info.name in PREAMBLE
            or info.name in TEXT):
        return None
    args = ARGS.get(info.name, ("x",) * info.args)[:-1]
    usage = "\\" + info.name + _braced(args) + ARGSTOP
    return usage if info.mode == "text" else r"\[ " + usage + r" \]"


@cache
def _mode_and_arity_misses() -> tuple[list[str], list[str]]:
    """Rows that work outside their mode, and rows that work with one argument fewer; one
    nonstopmode run per package, with amsmath and amssymb loaded as in the template."""
    checks: list[Check] = []
    for pkg, (rows, _) in sorted(_groups().items()):
        usages = [(f"mode:\\{r.name} ({r.mode})", u) for r in rows
                  if (u := wrong_mode_usage(r)) is not None]
        usages += [(f"args:\\{r.name} ({r.args})", u) for r in rows
                   if (u := short_usage(r)) is not None]
        checks.append(Check(tuple(package_lines([*TEMPLATE_MATH, pkg])), tuple(usages),
                            "invalid in math mode"))
    misses = _run_checks(checks)
    return ([m.removeprefix("mode:") for m in misses if m.startswith("mode:")],
            [m.removeprefix("args:") for m in misses if m.startswith("args:")])


@needs_pdflatex
@pytest.mark.slow
def test_modes_are_exclusive() -> None:
    """Math-only rows fail in text; text-only rows fail or warn in math."""
    wrong = _mode_and_arity_misses()[0]
    assert not wrong, "these work outside their mode: " + ", ".join(wrong)


@needs_pdflatex
@pytest.mark.slow
def test_rows_need_all_their_arguments() -> None:
    """One argument fewer than the table says must be an error (the other bound, one more
    than TeX reads, is caught by ARGSTOP in the compile tests)."""
    lax = _mode_and_arity_misses()[1]
    assert not lax, "these work with one argument fewer: " + ", ".join(lax)


@needs_pdflatex
@pytest.mark.slow
def test_everything_together_under_the_template_packages() -> None:
    """All rows at once, with the packages of md2tex's template: no clashes."""
    pre = template_preamble()
    assert_preamble_works(pre)
    items = _items_for(list(mathtable.all_macros().values()),
                       list(mathtable.all_environments().values()))
    items += [Item(f"\\{name} (optional arguments)", usage + "\n\n")
              for name, usage in OPTIONAL.items()]
    bad = bisect_failures(items, partial(_compiles, pre))
    assert not bad, "fail with all packages loaded: " + ", ".join(i.label for i in bad)


def test_every_optional_argument_is_exercised() -> None:
    with_optional = {n for n, m in mathtable.all_macros().items() if m.optional}
    assert with_optional == set(OPTIONAL), (with_optional ^ set(OPTIONAL))


def template_preamble() -> list[str]:
    """The template's packages plus every math package the tables name."""
    packages = [m.package for m in mathtable.all_macros().values()]
    packages += [e.package for e in mathtable.all_environments().values()]
    extra = [p for p in packages if p not in TEMPLATE_LOADS]
    return [*TEMPLATE_BEFORE, *package_lines(p for p in extra if p not in AFTER_ARRAY),
            *TEMPLATE_AFTER, *package_lines(p for p in extra if p in AFTER_ARRAY),
            *TEMPLATE_LAST]


@needs_pdflatex
@pytest.mark.slow
def test_mathjax_equivalents_compile() -> None:
    """Every LaTeX replacement offered for a MathJax-only macro compiles (with ``1pt`` for
    each argument: it is fine both as a length and as math)."""
    pre = template_preamble()
    items = []
    for name, info in sorted(mathtable.mathjax_only().items()):
        if info.latex_equivalent:
            usage = info.latex_equivalent
            for k in range(1, info.args + 1):
                usage = usage.replace(f"#{k}", "1pt")
            assert "#" not in usage, f"{name}: argument number beyond {info.args}"
            items.append(Item(f"\\{name} -> {info.latex_equivalent}",
                              r"\[ " + usage + r" \]" + "\n\n"))
    bad = bisect_failures(items, partial(_compiles, pre))
    assert not bad, "replacements that fail: " + ", ".join(i.label for i in bad)


@needs_pdflatex
@pytest.mark.slow
def test_script_braced_rows_fail_as_unbraced_scripts() -> None:
    """The ``script-braced`` claim: each such row, a script without braces, is a TeX error
    (the checker braces it); braced, it compiles (the compile tests above)."""
    rows = [m for m in mathtable.all_macros().values() if "script-braced" in m.traits]
    checks = [Check(tuple(package_lines([*TEMPLATE_MATH, pkg])),
                    tuple((f"\\{m.name}", rf"\[ x^\{m.name} \]") for m in rows
                          if m.package == pkg))
              for pkg in sorted({m.package for m in rows})]
    lax = _run_checks(checks)
    assert not lax, "these work as unbraced scripts: " + ", ".join(lax)


# --- lookups -------------------------------------------------------------------------------

def test_known_rows() -> None:
    frac = mathtable.macro("frac")
    assert frac == MacroInfo("frac", 2, 0, "math", "kernel",
                             frozenset({"script-ok", "braced-arg"}))
    sqrt = mathtable.macro("sqrt")
    assert sqrt is not None and (sqrt.args, sqrt.optional) == (1, 1)
    assert mathtable.macro("mathbb") == MacroInfo("mathbb", 1, 0, "math", "amsfonts",
                                                  frozenset({"font", "script-ok"}))
    xra = mathtable.macro("xrightarrow")
    assert xra is not None and (xra.args, xra.optional, xra.package) == (1, 1, "amsmath")
    assert mathtable.macro("left") == MacroInfo("left", 0, 0, "math", "kernel")
    text = mathtable.macro("text")
    assert text is not None and text.mode == "both" and text.package == "amsmath"
    large = mathtable.macro("LARGE")
    assert large is not None and large.mode == "text"
    assert mathtable.macro(",") is not None and mathtable.macro("\\") is not None


def test_traits() -> None:
    """The per-macro facts the checker asks about are columns of the table, not code."""
    assert mathtable.has("sum", "operator") and mathtable.has("sum", "limits")
    assert mathtable.has("hat", "accent") and mathtable.has("rm", "font-switch")
    assert not mathtable.has("alpha", "operator") and not mathtable.has("nosuchmacro", "font")
    for info in mathtable.all_macros().values():
        assert info.traits <= mathtable.TRAITS.keys(), info.name
    with_traits = {t: {n for n, i in mathtable.all_macros().items() if t in i.traits}
                   for t in mathtable.TRAITS}
    assert all(with_traits.values()), "a trait no row has"
    assert with_traits["operator"] <= {n for n, i in mathtable.all_macros().items()
                                       if i.args == 0}
    assert with_traits["script-braced"] <= {n for n, i in mathtable.all_macros().items()
                                            if i.args == 0 and not i.optional}


def test_unknown_and_mathjax_only_are_absent() -> None:
    assert mathtable.macro("nosuchmacro") is None
    for name in ("lt", "gt", "require", "bbox", "class", "cssId", "style", "unicode"):
        assert mathtable.macro(name) is None
        assert name in mathtable.mathjax_only()
    lt = mathtable.mathjax_only()["lt"]
    assert (lt.args, lt.latex_equivalent) == (0, "<")


def test_environments() -> None:
    assert mathtable.environment("align*") == EnvironmentInfo(
        "align*", 0, "display", "amsmath", frozenset({"empheq-inner", "display-cells"}))
    assert mathtable.environment("array") == EnvironmentInfo("array", 1, "inner", "kernel")
    alignedat = mathtable.environment("alignedat")
    assert alignedat is not None and alignedat.args == 1 and alignedat.kind == "inner"
    dcases = mathtable.environment("dcases")
    assert dcases is not None and dcases.package == "mathtools"
    assert mathtable.environment("tabular") is None
    assert mathtable.environment_has("align", "numbered")
    assert not mathtable.environment_has("align*", "numbered")
    assert mathtable.environment_has("pmatrix", "matrix")
    assert not mathtable.environment_has("nosuchenv", "matrix")
    for env in mathtable.all_environments().values():
        assert env.traits <= mathtable.ENVIRONMENT_TRAITS.keys(), env.name


def test_tables_are_consistent() -> None:
    macros = mathtable.all_macros()
    assert len(macros) >= 700
    for name, info in macros.items():
        assert name == info.name and info.args >= 0 and info.optional >= 0
        assert info.mode in {"math", "text", "both"}
    for name, env in mathtable.all_environments().items():
        assert name == env.name and env.kind in {"display", "inner"}
    assert not set(macros) & set(mathtable.mathjax_only())
    with pytest.raises(TypeError):
        macros["frac"] = macros["frac"]  # type: ignore[index]


def test_closest_macros() -> None:
    assert mathtable.closest_macros("farc")[0] == "frac"
    assert "mathbb" in mathtable.closest_macros("mathbbb")
    assert len(mathtable.closest_macros("alpah", n=5)) <= 5
    assert "alpha" in mathtable.closest_macros("alpah")
    assert mathtable.closest_macros("zzzzzzzzzzzz") == []
