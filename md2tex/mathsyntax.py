"""Where math starts and ends in Markdown: ``$``, ``$$``, ``\\\\(``, ``\\\\[``, ``\\(``, ``\\[``
and bare amsmath environments. Math is cut out before any Markdown rule sees it, so ``_``,
``*`` and ``\\\\`` inside a formula survive.

``$$`` follows kramdown: a block of its own is display math, inside a paragraph it is inline.
Single ``$`` follows the engine (``dollar_math: true``: the first ``$`` outside braces closes,
spaces allowed, ``\\$`` a dollar) or pandoc's rule (``dollar_math: pandoc``: ``$5 and $10`` is
text); in a post with ``{% katexmm %}`` blocks, only there (jekyll-katex). Environments the
engine processes anywhere (``mathengine.RULES``) are display math inside a paragraph too.
"""

from __future__ import annotations

import bisect
import re
import sys
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from . import budget, mathengine

if TYPE_CHECKING:
    from mistune import Markdown
    from mistune.block_parser import BlockParser
    from mistune.core import BlockState, InlineState
    from mistune.inline_parser import InlineParser

#: amsmath/LaTeX environments that are display math on their own
DISPLAY_ENVIRONMENTS = (
    "equation", "align", "alignat", "gather", "multline", "flalign", "eqnarray",
    "displaymath",
)
_ENV_NAMES = "|".join(DISPLAY_ENVIRONMENTS)

#: opener -> closer
_CLOSERS = {"$$": "$$", "$": "$", "\\\\(": "\\\\)", "\\\\[": "\\\\]", "\\(": "\\)", "\\[": "\\]"}
_DISPLAY_OPENERS = {"$$", "\\\\[", "\\["}


class LineCounter:
    """Lines and columns of positions in one text, counted forward from the position asked
    about last: a parser asks in order, so the text is read once, not once per formula or
    block from its start."""

    __slots__ = ("line_start", "lines", "pos", "text")

    def __init__(self, text: str) -> None:
        self.text = text
        self.pos = 0
        self.lines = 0
        self.line_start = 0

    def seek(self, pos: int) -> None:
        text = self.text
        if pos >= self.pos:
            n = text.count("\n", self.pos, pos)
            if n:
                self.lines += n
                self.line_start = text.rfind("\n", self.pos, pos) + 1
        else:
            self.lines -= text.count("\n", pos, self.pos)
            self.line_start = text.rfind("\n", 0, pos) + 1
        self.pos = pos

    def line(self, pos: int) -> int:
        """Newlines before ``pos`` (the 0-based line)."""
        self.seek(pos)
        return self.lines

    def column(self, pos: int) -> int:
        """1-based column of ``pos`` in its line."""
        self.seek(pos)
        return pos - self.line_start + 1


def line_counter(holder: object, text: str) -> LineCounter:
    """The LineCounter a parser state keeps for its text (a new one when the text changed)."""
    counter = getattr(holder, "_md2tex_lines", None)
    if not isinstance(counter, LineCounter) or counter.text is not text:
        counter = LineCounter(text)
        setattr(holder, "_md2tex_lines", counter)  # noqa: B010 (mistune's class, no slot)
    return counter


def find_closer(src: str, start: int, closer: str, end: int | None = None) -> int:
    """Index of ``closer`` after ``start``, outside braces; -1 if none.

    Braces are honoured first (so ``\\text{if $n$ even}`` keeps its inner dollars); if that
    finds nothing, the plain first occurrence is taken, as MathJax would.
    """
    stop = len(src) if end is None else end
    depth = 0
    i = start
    first_plain = -1
    while i < stop:
        if src.startswith(closer, i) and _closer_ok(src, i, closer):
            if first_plain < 0:
                first_plain = i
            if depth <= 0:
                return i
        ch = src[i]
        if ch == "\\":
            i += 2
            continue
        if ch == "{":
            depth += 1
        elif ch == "}":
            depth -= 1
        i += 1
    return first_plain


def _closer_ok(src: str, i: int, closer: str, pandoc: bool = True) -> bool:
    if closer == "$" and pandoc:
        # pandoc's rule: no space before the closing $, no digit right after it; not part of $$
        if i == 0 or src[i - 1] in " \t\n":
            return False
        if i + 1 < len(src) and (src[i + 1].isdigit() or src[i + 1] == "$"):
            return False
        return not src.startswith("$$", i - 1)
    return True


def _blank_lines_removed(text: str) -> str:
    return re.sub(r"\n[ \t]*(?=\n)", "", text)


def unescape_markdown_math(text: str) -> str:
    """What MathJax sees inside ``\\\\( .. \\\\)`` after Markdown: ``\\\\`` is one backslash,
    ``\\_``, ``\\*``, ``\\(`` and ``\\[`` lose their escape (``\\(`` is never TeX math). Other
    escapes (``\\{``, ``\\,``) are kept as TeX."""
    return re.sub(r"\\([\\_*|$`()\[\]])", r"\1", text)


_BACKSLASH_RUN = re.compile(r"(\\+)([\s\S]?)")
#: kramdown's escapes that matter in math (``\\!``, ``\\:`` stay TeX spacing)
_KRAMDOWN_ESCAPE = re.compile(r"\\([\\_*|$`{}()\[\]])")


def markdown_escaped(text: str) -> bool:
    """Is this formula written for kramdown, which reads it as Markdown text before MathJax
    (single-``$`` math and bare environments are not math to kramdown)? Sure signs: three
    backslashes (``\\\\\\`` then a space is a row break), ``\\\\{`` for a brace; weak ones
    (``\\_``, ``\\*``) count only when no ``\\\\`` row break says the text is plain TeX."""
    strong = weak = tex_rows = False
    for m in _BACKSLASH_RUN.finditer(text):
        n, after = len(m.group(1)), m.group(2)
        if n >= 3 or (n == 2 and after in "{}" and after):
            strong = True
        elif n == 2:
            tex_rows = True
        elif after in ("_", "*"):
            weak = True
    return strong or (weak and not tex_rows)


def unescape_kramdown(text: str) -> str:
    """What MathJax sees of a formula kramdown treated as text: ``\\\\`` → ``\\``,
    ``\\{`` → ``{``, ``\\_`` → ``_``, ``\\|`` → ``|``..."""
    return _KRAMDOWN_ESCAPE.sub(r"\1", text)


def _content(opener: str, raw: str) -> str:
    if opener.startswith("\\\\"):
        raw = unescape_markdown_math(raw)
    elif opener in ("$", "") and markdown_escaped(raw):
        raw = unescape_kramdown(raw)
    return _blank_lines_removed(raw)


# ----------------------------------------------------------------------------- inline rules

def _parse_inline_dollar(inline: InlineParser, m: re.Match[str], state: InlineState) -> int | None:
    src = state.src
    start = m.start()
    if start > 0 and src[start - 1] == "\\":
        return None
    opener = "$$" if src.startswith("$$", start) else "$"
    pandoc = dollar_mode(state.env) == "pandoc"
    if opener == "$":
        if not dollar_mode(state.env):
            return None
        nxt = src[start + 1 : start + 2]
        if not nxt or (pandoc and nxt.isspace()):
            return None
    begin = start + len(opener)
    close = (find_closer(src, begin, opener) if opener == "$$"
             else _single_dollar_close(src, begin, pandoc))
    if close < 0 or (opener == "$" and close == begin):
        if opener == "$$":
            # an unmatched "$$" is text; do not let the second "$" start single-dollar math
            state.append_token({"type": "text", "raw": "$$"})
            return begin
        return None
    raw = src[begin:close]
    if opener == "$" and "\n\n" in raw:
        return None
    if not raw.strip():  # $$$$: empty math, which the engines show as nothing
        return close + len(opener)
    # $$..$$ is display math wherever the engine itself finds it: in jekyll-katex's katexmm
    # blocks and in raw HTML (kramdown's inline rule does not reach there)
    display = opener == "$$" and (bool(_in_katexmm(state.env)) or state.env.get("raw_html"))
    _append_inline_math(state, opener, raw, start, display=bool(display))
    return close + len(opener)


def dollar_mode(env: Mapping[str, Any]) -> bool | str:
    """How single ``$`` reads here: ``True`` (the engine's rule), ``"pandoc"`` or ``False``.
    ``env["dollar_lines"]`` (the post's ``{% katexmm %}`` blocks) limits it to the blocks
    whose first line lies inside one (``env["block_line"]``): jekyll-katex renders no other."""
    mode: bool | str = env.get("dollar_math", True)
    inside = _in_katexmm(env)
    if inside is None:
        return mode
    return (mode if mode == "pandoc" else True) if inside else False


def _in_katexmm(env: Mapping[str, Any]) -> bool | None:
    """Whether the block being parsed lies in a ``{% katexmm %}`` block (None: the post has
    none). The blocks come in order and do not overlap: a binary search finds the one."""
    lines: tuple[tuple[int, int], ...] = env.get("dollar_lines") or ()
    if not lines:
        return None
    line = env.get("block_line")
    if line is None:
        return False
    i = bisect.bisect_right(lines, (line, sys.maxsize)) - 1
    return i >= 0 and lines[i][0] <= line <= lines[i][1]


def _single_dollar_close(src: str, begin: int, pandoc: bool = True) -> int:
    """The first ``$`` outside braces closes single-dollar math (MathJax and KaTeX match
    braces too). Under pandoc's rule it must follow a non-space and not precede a digit,
    else this ``$`` opens nothing: in ``$20, plus $x$`` the first ``$`` is a price and
    ``$x$`` is math. If a brace is never closed, braces are ignored (so ``$\\frac{a}{b$`` is
    a formula, reported as broken)."""
    for honour_braces in (True, False):
        depth = 0
        i = begin
        while i < len(src):
            ch = src[i]
            if ch == "\\":
                i += 2
                continue
            if ch == "{" and honour_braces:
                depth += 1
            elif ch == "}" and honour_braces:
                depth = max(depth - 1, 0)
            elif ch == "$" and depth == 0:
                return i if _closer_ok(src, i, "$", pandoc) else -1
            i += 1
        if depth == 0:
            break
    return -1


def _parse_inline_paren(inline: InlineParser, m: re.Match[str], state: InlineState) -> int | None:
    opener = m.group(0)
    closer = _CLOSERS[opener]
    close = find_closer(state.src, m.end(), closer)
    if close < 0:
        return None
    raw = state.src[m.end() : close]
    if not raw.strip():
        return None
    _append_inline_math(state, opener, raw, m.start(), display=opener in _DISPLAY_OPENERS)
    return close + len(closer)


def _parse_inline_env(inline: InlineParser, m: re.Match[str], state: InlineState) -> int | None:
    """A ``\\begin{env}..\\end{env}`` in a sentence: display math where the engine
    processes environments outside delimiters (MathJax: anywhere in the text)."""
    env = m.group("ienv")
    engine = mathengine.rules(state.env.get("math_engine", mathengine.DEFAULT_ENGINE))
    if env not in engine.bare_environments:
        return None
    cache: dict[tuple[str, str], dict[int, int]] = state.env.setdefault("_env_ends", {})
    key = (env, state.src)
    if key not in cache:
        cache[key] = _environment_ends(state.src, env)
    end = cache[key].get(m.start())
    if end is None:
        return None
    raw = state.src[m.start() : end]
    if "\n\n" in raw:
        return None
    _append_inline_math(state, "", raw, m.start(), display=True)
    return end


def _append_inline_math(state: InlineState, opener: str, raw: str, pos: int,
                        display: bool) -> None:
    """``opener`` "" is a bare environment: no delimiters around ``raw``."""
    src = state.src
    lines = line_counter(state, src)
    if budget.expired():
        budget.check(None)  # the renderer names the line; here only the paragraph is known
    state.append_token({
        "type": "math",
        "raw": _content(opener, raw),
        "attrs": {
            "display": display,
            "delim": opener,
            "line_offset": lines.line(pos),
            "column": lines.column(pos),
            "source": src[pos : pos + len(opener) + len(raw) + len(_CLOSERS.get(opener, ""))],
        },
    })


def _parse_inline_ref(inline: InlineParser, m: re.Match[str], state: InlineState) -> int:
    """``\\eqref{x}`` and ``\\ref{x}`` in prose: MathJax resolves them outside math too."""
    state.append_token({"type": "math_ref", "raw": m.group("rlabel"),
                        "attrs": {"command": m.group("rcmd")}})
    return m.end()


# ------------------------------------------------------------------------------ block rules

_BARE_ENV = r"\\begin\{(?P<ienv>" + "|".join(
    re.escape(e) for e in sorted(mathengine.ALL_BARE_ENVIRONMENTS, key=len, reverse=True)) + r")\}"
_BLOCK_OPEN = r"^ {0,3}(?P<mopen>\$\$|\\\\\[|\\\[)"
_ENV_OPEN = r"^ {0,3}\\begin\{(?P<menv>(?:" + _ENV_NAMES + r")\*?)\}"


def _interrupts_paragraph(state: BlockState) -> bool:
    last = state.last_token()
    return bool(last and last["type"] == "paragraph")


def _rest_of_line_blank(src: str, pos: int) -> int | None:
    """If only spaces follow ``pos`` up to the line end, the position after that line end."""
    m = re.compile(r"[ \t]*(?:\n|$)").match(src, pos)
    return m.end() if m else None


def _parse_block_math(block: BlockParser, m: re.Match[str], state: BlockState) -> int | None:
    if _interrupts_paragraph(state):
        return None
    opener = m.group("mopen")
    closer = _CLOSERS[opener]
    close = find_closer(state.src, m.end(), closer)
    if close < 0:
        return None
    after = _rest_of_line_blank(state.src, close + len(closer))
    if after is None:
        return None
    raw = state.src[m.end() : close]
    state.append_token({"type": "math_block", "raw": _content(opener, raw),
                        "attrs": {"delim": opener}})
    return after


def _parse_block_env(block: BlockParser, m: re.Match[str], state: BlockState) -> int | None:
    if _interrupts_paragraph(state):
        return None
    env = m.group("menv")
    if env not in mathengine.rules(state.env.get("math_engine", "")).bare_environments:
        return None  # KaTeX's auto-render leaves multline, eqnarray & co as text
    end = find_environment_end(state.src, m.start(), env)
    if end is None:
        return None
    after = _rest_of_line_blank(state.src, end)
    if after is None:
        return None
    raw = state.src[m.start() : end].strip()
    if markdown_escaped(raw):
        raw = unescape_kramdown(raw)
    state.append_token({"type": "math_block", "raw": _blank_lines_removed(raw),
                        "attrs": {"delim": "env"}})
    return after


def _environment_ends(src: str, env: str) -> dict[int, int]:
    """Each ``\\begin{env}`` position -> the position after its ``\\end{env}``: one pass,
    so a paragraph of unclosed environments costs no more than a closed one."""
    ends: dict[int, int] = {}
    opened: list[int] = []
    for m in re.finditer(r"\\(begin|end)\{" + re.escape(env) + r"\}", src):
        if m.group(1) == "begin":
            opened.append(m.start())
        elif opened:
            ends[opened.pop()] = m.end()
    return ends


def find_environment_end(src: str, start: int, env: str) -> int | None:
    """Position just after the ``\\end{env}`` that closes the one opened at ``start``."""
    pattern = re.compile(r"\\(begin|end)\{" + re.escape(env) + r"\}")
    depth = 0
    for m in pattern.finditer(src, start):
        depth += 1 if m.group(1) == "begin" else -1
        if depth == 0:
            return m.end()
    return None


def math_plugin(md: Markdown) -> None:
    """Register our math rules with a mistune ``Markdown``: before escapes and code."""
    md.inline.register("math_dollar", r"\$", _parse_inline_dollar, before="escape",
                       start_chars="$")
    md.inline.register("math_paren", r"\\\\?[(\[]", _parse_inline_paren, before="escape",
                       start_chars="\\")
    md.inline.register("math_ref", r"\\(?P<rcmd>eqref|ref)\{(?P<rlabel>[\w:.\-/ ]{1,100})\}",
                       _parse_inline_ref, before="escape", start_chars="\\")
    md.inline.register("math_env_inline", _BARE_ENV, _parse_inline_env, before="escape",
                       start_chars="\\")
    for rules in (md.block.rules, md.block.block_quote_rules, md.block.list_rules):
        md.block.insert_rule(rules, "math_block", before="fenced_code")
        md.block.insert_rule(rules, "math_env", before="fenced_code")
    md.block.register("math_block", _BLOCK_OPEN, _parse_block_math, before="fenced_code")
    md.block.register("math_env", _ENV_OPEN, _parse_block_env, before="fenced_code")

