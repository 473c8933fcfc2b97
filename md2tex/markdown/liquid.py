"""Jekyll's Liquid layer, applied before Markdown as Jekyll does, keeping line numbers.

Every replacement keeps the number of newlines it removes, so a Markdown line number in the
result is the line number in the post. The one exception is a ``{% highlight %}`` that shares
its line with text or code: the fence must stand on lines of its own, so each such tag adds a
line and later lines shift by one per tag (up to three for a one-line highlight in a sentence).

Handled: output tags ``{{ site.* }}``, ``{{ page.* }}``, ``{{ 'literal' | filter }}`` and
captured/assigned names, with the filters Jekyll posts use in URLs and text; ``{% raw %}``,
``{% highlight %}``, ``{% comment %}``, ``{% if/elsif/else/unless/case/when %}`` (conditions on
known values are evaluated; an unknown value is false), ``{% capture %}``, ``{% assign %}``,
``{% post_url %}``/``{% link %}`` (the post's address in the site's permalink style when
``site.url`` is known, else the link's text only), ``{% tabs %}``/``{% tab %}`` (each tab's
title as a bold line, its content kept) and the figure block ``{% figure %}…{% endfigure %}``.
Theme includes and plugin tags (figures, Tufte notes, citations…) go to their handler in
``includes.py``; a note becomes a kramdown footnote whose definition is appended after the
body (``LiquidResult.note_lines`` maps its line back to the tag's), or small text in brackets
inside raw HTML, where Markdown reads no footnote reference. An unknown include keeps the
prose of its parameters; an unknown tag leaves no text behind. Both are warnings.

A post controls how much work this is, so the scan is linear: tags and outputs are found
with ``str.find`` and bounded matches, each remembered until the scan passes it (a search
never runs over the same text once per tag), and line numbers are counted forward from the
previous position. What Liquid can make grow (outputs, captures, assigned values; doubling a
capture is exponential) is capped by ``budget.output_cap`` of the body, and blocks nest at
most ``MAX_DEPTH`` deep: past either limit, Liquid is not applied to the post at all and a
``liquid-limit`` error names the tag. The conversion's deadline is checked per tag.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any, Generic, Protocol, TypeVar

from md2tex import budget
from md2tex.budget import UNLIMITED, Budget
from md2tex.diagnostics import Diagnostic, error, warning
from md2tex.escape import without_spans
from md2tex.markdown.includes import (
    ONE_LINE_HTML,
    Call,
    Handler,
    Includes,
    Made,
    figure_html,
    html_text,
    one_line,
    parse_arguments,
    prose,
)

#: the start of a tag, ``{%`` and its name; the tag ends at the first ``%}`` after the name
_TAG_HEAD = re.compile(r"\{%-?\s*(?P<name>[A-Za-z_]\w*)")
_LITERAL = r"'[^'{}\n]*'|\"[^\"{}\n]*\""
#: only Liquid-looking variables are output tags; ``{{`` in math or code stays as it is.
#: Both match the text between ``{{`` and ``}}`` (no brace inside) with its ``-`` and
#: surrounding spaces already taken off
_OUTPUT = re.compile(
    r"(?:site|page|include|post|paginator|layout|jekyll)\b[^{}]*"
    r"|(?:" + _LITERAL + r")\s*\|[^{}]*"
)
_ANY_OUTPUT = re.compile(r"[A-Za-z_][\w.-]*\s*(?:\|[^{}]*)?")
_BRACE = re.compile(r"[{}]")
#: deepest nesting of Liquid blocks (real posts nest a few)
MAX_DEPTH = 100
_END_HIGHLIGHT = re.compile(r"\{%-?\s*endhighlight\s*-?%\}")
_RAW = re.compile(r"\{%-?\s*raw\s*-?%\}")
_END_RAW = re.compile(r"\{%-?\s*endraw\s*-?%\}")
_END_COMMENT = re.compile(r"\{%-?\s*endcomment\s*-?%\}")
_CLOSE_TAG = re.compile(r"%\}")
#: ``left op right``; ``left`` ends on a non-space, so a long run of spaces is read once
_COMPARISON = re.compile(r"(.*?\S)\s*(==|!=|<>|>=|<=|>|<|contains)\s*(.+)", re.S)
_WHEN_SPLIT = re.compile(r",|(?<!\s)\s+or\s+")
_NEWLINE = re.compile(r"\n")
_INK = re.compile(r"\S")
_END_FOR = re.compile(r"\{%-?\s*(?P<name>for|tablerow|endfor|endtablerow)\b[^%]*%\}")
#: ``{{ site.baseurl }}`` right before ``{% post_url %}``/``{% link %}`` (a space between
#: them or not): the tag writes the whole address, so the output is left out (bounded: one
#: more output at most)
_ADDRESS_TAG_AHEAD = re.compile(
    r"(?:[ \t]{0,8}\{\{-?[ \t]{0,8}site\.(?:url|baseurl)[ \t]{0,8}-?\}\})?"
    r"[ \t]{0,8}\{%-?[ \t]{0,8}(?:post_url|link)\b")
#: the site outputs (each maybe followed by spaces) before such a tag
_SITE_OUTPUTS_BEFORE = re.compile(r"(?:\{\{-?\s*site\.(?:url|baseurl)\s*-?\}\}[ \t]*)+$")
_FIGURE_BLOCK = re.compile(r"\{%-?\s*(?P<name>figure|endfigure)\b")
#: a figure block holding just a Markdown image
_LONE_IMAGE = re.compile(r"\s*!\[(?P<alt>[^\]\n]*)\]\(\s*<?(?P<src>[^\s)>]+)>?"
                         r"(?:\s+\"[^\"\n]*\")?\s*\)\s*")
#: Liquid outputs inside a quoted parameter (``url="{{ site.baseurl }}/a.png"``)
_INNER_OUTPUT = re.compile(r"\{\{-?\s*([^{}]{1,200}?)\s*-?\}\}")
#: Jekyll's permalink styles (``permalink: pretty``); anything else is a pattern itself
_PERMALINKS = {
    "date": "/:categories/:year/:month/:day/:title:output_ext",
    "pretty": "/:categories/:year/:month/:day/:title/",
    "ordinal": "/:categories/:year/:y_day/:title:output_ext",
    "weekdate": "/:categories/:year/W:week/:short_day/:title:output_ext",
    "none": "/:categories/:title:output_ext",
}
#: the prefix of the footnotes Liquid makes of side and margin notes
NOTE_KEY = "md2tex-note-"
#: a line that starts a raw HTML block (CommonMark's kinds 1-7, read loosely): until the next
#: blank line, Markdown's footnote references are not read there
_HTML_BLOCK_LINE = re.compile(
    r" {0,3}<(?:!--|\?|![A-Za-z]|/?(?:address|article|aside|blockquote|body|center|details|"
    r"dialog|dd|div|dl|dt|fieldset|figcaption|figure|footer|form|h[1-6]|header|hr|li|main|"
    r"nav|ol|p|pre|script|section|style|summary|table|tbody|td|textarea|tfoot|th|thead|tr|"
    r"ul)(?=[\s/>]|$)|[A-Za-z][\w-]*(?:\s[^<>\n]*)?>[ \t]*$|/[A-Za-z][\w-]*[ \t]*>[ \t]*$)",
    re.I)


@dataclass(frozen=True)
class PostRef:
    """What ``{% post_url NAME %}`` links to: a title and a URL."""

    title: str
    url: str


@dataclass
class LiquidContext:
    """What Liquid variables resolve against: ``site.*``, ``page.*`` and, for
    ``{% post_url %}``, the posts of a batch (name such as ``2018-02-19-slug`` -> PostRef);
    ``includes``: the site's ``includes`` setting (include or tag name -> handler name or
    Jinja snippet, see ``includes.py``)."""

    site: Mapping[str, Any] = field(default_factory=dict)
    page: Mapping[str, Any] = field(default_factory=dict)
    posts: Mapping[str, PostRef] = field(default_factory=dict)
    variables: dict[str, Any] = field(default_factory=dict)
    includes: Mapping[str, Any] = field(default_factory=dict)
    #: the post's file: Jekyll's ``page.slug``, ``page.name`` and ``page.path`` come from it
    #: (where the front matter does not set them)
    path: str = ""
    #: the longest value a filter may make (set from the post's size while rendering)
    max_value: int = budget.HARD_CAP
    #: the conversion's deadline (``convert`` makes it; alone, a stage has none)
    budget: Budget = UNLIMITED

    def lookup(self, expr: str) -> Any:
        """Resolve ``site.url | relative_url``-style expressions (the common filters)."""
        parts = _split_filters(expr)
        value = self.value(parts[0])
        for flt in parts[1:]:
            name, _, arg = flt.partition(":")
            value = self._filter(name.strip(), value, self.value(arg.strip()) if arg else None)
        return value

    def value(self, term: str) -> Any:
        """A literal (string, number, true/false/nil) or a dotted variable."""
        term = term.strip()
        if len(term) >= 2 and term[0] == term[-1] and term[0] in "'\"":
            return term[1:-1]
        if re.fullmatch(r"-?\d+", term):
            return int(term)
        if re.fullmatch(r"-?\d+\.\d+", term):
            return float(term)
        if term in ("true", "false"):
            return term == "true"
        if term in ("nil", "null", "empty", ""):
            return None
        return self._path(term)

    def _filter(self, name: str, value: Any, arg: Any) -> Any:
        text = "" if value is None else str(value)
        argtext = "" if arg is None else str(arg)
        if name in ("prepend", "append") and len(text) + len(argtext) > self.max_value:
            raise LiquidLimit(f"a Liquid value grows past {self.max_value:,} characters here "
                              "(an assign that keeps doubling?)")
        if name == "prepend":
            return argtext + text
        if name == "append":
            return text + argtext
        if name in ("relative_url", "absolute_url"):
            base = str(self.site.get("baseurl", "") or "")
            if name == "absolute_url":
                base = str(self.site.get("url", "") or "").rstrip("/") + base
            if re.match(r"[a-z][a-z0-9+.-]*:", text):
                return text
            return base.rstrip("/") + "/" + text.lstrip("/") if base else text
        if name == "default":
            return value if value not in (None, "", False) else arg
        simple: dict[str, Callable[[str], Any]] = {
            "downcase": str.lower, "upcase": str.upper, "capitalize": str.capitalize,
            "strip": str.strip, "lstrip": str.lstrip, "rstrip": str.rstrip,
            "size": len, "strip_html": _strip_html,
            "escape": lambda s: s, "xml_escape": lambda s: s, "uri_escape": lambda s: s,
            "url_encode": lambda s: s, "markdownify": lambda s: s, "smartify": lambda s: s,
            "jsonify": lambda s: s, "slugify": lambda s: re.sub(r"[^a-z0-9]+", "-",
                                                                  s.lower()).strip("-"),
        }
        if name in simple:
            return simple[name](text)
        if name == "replace" or name == "remove":
            return text  # arguments beyond the first are not parsed; keep the text
        if name.startswith("date"):
            return value
        return value

    def _path(self, dotted: str) -> Any:
        head, *rest = re.split(r"\.|\[['\"]?|['\"]?\]\.?", dotted.strip())
        rest = [r for r in rest if r]
        scopes: dict[str, Any] = {"site": self.site, "page": self.page, **self.variables}
        if head not in scopes:
            return None
        value: Any = scopes[head]
        for key in rest:
            if not isinstance(value, Mapping):
                return None
            value = value.get(key)
        if value is None and head == "site" and rest in (["url"], ["baseurl"]):
            return ""  # Jekyll's defaults: a site served from its root
        return value

    def post(self, name: str) -> PostRef:
        """The post ``{% post_url name %}`` means: from the batch if known, else its address
        in the site's permalink style (``site.permalink``, Jekyll's ``date`` by default)."""
        name = name.strip().strip("'\"")
        ref = self.posts.get(name) or self.posts.get(name.rsplit("/", 1)[-1])
        if ref is not None:
            return ref
        base = re.sub(r"\.(?:md|markdown|html)$", "", name.rsplit("/", 1)[-1])
        m = re.match(r"(\d{4})-(\d{2})-(\d{2})-(.+)$", base)
        title = m[4] if m else base
        style = str(self.site.get("permalink") or "date")
        path = _permalink(_PERMALINKS.get(style, style), title,
                          dt.date(int(m[1]), int(m[2]), int(m[3])) if m and _valid_date(m)
                          else None)
        title = title.replace("-", " ")
        return PostRef(title=title[:1].upper() + title[1:], url=self.address(path))

    def page_ref(self, name: str) -> PostRef:
        """What ``{% link path %}`` means: a post under ``_posts/``, else the page's address
        (``about.md`` -> ``/about.html``, ``docs/index.md`` -> ``/docs/``)."""
        path = name.strip().strip("'\"").lstrip("/")
        if "_posts/" in path or path.startswith("_posts"):
            return self.post(path)
        page = re.sub(r"\.(?:md|markdown|html)$", ".html", path)
        page = re.sub(r"(?:^|(?<=/))index\.html$", "", page)
        stem = page.rstrip("/").rsplit("/", 1)[-1].removesuffix(".html") or "home"
        return PostRef(title=stem[:1].upper() + stem[1:], url=self.address("/" + page))

    def address(self, path: str) -> str:
        """``path`` on the site: absolute when ``site.url`` is a web address, else from the
        base URL (a PDF shows such a link as its text only)."""
        url = str(self.site.get("url") or "").strip()
        base = str(self.site.get("baseurl") or "").strip().strip("/")
        prefix = (url.rstrip("/") if url.startswith(("http://", "https://")) else "") + (
            "/" + base if base else "")
        return prefix + "/" + path.lstrip("/")


def _without_raw_tags(code: str) -> str:
    """A highlight block's code as Liquid renders it: ``{% raw %}`` and its ``{% endraw %}``
    go, what they hold stays as written (the rest of the code is kept as written too)."""
    out: list[str] = []
    pos = 0
    while (start := _RAW.search(code, pos)) is not None:
        end = _END_RAW.search(code, start.end())
        if end is None:
            break
        out += [code[pos : start.start()], code[start.end() : end.start()]]
        pos = end.end()
    out.append(code[pos:])
    return "".join(out)


def _valid_date(m: re.Match[str]) -> bool:
    try:
        dt.date(int(m[1]), int(m[2]), int(m[3]))
    except ValueError:
        return False
    return True


def _permalink(pattern: str, title: str, date: dt.date | None) -> str:
    """A Jekyll permalink pattern filled for a post (no categories: md2tex does not know
    the linked post's); placeholders it cannot fill are left empty."""
    values: dict[str, str] = {"title": title, "slug": title, "name": title,
                              "output_ext": ".html", "categories": "", "hour": "00",
                              "minute": "00", "second": "00"}
    if date is not None:
        values.update(year=f"{date.year:04d}", month=f"{date.month:02d}",
                      day=f"{date.day:02d}", i_month=str(date.month), i_day=str(date.day),
                      short_year=f"{date.year % 100:02d}",
                      y_day=f"{date.timetuple().tm_yday:03d}",
                      week=f"{date.isocalendar()[1]:02d}", short_day=date.strftime("%a"))
    path = re.sub(r":([a-z_]+)", lambda m: values.get(m[1], ""), pattern[:300])
    return "/" + re.sub(r"/{2,}", "/", path).lstrip("/")


def _split_filters(expr: str) -> list[str]:
    """``a | f: 'x|y' | g`` -> ["a", "f: 'x|y'", "g"] (pipes inside quotes stay)."""
    parts: list[str] = []
    buf: list[str] = []
    quote = ""
    for ch in expr:
        if quote:
            quote = "" if ch == quote else quote
        elif ch in "'\"":
            quote = ch
        elif ch == "|":
            parts.append("".join(buf).strip())
            buf = []
            continue
        buf.append(ch)
    parts.append("".join(buf).strip())
    return parts


def _truthy(value: Any) -> bool:
    return value is not None and value is not False


class LiquidLimit(Exception):
    """A value or the output grew past the budget, or blocks nested too deep."""


@dataclass
class LiquidResult:
    text: str
    diagnostics: list[Diagnostic]
    #: the post asked for a table of contents ({% include toc.html %})
    toc: bool = False
    #: line ranges (of ``text``) of ``{% katexmm %}`` blocks: with jekyll-katex, single ``$``
    #: is math there only
    dollar_lines: tuple[tuple[int, int], ...] = ()
    #: the lines after the body that hold notes' footnote definitions -> the tag's line
    note_lines: Mapping[int, int] = field(default_factory=dict)

    def origin_line(self, line: int | None) -> int | None:
        """The post's line for a line of ``text`` (a note's definition: its tag's line)."""
        return self.note_lines.get(line, line) if line is not None else None

    def relocated(self, diagnostics: Sequence[Diagnostic]) -> list[Diagnostic]:
        """``diagnostics`` of later stages with the lines of notes moved to their tags."""
        if not self.note_lines:
            return list(diagnostics)
        return [replace(d, line=self.origin_line(d.line)) if d.line in self.note_lines else d
                for d in diagnostics]


def _newlines(text: str) -> str:
    return "\n" * text.count("\n")


class _Found:
    """A tag (``{% name args %}``) or an output (``{{ expr }}``) the scanner found: the part
    of ``re.Match`` the handlers use."""

    __slots__ = ("_end", "_groups", "_start", "_text", "kind")

    def __init__(self, kind: str, start: int, end: int, text: str, **groups: str) -> None:
        self.kind = kind
        self._start, self._end, self._text, self._groups = start, end, text, groups

    def start(self) -> int:
        return self._start

    def end(self) -> int:
        return self._end

    def group(self, key: int | str = 0) -> str:
        return self._text if key == 0 else self._groups[str(key)]


class _Starts(Protocol):
    def start(self) -> int: ...


_M = TypeVar("_M", bound=_Starts)


class _Ahead(Generic[_M]):
    """The first match at or after a position, remembered: the scan moves forward, so a
    search runs again only once the position has passed what it found (a match that starts
    later is the same whichever earlier position the search started from)."""

    def __init__(self, find: Callable[[int], _M | None]) -> None:
        self.find = find
        self.origin = -1
        self.found: _M | None = None

    def __call__(self, pos: int) -> _M | None:
        if self.origin < 0 or pos < self.origin or (
                self.found is not None and self.found.start() < pos):
            self.origin, self.found = pos, self.find(pos)
        return self.found


def _trimmed(inner: str) -> str:
    """What Liquid reads between ``{{``/``{%`` and ``}}``/``%}``: white-space control
    dashes and the spaces next to them taken off."""
    if inner.startswith("-"):
        inner = inner[1:]
    inner = inner.lstrip()
    if inner.endswith("-"):
        inner = inner[:-1]
    return inner.rstrip()


@dataclass
class _Frame:
    """An open ``if``/``unless``/``case``/``capture`` block."""

    kind: str
    active: bool
    taken: bool = False
    subject: Any = None
    name: str = ""
    buffer: list[str] = field(default_factory=list)


class _Renderer:
    def __init__(self, src: str, ctx: LiquidContext, line0: int) -> None:
        self.src = src
        self.ctx = ctx
        self.line0 = line0
        self.out: list[str] = []
        self.diags: list[Diagnostic] = []
        self.frames: list[_Frame] = []
        self.toc = False
        #: characters Liquid may still produce (outputs, captures, assigned values)
        self.cap = budget.output_cap(len(src))
        self.produced = 0
        self.handlers: dict[str, Callable[[_Found], int]] = {
            "raw": self._raw,
            "highlight": self._highlight,
            "comment": self._comment,
            "if": self._if, "unless": self._if, "elsif": self._elsif, "else": self._else,
            "endif": self._end, "endunless": self._end,
            "case": self._case, "when": self._when, "endcase": self._end,
            "capture": self._capture, "endcapture": self._endcapture,
            "assign": self._assign,
            "post_url": self._post_url,
            "link": self._post_url,
            "include": self._include, "include_relative": self._include,
            "for": self._for, "tablerow": self._for,
            "katexmm": self._katexmm, "endkatexmm": self._endkatexmm,
            "tabs": self._tabs, "endtabs": self._tabs, "tab": self._tab, "endtab": self._tabs,
            "figure": self._figure, "endfigure": self._endfigure,
        }
        self.includes = Includes(ctx.includes)
        self.notes = _Notes()
        #: where ``_in_html_block`` reads on, and what it found so far
        self._html_scan = 0
        self._html_open = False
        #: captions of open ``{% figure %}`` blocks, written at their ``{% endfigure %}``
        self.captions: list[str] = []
        self._figure_tags: _Ahead[re.Match[str]] = _Ahead(
            lambda p: _FIGURE_BLOCK.search(src, p))
        self.dollar_lines: list[tuple[int, int]] = []
        self.katexmm_start: int | None = None
        self._counted = (0, 0)  # (items of self.out counted, their newlines)
        self._tags: _Ahead[_Found] = _Ahead(self._find_tag)
        self._outputs: _Ahead[_Found] = _Ahead(self._find_output)
        self._close: _Ahead[re.Match[str]] = _Ahead(lambda p: _CLOSE_TAG.search(src, p))
        self._end_raw: _Ahead[re.Match[str]] = _Ahead(lambda p: _END_RAW.search(src, p))
        self._end_comment: _Ahead[re.Match[str]] = _Ahead(
            lambda p: _END_COMMENT.search(src, p))
        self._end_highlight: _Ahead[re.Match[str]] = _Ahead(
            lambda p: _END_HIGHLIGHT.search(src, p))
        self._end_for: _Ahead[re.Match[str]] = _Ahead(lambda p: _END_FOR.search(src, p))
        self._newline: _Ahead[re.Match[str]] = _Ahead(lambda p: _NEWLINE.search(src, p))
        # line counting goes forward from the last position asked about
        self._line_pos = 0
        self._line_count = 0
        self._line_start = 0
        self._blank: dict[int, bool] = {}
        self._ink_from_line_start: _Ahead[re.Match[str]] = _Ahead(
            lambda p: _INK.search(src, p))
        self._ink_after: _Ahead[re.Match[str]] = _Ahead(lambda p: _INK.search(src, p))

    def line_at(self, pos: int) -> int:
        src = self.src
        if pos >= self._line_pos:
            self._line_count += src.count("\n", self._line_pos, pos)
            last = src.rfind("\n", self._line_pos, pos)
            if last >= 0:
                self._line_start = last + 1
        else:
            self._line_count -= src.count("\n", pos, self._line_pos)
            self._line_start = src.rfind("\n", 0, pos) + 1
        self._line_pos = pos
        return self.line0 + self._line_count

    def line_start(self, pos: int) -> int:
        """Where the line holding ``pos`` starts."""
        self.line_at(pos)
        return self._line_start

    def line_end(self, pos: int) -> int:
        """Where the line holding ``pos`` ends (its newline, or the end of the text)."""
        nl = self._newline(pos)
        return len(self.src) if nl is None else nl.start()

    def blank_before(self, pos: int) -> bool:
        """Only spaces between the start of the line and ``pos``?"""
        ink = self._ink_from_line_start(self.line_start(pos))
        return ink is None or ink.start() >= pos

    def blank_after(self, pos: int) -> bool:
        """Only spaces between ``pos`` and the end of its line?"""
        ink = self._ink_after(pos)
        return ink is None or ink.start() >= self.line_end(pos)

    def blank_line(self, start: int) -> bool:
        """Is the line that starts at ``start`` blank (remembered: a long line may hold
        many tags that ask about the lines next to it)?"""
        if start not in self._blank:
            end = self.src.find("\n", start)
            self._blank[start] = not self.src[start : len(self.src) if end < 0 else end].strip()
        return self._blank[start]

    def prev_line_blank(self, start: int) -> bool:
        """Is the line before the one starting at ``start`` blank (or is there none)?"""
        if start == 0:
            return True
        if -start not in self._blank:
            self._blank[-start] = self.blank_line(self.src.rfind("\n", 0, start - 1) + 1)
        return self._blank[-start]

    def warn(self, code: str, message: str, pos: int) -> None:
        self.diags.append(warning(code, message, self.line_at(pos)))

    def grow(self, size: int) -> None:
        """Count ``size`` more characters made by Liquid; past the budget, stop."""
        self.produced += size
        if self.produced > self.cap:
            raise LiquidLimit(f"Liquid output grows past {self.cap:,} characters here "
                              "(a capture or assign that keeps doubling?)")

    @property
    def active(self) -> bool:
        return all(f.active for f in self.frames)

    def push(self, frame: _Frame) -> None:
        if len(self.frames) >= MAX_DEPTH:
            raise LiquidLimit(f"Liquid blocks nest more than {MAX_DEPTH} deep here")
        self.frames.append(frame)

    def emit(self, text: str) -> None:
        """Output text, unless a false branch is open; a capture takes it instead. The
        newlines always reach the output, so lines keep their numbers."""
        if not self.active:
            self.out.append(_newlines(text))
            return
        self.grow(len(text))
        capture = next((f for f in reversed(self.frames) if f.kind == "capture"), None)
        if capture is not None:
            capture.buffer.append(text)
            self.out.append(_newlines(text))
        else:
            self.out.append(text)

    def run(self) -> None:
        pos = 0
        while True:
            m = self._next(pos)
            if not m:
                break
            if self.ctx.budget.expired():
                self.ctx.budget.check(self.line_at(m.start()))
            self.emit(self.src[pos : m.start()])
            self.line_at(m.start())
            if m.kind == "tag":
                handler = self.handlers.get(m.group("name"), self._other)
                pos = handler(m)
            else:
                pos = self._output(m)
        self.emit(self.src[pos:])
        if self.frames:
            kinds = ", ".join(f.kind for f in self.frames)
            self.diags.append(warning("liquid-unclosed", f"Liquid block(s) {kinds} never "
                                      "closed", self.line_at(len(self.src))))
            for frame in reversed(self.frames):
                if frame.kind == "capture":
                    self.ctx.variables[frame.name] = "".join(frame.buffer)
            self.frames.clear()

    def _next(self, pos: int) -> _Found | None:
        """The next tag, or the next output before it that means something here (a
        ``{{ name }}`` counts once ``name`` was assigned or captured before it)."""
        tag = self._tags(pos)
        limit = len(self.src) if tag is None else tag.start()
        out = self._outputs(pos)
        while out is not None and out.start() < limit:
            if out.group("head") == "" or out.group("head") in self.ctx.variables:
                return out
            out = self._outputs(out.start() + 1)
        return tag

    def _find_tag(self, pos: int) -> _Found | None:
        src = self.src
        while True:
            i = src.find("{%", pos)
            if i < 0:
                return None
            head = _TAG_HEAD.match(src, i)
            if head is not None:
                close = self._close(head.end())
                if close is None:
                    return None  # no later tag can be closed either
                args = src[head.end() : close.start()]
                if args.endswith("-"):
                    args = args[:-1]
                return _Found("tag", i, close.end(), src[i : close.end()],
                              name=head.group("name"), args=args.rstrip())
            pos = i + 1

    def _find_output(self, pos: int) -> _Found | None:
        """The next ``{{ ... }}`` that reads like Liquid; ``head`` is "" for one that always
        is (``site.*``, a quoted literal with a filter), else the variable it needs."""
        src = self.src
        while True:
            i = src.find("{{", pos)
            if i < 0:
                return None
            brace = _BRACE.search(src, i + 2)
            if brace is None:
                return None  # no later ``{{`` has a closing brace either
            j = brace.start()
            if src.startswith("}}", j):
                expr = _trimmed(src[i + 2 : j])
                head = None
                if _OUTPUT.fullmatch(expr):
                    head = ""
                elif _ANY_OUTPUT.fullmatch(expr):
                    head = _split_filters(expr)[0].split(".")[0]
                if head is not None:
                    return _Found("output", i, j + 2, src[i : j + 2], expr=expr, head=head)
            pos = i + 1

    # ----------------------------------------------------------------------- output
    def _output(self, m: _Found) -> int:
        if not self.active or (m.group("expr") in ("site.url", "site.baseurl")
                               and _ADDRESS_TAG_AHEAD.match(self.src, m.end())):
            self.out.append(_newlines(m.group(0)))
            return m.end()
        value = self.ctx.lookup(m.group("expr"))
        if value is None:
            self.warn("liquid-variable", f"Liquid variable '{{{{ {m.group('expr')} }}}}' has "
                      "no value here; it is left out", m.start())
            value = ""
        if isinstance(value, (dt.date, dt.datetime)):
            value = value.isoformat()
        elif isinstance(value, (list, tuple)):
            value = ", ".join(str(v) for v in value)
        elif isinstance(value, bool):
            value = "true" if value else "false"
        self.emit(str(value))
        self.out.append(_newlines(m.group(0)))
        return m.end()

    # ------------------------------------------------------------------------ blocks
    def _raw(self, m: _Found) -> int:
        end = self._end_raw(m.end())
        if not end:
            self.warn("liquid-unclosed", "{% raw %} is never closed", m.start())
            self.out.append(_newlines(m.group(0)))
            return m.end()
        self.out.append(_newlines(m.group(0)))
        self.emit(self.src[m.end() : end.start()])
        self.out.append(_newlines(end.group(0)))
        return end.end()

    def out_line(self) -> int:
        """The line of the output written so far (counted once per output item)."""
        done, lines = self._counted
        lines += sum(part.count("\n") for part in self.out[done:])
        self._counted = (len(self.out), lines)
        return self.line0 + lines

    def _katexmm(self, m: _Found) -> int:
        """jekyll-katex typesets ``$``/``$$`` math inside ``{% katexmm %}`` only: the block's
        output lines are recorded for the parser; the tags leave their newlines."""
        self.out.append(_newlines(m.group(0)))
        if self.katexmm_start is None:
            self.katexmm_start = self.out_line()
        return m.end()

    def _endkatexmm(self, m: _Found) -> int:
        if self.katexmm_start is not None:
            self.dollar_lines.append((self.katexmm_start, self.out_line()))
            self.katexmm_start = None
        self.out.append(_newlines(m.group(0)))
        return m.end()

    def _comment(self, m: _Found) -> int:
        end = self._end_comment(m.end())
        stop = end.end() if end else m.end()
        self.out.append(_newlines(self.src[m.start() : stop]))
        return stop

    def _highlight(self, m: _Found) -> int:
        words = m.group("args").split()
        lang = words[0] if words else ""
        extra = " linenos" if any(w.startswith("linenos") for w in words[1:]) else ""
        end = self._end_highlight(m.end())
        if not end:
            self.warn("liquid-unclosed", "{% highlight %} is never closed by "
                      "{% endhighlight %}; the rest of the post is treated as code", m.start())
            code_end, resume = len(self.src), len(self.src)
        else:
            code_end, resume = end.start(), end.end()
        code = _without_raw_tags(self.src[m.end() : code_end])
        # Jekyll drops the code's leading and trailing line breaks (and the indentation
        # before an indented {% endhighlight %} is no line of code): they stay as lines
        # around the fences, so every later line keeps its number
        stripped = code.lstrip("\n")
        before = len(code) - len(stripped)
        code = stripped if before else code.lstrip(" \t")
        lines = code.rstrip(" \t\n")
        after = code[len(lines):].count("\n")
        code = lines + "\n" if lines else ""
        blank = self.blank_before(m.start())
        indent = self.src[self.line_start(m.start()) : m.start()] if blank else ""
        lead = "" if blank else "\n"
        gap = "\n" * (before - 1) + indent if before > 1 else ""
        ticks = "`" * max(3, 1 + max((len(r) for r in re.findall(r"`+", code)), default=0))
        self.emit(f"{lead}{gap}{ticks}{lang}{extra}\n{code}{indent}{ticks}"
                  + "\n" * max(0, after - 1))
        if resume < len(self.src) and self.src[resume] != "\n":
            self.emit("\n")
        return resume

    def _condition(self, text: str, pos: int) -> bool:
        """``a == b and c contains 'x' or d``: Liquid evaluates right to left, no brackets."""
        text = text.strip()
        for op, join in ((" or ", any), (" and ", all)):
            if op in text:
                return join(self._condition(part, pos) for part in text.split(op))
        m = _COMPARISON.fullmatch(text)
        if not m:
            return _truthy(self.ctx.value(text))
        left, op, right = self.ctx.value(m[1]), m[2], self.ctx.value(m[3])
        try:
            if op == "==":
                return bool(left == right)
            if op in ("!=", "<>"):
                return bool(left != right)
            if op == "contains":
                return left is not None and right is not None and str(right) in (
                    left if isinstance(left, (list, tuple)) else str(left))
            if left is None or right is None:
                return False
            return bool({">": left > right, "<": left < right, ">=": left >= right,
                         "<=": left <= right}[op])
        except TypeError:
            return False

    def _if(self, m: _Found) -> int:
        value = self._condition(m.group("args"), m.start()) if self.active else False
        if m.group("name") == "unless":
            value = not value
        self.push(_Frame("if", value, taken=value))
        self.out.append(_newlines(m.group(0)))
        return m.end()

    def _branch(self, m: _Found, cond: Callable[[], bool]) -> int:
        self.out.append(_newlines(m.group(0)))
        frame = self.frames[-1] if self.frames else None
        if frame is None or frame.kind not in ("if", "case"):
            self.warn("liquid-tag", f"{{% {m.group('name')} %}} outside an if or case block",
                      m.start())
            return m.end()
        outer = all(f.active for f in self.frames[:-1])
        frame.active = outer and not frame.taken and cond()
        frame.taken = frame.taken or frame.active
        return m.end()

    def _elsif(self, m: _Found) -> int:
        return self._branch(m, lambda: self._condition(m.group("args"), m.start()))

    def _else(self, m: _Found) -> int:
        return self._branch(m, lambda: True)

    def _case(self, m: _Found) -> int:
        self.push(_Frame("case", False, subject=self.ctx.value(m.group("args"))))
        self.out.append(_newlines(m.group(0)))
        return m.end()

    def _when(self, m: _Found) -> int:
        frame = self.frames[-1] if self.frames else None
        options = [self.ctx.value(v) for v in _WHEN_SPLIT.split(m.group("args"))]
        return self._branch(m, lambda: frame is not None and frame.subject in options)

    def _end(self, m: _Found) -> int:
        self.out.append(_newlines(m.group(0)))
        if self.frames and self.frames[-1].kind in ("if", "case"):
            self.frames.pop()
        return m.end()

    def _capture(self, m: _Found) -> int:
        self.push(_Frame("capture", True, name=m.group("args").strip()))
        self.out.append(_newlines(m.group(0)))
        return m.end()

    def _endcapture(self, m: _Found) -> int:
        self.out.append(_newlines(m.group(0)))
        if self.frames and self.frames[-1].kind == "capture":
            frame = self.frames.pop()
            if self.active:
                self.ctx.variables[frame.name] = "".join(frame.buffer).strip()
        return m.end()

    def _assign(self, m: _Found) -> int:
        self.out.append(_newlines(m.group(0)))
        name, eq, expr = m.group("args").partition("=")
        if eq and self.active and re.fullmatch(r"\s*[A-Za-z_][\w-]*\s*", name):
            value = self.ctx.lookup(expr)
            if isinstance(value, str):
                self.grow(len(value))
            self.ctx.variables[name.strip()] = value
        return m.end()

    def _for(self, m: _Found) -> int:
        """A loop over site data we do not have: its body is left out, with a warning."""
        depth, pos = 1, m.end()
        while depth:
            nxt = self._end_for(pos)
            if nxt is None:
                pos = len(self.src)
                break
            depth += -1 if nxt.group("name").startswith("end") else 1
            pos = nxt.end()
        if self.active:
            self.warn("liquid-tag", f"Liquid loop {{% {m.group('name')}{m.group('args')} %}} "
                      "needs site data md2tex does not have; it is left out", m.start())
        self.out.append(_newlines(self.src[m.start() : pos]))
        return pos

    # ------------------------------------------------------------------------ Jekyll
    def _post_url(self, m: _Found) -> int:
        """``{% post_url name %}``/``{% link path %}``: the address inside a link target,
        else a link titled after the post (with no known ``site.url``, the PDF shows only
        the link's text)."""
        self.out.append(_newlines(m.group(0)))
        if not self.active:
            return m.end()
        if m.group("name") == "link":
            ref = self.ctx.page_ref(m.group("args"))
        else:
            ref = self.ctx.post(m.group("args"))
        if self._in_link_target(m.start()):
            self.emit(ref.url)
        else:
            title = ref.title.replace("[", "\\[").replace("]", "\\]")
            self.emit(f"[{title}]({ref.url})")
        return m.end()

    def _in_link_target(self, pos: int) -> bool:
        """Is ``pos`` where a link's address starts (``](``, ``]: ``, ``href="``), maybe
        after ``{{ site.url }}{{ site.baseurl }}`` (which the address already holds) and
        spaces (kramdown strips them from an address)?"""
        before = _SITE_OUTPUTS_BEFORE.sub("", self.src[max(0, pos - 80) : pos])
        return before.endswith(("(", "]:", ": ", '="', "='")) or \
            before.rstrip(" \t").endswith("(")

    def _call(self, name: str, args: str) -> Call:
        """A tag's arguments as a handler sees them (quoted texts with their Liquid outputs
        filled in, bare values looked up)."""
        def literal(text: str) -> str:
            if "{{" not in text:
                return text
            return _INNER_OUTPUT.sub(lambda o: _as_text(self.ctx.lookup(o[1])), text)

        def resolve(word: str) -> str:
            """A variable's value (none: empty, as Liquid has it); a word that names no
            variable (``a.png``, ``50%``) is taken as written."""
            value = self.ctx.value(word)
            if value is not None:
                return _as_text(value)
            head = re.split(r"[.\[]", word, maxsplit=1)[0]
            scopes = ("site", "page", "include", "post", "layout")
            return "" if head in scopes or head in self.ctx.variables else word

        positional, params = parse_arguments(args, resolve, literal)
        return Call(name=name, args=positional, params=params, page=self.ctx.page,
                    site=self.ctx.site)

    def _handled(self, m: _Found, handler: Handler | None, call: Call, code: str) -> bool:
        """Run ``handler`` on ``call`` and place what it makes; False if it cannot show it."""
        problem = self.includes.problem(call.name)
        if problem is not None:
            self.warn(code, f"{problem}; the built-in behaviour is used", m.start())
        if handler is None:
            return False
        self.notes.line = self.line_at(m.start())
        self.notes.in_html = self._in_html_block(m.start())
        made = handler(call, self.notes)
        if made is None:
            return False
        self._place(m, made, code)
        return True

    def _place(self, m: _Found, made: Made, code: str) -> None:
        if made.warning:
            name = m.group("name")
            if name.startswith("include"):
                name += " " + m.group("args").split(None, 1)[0]
            self.warn(code, f"{{% {name} %}}: {made.warning}", m.start())
        self.toc = self.toc or made.toc
        text = one_line(made.markdown) if "\n" in made.markdown else made.markdown
        self.emit(self._own_block(m, text) if made.own_block and text else text)

    def _in_html_block(self, pos: int) -> bool:
        """Is ``pos`` inside a raw HTML block (a line since the last blank one started
        one)? The lines are read once, forward."""
        src = self.src
        while self._html_scan <= pos:
            end = src.find("\n", self._html_scan)
            end = len(src) if end < 0 else end
            line_start = self._html_scan
            if _INK.search(src, line_start, end) is None:
                self._html_open = False
            elif _HTML_BLOCK_LINE.match(src, line_start, end):
                self._html_open = True
            self._html_scan = end + 1
        return self._html_open

    def _include(self, m: _Found) -> int:
        self.out.append(_newlines(m.group(0)))
        if not self.active:
            return m.end()
        file, _, rest = m.group("args").strip().partition(" ")
        call = self._call(file, rest)
        if self._handled(m, self.includes.for_include(file), call, "liquid-include"):
            return m.end()
        text = prose(call, call.args)
        if text:
            self.warn("liquid-include", f"{{% include {file} %}} is part of the site's "
                      "theme, which md2tex does not have; the text of its parameters is kept",
                      m.start())
            self.emit(text)
            return m.end()
        self.warn("liquid-include", f"{{% include {file} %}} is part of the site's theme, "
                  "which md2tex does not have; it is left out", m.start())
        return m.end()

    def _tabs(self, m: _Found) -> int:
        """``{% tabs group %}`` and the end tags: the tabs are shown one after another."""
        self.out.append(_newlines(m.group(0)))
        return m.end()

    def _tab(self, m: _Found) -> int:
        """``{% tab group Title %}``: the title as a bold line (a line break after it when the
        tab's content follows on the next line, so no line is added)."""
        self.out.append(_newlines(m.group(0)))
        if not self.active:
            return m.end()
        words = m.group("args").split(None, 1)
        title = (words[1] if len(words) > 1 else words[0] if words else "").strip()
        title = title.strip("'\"").replace("*", "\\*")
        if title:
            end = self.line_end(m.end())
            content_follows = not self.blank_after(m.end()) or (
                end < len(self.src) and not self.blank_line(end + 1))
            self.emit(f"**{title}**" + ("<br>" if content_follows else ""))
        return m.end()

    def _figure(self, m: _Found) -> int:
        """``{% figure … %}``: jekyll-figure's block (``caption:"…"`` around Markdown, up to
        ``{% endfigure %}``) or a one-tag figure (its handler)."""
        after = self._figure_tags(m.end())
        if after is None or after.group("name") != "endfigure":
            return self._other(m)
        self.out.append(_newlines(m.group(0)))
        call = self._call("figure", m.group("args"))
        caption = call.param("caption")
        inner = self.src[m.end() : after.start()]
        image = _LONE_IMAGE.fullmatch(inner)
        close = self.src.find("%}", after.end())
        stop = len(self.src) if close < 0 else close + 2
        if image is not None:
            self.out.append(_newlines(inner))
            self.emit(figure_html([image["src"]], caption or image["alt"], image["alt"]))
            self.out.append(_newlines(self.src[after.start() : stop]))
            return stop
        self.captions.append(caption)
        return m.end()

    def _endfigure(self, m: _Found) -> int:
        self.out.append(_newlines(m.group(0)))
        caption = self.captions.pop() if self.captions else ""
        if caption and self.active:
            self.emit(f"{ONE_LINE_HTML}<figcaption>{html_text(caption)}</figcaption>")
        return m.end()

    def _own_block(self, m: _Found, text: str) -> str:
        """``text`` as a block of its own without adding a line: as it is where the tag
        stands alone between blank lines; else, on a line the tag starts, opened as a one-line
        HTML block (its Markdown is still read, its neighbours stay apart from it); after
        other text on its line, in that text's paragraph."""
        start = self.line_start(m.start())
        end = self.line_end(m.end())
        alone = self.blank_before(m.start()) and self.blank_after(m.end())
        if alone and self.prev_line_blank(start) and (
                end >= len(self.src) or self.blank_line(end + 1)):
            return text
        return ONE_LINE_HTML + text if self.blank_before(m.start()) else text

    def _other(self, m: _Found) -> int:
        name = m.group("name")
        self.out.append(_newlines(m.group(0)))
        if name.startswith("end") or not self.active:
            return m.end()
        call = self._call(name, m.group("args"))
        if self._handled(m, self.includes.for_tag(name), call, "liquid-tag"):
            return m.end()
        self.warn("liquid-tag", f"Liquid tag {{% {name} %}} is not supported: the tag is left "
                  "out (text between it and an end tag is kept)", m.start())
        return m.end()


def _as_text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (list, tuple)):
        return ", ".join(str(v) for v in value)
    return str(value)


class _Notes:
    """Side and margin notes as kramdown footnotes: a reference in the text, the definition
    after the body, remembered with the line of its tag. Inside raw HTML, where Markdown
    reads no footnote reference, the note is small text in brackets instead."""

    def __init__(self) -> None:
        self.line = 0
        self.in_html = False
        self.kept: list[tuple[str, int]] = []

    def add(self, markdown: str) -> str:
        text = one_line(markdown)
        if not text:
            return ""
        if self.in_html:
            return f" <small>({text})</small>"
        self.kept.append((text, self.line))
        return f"[^{NOTE_KEY}{len(self.kept)}]"

    def definitions(self, text: str, first_line: int) -> tuple[str, dict[int, int]]:
        """``text`` with the notes' definitions after it, and their lines -> tag lines."""
        if not self.kept:
            return text, {}
        line = first_line + text.count("\n") + (0 if text.endswith("\n") else 1)
        parts = [text if text.endswith("\n") else text + "\n"]
        lines: dict[int, int] = {}
        for number, (note, tag_line) in enumerate(self.kept, 1):
            parts.append(f"\n[^{NOTE_KEY}{number}]: {note}\n")
            line += 2
            lines[line - 1] = tag_line
        return "".join(parts), lines


def _strip_html(text: str) -> str:
    """Liquid's ``strip_html``: ``<...>`` removed (a scan, not a regex that rereads the rest
    of the text for every ``<`` without a ``>``)."""
    return without_spans(text, "<", ">")


def _page_from_path(path: str) -> dict[str, str]:
    """What Jekyll knows of a page from its file name (``2019-07-15-bias-variance.md``:
    slug ``bias-variance``)."""
    name = path.replace("\\", "/").rsplit("/", 1)[-1]
    stem = name.rsplit(".", 1)[0]
    return {"slug": re.sub(r"^\d{4}-\d{2}-\d{2}-", "", stem), "name": name, "path": path}


def render_liquid(body: str, ctx: LiquidContext | None = None, first_line: int = 1) -> LiquidResult:
    """Apply Liquid tags and variables to a post body, keeping its line structure. Past
    Liquid's limits (output size, nesting) the body is returned as it is, with an error."""
    if "{%" not in body and "{{" not in body:
        return LiquidResult(body, [])
    ctx = ctx or LiquidContext()
    if ctx.path and not ctx.path.startswith("<"):  # "<string>": no file
        ctx = replace(ctx, page={**_page_from_path(ctx.path), **ctx.page})
    r = _Renderer(body, ctx, first_line)
    r.ctx.max_value = r.cap
    try:
        r.run()
    except LiquidLimit as exc:
        return LiquidResult(body, [*r.diags, error(
            "liquid-limit", f"{exc}; Liquid is not applied to this post",
            r.line0 + r._line_count)])
    if r.katexmm_start is not None:  # never closed: to the end, as jekyll-katex reads it
        r.dollar_lines.append((r.katexmm_start, r.out_line()))
    text, note_lines = r.notes.definitions("".join(r.out), first_line)
    return LiquidResult(text, r.diags, r.toc, tuple(r.dollar_lines), note_lines)
