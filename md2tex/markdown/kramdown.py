"""kramdown, Jekyll's Markdown reader, where posts rely on it reading unlike CommonMark.

``Flavour``: whether a site is read as kramdown (Jekyll's default) and the kramdown options
that change parsing (``parse_block_html``, GFM input's ``hard_wrap``), from the site's
``kramdown:`` settings and ``{::options …/}`` lines in the post.

Inline links: the address runs to the parenthesis that balances the opening one, spaces and
all (``inline_link_target``; CommonMark ends it at the first space and reads no link).

Attribute lists (``{: …}``, ``{:toc}``, ``{::options …/}``): kramdown consumes them; mistune
sees them as text. They are removed here before rendering: an IAL right after an image gives
it a width (``style="width: 80%"``, ``width="50%"``, pixels), ``{:toc}`` asks for a table of
contents, everything else is dropped silently. A span attribute list is read before
escapes (``{:target="\\_blank"}`` is one list).
"""

from __future__ import annotations

import functools
import re
import textwrap
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, NamedTuple

from md2tex.optionschema import parse_bool

Token = dict[str, Any]


class Flavour(NamedTuple):
    """How a post's Markdown is read. ``kramdown``: kramdown's rules where they differ from
    CommonMark (emphasis, tables, HTML blocks, ``![^1]``); ``parse_block_html``: the content
    of block HTML is Markdown; ``hard_wrap``: a line break in a paragraph is a line break."""

    kramdown: bool = True
    parse_block_html: bool = False
    hard_wrap: bool = False


#: Jekyll's reading when a site says nothing: kramdown, GFM input, no hard wrap
JEKYLL_DEFAULT = Flavour()

#: Jekyll's ``markdown:`` values that name kramdown (Jekyll's default when there is none)
_KRAMDOWN_NAMES = frozenset({"kramdown"})
#: kramdown's option names (``parse_block_html`` or ``parse-block-html``) -> Flavour field
_OPTION_FIELDS = {"parse_block_html": "parse_block_html", "hard_wrap": "hard_wrap"}


def flavour_of(site: Mapping[str, Any]) -> Flavour:
    """The flavour a Jekyll site's settings (``site.markdown``, ``site.kramdown``) ask for.
    ``hard_wrap`` belongs to kramdown's GFM input, Jekyll's default input; Jekyll turns it
    off unless the site turns it on."""
    name = str(site.get("markdown") or "kramdown").strip().lower()
    if name not in _KRAMDOWN_NAMES:
        return Flavour(kramdown=False)
    settings = site.get("kramdown")
    if not isinstance(settings, Mapping):
        return Flavour()
    flavour = with_options(Flavour(), {str(k): v for k, v in settings.items()})
    if str(settings.get("input") or "GFM").strip().lower() != "gfm":
        flavour = flavour._replace(hard_wrap=False)
    return flavour


def with_options(flavour: Flavour, options: Mapping[str, Any]) -> Flavour:
    """``flavour`` with kramdown options applied (unknown names and values: unchanged)."""
    changes: dict[str, bool] = {}
    for key, value in options.items():
        name = _OPTION_FIELDS.get(key.strip().lower().replace("-", "_"))
        on = parse_bool(value)
        if name is not None and on is not None:
            changes[name] = on
    return flavour._replace(**changes) if changes else flavour


#: kramdown's options extension on a line of its own: ``{::options parse_block_html="true" /}``
OPTIONS_LINE = r"^ {0,3}\{::options\b(?P<kd_options>[^{}\n]*?)/?\}[ \t]*(?:\n|$)"

IAL = re.compile(r"\{:(?![:/])(?P<body>[^{}\n]*)\}|\{::[^{}\n]*\}|\{:/[^{}\n]*\}")
_ATTR = re.compile(r"""(?P<key>[\w-]+)\s*=\s*(?:"(?P<dq>[^"]*)"|'(?P<sq>[^']*)'|(?P<bare>\S+))""")
_WIDTH = re.compile(r"(?:^|;)\s*(?:max-)?width\s*:\s*(?P<w>[\d.]+\s*(?:%|px|em|rem|pt)?)",
                    re.I)
#: a blog's content column, for pixel widths
COLUMN_PX = 700.0


def attributes(body: str) -> dict[str, str]:
    """``.cls #id key="value" toc`` -> {"class": "cls", "id": "id", "key": "value",
    "toc": ""}."""
    out: dict[str, str] = {}
    for m in _ATTR.finditer(body):
        out[m["key"].lower()] = m["dq"] if m["dq"] is not None else (
            m["sq"] if m["sq"] is not None else m["bare"])
    rest = _ATTR.sub(" ", body)
    for word in rest.split():
        if word.startswith("."):
            out["class"] = (out.get("class", "") + " " + word[1:]).strip()
        elif word.startswith("#"):
            out["id"] = word[1:]
        else:
            out[word.lower()] = ""
    return out


def width_fraction(value: str | None) -> float | None:
    """A CSS or HTML width as a fraction of the text width: ``80%`` -> 0.8, ``350px`` /
    ``350`` -> 0.5 (of a 700 px column); None when there is none or it makes no sense."""
    if not value:
        return None
    m = re.fullmatch(r"\s*([\d.]+)\s*(%|px|em|rem|pt)?\s*;?\s*", value)
    if not m:
        return None
    try:
        number = float(m[1])
    except ValueError:
        return None
    unit = m[2] or "px"
    frac = {"%": number / 100, "px": number / COLUMN_PX, "em": number * 16 / COLUMN_PX,
            "rem": number * 16 / COLUMN_PX, "pt": number * 4 / 3 / COLUMN_PX}[unit]
    if frac <= 0:
        return None
    return round(min(frac, 1.0), 3)


def width_from_attrs(attrs: dict[str, str]) -> float | None:
    """Width hint from ``width=…`` or ``style="width: …"``."""
    style = attrs.get("style", "")
    m = _WIDTH.search(style)
    if m:
        return width_fraction(m["w"])
    return width_fraction(attrs.get("width"))


def _meaningful(tok: Token) -> bool:
    return tok["type"] != "softbreak" and not (tok["type"] == "text"
                                               and not tok.get("raw", "").strip())


def strip_ials(children: Sequence[Token]) -> tuple[list[Token], bool]:
    """Inline children without attribute lists; True if one of them was ``{:toc}``.

    An IAL that follows an image (directly, or on the next line) sets its ``width_hint``.
    A line left empty is removed with its line break.
    """
    if not any(t["type"] == "text" and "{:" in t.get("raw", "") for t in children):
        return list(children), False
    toc = False
    out: list[Token] = []
    for tok in children:
        raw = tok.get("raw", "")
        if tok["type"] != "text" or "{:" not in raw:
            out.append(tok)
            continue
        pieces: list[str] = []
        pos = 0
        for m in IAL.finditer(raw):
            pieces.append(raw[pos : m.start()])
            pos = m.end()
            body = m["body"]
            if body is None:
                continue
            attrs = attributes(body)
            if "toc" in attrs:
                toc = True
            before = "".join(pieces)
            if not before.strip():
                image = next((t for t in reversed(out) if _meaningful(t)), None)
                if image is not None and image["type"] == "image":
                    width = width_from_attrs(attrs)
                    if width is not None:
                        image.setdefault("attrs", {})["width_hint"] = width
        pieces.append(raw[pos:])
        text = "".join(pieces)
        if text.strip():
            out.append({**tok, "raw": text})
        else:
            while out and out[-1]["type"] == "softbreak":
                out.pop()
            if text:
                out.append({**tok, "raw": text})
    while out and not _meaningful(out[-1]):
        out.pop()
    while out and out[0]["type"] == "softbreak":
        out.pop(0)
    return out, toc


def is_toc_list(tok: Token) -> bool:
    """kramdown's ``* TOC`` + ``{:toc}``: a one-item list whose text ends with the marker."""
    items = tok.get("children", [])
    if len(items) != 1:
        return False
    blocks = items[0].get("children", [])
    if len(blocks) != 1 or blocks[0]["type"] not in ("block_text", "paragraph"):
        return False
    return any(c["type"] == "text" and re.search(r"\{:\s*toc\s*\}", c.get("raw", ""))
               for c in blocks[0].get("children", []))


# --------------------------------------------------------------- kramdown's parsing rules
# Rules for mistune's parsers where kramdown reads differently from CommonMark; parse.py
# registers them on the kramdown parser only. Each block rule takes (block, match, state) and
# returns where parsing goes on, as mistune's own rules do.

def _flavour(env: Mapping[str, Any]) -> Flavour:
    flavour = env.get("kramdown")
    return flavour if isinstance(flavour, Flavour) else Flavour()


def flavour_at(env: Mapping[str, Any], line: int | None) -> Flavour:
    """The flavour in force at a Markdown line: the site's, changed by ``{::options}``
    lines above it (``env["kramdown_changes"]``: (line, flavour) in document order, the
    site's first at line 0). ``env["kramdown"]`` is the latest, for the block rules."""
    changes: list[tuple[int, Flavour]] = env.get("kramdown_changes") or [(0, _flavour(env))]
    current = changes[0][1]
    for start, flavour in changes:
        if line is None or start > line:
            break
        current = flavour
    return current


def parse_options_line(block: Any, m: re.Match[str], state: Any) -> int:
    """``{::options key="value" /}``: kramdown's settings from here on; nothing is shown."""
    flavour = with_options(_flavour(state.env), attributes(m["kd_options"]))
    state.env["kramdown"] = flavour
    state.env.setdefault("kramdown_changes", []).append((state.line_at(m.start()), flavour))
    return m.end()


#: kramdown's end-of-block marker: ``^`` alone on a line ends the block before it (a
#: paragraph, a quote, a list) and is not shown
END_OF_BLOCK = r"^\^[ \t]*(?:\n|$)"


def parse_end_of_block(block: Any, m: re.Match[str], state: Any) -> int:
    """``^``: a block separator, as a blank line is; nothing is shown."""
    state.append_token({"type": "blank_line"})
    return m.end()


#: the start of a block HTML element: ``<tag`` at a line's start (up to three spaces in)
HTML_START = r"^ {0,3}<(?P<kd_tag>[A-Za-z][A-Za-z0-9-]*)(?=[\s/>])"
HTML_START_RE = re.compile(HTML_START, re.M)
#: elements whose content is text even when Markdown is asked for (kramdown's raw model)
_RAW_CONTENT = frozenset({"pre", "script", "style", "textarea", "math", "svg", "code",
                          "option", "kbd", "samp", "var"})
#: elements made of other elements (items, rows): HTML structure, never split
_STRUCTURE = frozenset({"ul", "ol", "dl", "menu", "table", "thead", "tbody", "tfoot", "tr",
                        "colgroup", "select", "optgroup"})
#: block elements whose content is one paragraph's text (kramdown's span model)
_SPAN_CONTENT = frozenset({"p", "h1", "h2", "h3", "h4", "h5", "h6", "dt", "th", "caption",
                           "legend"})
#: the HTML tags mistune treats as blocks (anything else: its own rules decide)
_BLOCK_TAGS = frozenset({
    "address", "article", "aside", "base", "basefont", "blockquote", "body", "caption",
    "center", "col", "colgroup", "dd", "details", "dialog", "dir", "div", "dl", "dt",
    "fieldset", "figcaption", "figure", "footer", "form", "frame", "frameset", "h1", "h2",
    "h3", "h4", "h5", "h6", "head", "header", "hr", "html", "iframe", "legend", "li", "link",
    "main", "menu", "menuitem", "meta", "nav", "noframes", "ol", "optgroup", "option", "p",
    "param", "section", "source", "summary", "table", "tbody", "td", "tfoot", "th", "thead",
    "title", "tr", "track", "ul"})
_BLANK_LINE = re.compile(r"\n[ \t]*\n")

#: kramdown's span-level HTML elements, and ``script``: a line that starts with one of them
#: continues a quote's lazy lines, a line that starts with any other tag ends them
_LAZY_SPAN_TAGS = ("a|abbr|acronym|b|big|bdo|br|button|cite|code|del|dfn|em|i|img|input|kbd|"
                   "label|option|q|rb|rbc|rp|rt|rtc|ruby|samp|select|small|span|strong|sub|"
                   "sup|textarea|tt|var|script")
#: what ends a quote's lines in kramdown (its ``LAZY_END``): a blank line, a block attribute
#: list, the end-of-block marker ``^``, or a block HTML tag at the line's start; and here a
#: code fence without ``>``: kramdown takes it in, but a fence the quote's end leaves open
#: would run to the end of the post, where kramdown shows it as text
_LAZY_END = re.compile(
    r"[ \t]*(?:\n|$)"
    r"| {0,3}(?:`{3,}|~{3,})"
    r"| {0,3}\{:(?![:/])(?:\\\}|[^}\n])+\}[ \t]*(?:\n|$)"
    r"|\^[ \t]*(?:\n|$)"
    r"| {0,3}<(?!(?:" + _LAZY_SPAN_TAGS + r")\b)[A-Za-z][\w.:-]*"
    r"| {0,3}</(?!(?:" + _LAZY_SPAN_TAGS + r")\b)[A-Za-z][\w.:-]*\s*>")
_QUOTE_MARKER = re.compile(r" {0,3}> ?")


def quote_lines(lines: Iterable[str]) -> tuple[str, int]:
    """kramdown's reading of a block quote that starts with the first of ``lines`` (each
    with its line break): the quote runs to the next blank line, attribute list line, ``^``
    or block HTML tag (``_LAZY_END``), so a line without ``>`` belongs to it whatever else
    it holds (the lines of a ``$$`` block, a list marker); the ``>`` marker is taken off the
    lines that have one.
    Returns the quote's text and the length of the source it covers."""
    text: list[str] = []
    used = 0
    for line in lines:
        if text and _LAZY_END.match(line):
            break
        marker = _QUOTE_MARKER.match(line)
        text.append(line[marker.end():] if marker else line)
        used += len(line)
    return "".join(text), used
_SUMMARY = re.compile(r"\s*<summary\b[^>]*>.*?</summary\s*>", re.I | re.S)
_TAG_LINE = re.compile(r"^[ \t]{4,}(?=</?[A-Za-z!])", re.M)
_FENCE = re.compile(r"^ {0,3}(`{3,}|~{3,})", re.M)


def html_mode(tag: str, attrs: Mapping[str, str], flavour: Flavour, blank_lines: bool,
              fenced: bool = False) -> str | None:
    """How kramdown reads a block HTML element's content: ``block`` (Markdown blocks),
    ``span`` (one paragraph's inline Markdown), ``raw`` (the whole element is HTML), or None
    (mistune's own HTML block rule: the element ends at a blank line, as it does here)."""
    asked = attrs.get("markdown")
    if tag in _STRUCTURE:
        # lists and tables are HTML structure (their items' and cells' text is read as
        # Markdown by the HTML renderer): kept whole when they are asked for or span blank lines
        return "raw" if asked is not None or blank_lines else None
    if asked is not None:
        natural = "span" if tag in _SPAN_CONTENT else "block"  # what "1" means
        return {"1": natural, "block": "block", "span": "span", "0": "raw"}.get(
            asked.strip().lower(), natural)
    if tag in _RAW_CONTENT:
        return None
    if flavour.parse_block_html or (tag == "details" and (blank_lines or fenced)):
        # <details> holds proofs and code: its Markdown blocks are typeset, code as code
        # (without blank lines or fences its text is read as HTML text is: math and all)
        return "block"
    # kramdown's default: the whole element is HTML, blank lines and indented tags included
    # (mistune's rule would end it at the first blank line)
    return "raw" if blank_lines else None


@functools.lru_cache(maxsize=64)
def _tag_events(tag: str) -> re.Pattern[str]:
    return re.compile(rf"<(/?){re.escape(tag)}(?=[\s/>])[^>]*>", re.I)


def element_ends(src: str, tag: str) -> dict[int, tuple[int, int]]:
    """Each ``<tag>`` of ``src`` that is closed -> the span of its ``</tag>``, nesting
    counted (one pass over the text)."""
    ends: dict[int, tuple[int, int]] = {}
    opened: list[int] = []
    for event in _tag_events(tag).finditer(src):
        if event[1]:
            if opened:
                ends[opened.pop()] = event.span()
        elif not event[0].endswith("/>"):
            opened.append(event.start())
    return ends


def _close_of(state: Any, tag: str, start: int) -> tuple[int, int] | None:
    """The close tag of the element opened at ``start`` (tag positions are found once per
    text and tag, kept on the parser state)."""
    cache: dict[str, dict[int, tuple[int, int]]] | None = getattr(state, "_md2tex_html", None)
    if cache is None or getattr(state, "_md2tex_html_src", None) is not state.src:
        cache = {}
        state._md2tex_html = cache
        state._md2tex_html_src = state.src
    if tag not in cache:
        cache[tag] = element_ends(state.src, tag)
    return cache[tag].get(start)


def markdown_inside(text: str) -> str:
    """An element's content as Markdown: its common indentation removed (HTML source is
    indented for its tags, not for code blocks), and nested tags indented four spaces or
    more brought to the margin (outside fenced code), so they stay HTML."""
    text = textwrap.dedent(text)
    if not _TAG_LINE.search(text):
        return text
    out: list[str] = []
    fence = ""
    for line in text.split("\n"):
        m = _FENCE.match(line)
        if m and (not fence or (m[1][0] == fence[0] and len(m[1]) >= len(fence))):
            fence = "" if fence else m[1]
        out.append(line if fence else _TAG_LINE.sub("", line))
    return "\n".join(out)


def parse_html_element(block: Any, m: re.Match[str], state: Any) -> int | None:
    """A block HTML element read as kramdown reads it: up to its matching close tag, blank
    lines and indented nested tags included; its content parsed as Markdown when
    ``markdown="1"``, ``parse_block_html`` or the element asks for it (see ``html_mode``):
    then an ``html_element`` token holds the HTML around the content (``open``: the open tag,
    with a ``<details>``' ``<summary>``; ``close``: the close tag) and the content's tokens
    as its children. Otherwise a ``block_html`` token holds the whole element."""
    tag = m["kd_tag"].lower()
    src: str = state.src
    lt = m.start("kd_tag") - 1
    open_end = src.find(">", lt) + 1
    close = _close_of(state, tag, lt) if tag in _BLOCK_TAGS and open_end > 0 else None
    mode = None
    if close is not None and close[0] >= open_end:
        attrs = attributes(src[m.end("kd_tag"):open_end - 1].rstrip("/"))
        inner = src[open_end:close[0]]
        mode = html_mode(tag, attrs, _flavour(state.env), bool(_BLANK_LINE.search(inner)),
                         bool(_FENCE.search(inner)))
    if mode is None or close is None:
        fallback = re.compile(block.RAW_HTML, re.M).match(src, m.start())
        found: int | None = block.parse_raw_html(fallback, state) if fallback else None
        return found
    end: int = state.find_line_end_at(close[1])
    if mode == "raw" or state.depth() >= block.max_nested_level - 1:
        state.append_token({"type": "block_html", "raw": src[m.start():end]})
        return end
    if tag == "details":
        summary = _SUMMARY.match(src, open_end, close[0])
        if summary:
            open_end = summary.end()
    inner_line = state.line_at(open_end)
    inner = src[open_end:close[0]]
    children: list[Token] = []
    if mode == "span":
        if inner.strip():
            children.append({"type": "paragraph", "text": inner.strip(), "line": inner_line})
    else:
        state.pending_child_line = inner_line
        child = state.child_state(markdown_inside(inner))
        block.parse(child, block.rules)
        children = child.tokens
    state.append_token({"type": "html_element", "children": children,
                        "attrs": {"open": src[m.start():open_end],
                                  "close": src[close[0]:end]}})
    return end


#: a table line: one unescaped ``|`` or more (kramdown's TABLE_LINE)
TABLE_START = r"^ {0,3}(?=\S)(?:\||[^\n]*?[^\\\n]\|)[^\n]*(?:\n|$)"
_TABLE_SEP = re.compile(r"^([+|: -]*?-[+|: -]*?)[ \t]*$")
_TABLE_FOOT_SEP = re.compile(r"^[+|: =]*?=[+|: =]*?[ \t]*$")
_TABLE_ALIGN = re.compile(r" ?(:?)-+(:?) ?")
_CODE_RUN = re.compile(r"`+")
#: spans of a table line whose ``|`` separates no cells: formulas (with single dollars where
#: the site's engine reads them), links' text and address, HTML tags and MathJax scripts
_NO_CELL_BREAK = {
    single: re.compile("|".join([
        r"\$\$.+?\$\$", r"\\\\?\(.+?\\\\?\)",
        *([r"(?<![\\$])\$[^$\n]+?(?<!\\)\$"] if single else []),
        r"\[[^\[\]\n]*\]\([^()\s]*\)", r"<script\b[^>]*>.*?</script>", r"</?[A-Za-z][^<>\n]*>",
    ]))
    for single in (True, False)
}


def mask_math(line: str, single_dollar: bool) -> str:
    """``line`` with its formulas, links and tags blanked out (same length): a ``|`` in
    ``$p(x|y)$`` or ``[a | b](url)`` neither makes a table nor splits a cell. (kramdown
    splits there, and the page shows a broken table; the formula or link is what the author
    meant.)"""
    return _NO_CELL_BREAK[single_dollar].sub(lambda m: "x" * len(m[0]), line)


def table_cells(row: str, single_dollar: bool = False) -> list[str]:
    """A table line's cells: split at ``|`` that is neither escaped nor inside a code span
    or a formula."""
    masked = mask_math(row, single_dollar)
    cells: list[str] = []
    current: list[str] = []
    i = 0
    while i < len(row):
        ch = masked[i]
        if ch == "\\" and row[i + 1 : i + 2] == "|":
            current.append("\\|")
            i += 2
            continue
        if ch == "`":
            run = _CODE_RUN.match(masked, i)
            assert run is not None
            closing = masked.find(run[0], run.end())
            if closing >= 0:
                current.append(row[i : closing + len(run[0])])
                i = closing + len(run[0])
                continue
        if ch == "|":
            cells.append("".join(current))
            current = []
        else:
            current.append(row[i])
        i += 1
    cells.append("".join(current))
    return cells


def is_table_line(line: str, single_dollar: bool) -> bool:
    """Does ``line`` have a ``|`` that separates cells (not escaped, not in code or math)?"""
    return "|" in line and len(table_cells(line, single_dollar)) > 1


def _alignments(sep: str) -> list[str | None]:
    names = {("", ""): None, (":", ""): "left", ("", ":"): "right", (":", ":"): "center"}
    return [names[(m[1], m[2])] for m in _TABLE_ALIGN.finditer(sep)]


def parse_table(block: Any, m: re.Match[str], state: Any) -> int | None:
    """A kramdown table: rows of cells separated by ``|`` (leading and trailing pipes
    optional), a separator line after the header rows, no separator for a table without
    header. As kramdown: a line right after a paragraph line belongs to the paragraph, and
    the table must end at a block boundary (a blank line, an attribute list, the end), else
    its lines are paragraph text. (kramdown also wants a blank line before a table that
    follows a heading or a list; here those tables are kept.)"""
    last = state.last_token()
    if last is not None and last["type"] == "paragraph":
        return None
    src: str = state.src
    single_dollar = bool(state.env.get("dollar_math", True))
    first = m.group(0)
    if not is_table_line(first.strip(), single_dollar):
        return None
    leading_pipe = first.lstrip().startswith("|")
    pos = m.start()
    head: list[tuple[int, list[str]]] | None = None
    rows: list[tuple[int, list[str]]] = []
    aligns: list[str | None] = []
    while pos < state.cursor_max:
        end = state.find_line_end_at(pos)
        line = src[pos:end].rstrip("\n")
        if not is_table_line(line, single_dollar):
            break
        if _TABLE_SEP.match(line) and not _TABLE_FOOT_SEP.match(line):
            if rows and head is None:
                head, rows, aligns = rows, [], _alignments(line)
        elif _TABLE_FOOT_SEP.match(line):
            pass  # a footer: its rows join the body
        else:
            cells = table_cells(line.strip(), single_dollar)
            if leading_pipe and len(cells) > 1 and not cells[0].strip():
                cells.pop(0)
            if len(cells) > 1 and not cells[-1].strip():
                cells.pop()
            rows.append((state.line_at(pos), [c.strip() for c in cells]))
        pos = end
    if not rows:
        return None  # kramdown: a table without body is no table
    rest = src[pos:state.find_line_end_at(pos)]
    if pos < state.cursor_max and rest.strip() and not rest.lstrip().startswith("{:"):
        return None  # not followed by a block boundary: paragraph text
    columns = max(len(cells) for _, cells in [*(head or []), *rows])
    aligns = (aligns + [None] * columns)[:columns]

    def cells_of(cells: list[str], is_head: bool) -> list[Token]:
        padded = cells + [""] * (columns - len(cells))
        return [{"type": "table_cell", "text": text,
                 "attrs": {"align": aligns[i], "head": is_head}}
                for i, text in enumerate(padded)]

    children: list[Token] = []
    if head:
        # one header row, as LaTeX and the renderer have it; further header rows join it
        merged = [" ".join(filter(None, column)) for column in zip(
            *[cells + [""] * (columns - len(cells)) for _, cells in head], strict=True)]
        children.append({"type": "table_head", "children": cells_of(merged, True),
                         "line": head[0][0]})
    children.append({"type": "table_body", "children": [
        {"type": "table_row", "children": cells_of(cells, False), "line": line}
        for line, cells in rows]})
    state.append_token({"type": "table", "children": children})
    return pos


# ----------------------------------------------------------------- kramdown's inline rules

def parse_bang_before_footnote(inline: Any, m: re.Match[str], state: Any) -> int:
    """``Wow![^1]``: kramdown reads a footnote after the ``!`` (no image has a ``^`` label)."""
    state.append_token({"type": "text", "raw": "!"})
    return m.end()


BANG_BEFORE_FOOTNOTE = r"!(?=\[\^[^\]\s]+\])"


def parse_attribute_list_text(inline: Any, m: re.Match[str], state: Any) -> int:
    """A span attribute list (``{:target="\\_blank"}``) stays one piece of text, its
    backslashes no escapes (kramdown reads the list before escapes), so ``strip_ials`` finds
    it whole and removes it."""
    inline.process_text(m.group(0), state, parse_emphasis=False)
    return m.end()


SPAN_ATTRIBUTE_LIST = r"\{:(?![:/])[^{}\n]*\}"

#: inside an inline link's parentheses, where kramdown's reading of the address stops: an
#: opening or closing parenthesis, or white space before a quoted title (kramdown's
#: LINK_PAREN_STOP_RE)
_LINK_PAREN_STOP = re.compile(r"(\()|(\))|\s(?=['\"])")
_LINK_TITLE = re.compile(r"\s*?([\"'])(.+?)\1\s*?\)", re.S)
#: the longest address read (kramdown has no limit; a paragraph of unbalanced parentheses
#: must not be rescanned from every ``](``)
MAX_LINK_ADDRESS = 4_000


class LinkTarget(NamedTuple):
    """kramdown's reading of an inline link's ``(address "title")``: the address (stripped;
    it may hold spaces and line breaks, which CommonMark refuses), where it stands in the
    source, and the position after the closing parenthesis."""

    url: str
    start: int
    stop: int
    end: int


def inline_link_target(src: str, pos: int) -> LinkTarget | None:
    """The link target at ``pos`` (a ``(`` right after a link's ``]``) as kramdown reads it:
    the address runs to the ``)`` that balances the parentheses, or to white space before a
    quoted title, which must then end with ``)``. None when kramdown reads no link there;
    ``(<address>)`` is left to the CommonMark rule, which reads it alike."""
    if not src.startswith("(", pos) or src.startswith("(<", pos):
        return None
    limit = min(len(src), pos + MAX_LINK_ADDRESS)
    depth = 0
    for stop in _LINK_PAREN_STOP.finditer(src, pos, limit):
        if stop[1] is not None:
            depth += 1
            continue
        if stop[2] is not None:
            depth -= 1
            if depth == 0:
                return _target(src, pos + 1, stop.start(), stop.end())
            continue
        title = _LINK_TITLE.match(src, stop.end(), limit)
        return _target(src, pos + 1, stop.start(), title.end()) if title else None
    return None


def _target(src: str, start: int, stop: int, end: int) -> LinkTarget:
    raw = src[start:stop]
    lead = len(raw) - len(raw.lstrip())
    url = raw.strip()
    return LinkTarget(url=url, start=start + lead, stop=start + lead + len(url), end=end)
