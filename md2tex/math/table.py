"""What LaTeX (TeX Live, pdflatex) knows about math macros and environments.

The tables in ``md2tex/math/data`` are checked row by row against a real pdflatex by
``tests/test_mathtable.py``; this module only loads them, lazily, so that importing md2tex
stays cheap for runs that never validate math. Their ``traits`` columns hold the facts the
checker asks about one macro or environment, so such a fact is a row, not a set in code.
"""

from __future__ import annotations

import csv
import difflib
from collections.abc import Mapping
from functools import cache
from importlib import resources
from types import MappingProxyType
from typing import Literal, NamedTuple, cast

from md2tex.mathengine import DEFAULT_ENGINE as DEFAULT_ENGINE
from md2tex.mathengine import ENGINES

__all__ = [
    "OPTIONAL_PACKAGES",
    "EnvironmentInfo",
    "MacroInfo",
    "MathJaxOnlyInfo",
    "all_environments",
    "all_macros",
    "closest_macros",
    "css_color",
    "engine_of",
    "environment",
    "environment_has",
    "has",
    "macro",
    "mathjax_only",
    "translations",
]

Mode = Literal["math", "text", "both"]
#: the web math engines a site may use (``Options.math_engine``); MathJax 3 by default
MATH_ENGINES = ENGINES
Kind = Literal["display", "inner"]


class MacroInfo(NamedTuple):
    """A control sequence LaTeX defines (``name`` without the backslash: ``","`` for ``\\,``,
    ``" "`` for a backslash-space, ``"\\\\"`` -- one backslash -- for ``\\\\``).

    ``args`` counts the mandatory arguments TeX reads (0 for \\left, \\big, \\over..., whose
    operand is a delimiter or infix material), ``optional`` the ``[...]`` ones it may read;
    ``mode`` says where it is valid; ``package`` is what must be loaded ("kernel": nothing);
    ``traits`` are the facts the checker asks about it (``TRAITS``).
    """

    name: str
    args: int
    optional: int
    mode: Mode
    package: str
    traits: frozenset[str] = frozenset()


class EnvironmentInfo(NamedTuple):
    """An environment: ``display`` ones stand alone, ``inner`` ones go inside math;
    ``traits`` are the facts the checker asks about it (``ENVIRONMENT_TRAITS``)."""

    name: str
    args: int
    kind: Kind
    package: str
    traits: frozenset[str] = frozenset()


class MathJaxOnlyInfo(NamedTuple):
    """A MathJax macro LaTeX lacks, with a LaTeX replacement (``#1``... for arguments)
    or ``""`` when there is none."""

    name: str
    args: int
    latex_equivalent: str


#: Packages TeX Live distributions often leave out, with how to get them: a formula that
#: needs one is an error when ``kpsewhich`` cannot find it (or TeX is not installed).
OPTIONAL_PACKAGES = {
    "mhchem": "install it: apt-get install texlive-science, or tlmgr install mhchem",
}

#: the ``traits`` column of math_macros.tsv: facts about a macro that decide how MathJax
#: and TeX differ on it (comma-separated in a row; see ``has``)
TRAITS = {
    "operator": "built on \\mathop: TeX rejects it as an unbraced script or \\sqrt argument",
    "limits": "a big operator: \\limits and \\sideset may follow it",
    "accent": "a math accent: a font command as its unbraced argument fails",
    "font": "a math font command (\\mathbf...)",
    "script-ok": "takes arguments yet TeX accepts it as an unbraced script (x^\\frac12)",
    "script-braced": "takes no argument yet TeX rejects it as an unbraced script (x^\\cdots, "
                     "x^\\,, x^\\*: it expands to more than one math atom); MathJax takes it",
    "braced-arg": "fails as the unbraced argument of another command (\\hat\\frac12)",
    "font-switch": "an old font switch (\\rm): MathJax applies it to the next argument",
    "color": "takes a colour argument (xcolor's model or name, CSS hex or name)",
}


#: the ``traits`` column of math_environments.tsv (see ``environment_has``)
ENVIRONMENT_TRAITS = {
    "numbered": "amsmath numbers its rows (the starred form does not)",
    "matrix": "a matrix: at most MAX_MATRIX_COLS columns, no column spec",
    "alignat": "takes its number of column pairs as an argument",
    "alone": "a display with no inner form: valid only as the whole formula",
    "empheq-inner": "may be the environment inside empheq",
    "no-rows": "one row: \\cr and \\hline have no rows to end in it",
    "display-cells": "its cells are in display style (array, matrix and cases cells are not)",
}


def _traits(filename: str, row: dict[str, str], known: Mapping[str, str]) -> frozenset[str]:
    """The comma-separated ``traits`` of a row, each one of ``known``."""
    traits = frozenset(row["traits"].split(",")) - {""}
    if not traits <= known.keys():
        raise ValueError(f"{filename}: unknown trait {sorted(traits - known.keys())} "
                         f"for {row['name']!r}")
    return traits


_MODES = frozenset({"math", "text", "both"})
_KINDS = frozenset({"display", "inner"})


def _rows(filename: str, header: list[str]) -> list[dict[str, str]]:
    """The rows of a TSV from ``md2tex.math.data``; the header must be exactly as expected."""
    text = resources.files("md2tex.math.data").joinpath(filename).read_text(encoding="utf-8")
    # Names like "{" or "\" are data: no quoting, no escapes.
    reader = csv.reader(text.splitlines(), delimiter="\t", quoting=csv.QUOTE_NONE)
    found = next(reader)
    if found != header:
        raise ValueError(f"{filename}: header {found!r}, expected {header!r}")
    rows = [dict(zip(header, row, strict=True)) for row in reader if row]
    names = [row["name"] for row in rows]
    if len(set(names)) != len(names):
        raise ValueError(f"{filename}: a name appears twice")
    return rows


@cache
def all_macros() -> Mapping[str, MacroInfo]:
    """Every known macro by name (read-only)."""
    table: dict[str, MacroInfo] = {}
    for row in _rows("math_macros.tsv",
                     ["name", "args", "optional", "mode", "package", "traits"]):
        if row["mode"] not in _MODES:
            raise ValueError(f"math_macros.tsv: bad mode {row['mode']!r} for {row['name']!r}")
        table[row["name"]] = MacroInfo(row["name"], int(row["args"]), int(row["optional"]),
                                       cast(Mode, row["mode"]), row["package"],
                                       _traits("math_macros.tsv", row, TRAITS))
    return MappingProxyType(table)


@cache
def all_environments() -> Mapping[str, EnvironmentInfo]:
    """Every known math environment by name (read-only)."""
    table: dict[str, EnvironmentInfo] = {}
    for row in _rows("math_environments.tsv", ["name", "args", "kind", "package", "traits"]):
        if row["kind"] not in _KINDS:
            raise ValueError(f"math_environments.tsv: bad kind {row['kind']!r}")
        table[row["name"]] = EnvironmentInfo(row["name"], int(row["args"]),
                                             cast(Kind, row["kind"]), row["package"],
                                             _traits("math_environments.tsv", row,
                                                     ENVIRONMENT_TRAITS))
    return MappingProxyType(table)


@cache
def _engine_only(filename: str) -> Mapping[str, MathJaxOnlyInfo]:
    """A web engine's commands LaTeX lacks (``name``, ``args``, ``latex_equivalent``)."""
    table = {row["name"]: MathJaxOnlyInfo(row["name"], int(row["args"]),
                                          row["latex_equivalent"])
             for row in _rows(filename, ["name", "args", "latex_equivalent"])}
    return MappingProxyType(table)


def mathjax_only() -> Mapping[str, MathJaxOnlyInfo]:
    """MathJax macros that LaTeX (with the packages above) does not have."""
    return _engine_only("mathjax_only.tsv")


def _katex_only() -> Mapping[str, MathJaxOnlyInfo]:
    return _engine_only("katex_only.tsv")


def engine_of(options: object) -> str:
    """The web math engine a post is written for: ``Options.math_engine`` when the options
    have it (and it is one md2tex knows), else MathJax 3."""
    engine = getattr(options, "math_engine", DEFAULT_ENGINE)
    return engine if engine in MATH_ENGINES else DEFAULT_ENGINE


@cache
def translations(engine: str | None) -> Mapping[str, MathJaxOnlyInfo]:
    """The commands the site's engine has and LaTeX lacks, with their LaTeX (the one lookup
    every part uses). MathJax: ``mathjax_only.tsv``. KaTeX: ``katex_only.tsv`` over it (KaTeX
    has most MathJax habits too). ``None``: every engine's (the ``--safe`` whitelist).
    Environments are rows named ``{name}`` whose translation is the LaTeX environment."""
    if engine is not None and engine != "katex":
        return mathjax_only()
    return MappingProxyType({**mathjax_only(), **_katex_only()})


@cache
def _css_colors() -> Mapping[str, str]:
    return MappingProxyType({row["name"]: row["hex"]
                             for row in _rows("css_colors.tsv", ["name", "hex"])})


def css_color(name: str) -> str | None:
    """The hex ``RRGGBB`` of a CSS colour name (case-insensitive, as browsers read it)."""
    return _css_colors().get(name.strip().lower())


def macro(name: str) -> MacroInfo | None:
    """The macro ``name`` (no backslash), or None if LaTeX does not know it."""
    return all_macros().get(name)


def has(name: str, trait: str) -> bool:
    """Whether LaTeX knows the macro ``name`` and its row has ``trait`` (one of ``TRAITS``)."""
    info = all_macros().get(name)
    return info is not None and trait in info.traits


def environment(name: str) -> EnvironmentInfo | None:
    """The environment ``name``, or None if it is not a known math environment."""
    return all_environments().get(name)


def environment_has(name: str, trait: str) -> bool:
    """Whether ``name`` is a known math environment whose row has ``trait``."""
    info = all_environments().get(name)
    return info is not None and trait in info.traits


def closest_macros(name: str, n: int = 3) -> list[str]:
    """Up to ``n`` known macro names resembling ``name``, best first, for "did you mean"."""
    return list(_closest(name, n))


@cache
def _by_length() -> dict[int, tuple[str, ...]]:
    table: dict[int, list[str]] = {}
    for known in all_macros():
        table.setdefault(len(known), []).append(known)
    return {k: tuple(v) for k, v in table.items()}


@cache
def _closest(name: str, n: int) -> tuple[str, ...]:
    # difflib's ratio is 2*matches/(len(a)+len(b)) <= 2*min/(sum): names whose length
    # cannot reach the 0.6 cutoff are skipped (the same result, ~5x faster); cached because
    # one post repeats the same unknown macro many times
    la = len(name)
    pool = [known for lb, names in _by_length().items()
            if 2 * min(la, lb) >= 0.6 * (la + lb) for known in names]
    return tuple(difflib.get_close_matches(name, pool, n=n, cutoff=0.6))
