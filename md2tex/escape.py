"""The one escaping function, with contexts: prose, URL, inline code, PDF strings.

User text reaches LaTeX only through here. Under pdflatex non-ASCII characters become LaTeX
commands (pylatexenc); a character no font can show becomes a visible placeholder.
"""

from __future__ import annotations

import html
import logging
import re
import unicodedata
import urllib.parse
from collections.abc import Callable
from functools import lru_cache
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from pylatexenc.latexencode import UnicodeToLatexEncoder

logging.getLogger("pylatexenc").setLevel(logging.ERROR)

_TEXT_SPECIALS = {
    "\\": r"\textbackslash{}",
    "{": r"\{",
    "}": r"\}",
    "$": r"\$",
    "&": r"\&",
    "#": r"\#",
    "^": r"\textasciicircum{}",
    "_": r"\_",
    "%": r"\%",
    "~": r"\textasciitilde{}",
    "<": r"\textless{}",
    ">": r"\textgreater{}",
    "|": r"\textbar{}",
    "[": "{[}",
    "]": "{]}",
    "`": r"\textasciigrave{}",
    '"': r"\textquotedbl{}",
    "\u00a0": "~",
}
_TEXT_RE = re.compile(r"[\\{}$&#^_%~<>|\[\]`\"\u00a0]|[^\x00-\x7f]")
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")

#: characters (outside Latin) that make a document need a CJK-capable engine (code points)
CJK_RANGES = ((0x1100, 0x11FF), (0x2E80, 0x9FFF), (0xAC00, 0xD7AF), (0xF900, 0xFAFF),
              (0xFF00, 0xFFEF))


def has_cjk(text: str) -> bool:
    """Does ``text`` contain Chinese, Japanese or Korean? (Its distinct characters are
    checked: a regular expression over these ranges takes ~4 ms to compile.)"""
    return any(lo <= ord(ch) <= hi for ch in set(text) if ch >= "\u1100"
               for lo, hi in CJK_RANGES)


@lru_cache(maxsize=1)
def _encoder() -> UnicodeToLatexEncoder:
    """pylatexenc's encoder, made on first use: importing it costs ~25 ms, and posts in
    plain ASCII (or under xelatex) never need it."""
    from pylatexenc.latexencode import UnicodeToLatexEncoder

    return UnicodeToLatexEncoder(
        non_ascii_only=True,
        replacement_latex_protection="braces-after-macro",
        unknown_char_policy="fail",
    )


#: characters pylatexenc does not know, spelled with what pdflatex has
_EXTRA_CHARS = {
    "\u2713": r"\ensuremath{\checkmark}", "\u2714": r"\ensuremath{\checkmark}",
    "\u2717": r"\ensuremath{\times}", "\u2718": r"\ensuremath{\times}",
    "\u2500": "-", "\u2502": r"\textbar{}", "\u2514": "+", "\u2518": "+", "\u250c": "+",
    "\u2510": "+", "\u251c": "+", "\u2524": "+", "\u252c": "+", "\u2534": "+", "\u253c": "+",
    "\u2550": "=", "\u2551": r"\textbar{}", "\u25cf": r"\textbullet{}",
    "\u200b": "", "\u200c": "", "\u200d": "", "\ufe0f": "", "\ufe0e": "", "\ufeff": "",
}
#: the characters most English posts have (kramdown's typographic quotes and dashes, a few
#: accents) spelled exactly as pylatexenc spells them, so such posts never import it (a
#: test checks that the two agree)
_COMMON_CHARS = {
    "\u2018": r"\textquoteleft{}", "\u2019": r"\textquoteright{}",
    "\u201c": r"\textquotedblleft{}", "\u201d": r"\textquotedblright{}",
    "\u2013": r"\textendash{}", "\u2014": r"\textemdash{}", "\u2026": r"\textellipsis{}",
    "\u00e9": r"\'e", "\u00e8": r"\`e", "\u00e0": r"\`a", "\u00e1": r"\'a",
    "\u00fc": r'\"u', "\u00f6": r'\"o', "\u00e4": r'\"a', "\u00f1": r"\~n",
    "\u00e7": r"\c{c}", "\u00b0": r"\textdegree{}", "\u00d7": r"\texttimes{}",
    "\u00a9": r"\textcopyright{}", "\u00b7": r"\textperiodcentered{}",
    "\u2022": r"\textbullet{}", "\u00a0": "~",
}
#: characters no font md2tex sets up has (private use): a placeholder in math. Emoji and
#: symbols in math become text, which takes them from the fonts ``scripts.py`` sets up
EMOJI_RE = re.compile("[\uE000-\uF8FF\U000F0000-\U0010FFFF]")


@lru_cache(maxsize=4096)
def unicode_char(ch: str) -> str | None:
    """LaTeX for one non-ASCII character under pdflatex, or None if nothing can show it.

    Characters pylatexenc lacks are tried in their compatibility form (``𝜙`` -> ``φ``,
    ``ﬁ`` -> ``fi``) before giving up."""
    if ch in _EXTRA_CHARS:
        return _EXTRA_CHARS[ch]
    if ch in _COMMON_CHARS:
        return _COMMON_CHARS[ch]
    try:
        out: str = _encoder().unicode_to_latex(ch)
    except ValueError:
        plain = unicodedata.normalize("NFKC", ch)
        if plain == ch or not plain:
            return None
        parts = [c if c.isascii() else unicode_char(c) for c in plain]
        if any(p is None for p in parts):
            return None
        return "".join(p for p in parts if p is not None)
    if _OTHER_ENCODING.search(out):
        return None  # Cyrillic/Greek glyph macros need font encodings (T2A, LGR) we do not load
    # script capitals (U+210B) need mathrsfs, which is not loaded: calligraphic ones look alike
    return out.replace("\\mathscr{", "\\mathcal{")


#: '' is a closing double quote ligature in T1 fonts; two apostrophes stay two
#: TeX ligatures a literal character must not form: '' (a closing double quote), -- and ---
#: (dashes; kramdown-style dashes come from ``smart_typography`` as Unicode characters)
_QUOTE_LIGATURE = re.compile(r"'(?=')")
_DASH_LIGATURE = re.compile(r"-(?=-)")
#: ,, is a low double quote in T1 fonts (every pair of a run: ,,, too)
_COMMA_LIGATURE = re.compile(r",(?=,)")
#: pylatexenc output that only works under a font encoding the template does not load
_OTHER_ENCODING = re.compile(r"\\(?:CYR|cyr|textgreek|textcyr)")


def char_latex(ch: str, missing: Callable[[str], None] | None = None) -> str:
    """One non-ASCII character for pdflatex: its LaTeX command, or a visible placeholder
    (``missing`` is told) when no font can show it."""
    latex = unicode_char(ch)
    if latex is None:
        if missing:
            missing(ch)
        return placeholder(ch)
    return latex


def placeholder(ch: str) -> str:
    return rf"\mdmissingchar{{U+{ord(ch):04X}}}"


#: a run of characters without a space this long may have to break inside (a URL, an
#: identifier): it may, after the punctuation in ``_BREAK_AFTER``
LONG_RUN = 30
#: inside a long run, a stretch this long without punctuation (and not a word TeX can
#: hyphenate) may break every ``_CHUNK`` characters
_LONG_STRETCH = 20
_CHUNK = 10
_LONG_RUN_RE = re.compile(rf"\S{{{LONG_RUN},}}")
_BREAK_AFTER = re.compile(r"(?<=[/_.?&=#:;,(|@\\])(?=\S)")
#: where a break may go (a control character: the input has none left by then)
_BREAK = "\x01"


def _breakable(run: re.Match[str]) -> str:
    pieces = _BREAK_AFTER.sub(_BREAK, run.group(0)).split(_BREAK)
    out = []
    for piece in pieces:
        if len(piece) > _LONG_STRETCH and not piece.isalpha():
            piece = _BREAK.join(piece[i:i + _CHUNK] for i in range(0, len(piece), _CHUNK))
        out.append(piece)
    return _BREAK.join(out)


def escape_text(text: str, unicode: bool = False,
                missing: Callable[[str], None] | None = None, breaks: bool = True) -> str:
    """Escape prose for LaTeX text mode.

    ``unicode``: the engine reads UTF-8 natively (xelatex, lualatex), so non-ASCII stays.
    ``missing`` is told about characters that became placeholders. ``breaks``: long runs
    without a space (URLs, identifiers) may break after their punctuation, so that they do
    not run into the margin.
    """
    text = _CONTROL.sub("", text)
    if breaks and len(text) >= LONG_RUN:
        text = _LONG_RUN_RE.sub(_breakable, text)

    def sub(m: re.Match[str]) -> str:
        ch = m.group(0)
        if ch in _TEXT_SPECIALS:
            return _TEXT_SPECIALS[ch]
        if unicode:
            if ch in _EXTRA_CHARS and _EXTRA_CHARS[ch] == "":
                return ""
            if unicodedata.category(ch) == "Sm":
                # math symbols (\u2264, \u2260, \u221e...): text fonts such as Latin Modern
                # lack most of them; the math font has them all
                as_math = unicode_char(ch)
                if as_math is not None and as_math.startswith("\\ensuremath{"):
                    return as_math
            return ch
        return char_latex(ch, missing)

    out = _TEXT_RE.sub(sub, text)
    # T1 ligatures that Markdown authors never mean: ,, << >> (?` !` are gone with `)
    out = _DASH_LIGATURE.sub("-{}", _QUOTE_LIGATURE.sub("'{}", _COMMA_LIGATURE.sub(",{}", out)))
    return out.replace(_BREAK, r"\allowbreak{}")


def smart_typography(text: str) -> str:
    """Prose as a web page shows it, by kramdown's rules: ``---`` and ``--`` become em and
    en dashes, straight quotes become typographic ones, and character references
    (``&amp;``, ``&#8217;``, ``&nbsp;``) the characters they name (a quote written as
    ``&quot;`` stays straight). (``escape_text`` itself keeps every character literal.)"""
    text = text.replace("---", "\u2014").replace("--", "\u2013")
    text = re.sub(r'(^|[\s(\[{])"', "\\1\u201c", text)
    text = text.replace('"', "\u201d")
    text = re.sub(r"(^|[\s(\[{])'", "\\1\u2018", text)
    return decode_references(text.replace("'", "\u2019"))


#: a character reference as HTML (and CommonMark) define it: named, decimal or hexadecimal,
#: ending in ``;``
_REFERENCE = re.compile(r"&(?:#[0-9]{1,7}|#[xX][0-9a-fA-F]{1,6}|[A-Za-z][A-Za-z0-9]{1,31});")


def escape_references(text: str) -> str:
    """``text`` (already decoded, as HTML's text is) with every ``&`` that would start a
    character reference written as ``&amp;``, so that the decoding prose gets
    (``smart_typography``) gives back exactly ``text``."""
    if "&" not in text:
        return text
    return _REFERENCE.sub(lambda m: "&amp;" + m.group(0)[1:], text)


def decode_references(text: str) -> str:
    """``text`` with its character references (``&amp;``, ``&#8217;``, ``&#x2014;``,
    ``&nbsp;``) replaced by the characters they name; an unknown name stays as written."""
    if "&" not in text:
        return text
    return _REFERENCE.sub(lambda m: html.unescape(m.group(0)), text)


_URL_SAFE = "/:?&=+,;@!*'()$-_.~"
ALLOWED_SCHEMES = ("http", "https", "mailto")


def url_scheme_allowed(url: str) -> bool:
    """Only web and mail links (and relative ones) may become PDF links."""
    scheme = urllib.parse.urlsplit(url.strip()).scheme.lower()
    return scheme in ALLOWED_SCHEMES or scheme == ""


def escape_url(url: str) -> str:
    """A URL for ``\\href``/``\\url``: percent-encoded, then ``#`` and ``%`` escaped."""
    url = _CONTROL.sub("", url.strip())
    encoded = urllib.parse.quote(url, safe=_URL_SAFE + "#%")
    # a '%' not starting a valid escape is encoded itself
    encoded = re.sub(r"%(?![0-9A-Fa-f]{2})", "%25", encoded)
    return encoded.replace("\\", "%5C").replace("{", "%7B").replace("}", "%7D") \
        .replace("%", r"\%").replace("#", r"\#").replace("~", r"\~")


_CODE_BREAK_AFTER = set("._/,(=:;-")


def escape_code(text: str, unicode: bool = False,
                missing: Callable[[str], None] | None = None) -> str:
    """Inline code for ``\\texttt``: every character literal, line breaks allowed after
    punctuation (and within a long stretch without any) so long identifiers do not run into
    the margin."""
    out: list[str] = []
    stretch = 0
    for ch in _CONTROL.sub("", text):
        stretch = 0 if ch in _CODE_BREAK_AFTER or ch == " " else stretch + 1
        if stretch > _LONG_STRETCH:
            out.append(r"\allowbreak{}")
            stretch = 1 + _LONG_STRETCH - _CHUNK
        if ch == " ":
            out.append(r"\mdcodespace{}")
        elif ch == "-":
            out.append("-{}")
        elif ch == "'":
            out.append(r"\textquotesingle{}")
        elif ch in ",<>" or ch == "`" or ch == '"':
            out.append({",": ",{}", "<": r"\textless{}", ">": r"\textgreater{}",
                        "`": r"\textasciigrave{}", '"': r"\textquotedbl{}"}[ch])
        else:
            out.append(escape_text(ch, unicode, missing))
        if ch in _CODE_BREAK_AFTER:
            out.append(r"\allowbreak{}")
    return "".join(out)


def math_to_unicode(latex: str) -> str:
    """A formula as plain Unicode text (``\\alpha_1`` becomes alpha, subscript 1), for bookmarks."""
    from pylatexenc.latex2text import LatexNodes2Text

    try:
        text: str = LatexNodes2Text(math_mode="text").latex_to_text(latex)
    except Exception:
        return latex
    return " ".join(text.split())


def pdf_string(text: str, unicode: bool = True) -> str:
    """Text for PDF metadata and bookmarks. hyperref maps UTF-8 input to PDF text strings
    under every engine, so non-ASCII characters stay as they are (an ``\\ensuremath`` would
    be dropped from a PDF string); character references are decoded, and only TeX's
    specials are escaped."""
    return escape_text(re.sub(r"\s+", " ", decode_references(text)).strip(), unicode,
                       breaks=False)


def without_spans(text: str, opener: str, closer: str) -> str:
    """``text`` with every ``opener``...``closer`` span removed, as a lazy regular expression
    would (``<!--.*?-->``), in one pass: once an opener has no closer after it, no later one
    has, so the rest is kept as it is (a regex would reread it for every opener)."""
    parts: list[str] = []
    pos = 0
    while True:
        start = text.find(opener, pos)
        end = text.find(closer, start + len(opener)) if start >= 0 else -1
        if end < 0:
            break
        parts.append(text[pos:start])
        pos = end + len(closer)
    parts.append(text[pos:])
    return "".join(parts)
