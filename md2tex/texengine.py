"""The TeX engines md2tex drives, in one table: what each reads, where it comes from in
Debian, and which of md2tex's speed-ups apply to it.

Everything that depends on the engine (validating ``--engine``, escaping text for it, the
missing-engine message, dumping preamble formats) reads a row here instead of comparing
engine names, so adding an engine is one row.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import NamedTuple


class TexEngine(NamedTuple):
    """One TeX engine: the LaTeX command and what md2tex needs to know about it."""

    name: str
    #: reads UTF-8 and OpenType fonts natively (text is passed through, not escaped into
    #: LaTeX commands; CJK and other scripts get fontspec fonts)
    unicode: bool
    #: the Debian packages that install it beyond TeX Live's base
    debian_packages: str
    #: the TeX program whose base format the LaTeX format is (``kpsewhich -engine``)
    program: str
    #: a dumped preamble format (``md2tex.tex.formats``) works for it
    dumps_formats: bool
    #: how CJK text gets its fonts: "xecjk" (xeCJK), "fallback" (a luaotfload font fallback
    #: for symbols; CJK posts need xelatex), "" (none: CJK needs another engine)
    cjk: str = ""
    #: font set-up lines stay after a dumped format (XeTeX cannot dump OpenType fonts)
    fonts_after_format: bool = False


DEFAULT = "pdflatex"
TEXLIVE_BASE = ("texlive-latex-base texlive-latex-recommended texlive-latex-extra "
                "texlive-fonts-recommended lmodern")

_TABLE = (
    TexEngine("pdflatex", unicode=False, debian_packages="", program="pdftex",
              dumps_formats=True),
    TexEngine("xelatex", unicode=True, debian_packages="texlive-xetex", program="xetex",
              dumps_formats=True, cjk="xecjk", fonts_after_format=True),
    TexEngine("lualatex", unicode=True, debian_packages="texlive-luatex", program="luahbtex",
              dumps_formats=False, cjk="fallback"),
)
ENGINES: Mapping[str, TexEngine] = MappingProxyType({e.name: e for e in _TABLE})
NAMES: tuple[str, ...] = tuple(ENGINES)
#: the engine a post gets when its text needs a Unicode engine (CJK, other scripts)
UNICODE_DEFAULT = "xelatex"


def engine(name: str) -> TexEngine:
    """The row for ``name``; ``ValueError`` naming the known engines otherwise."""
    try:
        return ENGINES[name]
    except KeyError:
        raise ValueError(f"unknown TeX engine {name!r}: expected one of "
                         f"{', '.join(NAMES)}") from None


def install_hint(name: str) -> str:
    """The ``apt-get install`` line that brings ``name``."""
    row = ENGINES.get(name)
    extra = f" {row.debian_packages}" if row and row.debian_packages else ""
    return f"apt-get install {TEXLIVE_BASE}{extra}"
