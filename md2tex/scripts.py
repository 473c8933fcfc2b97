"""Which scripts a post uses, and what typesets each: engine, fonts, xeCJK set-up.

One table (``SCRIPTS``) maps Unicode ranges to a script's needs; the engine and the font
set-up of a post follow from the rows its characters hit, so a new script is a new row.
The fonts come from Debian packages (``Script.package``, installed by ``.ci/install``).
After the build, TeX's "Missing character" lines become warnings at the Markdown line, and
an error when the post's main script has no font at all (``missing_glyphs``).
"""

from __future__ import annotations

import re
import unicodedata
from collections import Counter
from typing import TYPE_CHECKING, NamedTuple

from md2tex import texengine
from md2tex.diagnostics import Diagnostic, error, warning
from md2tex.escape import unicode_char

if TYPE_CHECKING:
    from md2tex.document import Document

#: what a script needs of the engine: pdflatex can show it (pylatexenc commands); a Unicode
#: engine with OpenType fonts (xelatex/lualatex); xelatex with xeCJK (line breaking, spacing)
ANY, UNICODE, CJK = "any", "unicode", "cjk"


class Script(NamedTuple):
    name: str
    #: inclusive code point ranges
    ranges: tuple[tuple[int, int], ...]
    needs: str
    #: font families tried in order for an xeCJK sub-block (fontconfig names); the first
    #: that exists is used (CJK rows: the Noto CJK families of ``cjk``, else Fandol)
    fonts: tuple[str, ...] = ()
    #: the Debian package with ``fonts[0]``
    package: str = ""
    #: xeCJK: the language tag of the Noto CJK family (``Noto Serif CJK KR``), or the name of
    #: the sub-block (``\\xeCJKDeclareSubCJKBlock``) that gives these characters ``fonts``
    cjk: str = ""
    block: str = ""
    #: a writing system (a post can be written in it), not a set of symbols
    writing: bool = True
    #: xeCJK options when this is the post's main CJK script
    xecjk: str = ""
    #: what the script needs once it forms words (three letters in a row): pdflatex shows
    #: a Greek letter in English prose as a math letter, but Greek words need Greek fonts
    words: str = ""


_ARROW_RANGES = ((0x2190, 0x21FF), (0x27F0, 0x27FF), (0x2900, 0x297F))
_SYMBOL_RANGES = ((0x2300, 0x23FF), (0x2460, 0x24FF), (0x2500, 0x25FF),
                  (0x2600, 0x26FF), (0x2700, 0x27BF), (0x2B00, 0x2BFF), (0x1F100, 0x1F1FF))
_EMOJI_RANGES = ((0x1F000, 0x1F0FF), (0x1F200, 0x1FAFF))

SCRIPTS: tuple[Script, ...] = (
    Script("latin", ((0x41, 0x5A), (0x61, 0x7A), (0xC0, 0x24F), (0x1E00, 0x1EFF)), ANY,
           ("CMU Serif",), "fonts-cmu"),
    Script("greek", ((0x370, 0x3FF), (0x1F00, 0x1FFF)), ANY, ("CMU Serif",), "fonts-cmu",
           words=UNICODE),
    Script("cyrillic", ((0x400, 0x52F),), UNICODE, ("CMU Serif",), "fonts-cmu"),
    # Korean separates words with spaces and sets no extra glue between Hangul and Latin
    Script("hangul", ((0x1100, 0x11FF), (0x3130, 0x318F), (0xA960, 0xA97F), (0xAC00, 0xD7AF),
                      (0xD7B0, 0xD7FF)), CJK, package="fonts-noto-cjk",
           cjk="KR", xecjk="CJKspace=true,CJKecglue={}"),
    Script("kana", ((0x3040, 0x30FF), (0x31F0, 0x31FF), (0xFF65, 0xFF9F)), CJK,
           package="fonts-noto-cjk", cjk="JP"),
    Script("han", ((0x2E80, 0x2FDF), (0x3000, 0x303F), (0x3100, 0x312F), (0x3190, 0x31EF),
                   (0x3400, 0x4DBF), (0x4E00, 0x9FFF), (0xF900, 0xFAFF), (0xFE30, 0xFE4F),
                   (0xFF00, 0xFF64), (0xFFA0, 0xFFEF), (0x20000, 0x3134F)), CJK,
           package="fonts-noto-cjk", cjk="SC"),
    # writing systems md2tex sets no font up for (right-to-left and Indic scripts need
    # bidi and shaping set-ups): listed so that a post written in one is an error, not boxes
    Script("hebrew", ((0x590, 0x5FF), (0xFB1D, 0xFB4F)), UNICODE),
    Script("arabic", ((0x600, 0x6FF), (0x750, 0x77F), (0xFB50, 0xFDFF), (0xFE70, 0xFEFF)),
           UNICODE),
    Script("indic", ((0x900, 0xDFF),), UNICODE),
    Script("thai", ((0xE00, 0xE7F),), UNICODE),
    # circled digits, box drawing, shapes, dingbats, arrows: a symbol font through an xeCJK
    # sub-block (every text font, code and headings included), a fallback font in LuaTeX
    Script("symbols", _SYMBOL_RANGES, UNICODE, ("Symbola", "DejaVu Sans"), "fonts-symbola",
           block="mdsym", writing=False),
    # pdflatex has them all (\\textrightarrow...); under xeCJK the symbol font has more
    Script("arrows", _ARROW_RANGES, ANY, ("Symbola",), "fonts-symbola", block="mdarrow",
           writing=False),
    # mathematical operators: prose sets them in math (escape.py), code keeps the character,
    # which the typewriter font lacks (≤ in a code block)
    Script("math", ((0x2200, 0x22FF), (0x27C0, 0x27EF), (0x2980, 0x2AFF)), ANY, ("Symbola",),
           "fonts-symbola", block="mdmath", writing=False),
    # colour under lualatex (HarfBuzz draws the colour bitmaps), else Symbola's outlines
    Script("emoji", _EMOJI_RANGES, UNICODE, ("Symbola",), "fonts-symbola", block="mdemoji",
           writing=False),
)
#: the colour emoji font (lualatex only: XeTeX cannot draw colour bitmap glyphs)
COLOR_EMOJI = "Noto Color Emoji"
#: Latin punctuation that xeCJK would otherwise set full width from the CJK font, by the
#: xeCJK class that keeps it Latin: opening quotes hug what follows, closing quotes and the
#: apostrophe what precedes (``“引号”`` without inner glue), dashes are plain Latin
LATIN_PUNCT = {"HalfLeft": (0x2018, 0x201C), "HalfRight": (0x2019, 0x201D),
               "Default": (0xB7, 0x2013, 0x2014, 0x2025, 0x2026, 0x2027)}
#: when no Noto CJK family is installed: the Fandol fonts of texlive-lang-chinese (no Hangul)
_FANDOL = (("BoldFont=FandolSong-Bold.otf,ItalicFont=FandolKai-Regular.otf",
            "FandolSong-Regular.otf"), ("BoldFont=FandolHei-Bold.otf", "FandolHei-Regular.otf"),
           ("", "FandolFang-Regular.otf"))
_CJK_PREFERENCE = ("hangul", "kana", "han")


def script_of(ch: str) -> Script | None:
    """The table row of one character, None for ASCII punctuation, digits and the rest."""
    code = ord(ch)
    for script in SCRIPTS:
        for lo, hi in script.ranges:
            if lo <= code <= hi:
                return script
    return None


class Plan(NamedTuple):
    """What a post's characters need."""

    #: character counts per script name, most used first
    counts: tuple[tuple[str, int], ...]

    #: scripts that form words in the post (``Script.words``)
    worded: frozenset[str] = frozenset()
    #: other characters pdflatex has no command for (``escape.unicode_char``)
    beyond_pdflatex: str = ""

    @property
    def names(self) -> frozenset[str]:
        return frozenset(name for name, _ in self.counts)

    @property
    def needs(self) -> str:
        found = {_BY_NAME[name].words if name in self.worded else _BY_NAME[name].needs
                 for name in self.names}
        if self.beyond_pdflatex:
            found.add(UNICODE)
        return CJK if CJK in found else UNICODE if UNICODE in found else ANY

    @property
    def main(self) -> str:
        """The writing script with the most characters after Latin, if the post is written
        in it: at least 10 characters and 1/50 of the Latin letters (a Korean post full of
        code and formulas has 0.5-1 syllable per Latin letter, a Chinese one 0.04 or more;
        an English post quoting a Greek word 0.001); Latin otherwise."""
        counts = dict(self.counts)
        others = [name for name, _ in self.counts if _BY_NAME[name].writing
                  and name != "latin"]
        if others and counts[others[0]] >= max(10, counts.get("latin", 0) / 50):
            return others[0]
        return "latin"

    @property
    def cjk(self) -> Script | None:
        """The CJK script whose Noto family is the post's CJK font: Hangul's has Han too,
        the Japanese one kana and Han."""
        for name in _CJK_PREFERENCE:
            if name in self.names:
                return _BY_NAME[name]
        return None


SCRIPTS_BY_NAME = {script.name: script for script in SCRIPTS}
_WORDED = tuple(script for script in SCRIPTS if script.words)
_BY_NAME = SCRIPTS_BY_NAME


def plan(text: str) -> Plan:
    """Count the characters of ``text`` per script (only non-ASCII ones are looked up:
    Latin is counted as present when there are ASCII letters)."""
    counts: Counter[str] = Counter()
    beyond: list[str] = []
    for ch, n in Counter(text).items():
        if ch < "\x80":
            if ch.isalpha():
                counts["latin"] += n
            continue
        script = script_of(ch)
        if script is not None:
            counts[script.name] += n
        if (script is None or script.needs == ANY) and unicode_char(ch) is None:
            beyond.append(ch)  # pdflatex would print a placeholder (U+21E8, U+0301...)
    worded = frozenset(s.name for s in _WORDED if s.name in counts
                       and re.search(f"[{_class(s)}]{{3}}", text))
    return Plan(tuple(counts.most_common()), worded, "".join(sorted(beyond)))


def _class(script: Script) -> str:
    """The ranges of ``script`` as the inside of a regular expression's ``[...]``."""
    return "".join(f"\\U{lo:08X}-\\U{hi:08X}" for lo, hi in script.ranges)


def engine_diagnostics(p: Plan, engine: str, path: str) -> list[Diagnostic]:
    """What the chosen engine cannot typeset, said before TeX runs: CJK text outside
    xelatex (md2tex sets up xeCJK only; LuaTeX cannot cache a CJK font within a build's time)
    is an error when the post is written in it, else a warning."""
    if texengine.engine(engine).cjk == "xecjk" or p.cjk is None:
        return []
    names = ", ".join(name for name, _ in p.counts if _BY_NAME[name].needs == CJK)
    message = (f"{engine} has no fonts for the post's CJK text ({names}): it would be "
               "missing from the PDF")
    hint = "build it with --engine xelatex (or leave the engine to md2tex)"
    if _BY_NAME[p.main].needs == CJK:
        return [error(MISSING_FONT, message, path=path, hint=hint)]
    return [warning("missing-glyph", message, path=path, hint=hint)]


def _ucs(ranges: tuple[tuple[int, int], ...]) -> str:
    return ",".join(f'"{lo:X}->"{hi:X}' for lo, hi in ranges)


def xecjk_setup(p: Plan, cjk_font: str = "") -> str:
    """The xeCJK lines of a xelatex preamble for these scripts (after ``xeCJK`` is loaded):
    Latin punctuation kept Latin, sub-blocks for symbols and emoji, the CJK families. Each
    font statement starts with ``\\IfFontExistsTF`` so that it stays out of a dumped format
    (``fmtcache``) and a missing font falls back instead of stopping TeX."""
    lines = [f"\\xeCJKDeclareCharClass{{{kind}}}{{" + ",".join(f'"{c:X}' for c in chars) + "}"
             for kind, chars in LATIN_PUNCT.items()]
    main = p.cjk
    if main is not None and main.xecjk:
        lines.append(f"\\xeCJKsetup{{{main.xecjk}}}")
    blocks = [s for s in SCRIPTS if s.block and s.name in p.names]
    for s in blocks:  # each sub-block with its first installed font, else none
        choice = f"\\def\\md{s.block}{{}}"
        for font in reversed(s.fonts):
            choice = (f"\\IfFontExistsTF{{{font}}}{{\\xeCJKDeclareSubCJKBlock{{{s.block}}}"
                      f"{{{_ucs(s.ranges)}}}\\def\\md{s.block}{{{s.block}={font},}}}}"
                      f"{{{choice}}}")
        lines.append(choice)
    subs = "".join(f"\\md{s.block} " for s in blocks)
    tag = main.cjk if main is not None else "SC"
    families = ((f"Noto Serif CJK {tag}", "main", _FANDOL[0]),
                (f"Noto Sans CJK {tag}", "sans", _FANDOL[1]),
                (f"Noto Sans Mono CJK {tag}", "mono", _FANDOL[2]))
    for family, kind, (fandol_options, fandol) in families:
        if cjk_font and kind == "main":
            family = cjk_font
        bold = f"BoldFont={{{family} Bold}}" if kind != "mono" and not cjk_font else ""
        lines.append(f"\\IfFontExistsTF{{{family}}}{{{_set(kind, subs, bold, family)}}}"
                     f"{{{_set(kind, subs, fandol_options, fandol)}}}")
    return "\n".join(lines)


def _set(kind: str, subs: str, options: str, font: str) -> str:
    """``\\setCJK<kind>font[<sub-block fonts>,options]{font}`` (the sub-block options are
    macros defined only when their font exists, hence the expansion)."""
    return (f"\\edef\\mdopts{{{subs}{options}}}\\expandafter\\setCJK{kind}font"
            f"\\expandafter[\\mdopts]{{{font}}}")


def lua_fallback(p: Plan) -> str:
    """lualatex: a luaotfload fallback chain (colour emoji, then symbols) for the fonts
    fontspec loads afterwards (``RawFeature={fallback=mdfallback}``). No CJK family: LuaTeX
    caches a Noto CJK collection in its fresh per-build cache for over a minute."""
    if not p.names & {"emoji", "symbols"}:  # arrows and operators: CMU has the usual ones
        return ""
    chain = (f"{COLOR_EMOJI}:mode=harf;", "Symbola:mode=node;")
    items = ",".join(f'"{c}"' for c in chain)
    return f"\\directlua{{luaotfload.add_fallback(\"mdfallback\",{{{items}}})}}"


#: ``Missing character: There is no X (U+XXXX) in font NAME!`` (XeTeX and LuaTeX)
_MISSING = re.compile(r"^Missing character: There is no (.)(?: \(U\+([0-9A-F]{4,6})\))? "
                      r"in font ([^!\n]*)!?$", re.M)
#: the error code of a post whose main script has no font
MISSING_FONT = "missing-font"
#: at most this many missing-glyph warnings per build
MAX_WARNINGS = 20


def missing_glyphs(document: Document, log_text: str) -> list[Diagnostic]:
    """TeX's "Missing character" lines as warnings at the Markdown lines whose text holds
    the character; an error when the post's main script lost half or more of its distinct
    characters (its font is not installed: the PDF would show empty boxes)."""
    fonts: dict[str, str] = {}
    for m in _MISSING.finditer(log_text):
        ch = chr(int(m.group(2), 16)) if m.group(2) else m.group(1)
        if unicodedata.category(ch) in ("Zs", "Cf"):
            continue  # a space or an invisible format character: nothing visible is lost
        fonts.setdefault(ch, m.group(3).split("/")[0].split(":")[0].strip())
    if not fonts:
        return []
    start = document.tex.find("\\begin{document}")
    start_line = document.tex.count("\n", 0, max(start, 0)) + 1
    lines = document.tex.split("\n")
    # one warning per Markdown line, naming its lost characters (a whole line of a script
    # without a font would otherwise be a warning per letter)
    by_line: dict[int | None, list[str]] = {}
    for number in range(start_line, len(lines) + 1):
        found = [ch for ch in dict.fromkeys(lines[number - 1]) if ch in fonts]
        if found:
            chars = by_line.setdefault(document.markdown_line(number), [])
            chars += [ch for ch in found if ch not in chars]
    placed = {ch for chars in by_line.values() for ch in chars}
    if placed != fonts.keys():  # not found in the .tex as written (an expanded macro)
        by_line.setdefault(None, []).extend(ch for ch in fonts if ch not in placed)
    out: list[Diagnostic] = []
    for md, chars in sorted(by_line.items(), key=lambda item: item[0] or 0)[:MAX_WARNINGS]:
        shown = ", ".join(f"'{ch}' (U+{ord(ch):04X})" for ch in chars[:6])
        more = f" and {len(chars) - 6} more" if len(chars) > 6 else ""
        fonts_named = ", ".join(dict.fromkeys(fonts[ch] for ch in chars))
        out.append(warning("missing-glyph", f"{shown}{more}: not in the fonts this post uses "
                           f"({fonts_named}); the PDF shows nothing there", md,
                           path=document.path, hint=_hint(chars[0])))
    main = plan(document.tex[max(start, 0):])
    script = _BY_NAME[main.main]
    used = {ch for ch in document.tex[max(start, 0):] if script_of(ch) is script}
    lost = used & fonts.keys()
    if script.name != "latin" and used and len(lost) * 2 >= len(used):
        out.insert(0, error(MISSING_FONT, f"no installed font has the post's main script "
                            f"({script.name}): {len(lost)} of its {len(used)} characters "
                            "would print as empty boxes", path=document.path,
                            hint=_font_hint(script, document.engine)))
    return out


def _font_hint(script: Script, engine: str) -> str:
    if not script.package:
        return f"md2tex sets up no font for {script.name} text"
    if script.needs == CJK and texengine.engine(engine).cjk != "xecjk":
        return "build it with --engine xelatex (md2tex sets up CJK fonts for xelatex only)"
    return f"install the Debian package {script.package}"


def _hint(ch: str) -> str:
    script = script_of(ch)
    if script is not None and script.package:
        return f"the Debian package {script.package} has fonts for {script.name}"
    return "no font md2tex uses has it; write it another way"
