"""Code through Pygments only: its LaTeX escaping is what keeps code from turning into TeX.

Pygments' output for a code block, its style macros and which languages it knows are
remembered in the ``Memo`` the caller gives (keyed by Pygments' own source): a rebuild
imports no Pygments for the code blocks it has highlighted before (~25 ms). Without a memo
nothing is read from or written to a cache."""

from __future__ import annotations

import re
from collections.abc import Callable
from functools import lru_cache
from typing import Any

from md2tex.memo import Memo, name_for
from md2tex.optionschema import DEFAULT_STYLE

#: Pygments command prefix; the template defines the style macros once. The markup of code
#: (``\\PY{k}{def}``) names token kinds, not colours: the style is only these macros
COMMAND_PREFIX = "PY"
STYLE = DEFAULT_STYLE
#: Pygments writes ' and ` as \char`\' and \char`\`, which T1 typewriter fonts draw as
#: curly quotes; code must show the straight characters that were typed
_STRAIGHT_QUOTES = r"\def\PYZsq{\textquotesingle}\def\PYZbq{\textasciigrave}"


@lru_cache(maxsize=1)
def _formatter_class() -> Any:
    from pygments.formatters.latex import LatexFormatter  # lazily: import costs ~50 ms

    return LatexFormatter


@lru_cache(maxsize=1)
def _builtin_aliases() -> frozenset[str]:
    """Every alias of Pygments' built-in lexers (a static table: no imports, no scanning)."""
    from pygments.lexers._mapping import LEXERS

    return frozenset(alias for entry in LEXERS.values() for alias in entry[2])


@lru_cache(maxsize=1)
def _plugin_aliases() -> frozenset[str]:
    """Aliases of lexers installed as plugins. Scanning entry points costs ~0.3 s, so it is
    done only for a name the built-in table lacks, and once per process."""
    from pygments.plugin import find_plugin_lexers

    return frozenset(alias for cls in find_plugin_lexers() for alias in cls.aliases)


@lru_cache(maxsize=256)
def _lexer(language: str) -> Any:
    from pygments.lexers import get_lexer_by_name
    from pygments.lexers.special import TextLexer
    from pygments.util import ClassNotFound

    name = language.strip().lower()
    if not name:
        return TextLexer(stripnl=False, ensurenl=True)
    if name not in _builtin_aliases() and name not in _plugin_aliases():
        return None  # a miss in Pygments rescans the plugins: ~0.5 s per unknown name
    try:
        return get_lexer_by_name(name, stripnl=False, ensurenl=True)
    except ClassNotFound:
        return None


def _memo_name(*parts: str) -> str | None:
    return name_for("pygments", "md2tex.latex.highlight", *parts)


def _is_text(value: object) -> bool:
    return isinstance(value, str)


def _style_defs(style: str) -> str:
    return str(_formatter_class()(commandprefix=COMMAND_PREFIX, style=style).get_style_defs())


def known_language(language: str, memo: Memo | None = None) -> bool:
    name = _memo_name("lexer", language.strip().lower()) if memo is not None else None
    if memo is not None and name is not None and memo.get("lexer", name) is True:
        return True
    known = _lexer(language) is not None
    if known and memo is not None and name is not None:  # an unknown may become known
        memo.put("lexer", name, True)
    return known


def highlight(code: str, language: str, linenos: bool = False, unicode: bool = True,
              missing: Callable[[str], None] | None = None, memo: Memo | None = None,
              scan_only: bool = False) -> str:
    """A ``Verbatim`` environment with ``\\PY`` markup; unknown languages are plain text.

    ``unicode=False`` (pdflatex): Pygments leaves non-ASCII characters as they are, which
    pdflatex rejects unless inputenc knows them; each becomes its LaTeX command (``\\'e``) or
    a visible placeholder (``missing`` is told), as in prose. ``scan_only`` (md2tex check):
    those diagnostics without running Pygments, which is most of a check's time on
    code-heavy posts; the result is empty."""
    if scan_only:
        if not unicode:
            for ch in _NON_ASCII.findall(code):
                _ascii_latex(ch, missing)
        return ""
    options = r"breaklines,breakanywhere,fontsize=\mdcodesize"
    if linenos:
        options += ",numbers=left,numbersep=6pt"

    def make() -> str:
        return _pygments(code, language, options)

    if memo is None:
        out = make()
    else:
        name = _memo_name("highlight", COMMAND_PREFIX, STYLE, options, language, code)
        out = memo.recall("code", name, make, _is_text)
    if not unicode:
        out = _NON_ASCII.sub(lambda m: _ascii_latex(m.group(0), missing), out)
    return out.strip("\n")


def _pygments(code: str, language: str, options: str) -> str:
    from pygments import highlight as pyg_highlight
    from pygments.lexers.special import TextLexer

    lexer = _lexer(language) or TextLexer(stripnl=False, ensurenl=True)
    formatter = _formatter_class()(commandprefix=COMMAND_PREFIX, style=STYLE,
                                   verboptions=options)
    out: str = pyg_highlight(code.expandtabs(4), lexer, formatter)
    return out


_NON_ASCII = re.compile(r"[^\x00-\x7f]")


def _ascii_latex(ch: str, missing: Callable[[str], None] | None) -> str:
    from md2tex.escape import char_latex

    return char_latex(ch, missing)


#: ``--no-highlight``: every token as it was typed, in the code's typewriter font
_NO_COLOURS = r"\def\PY#1#2{#2}"


@lru_cache(maxsize=16)
def style_definitions(memo: Memo | None = None, style: str = STYLE,
                      colours: bool = True) -> str:
    """The ``\\PY`` macro definitions for the preamble, emitted once per document: the
    Pygments ``style``'s colours, or (``colours`` False) plain verbatim code."""
    def make() -> str:
        return _style_defs(style)

    if memo is None:
        defs = make()
    else:
        defs = memo.recall("style", _memo_name("style", COMMAND_PREFIX, style), make, _is_text)
    return defs + "\n" + _STRAIGHT_QUOTES + ("" if colours else "\n" + _NO_COLOURS)
