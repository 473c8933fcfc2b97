"""Where math starts and ends in Markdown: ``$``, ``$$``, ``\\\\(``, ``\\\\[``, ``\\(``, ``\\[``
and bare amsmath environments. Math is cut out before any Markdown rule sees it, so ``_``,
``*`` and ``\\\\`` inside a formula survive.

``$$`` follows kramdown: a block of its own is display math, inside a paragraph it is inline
(lines apart too); one the paragraph ends before it closes is a ``math_unclosed`` token.
Single ``$`` follows the engine (``dollar_math: true``: the first ``$`` outside braces closes,
spaces allowed, ``\\$`` a dollar) or pandoc's rule (``dollar_math: pandoc``: ``$5 and $10`` is
text); in a post with ``{% katexmm %}`` blocks, only there (jekyll-katex). Environments the
engine processes anywhere (``mathengine.RULES``) are display math inside a paragraph too.
"""

from __future__ import annotations

import bisect
import re
import sys
from collections.abc import Mapping, MutableMapping
from typing import TYPE_CHECKING, Any

from md2tex import mathengine
from md2tex.budget import UNLIMITED, Budget

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
    if len(src) > SCAN_LIMIT:
        found = _structure(src).closer(start, closer, stop)
        if found is not None:
            return found
    return _find_closer_scan(src, start, closer, stop)


def _find_closer_scan(src: str, start: int, closer: str, stop: int) -> int:
    """find_closer by reading from ``start`` (exact; for short texts)."""
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


#: texts longer than this are searched through a _Structure (built once per text) instead of
#: being read from each opener: the read is linear per opener, quadratic per text
SCAN_LIMIT = 2048
_TOKENS = re.compile(r"\\[\s\S]|[{}]")
_UNCLOSED = -2


class _MinTree:
    """Minimum segment tree: the first index in a range whose value is at most a bound."""

    def __init__(self, values: list[int]) -> None:
        size = 1
        while size < max(len(values), 1):
            size *= 2
        self.size = size
        big = 1 << 62
        tree = [big] * (2 * size)
        tree[size : size + len(values)] = values
        for i in range(size - 1, 0, -1):
            tree[i] = min(tree[2 * i], tree[2 * i + 1])
        self.tree = tree

    def first_at_most(self, lo: int, hi: int, bound: int) -> int:
        """The first index in ``[lo, hi)`` whose value is ``<= bound``, or -1."""
        tree, size = self.tree, self.size
        left: list[int] = []
        right: list[int] = []
        lo += size
        hi += size
        while lo < hi:
            if lo & 1:
                left.append(lo)
                lo += 1
            if hi & 1:
                hi -= 1
                right.append(hi)
            lo >>= 1
            hi >>= 1
        for node in left + right[::-1]:
            if tree[node] <= bound:
                while node < size:
                    node = 2 * node if tree[2 * node] <= bound else 2 * node + 1
                return node - size
        return -1


class _Structure:
    """Escapes and braces of one long text, read once, so that finding the end of each of
    many formulas costs a few binary searches instead of a read to the end of the text.
    Every answer equals the one ``_find_closer_scan``/``_single_dollar_scan``/the
    environment loop gives; a query starting inside an escape (which those read
    differently) returns None and the caller reads instead."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.pairs: list[int] = []  # where each ``\x`` escape starts
        self.braces: list[int] = []  # unescaped braces
        self.depth_after: list[int] = []  # brace depth after each of them
        self.opens: list[int] = []
        self.match: dict[int, int] = {}  # ``{`` -> its ``}``
        depth = 0
        stack: list[int] = []
        for m in _TOKENS.finditer(text):
            pos = m.start()
            ch = text[pos]
            if ch == "\\":
                self.pairs.append(pos)
                continue
            if ch == "{":
                depth += 1
                stack.append(pos)
                self.opens.append(pos)
            else:
                depth -= 1
                if stack:
                    self.match[stack.pop()] = pos
            self.braces.append(pos)
            self.depth_after.append(depth)
        self._closers: dict[str, tuple[list[int], _MinTree]] = {}
        self._dollars: list[int] | None = None
        self._envs: dict[str, tuple[list[int], list[int], _MinTree]] = {}
        self._honoured: dict[int, int] = {}

    def token_start(self, pos: int) -> bool:
        """Is ``pos`` where a read from the text's start begins a token (not the second
        character of an escape)?"""
        k = bisect.bisect_left(self.pairs, pos - 1)
        return not (k < len(self.pairs) and self.pairs[k] == pos - 1)

    def depth(self, pos: int) -> int:
        """Brace depth just before ``pos``."""
        k = bisect.bisect_left(self.braces, pos)
        return self.depth_after[k - 1] if k else 0

    def closer(self, start: int, closer: str, stop: int) -> int | None:
        if not self.token_start(start):
            return None
        if closer not in self._closers:
            found = [m.start() for m in re.finditer("(?=" + re.escape(closer) + ")", self.text)
                     if self.token_start(m.start()) and _closer_ok(self.text, m.start(),
                                                                   closer)]
            self._closers[closer] = (found, _MinTree([self.depth(p) for p in found]))
        positions, tree = self._closers[closer]
        lo = bisect.bisect_left(positions, start)
        hi = bisect.bisect_left(positions, stop)
        if lo >= hi:
            return -1
        k = tree.first_at_most(lo, hi, self.depth(start))
        return positions[k if k >= 0 else lo]

    def single_dollar(self, begin: int) -> int | None:
        """The ``$`` that closes single-dollar math opened just before ``begin`` (before
        pandoc's check), -1 for none, None when ``begin`` is inside an escape. Braces
        honoured: whole ``{...}`` groups are jumped over (the jumps from each position are
        remembered); one never closed means braces are ignored."""
        if not self.token_start(begin):
            return None
        if self._dollars is None:
            self._dollars = [m.start() for m in re.finditer(r"\$", self.text)
                             if self.token_start(m.start())]
        dollars = self._dollars
        path: list[int] = []
        pos = begin
        while True:
            if pos in self._honoured:
                result = self._honoured[pos]
                break
            path.append(pos)
            k = bisect.bisect_left(dollars, pos)
            dollar = dollars[k] if k < len(dollars) else -1
            j = bisect.bisect_left(self.opens, pos)
            brace = self.opens[j] if j < len(self.opens) else -1
            if dollar >= 0 and (brace < 0 or dollar < brace):
                result = dollar
                break
            if brace < 0:
                result = -1
                break
            close = self.match.get(brace)
            if close is None:
                result = _UNCLOSED
                break
            pos = close + 1
        for p in path:
            self._honoured[p] = result
        if result != _UNCLOSED:
            return result
        k = bisect.bisect_left(dollars, begin)
        return dollars[k] if k < len(dollars) else -1

    def environment_end(self, start: int, env: str) -> int | None:
        """Like find_environment_end; None when the first match is not a ``\\begin``."""
        if env not in self._envs:
            matches = list(re.finditer(r"\\(begin|end)\{" + re.escape(env) + r"\}", self.text))
            depth = 0
            sums: list[int] = []
            for m in matches:
                depth += 1 if m.group(1) == "begin" else -1
                sums.append(depth)
            self._envs[env] = ([m.start() for m in matches], [m.end() for m in matches],
                               _MinTree(sums))
        starts, ends, tree = self._envs[env]
        k0 = bisect.bisect_left(starts, start)
        if k0 >= len(starts):
            return -1
        before = tree.tree[tree.size + k0 - 1] if k0 else 0
        if tree.tree[tree.size + k0] != before + 1:
            return None
        k = tree.first_at_most(k0 + 1, len(starts), before)
        return ends[k] if k >= 0 else -1


_STRUCTURES: list[_Structure] = []


def _structure(text: str) -> _Structure:
    """The _Structure of ``text`` (the last few are kept: a parser asks about one text many
    times, then moves on)."""
    for st in _STRUCTURES:
        if st.text is text:
            return st
    st = _Structure(text)
    _STRUCTURES.insert(0, st)
    del _STRUCTURES[4:]
    return st


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
_KRAMDOWN_ESCAPE = re.compile(r"\\([\\_*|$`{}()\[\]'])")


def markdown_escaped(text: str) -> bool:
    """Is this formula written for kramdown, which reads it as Markdown text before MathJax
    (single-``$`` math and bare environments are not math to kramdown)? Sure signs: three
    backslashes (``\\\\\\`` then a space is a row break), ``\\\\{`` for a brace, ``\\'`` for a
    prime (a text accent, never math), braces that balance only once kramdown has read
    ``\\{`` as ``{``; weak ones (``\\_``, ``\\*``) count only when no ``\\\\`` row break says
    the text is plain TeX."""
    strong = weak = tex_rows = False
    for m in _BACKSLASH_RUN.finditer(text):
        n, after = len(m.group(1)), m.group(2)
        if n >= 3 or (n == 2 and after in "{}" and after) or (n == 1 and after == "'"):
            strong = True
        elif n == 2:
            tex_rows = True
        elif after in ("_", "*"):
            weak = True
    if not strong and "\\{" in text:
        strong = not _balanced(text) and _balanced(unescape_kramdown(text))
    return strong or (weak and not tex_rows)


def _balanced(tex: str) -> bool:
    """Do the formula's braces (not ``\\{``, ``\\}``) pair up?"""
    depth = 0
    for m in re.finditer(r"\\.|[{}]", tex, re.S):
        if m.group(0) in "{}":
            depth += 1 if m.group(0) == "{" else -1
            if depth < 0:
                return False
    return depth == 0


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
            # an unmatched "$$" is text (its paragraph ended first: kramdown's and MathJax's
            # reading), said with a warning; the second "$" must not start single-dollar math
            lines = line_counter(state, src)
            state.append_token({"type": "math_unclosed", "raw": "$$",
                                "attrs": {"line_offset": lines.line(start),
                                          "column": lines.column(start)}})
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
    if len(src) > SCAN_LIMIT:
        found = _structure(src).single_dollar(begin)
        if found is not None:
            return found if found >= 0 and _closer_ok(src, found, "$", pandoc) else -1
    return _single_dollar_scan(src, begin, pandoc)


def _single_dollar_scan(src: str, begin: int, pandoc: bool) -> int:
    """_single_dollar_close by reading from ``begin`` (exact; for short texts)."""
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
    limit: Budget = state.env.get("budget", UNLIMITED)
    if limit.expired():
        limit.check(None)  # the renderer names the line; here only the paragraph is known
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
    if len(src) > SCAN_LIMIT:
        found = _structure(src).environment_end(start, env)
        if found is not None:
            return found if found >= 0 else None
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
    md.inline.register("math_dmath", _DMATH_OPEN, _parse_inline_dmath, before="escape",
                       start_chars="<")
    for rules in (md.block.rules, md.block.block_quote_rules, md.block.list_rules):
        md.block.insert_rule(rules, "math_block", before="fenced_code")
        md.block.insert_rule(rules, "math_env", before="fenced_code")
        md.block.insert_rule(rules, "math_dmath", before="fenced_code")
    md.block.register("math_block", _BLOCK_OPEN, _parse_block_math, before="fenced_code")
    md.block.register("math_env", _ENV_OPEN, _parse_block_env, before="fenced_code")
    md.block.register("math_dmath", _DMATH_BLOCK, _parse_block_dmath, before="fenced_code")


# ------------------------------------------- math elements: <d-math>, <script type="math/tex">

#: elements whose text is a formula: distill's ``<d-math>`` (KaTeX; ``block``: display) and
#: MathJax 2's ``<script type="math/tex">`` (what its tex2jax makes of delimiters, and what
#: posts write themselves; ``; mode=display``: display). A script of another type is HTML.
_MATH_ELEMENTS: dict[str, tuple[re.Pattern[str] | None, re.Pattern[str]]] = {
    # tag: (what its attributes must hold, what makes it display)
    "d-math": (None, re.compile(r"\bblock\b")),
    "script": (re.compile(r"""\btype\s*=\s*["']?math/tex\b""", re.I),
               re.compile(r"mode\s*=\s*display", re.I)),
}
#: (a script is matched only with its math type: other scripts are left to the HTML rules)
_MATH_SCRIPT = r"""script(?=[^<>]*\btype\s*=\s*["']?math/tex\b)"""
_DMATH_OPEN = r"<(?P<dtag>d-math|" + _MATH_SCRIPT + r")(?P<dattrs>(?:\s[^<>]*)?)>"
_DMATH_BLOCK = r"^ {0,3}<(?P<dbtag>d-math|" + _MATH_SCRIPT + r")(?P<dbattrs>\s[^<>]*)?>"


def _math_element(tag: str, attrs: str | None) -> bool | None:
    """None: not a math element; else whether it is display math."""
    required, display = _MATH_ELEMENTS[tag.lower()]
    if required is not None and not required.search(attrs or ""):
        return None
    return display.search(attrs or "") is not None


def _dmath_close(env: MutableMapping[str, Any], src: str, pos: int, tag: str = "d-math"
                 ) -> int:
    """The first ``</tag>`` at or after ``pos`` (-1: none); the positions are found once
    per text and tag, so many unclosed elements cost one pass."""
    cache: dict[tuple[str, str], list[int]] = env.setdefault("_dmath_closes", {})
    if (tag, src) not in cache:
        cache[tag, src] = [m.start() for m in re.finditer(f"</{tag}>", src, re.I)]
    closes = cache[tag, src]
    i = bisect.bisect_left(closes, pos)
    return closes[i] if i < len(closes) else -1


def _parse_inline_dmath(inline: InlineParser, m: re.Match[str], state: InlineState
                        ) -> int | None:
    """A math element in a paragraph (``<d-math>TeX</d-math>``, ``<script
    type="math/tex">TeX</script>``): its text is the formula."""
    tag = m.group("dtag").lower()
    display = _math_element(tag, m.group("dattrs"))
    close = _dmath_close(state.env, state.src, m.end(), tag) if display is not None else -1
    raw = state.src[m.end() : close] if close >= 0 else ""
    if not raw.strip() or "\n\n" in raw:
        return None
    _append_inline_math(state, "", raw, m.end(), display=bool(display))
    return close + len(f"</{tag}>")


def _parse_block_dmath(block: BlockParser, m: re.Match[str], state: BlockState) -> int | None:
    """A display math element starting a line (``<d-math block>``, ``<script
    type="math/tex; mode=display">``): a display formula up to its close tag (blank lines
    inside allowed: the engine reads the element's whole text)."""
    tag = m.group("dbtag").lower()
    if not _math_element(tag, m.group("dbattrs")) or _interrupts_paragraph(state):
        return None
    close = _dmath_close(state.env, state.src, m.end(), tag)
    if close < 0:
        return None
    after = _rest_of_line_blank(state.src, close + len(f"</{tag}>"))
    if after is None:
        return None
    state.append_token({"type": "math_block", "raw": _content("", state.src[m.end() : close]),
                        "attrs": {"delim": ""}})
    return after
