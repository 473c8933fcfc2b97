"""The math engine the site uses (MathJax 2, MathJax 3 or KaTeX) is the specification: what it
treats as math in a post is math in the PDF. The engine is an option (``math_engine``); md2tex
reads it from the site's ``_config.yml`` where the site says it (``site_math_settings``).

What depends on it lives here as data: which environments are math where they stand in the
text, and how a ``dollar_math`` setting reads. The math checker receives the engine too
(``mathcheck.prepare(engine=...)``), so macro tables and leniencies can key on it.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, NamedTuple

ENGINES = ("mathjax2", "mathjax3", "katex")
DEFAULT_ENGINE = "mathjax3"
#: ``dollar_math`` values: on (the engine's rule), off, or pandoc's rule (``$5 and $10`` text)
DOLLAR_MODES = (True, False, "pandoc")
#: ``equation_numbers`` values: ``auto`` numbers only when the post uses ``\\label``/``\\eqref``,
#: ``ams`` numbers amsmath's numbered environments (MathJax ``tags: "ams"``), ``all`` every
#: display formula (MathJax ``tags: "all"``), ``none`` nothing (MathJax's default)
EQUATION_NUMBERS = ("auto", "ams", "all", "none")


def _starred(*names: str) -> frozenset[str]:
    return frozenset(names) | frozenset(n + "*" for n in names)


class EngineRules(NamedTuple):
    """What one engine does that md2tex must do the same way."""

    #: environments typeset as display math where they stand in the text, outside any
    #: delimiter (MathJax's ``processEnvironments``; KaTeX auto-render's default delimiters)
    bare_environments: frozenset[str]
    #: ``\\color{c}{x}`` colours just ``x`` (MathJax 2's own two-argument ``\\color``);
    #: MathJax 3's color extension and KaTeX make ``\\color`` a switch, as LaTeX does
    color_takes_argument: bool = False


#: MathJax 2 (tex2jax) and 3 process every ``\\begin{..}..\\end{..}`` in the text; these are
#: the ones posts write outside delimiters (a display environment, or a structure standing
#: alone in a sentence)
_MATHJAX_BARE = _starred("equation", "align", "alignat", "gather", "multline", "flalign",
                         "eqnarray", "displaymath") | frozenset({
                             "cases", "aligned", "gathered", "array", "matrix", "pmatrix",
                             "bmatrix", "Bmatrix", "vmatrix", "Vmatrix", "CD"})

RULES: Mapping[str, EngineRules] = {
    "mathjax2": EngineRules(_MATHJAX_BARE, color_takes_argument=True),
    "mathjax3": EngineRules(_MATHJAX_BARE),
    "katex": EngineRules(_starred("equation", "align", "alignat", "gather") | {"CD"}),
}

#: every name some engine takes bare, for the one pattern the parser registers
ALL_BARE_ENVIRONMENTS = frozenset[str]().union(*(r.bare_environments for r in RULES.values()))


def rules(engine: str) -> EngineRules:
    """The rules of ``engine`` (the default engine's for an unknown name)."""
    return RULES.get(engine, RULES[DEFAULT_ENGINE])


def dollar_mode(value: Any) -> bool | str | None:
    """A ``dollar_math`` setting as md2tex reads it (``True``, ``False``, ``"pandoc"``), or
    None when it is none of them."""
    if isinstance(value, str):
        word = value.strip().lower()
        if word == "pandoc":
            return "pandoc"
        if word in ("true", "yes", "on", "1"):
            return True
        if word in ("false", "no", "off", "0"):
            return False
        return None
    return bool(value) if isinstance(value, (bool, int)) else None


#: ``_config.yml`` top-level keys themes use to switch an engine on: (key, engine); the first
#: one set (and not false) wins, before kramdown's own ``math_engine``
_SITE_ENGINE_KEYS = (
    ("enable_katex", "katex"),   # distill course templates
    ("katex", "katex"),          # jekyll-katex's settings block, themes' switch
    ("use_katex", "katex"),
    ("mathjax", "mathjax3"),     # TeXt, Minimal Mistakes-style switches (version not given)
    ("enable_math", "mathjax3"),  # al-folio (MathJax 3)
    ("use_math", "mathjax3"),
)
#: kramdown's ``math_engine`` (``null``: math passed through for the page's own script)
_KRAMDOWN_ENGINES = {"katex": "katex", "sskatex": "katex", "mathjax": "mathjax3",
                     "mathjaxnode": "mathjax3"}
#: ``_config.yml`` keys that number equations: (key, equation_numbers value when true)
_SITE_NUMBER_KEYS = (("mathjax_autoNumber", "all"),)  # TeXt theme: autoNumber "all"


def _set(value: Any) -> bool:
    return value is not None and value is not False and value != "false"


def site_math_settings(site: Mapping[str, Any]) -> dict[str, Any]:
    """Option values a Jekyll ``_config.yml`` implies (``math_engine``, ``equation_numbers``):
    theme switches, then kramdown's ``math_engine``. Nothing when the site says nothing."""
    out: dict[str, Any] = {}
    engine = next((e for key, e in _SITE_ENGINE_KEYS if _set(site.get(key))), None)
    kramdown = site.get("kramdown")
    if engine is None and isinstance(kramdown, Mapping):
        engine = _KRAMDOWN_ENGINES.get(str(kramdown.get("math_engine") or "").lower())
    if engine is not None:
        out["math_engine"] = engine
    for key, numbers in _SITE_NUMBER_KEYS:
        if site.get(key) is True:
            out["equation_numbers"] = numbers
    return out


#: the ``_config.yml`` keys ``site_math_settings`` reads besides ``kramdown``
SITE_KEYS = tuple(k for k, _ in _SITE_ENGINE_KEYS) + tuple(k for k, _ in _SITE_NUMBER_KEYS)
