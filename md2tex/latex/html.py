"""The raw HTML that blog posts really use, turned into LaTeX (stdlib ``html.parser``).

Block HTML (``<figure>``, ``<center>``, ``<table>``, ``<details>``, ``<div>``…) is parsed into
a small tree and rendered; inline HTML arrives from mistune one tag at a time, so opening and
closing tags are paired with a stack (an unclosed tag is closed at the end of its paragraph,
a stray closing tag is ignored: braces always balance). Text inside HTML still goes through
the Markdown inline parser, because MathJax typesets ``$$…$$`` wherever it appears.

What each element becomes is looked up in ``ELEMENTS`` (filled by ``register_element`` and
``register_wrapper``, which library users may call too): an element nobody registered is
warned about and its text kept; scripts and embeds: a warning, left out; styles and other
things a reader never sees: left out silently.
"""

from __future__ import annotations

import bisect
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from html import escape as html_escape
from html import unescape as decode_html
from html.parser import HTMLParser
from typing import Any, NamedTuple, Protocol, TypeVar

from md2tex.escape import (
    escape_code,
    escape_references,
    escape_url,
    url_scheme_allowed,
    without_spans,
)
from md2tex.latex import tables
from md2tex.latex.highlight import known_language
from md2tex.markdown.kramdown import JEKYLL_DEFAULT, width_from_attrs

Token = dict[str, Any]

VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "param",
        "source", "track", "wbr"}
#: elements that set themselves apart as paragraphs (registered ones may add to these)
BLOCK = {"p", "div", "center", "figure", "figcaption", "table", "ul", "ol", "li", "dl", "dt",
         "dd", "blockquote", "pre", "hr", "details", "summary", "section", "article", "header",
         "footer", "main", "aside", "nav", "h1", "h2", "h3", "h4", "h5", "h6", "address",
         "iframe", "video", "audio", "object", "embed", "script", "style", "noscript",
         "form", "canvas", "svg", "math", "head", "meta", "link", "title", "html", "body",
         "d-article", "d-title", "d-byline", "d-appendix"}
#: content left out with a warning: a web reader would see something here
DROPPED = {"script", "form", "input", "button", "select", "textarea", "canvas", "svg", "math",
           "object", "iframe", "video", "audio", "embed"}
#: content left out silently: a web reader never sees it (styles, metadata, templates)
INVISIBLE = {"style", "noscript", "head", "meta", "link", "title", "template", "param",
             "source", "track", "base", "d-front-matter"}
#: embedded media: a placeholder with the address replaces them
_MEDIA = {"iframe", "video", "audio", "embed", "object"}
#: tag -> (LaTeX opener, closer, feature): elements that only change how their text looks
WRAPPERS: dict[str, tuple[str, str, str]] = {
    "b": ("\\textbf{", "}", ""), "strong": ("\\textbf{", "}", ""),
    "i": ("\\emph{", "}", ""), "em": ("\\emph{", "}", ""), "cite": ("\\emph{", "}", ""),
    "var": ("\\emph{", "}", ""), "dfn": ("\\emph{", "}", ""),
    "u": ("\\uline{", "}", "strike"), "ins": ("\\uline{", "}", "strike"),
    "s": ("\\sout{", "}", "strike"), "del": ("\\sout{", "}", "strike"),
    "strike": ("\\sout{", "}", "strike"),
    "sub": ("\\textsubscript{", "}", ""), "sup": ("\\textsuperscript{", "}", ""),
    "small": ("{\\small ", "}", ""), "big": ("{\\large ", "}", ""),
    "tt": ("\\texttt{", "}", ""), "q": ("``", "''", ""),
    "span": ("{", "}", ""), "font": ("{", "}", ""), "mark": ("{", "}", ""),
    "abbr": ("{", "}", ""), "time": ("{", "}", ""), "label": ("{", "}", ""),
    "nobr": ("{", "}", ""), "bdi": ("{", "}", ""), "bdo": ("{", "}", ""),
    "data": ("{", "}", ""), "center": ("{", "}", ""), "div": ("{", "}", ""),
    "p": ("{", "}", ""), "figcaption": ("{", "}", ""), "figure": ("{", "}", ""),
    "details": ("{", "}", ""), "summary": ("\\textbf{", "} ", ""),
    "kbd": ("\\texttt{", "}", ""), "samp": ("\\texttt{", "}", ""),
    "code": ("\\mdcode{", "}", ""), "aside": ("{", "}", ""),
    "d-article": ("{", "}", ""), "d-title": ("{", "}", ""), "d-byline": ("{", "}", ""),
    "d-appendix": ("{", "}", ""), "d-code": ("\\texttt{", "}", ""),
}
#: ulem's commands: inside them a nested command's argument cannot break across lines
_ULEM = ("\\uline{", "\\sout{")
#: what an element that changes nothing on paper wraps its content in
_PLAIN_GROUPS = {("{", "}"), ("", "")}
_COLOURS = {"red": "D62728", "blue": "1F5FBF", "green": "2CA02C", "orange": "E67E00",
            "purple": "7E3FA0", "gray": "777777", "grey": "777777", "brown": "8C564B",
            "magenta": "C0309F", "teal": "17807E", "darkred": "8B0000", "navy": "000080"}
_COLOR_RE = re.compile(r"(?:^|;)\s*color\s*:\s*(?:#(?P<hex>[0-9a-fA-F]{6}|[0-9a-fA-F]{3})\b|"
                       r"(?P<name>[a-zA-Z]+))")
#: elements whose content a browser never prints
HIDDEN_CONTENT = ("script", "style", "noscript", "template", "title")
_HIDDEN_TAG = re.compile(r"<(?P<close>/)?(?P<tag>" + "|".join(HIDDEN_CONTENT) + r")\b", re.I)
_SINGLE_TAG = re.compile(r"<(?P<close>/)?(?P<tag>[A-Za-z][\w-]*)(?P<rest>[^<>]*?)(?P<self>/)?>",
                         re.S)


class Text(str):
    """Text of an HTML fragment and where it starts in the fragment (``line`` 0-based,
    ``column`` 0-based), so that math in it is reported at its own Markdown line and column;
    ``written``: the text as the post writes it, when character references make it differ."""

    line: int = 0
    column: int = 0
    written: str = ""


def located(text: str, line: int, column: int, written: str = "") -> Text:
    """``text`` as a ``Text`` that starts at ``line``/``column`` of its fragment."""
    out = Text(text)
    out.line, out.column, out.written = line, column, written
    return out


@dataclass
class Element:
    tag: str
    attrs: dict[str, str] = field(default_factory=dict)
    children: list[Element | str] = field(default_factory=list)
    #: the line its start tag is on, from the fragment's first (0); -1: not known
    line: int = -1

    def text(self) -> str:
        """The text inside, as a browser shows it (character references decoded)."""
        return "".join(c if isinstance(c, str) else c.text() for c in self.children)

    @property
    def classes(self) -> list[str]:
        return self.attrs.get("class", "").lower().split()

    def find_all(self, tag: str) -> Iterable[Element]:
        for child in self.children:
            if isinstance(child, Element):
                if child.tag == tag:
                    yield child
                yield from child.find_all(tag)


#: the widest HTML table typeset as a table (colspans count)
MAX_TABLE_COLUMNS = 500
#: deepest HTML nesting kept as structure (rendering walks the tree recursively); deeper
#: tags are dropped and their content joins the element at this depth
MAX_HTML_DEPTH = 40


class _TreeBuilder(HTMLParser):
    def __init__(self, raw: str = "") -> None:
        super().__init__(convert_charrefs=True)
        #: the fragment as written, and where its lines start (text keeps its place in it)
        self.raw = raw
        self.line_starts = [0, *(m.end() for m in re.finditer("\n", raw))]
        self.root = Element("")
        self.stack = [self.root]
        #: open tags dropped for being too deep, by name (their end tags are dropped too)
        self.dropped: dict[str, int] = {}
        self.flattened = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if len(self.stack) > MAX_HTML_DEPTH:
            self.flattened = True
            if tag not in VOID:
                self.dropped[tag] = self.dropped.get(tag, 0) + 1
            return
        el = Element(tag, {k.lower(): v or "" for k, v in attrs}, line=self.getpos()[0] - 1)
        self.stack[-1].children.append(el)
        if tag not in VOID:
            self.stack.append(el)

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.stack[-1].children.append(Element(tag, {k.lower(): v or "" for k, v in attrs}))

    def handle_endtag(self, tag: str) -> None:
        if self.dropped.get(tag):
            self.dropped[tag] -= 1
            return
        for i in range(len(self.stack) - 1, 0, -1):
            if self.stack[i].tag == tag:
                del self.stack[i:]
                return

    def handle_data(self, data: str) -> None:
        line, column = self.getpos()
        written = ""
        if line <= len(self.line_starts):  # the text as written runs to the next tag
            start = self.line_starts[line - 1] + column
            end = self.raw.find("<", start + 1)
            piece = self.raw[start:end if end >= 0 else len(self.raw)]
            written = piece if "&" in piece and piece != data else ""
        self.stack[-1].children.append(located(data, line - 1, column, written))


def parse_html(raw: str) -> Element:
    """An HTML fragment as a tree (comments dropped, unclosed tags closed at the end)."""
    return parse_html_bounded(raw)[0]


def parse_html_bounded(raw: str) -> tuple[Element, bool]:
    """``parse_html`` and whether tags nested deeper than ``MAX_HTML_DEPTH`` were dropped."""
    builder = _TreeBuilder(raw)
    builder.feed(raw)
    builder.close()
    _join_text(builder.root)
    return builder.root, builder.flattened


def _join_text(root: Element) -> None:
    """HTMLParser reports the text around a bare ``<`` (``a < b``) in pieces; a browser, and
    MathJax in it, sees one text: join them, so ``$a < b$`` stays one formula. One pass."""
    todo = [root]
    while todo:
        element = todo.pop()
        joined: list[Element | str] = []
        run: list[str] = []
        for child in element.children:
            if isinstance(child, str):
                run.append(child)
                continue
            if run:
                joined.append(_joined(run))
                run = []
            joined.append(child)
            todo.append(child)
        if run:
            joined.append(_joined(run))
        element.children = joined


def _joined(run: list[str]) -> str:
    """Pieces of text as one, where the first one starts."""
    first = run[0]
    if len(run) == 1 or not isinstance(first, Text):
        return first if len(run) == 1 else "".join(run)
    written = "".join(p.written if isinstance(p, Text) and p.written else p for p in run) \
        if any(isinstance(p, Text) and p.written for p in run) else ""
    return located("".join(run), first.line, first.column, written)


# ------------------------------------------------------------------------------- registry

#: an element's LaTeX from the element itself (its attributes and children)
ElementHandler = Callable[["HtmlRenderer", Element], str]
#: the LaTeX around an element's content, from its attributes: the one kind of handler that
#: also serves a tag met alone inside a paragraph (mistune hands those over one at a time)
Wrapper = Callable[["HtmlRenderer", dict[str, str]], tuple[str, str]]
E = TypeVar("E", bound=ElementHandler)
W = TypeVar("W", bound=Wrapper)


class ElementRule(NamedTuple):
    """What one element (``tag``, or ``tag.class`` for one class of it) becomes.

    ``handler`` typesets the whole element; ``wrap`` gives the LaTeX around its content;
    ``block``: it sets itself apart as paragraphs (met inside a line of text, its ``wrap``
    is used if it has one, else its text stays in the line)."""

    handler: ElementHandler | None = None
    wrap: Wrapper | None = None
    block: bool = False


class ElementRegistry(dict[str, ElementRule]):
    """Rules by element key: ``"aside"``, or ``"div.theorem"`` for ``<div class="theorem">``
    (a class key wins over its tag's key). A key has one handler and one wrapper."""

    def __init__(self, label: str) -> None:
        super().__init__()
        self.label = label

    def add(self, key: str, *, handler: ElementHandler | None = None,
            wrap: Wrapper | None = None, block: bool | None = None,
            replace: bool = False) -> None:
        """Give ``key`` a handler and/or a wrapper; giving one it already has is an error
        unless ``replace``."""
        key = key.lower()
        rule = self.get(key, ElementRule())
        if not replace and ((handler and rule.handler) or (wrap and rule.wrap)):
            raise ValueError(f"{self.label}: <{key}> has two handlers")
        self[key] = ElementRule(handler=handler or rule.handler, wrap=wrap or rule.wrap,
                                block=rule.block if block is None else block)

    def rule_for(self, el: Element) -> ElementRule | None:
        for cls in el.classes:
            rule = self.get(f"{el.tag}.{cls}")
            if rule is not None:
                return rule
        return self.get(el.tag)


ELEMENTS = ElementRegistry("HTML elements")


def register_element(*keys: str, block: bool = True,
                     replace: bool = False) -> Callable[[E], E]:
    """Register a function ``(html, element) -> LaTeX`` for elements, by tag (``"d-note"``)
    or tag and class (``"div.note"``)::

        @register_element("d-note")
        def note(html: HtmlRenderer, el: Element) -> str:
            return "\\\\begin{quote}" + html.blocks(el.children) + "\\\\end{quote}"

    ``block``: the element sets itself apart as paragraphs (else it sits in a line of
    text); ``replace``: take over a key md2tex (or an earlier call) registered. A block
    element is handled when it is an HTML block (its tags on lines of their own); inside a
    paragraph of Markdown only a wrapper (``register_wrapper``) sees its content. The
    function may use ``html.blocks``/``html.inlines`` (children as LaTeX), ``html.markdown``
    (text as Markdown), ``html.r.text`` (escaped text) and ``html.r.warn``."""
    def register(handler: E) -> E:
        for key in keys:
            ELEMENTS.add(key, handler=handler, block=block, replace=replace)
        return handler

    return register


def register_wrapper(*keys: str, replace: bool = False) -> Callable[[W], W]:
    """Register a function ``(html, attributes) -> (opener, closer)``: the LaTeX around the
    element's content. Unlike ``register_element`` it also serves a tag written inside a
    paragraph of Markdown."""
    def register(wrap: W) -> W:
        for key in keys:
            ELEMENTS.add(key, wrap=wrap, replace=replace)
        return wrap

    return register


def _fixed(opener: str, closer: str, feature: str) -> Wrapper:
    def wrap(html: HtmlRenderer, attrs: dict[str, str]) -> tuple[str, str]:
        if feature:
            html.r.ctx.features.add(feature)
        return opener, closer

    return wrap


for _tag, (_opener, _closer, _feature) in WRAPPERS.items():
    ELEMENTS.add(_tag, wrap=_fixed(_opener, _closer, _feature), block=_tag in BLOCK)


def strip_comments(raw: str) -> str:
    """``<!-- ... -->`` removed, as ``re.sub(r"<!--.*?-->", "", raw, flags=re.S)`` would,
    in one pass."""
    return without_spans(raw, "<!--", "-->")


def tag_attrs(raw: str) -> tuple[str, dict[str, str], bool]:
    """One tag's name, attributes and whether it closes: ``</b>`` -> ("b", {}, True)."""
    m = _SINGLE_TAG.match(raw.strip())
    if not m:
        return "", {}, False
    root = parse_html(raw.strip() if not m["close"] else "")
    attrs = root.children[0].attrs if root.children and isinstance(
        root.children[0], Element) else {}
    return m["tag"].lower(), attrs, bool(m["close"])


def colour_of(attrs: dict[str, str]) -> str | None:
    """The hex colour of ``style="color: …"`` (or ``<font color>``), if it is simple."""
    m = _COLOR_RE.search(attrs.get("style", ""))
    if m is None and attrs.get("color"):
        m = _COLOR_RE.search("color:" + attrs["color"])
    if m is None:
        return None
    if m["hex"]:
        h = m["hex"]
        return (h if len(h) == 6 else "".join(c * 2 for c in h)).upper()
    return _COLOURS.get(m["name"].lower())


class Renderer(Protocol):
    """What the HTML renderer needs from render.LatexRenderer."""

    ctx: Any

    def warn(self, code: str, message: str, line: int | None = None, **kw: Any) -> str | None:
        ...

    def inline(self, tokens: Iterable[Token]) -> str: ...

    def inline_in_argument(self, tokens: Sequence[Token]) -> str: ...

    def text(self, s: str) -> str: ...

    def image(self, tok: Token, standalone: bool) -> str: ...

    def b_block_code(self, tok: Token) -> str: ...


class _Outside(Text):
    """Text of an HTML block outside its elements (after ``</figure>`` on the next line):
    kramdown ends the block at the closing tag and reads this as Markdown; text inside an
    element reaches the browser (and MathJax) as it stands."""


def _outside(text: str) -> _Outside:
    out = _Outside(text)
    if isinstance(text, Text):
        out.line, out.column, out.written = text.line, text.column, text.written
    return out


class HtmlRenderer:
    """Renders parsed HTML through a LatexRenderer (escaping, math, images, diagnostics)."""

    def __init__(self, r: Renderer) -> None:
        self.r = r
        self.warned: set[str] = r.ctx.html_warned
        #: >0 inside <center>: inner figures do not open another center environment
        self.centering = 0
        #: the ulem commands (underline, strike-out) open around the text being rendered
        self.ulem: list[tuple[str, str]] = []

    # ------------------------------------------------------------------ plumbing
    def warn_tag(self, tag: str, what: str) -> None:
        if tag not in self.warned:
            self.warned.add(tag)
            self.r.warn("raw-html", f"HTML <{tag}> {what}")

    def markdown(self, text: str) -> str:
        """Text inside HTML: whitespace collapsed, math and Markdown inline syntax kept. The
        text is decoded already (math sees ``<`` for ``&lt;``, as MathJax does); what would
        read as a character reference again is kept as typed."""
        from md2tex.markdown.parse import parse_markdown

        collapsed = re.sub(r"\s+", " ", escape_references(text))
        core = collapsed.strip()
        if not core:
            return " " if collapsed else ""
        if not re.search(r"[\\$*_`\[<!]", core):
            body = self.r.text(core)
        else:
            tokens, _env = parse_markdown(core.replace("\n", " "), self.r.ctx.line or 1,
                                          getattr(self.r.ctx, "dollar_math", True),
                                          getattr(self.r.ctx, "math_engine", "mathjax3"),
                                          raw_html=not isinstance(text, _Outside),
                                          budget=self.r.ctx.budget,
                                          flavour=getattr(self.r.ctx, "flavour",
                                                          JEKYLL_DEFAULT))
            inline = _inline_children(tokens)
            if isinstance(text, Text):
                _place_math(inline, text, len(collapsed) - len(collapsed.lstrip()))
            body = self.r.inline(_tags_as_text(inline))
        lead = " " if collapsed[:1] == " " else ""
        tail = " " if collapsed[-1:] == " " else ""
        return lead + body + tail

    @property
    def sep(self) -> str:
        return "\n\\par\n" if self.r.ctx.in_argument else "\n\n"

    # -------------------------------------------------------------------- blocks
    def block(self, raw: str) -> str:
        """A raw HTML block as LaTeX paragraphs."""
        root, flattened = parse_html_bounded(raw)
        if flattened:
            self.r.warn("html-depth", f"HTML nested more than {MAX_HTML_DEPTH} elements deep: "
                        "the deeper tags are left out, their text is kept")
        root.children = [_outside(c) if isinstance(c, str) else c for c in root.children]
        return self.blocks(root.children).strip()

    def is_block(self, el: Element) -> bool:
        if el.tag == "script" and _is_math_script(el):
            return "display" in el.attrs.get("type", "").lower()
        rule = ELEMENTS.rule_for(el)
        return el.tag in BLOCK or (rule is not None and rule.block)

    def blocks(self, nodes: Sequence[Element | str]) -> str:
        """Nodes as paragraphs: block elements each by their rule, the runs between them
        as lines of text."""
        parts: list[str] = []
        run: list[Element | str] = []

        def flush() -> None:
            if not run:
                return
            meaningful = [n for n in run if not (isinstance(n, str) and not n.strip())
                          and not (isinstance(n, Element) and n.tag == "br")]
            if meaningful and all(isinstance(n, Element) and n.tag == "img" for n in meaningful):
                parts.append(self.centered(" ".join(self.img(n) for n in meaningful
                                                    if isinstance(n, Element))))
            else:
                text = self.inlines(run).strip()
                text = _without_edge_newlines(text)
                if text:
                    parts.append(text)
            run.clear()

        for node in nodes:
            if isinstance(node, Element) and self.is_block(node):
                flush()
                out = self.block_element(node)
                if out.strip():
                    parts.append(self.marked(node.line, out.strip()))
            else:
                run.append(node)
        flush()
        return self.sep.join(parts)

    def marked(self, line: int, latex: str) -> str:
        """A block element's LaTeX after a ``%L`` marker of its own line, so what TeX
        reports in it is placed on the element's Markdown line however many lines the
        LaTeX of the elements before it took."""
        first = self.r.ctx.line
        if line <= 0 or not first or self.r.ctx.in_argument:  # line 0: the block's marker
            return latex
        return f"%L{first + line}\n{latex}"

    def block_element(self, el: Element) -> str:
        """A block element by its rule's handler; without one, its content as paragraphs."""
        rule = ELEMENTS.rule_for(el)
        if rule is not None and rule.handler is not None:
            return rule.handler(self, el)
        return self.blocks(el.children)

    def centered(self, body: str, caption: str = "") -> str:
        cap = f"\\par\\mdcaption{{{caption}}}" if caption.strip() else ""
        if self.centering:
            return f"{body}{cap}".strip()
        if self.r.ctx.in_argument:
            return f"{{\\centering {body}{cap}\\par}}"
        return f"\\begin{{center}}\n{body}{cap}\n\\end{{center}}"

    def environment(self, name: str, body: str, argument: str = "") -> str:
        return f"\\begin{{{name}}}{argument}\n{body}\n\\end{{{name}}}"

    # -------------------------------------------------------------------- inline
    def inlines_in_argument(self, nodes: Sequence[Element | str]) -> str:
        self.r.ctx.in_argument += 1
        try:
            return self.inlines(nodes)
        finally:
            self.r.ctx.in_argument -= 1

    def inlines(self, nodes: Sequence[Element | str]) -> str:
        """Nodes as one line of text (a ``<br>`` breaks it only after some text)."""
        out: list[str] = []
        ink, read = False, 0  # is there text before this point? (out[:read] was looked at)
        for node in nodes:
            if isinstance(node, str):
                out.append(self.markdown(node))
            elif node.tag == "br":
                if not ink:
                    ink, read = any(part.strip() for part in out[read:]), len(out)
                if self.r.ctx.in_argument:
                    out.append(" ")
                elif ink:
                    out.append("\\newline\n")
            else:
                out.append(self.inline_element(node))
        return "".join(out)

    def inline_element(self, el: Element) -> str:
        """An element inside a line of text, by its rule."""
        rule = ELEMENTS.rule_for(el)
        if rule is None:
            if el.tag in BLOCK:
                return " " + self.inlines(el.children) + " "
            self.warn_tag(el.tag, "is not typeset; its text is kept")
            return self.wrapped(el, ("{", "}"))
        if rule.handler is not None and not rule.block:
            return rule.handler(self, el)
        if rule.wrap is not None:
            return self.wrapped(el, rule.wrap(self, el.attrs))
        # a block in a line of text (perhaps in a command's argument): its text
        return " " + self.inlines(el.children) + " "

    def wrapped(self, el: Element, around: tuple[str, str]) -> str:
        """The element's content between ``around`` (and its colour). Inside ulem's
        underline or strike-out, another command's argument could not break across lines:
        the ulem commands are closed around it and reopened inside it."""
        opener, closer = self.coloured(around, el.attrs)
        if opener.startswith(_ULEM):
            self.ulem.append((opener, closer))
            try:
                return opener + self.inlines(el.children) + closer
            finally:
                self.ulem.pop()
        if not self.ulem:
            return opener + self.inlines(el.children) + closer
        if (opener, closer) in _PLAIN_GROUPS:  # a group would not break either
            return self.inlines(el.children)
        shut = "".join(c for _, c in reversed(self.ulem))
        reopen = "".join(o for o, _ in self.ulem)
        return shut + opener + reopen + self.inlines(el.children) + shut + closer + reopen

    def coloured(self, around: tuple[str, str], attrs: dict[str, str]) -> tuple[str, str]:
        opener, closer = around
        colour = colour_of(attrs)
        if colour:
            opener, closer = opener + f"\\textcolor[HTML]{{{colour}}}{{", "}" + closer
        return opener, closer

    def img(self, el: Element) -> str:
        attrs: dict[str, Any] = {"url": el.attrs.get("src", "")}
        width = width_from_attrs(el.attrs)
        if width is not None:
            attrs["width_hint"] = width
        alt = _words_of(el.attrs.get("alt") or el.attrs.get("title") or "")
        # decoded as an attribute: the renderer's text must not decode it again
        tok: Token = {"type": "image", "attrs": attrs,
                      "children": [{"type": "text", "raw": escape_references(alt)}]
                      if alt else []}
        return self.r.image(tok, standalone=False)

    # ------------------------------------------------------- inline HTML tokens
    def inline_tag(self, raw: str, stack: list[tuple[str, str]]) -> str:
        """One inline tag from mistune: opens push their closer, closes pop to their opener.
        Only a rule's wrapper sees the content (it follows as tokens); a handler sees the
        element without it."""
        tag, attrs, closing = tag_attrs(raw)
        if not tag:
            return ""
        if closing:
            if not any(t == tag for t, _ in stack):
                return ""
            out = []
            while stack:
                t, closer = stack.pop()
                out.append(closer)
                if t == tag:
                    break
            return "".join(out)
        if tag == "br":  # the line break after it, if any, is the paragraph's own
            return " " if self.r.ctx.in_argument else "\\newline{}"
        el = Element(tag, attrs)
        rule = ELEMENTS.rule_for(el)
        opener, closer = "", ""
        if rule is None:
            self.warn_tag(tag, "is not typeset; its text is kept")
            opener, closer = self.coloured(("{", "}"), attrs)
        elif rule.wrap is not None:
            opener, closer = self.coloured(rule.wrap(self, attrs), attrs)
            if tag == "code":  # its text arrives as tokens, escaped as prose
                opener = "\\texttt{" + opener.removeprefix("\\mdcode{")
            ulem = [(o, c) for t, c in stack for o in [self.ulem_opener(t)] if o]
            if ulem and (opener, closer) in _PLAIN_GROUPS:
                opener, closer = "", ""
            elif ulem and not opener.startswith(_ULEM):
                shut = "".join(c for _, c in reversed(ulem))
                reopen = "".join(o for o, _ in ulem)
                opener, closer = shut + opener + reopen, shut + closer + reopen
        elif rule.handler is not None and not rule.block:
            opener = rule.handler(self, el)
        elif tag in VOID:
            opener = " "
        if tag not in VOID:
            stack.append((tag, closer))
        return opener

    def ulem_opener(self, tag: str) -> str:
        """The ulem command ``tag`` opens (``\\sout{``), or ""."""
        rule = ELEMENTS.get(tag)
        opener = rule.wrap(self, {})[0] if rule is not None and rule.wrap else ""
        return opener if opener.startswith(_ULEM) else ""

    @staticmethod
    def without_hidden_content(tokens: list[Token]) -> list[Token]:
        """Inline tokens without what ``<style>``, ``<script>`` & co. written in a paragraph
        hold (mistune hands their tags over one at a time, their content as text between):
        a browser prints none of it. The tags stay, so a script is still warned about."""
        out: list[Token] = []
        hidden = ""  # the element whose content is being left out
        for tok in tokens:
            if tok["type"] == "inline_html":
                m = _HIDDEN_TAG.match(tok.get("raw", ""))
                if m and not hidden and not m["close"]:
                    hidden = m["tag"].lower()
                elif m and m["close"] and m["tag"].lower() == hidden:
                    hidden = ""
                elif hidden:
                    continue
            elif hidden:
                continue
            out.append(tok)
        return out

    @staticmethod
    def close_all(stack: list[tuple[str, str]]) -> str:
        out = "".join(closer for _, closer in reversed(stack))
        stack.clear()
        return out


# ------------------------------------------------------------------- element handlers

@register_element(*sorted(DROPPED | INVISIBLE), block=False)
def _left_out(html: HtmlRenderer, el: Element) -> str:
    """Scripts, forms and embeds: a warning (media with an address: a placeholder); styles
    and metadata: nothing, as on the web page."""
    if el.tag in INVISIBLE:
        return ""
    if el.tag == "script" and _is_math_script(el):
        # MathJax 2 typesets a math/tex script's text: the math rules read it
        kind = html_escape(el.attrs.get("type", ""))
        return html.markdown(f'<script type="{kind}">{el.text()}</script>') \
            if el.text().strip() else ""
    src = el.attrs.get("src") or next((s.attrs.get("src", "") for s in
                                       el.find_all("source")), "")
    if el.tag in _MEDIA and src:
        html.warn_tag(el.tag, "(embedded media) cannot be shown on paper; a placeholder "
                      "with its address is printed")
        html.r.ctx.features.add("links")
        return html.centered(f"\\mdimageplaceholder{{{html.r.text('Embedded ' + el.tag)}}}"
                             f"{{\\nolinkurl{{{escape_url(src)}}}}}")
    html.warn_tag(el.tag, "is not typeset; it is left out")
    return ""


def _is_math_script(el: Element) -> bool:
    """MathJax 2's ``<script type="math/tex">`` (``; mode=display``): a formula."""
    return el.attrs.get("type", "").strip().lower().startswith("math/tex")


#: classes themes give an image's caption (``<div class="thecap">`` in ``div.imgcap``)
CAPTION_CLASSES = {"thecap", "caption", "img-caption", "figure-caption"}


def _is_caption(node: Element | str) -> bool:
    return isinstance(node, Element) and (
        node.tag == "figcaption" or not CAPTION_CLASSES.isdisjoint(node.classes))


@register_element("figure", "div.imgcap")
def _figure(html: HtmlRenderer, el: Element) -> str:
    """Images side by side, centred, with their caption (a ``<figcaption>`` or an element
    of a caption class); other content after them."""
    images = list(el.find_all("img"))
    caption_el = next((c for c in el.children if _is_caption(c)), None) \
        or next(iter(el.find_all("figcaption")), None)
    caption = html.inlines_in_argument(caption_el.children) \
        if isinstance(caption_el, Element) else ""
    rest = [c for c in el.children if not (isinstance(c, Element) and (
        c.tag == "img" or _is_caption(c) or list(c.find_all("img"))))]
    others = html.blocks(rest)
    boxes = " ".join(html.img(i) for i in images)
    out = html.centered(boxes, caption) if boxes or caption.strip() else ""
    return html.sep.join(p for p in (out, others.strip()) if p)


@register_element("figcaption")
def _figcaption(html: HtmlRenderer, el: Element) -> str:
    caption = html.inlines_in_argument(el.children).strip()
    return html.centered("", caption) if caption else ""


@register_element("center")
def _center(html: HtmlRenderer, el: Element) -> str:
    html.centering += 1
    try:
        body = html.blocks(el.children)
    finally:
        html.centering -= 1
    return html.centered(body) if body.strip() else ""


@register_element("h1", "h2", "h3", "h4", "h5", "h6", "summary", "dt")
def _bold_line(html: HtmlRenderer, el: Element) -> str:
    """Headings inside HTML (not in the outline), a ``<details>``' summary, a term."""
    text = html.inlines_in_argument(el.children).strip()
    return f"\\textbf{{{text}}}" if text else ""


@register_element("ul", "ol")
def _listing(html: HtmlRenderer, el: Element) -> str:
    """A list: each ``<li>`` an item. Anything else in it a browser shows without a marker;
    in LaTeX text outside an item is an error, so it joins the item before it (or, first
    in the list, an item without a label)."""
    env = "enumerate" if el.tag == "ol" else "itemize"
    html.r.ctx.features.add("lists")
    items: list[str] = []
    html.r.ctx.list_depth += 1
    try:
        for child in el.children:
            if isinstance(child, Element) and child.tag == "li":
                items.append("\\item{} " + html.blocks(child.children))
                continue
            other = (html.blocks([child]) if isinstance(child, Element)
                     else html.markdown(child) if child.strip() else "").strip()
            if not other:
                continue
            if items:
                items[-1] = items[-1].rstrip() + html.sep + other
            else:
                items.append("\\item[] " + other)
    finally:
        html.r.ctx.list_depth -= 1
    if not items:
        return ""
    return html.environment(env, "\n".join(items))


@register_element("blockquote")
def _blockquote(html: HtmlRenderer, el: Element) -> str:
    html.r.ctx.features.add("quote")
    html.r.ctx.list_depth += 1  # a quote is a list to LaTeX (and nests as one)
    try:
        return html.environment("quote", html.blocks(el.children))
    finally:
        html.r.ctx.list_depth -= 1


def _code_block(html: HtmlRenderer, code: str, lang: str) -> str:
    return html.r.b_block_code({"type": "block_code", "raw": code.strip("\n") + "\n",
                                "attrs": {"info": lang}})


_LANGUAGE_CLASS = re.compile(r"^(?:language|lang)-(.+)$")


def _language(html: HtmlRenderer, el: Element) -> str:
    """The language a ``<pre>`` or ``<code>`` names: a ``language-x``/``lang-x`` class, else
    a class that names a language (other classes are the page's styling, not a language)."""
    for cls in el.attrs.get("class", "").split():
        m = _LANGUAGE_CLASS.match(cls)
        if m:
            return m.group(1)
    return next((c for c in el.attrs.get("class", "").split()
                 if known_language(c, html.r.ctx.memo)), "")


@register_element("pre")
def _pre(html: HtmlRenderer, el: Element) -> str:
    lang = _language(html, el)
    inner = next(iter(el.find_all("code")), None)
    if not lang and inner is not None:
        lang = _language(html, inner)
    return _code_block(html, el.text(), lang)


@register_element("d-code", block=False)
def _distill_code(html: HtmlRenderer, el: Element) -> str:
    """distill's code element: a code block with ``block``, else code in the line."""
    if "block" in el.attrs and not html.r.ctx.in_argument:
        return "\n\n" + _code_block(html, el.text(), el.attrs.get("language", "")) + "\n\n"
    return "\\mdcode{" + escape_code(el.text(), html.r.ctx.unicode) + "}"


@register_element("hr")
def _rule(html: HtmlRenderer, el: Element) -> str:
    return "\\mdrule"


@register_element("li")
def _item_content(html: HtmlRenderer, el: Element) -> str:
    return html.blocks(el.children)


@register_element("table")
def _table(html: HtmlRenderer, el: Element) -> str:
    rows: list[list[Element]] = []
    for tr in el.find_all("tr"):
        cells = [c for c in tr.children if isinstance(c, Element) and c.tag in ("td", "th")]
        if cells:
            rows.append(cells)
    if not rows:
        return html.blocks(el.children)
    ncols = max(sum(_span(c) for c in r) for r in rows)
    if ncols > MAX_TABLE_COLUMNS:
        # padding every row to the widest would multiply the post; no page is that wide
        html.r.warn("html-table", f"HTML table with {ncols:,} columns (more than "
                    f"{MAX_TABLE_COLUMNS}): its rows are printed as text")
        return tables.as_paragraphs([[html.inlines_in_argument(c.children).strip()
                                      for c in row] for row in rows])
    rendered: list[list[str]] = []
    lengths = [0] * ncols
    for row in rows:
        cells_out = []
        col = 0
        for cell in row:
            text = html.inlines_in_argument(cell.children).strip()
            text = re.sub(r"\\newline\s*", " ", text)
            if cell.tag == "th" and text:
                text = f"\\textbf{{{text}}}"
            span = min(_span(cell), ncols - col)
            if span > 1:
                text = f"\\multicolumn{{{span}}}{{l}}{{{text}}}"
            lengths[col] = max(lengths[col], len(cell.text().strip()) // span)
            cells_out.append(text)
            col += span
        cells_out += [""] * (ncols - col)
        rendered.append(cells_out)
    if html.r.ctx.in_argument:
        return tables.as_paragraphs(rendered)
    html.r.ctx.features.add("table")
    # widths measured around cells spanning columns are rough: the columns share equally
    spec = tables.column_spec([None] * ncols, lengths, equal=True)
    lines = [tables.row(cells) for cells in rendered]
    if rows[0] and all(c.tag == "th" for c in rows[0]):
        return tables.longtable(spec, lines[:1], lines[1:])
    return tables.longtable(spec, None, lines)


@register_element("img", block=False)
def _image(html: HtmlRenderer, el: Element) -> str:
    return html.img(el)


@register_element("wbr", block=False)
def _break_opportunity(html: HtmlRenderer, el: Element) -> str:
    return "\\allowbreak{}"


@register_element("d-math", block=False)
def _distill_math(html: HtmlRenderer, el: Element) -> str:
    """distill's math element: the math rules read it."""
    if not el.children:
        return ""
    block = " block" if "block" in el.attrs else ""
    return html.markdown(f"<d-math{block}>{el.text()}</d-math>")


def _web_link(attrs: dict[str, str]) -> str:
    """The address of a link that may become a PDF link, or ""."""
    url = attrs.get("href", "").strip()
    if not url or url.startswith("#") or not url_scheme_allowed(url) \
            or ":" not in url.split("/")[0]:
        return ""
    return url


@register_element("a", block=False)
def _link(html: HtmlRenderer, el: Element) -> str:
    inner = html.inlines(el.children)
    url = _web_link(el.attrs)
    if not url:
        return inner
    html.r.ctx.features.add("links")
    if not inner.strip():
        return f"\\url{{{escape_url(url)}}}"
    return f"\\href{{{escape_url(url)}}}{{{inner}}}"


@register_wrapper("a")
def _link_around(html: HtmlRenderer, attrs: dict[str, str]) -> tuple[str, str]:
    url = _web_link(attrs)
    if not url:
        return "", ""
    html.r.ctx.features.add("links")
    return f"\\href{{{escape_url(url)}}}{{", "}"


@register_element("code", "kbd", "samp", "tt", block=False)
def _code(html: HtmlRenderer, el: Element) -> str:
    """Code in a line: every character literal, unless it holds other elements."""
    if any(isinstance(c, Element) for c in el.children):
        rule = ELEMENTS[el.tag]
        assert rule.wrap is not None
        return html.wrapped(el, rule.wrap(html, el.attrs))
    return "\\mdcode{" + escape_code(el.text(), html.r.ctx.unicode) + "}"


@register_wrapper("d-footnote")
def _footnote(html: HtmlRenderer, attrs: dict[str, str]) -> tuple[str, str]:
    """distill's footnote (protected: it may sit in a heading)."""
    return "\\protect\\footnote{", "}"


#: characters a citation key cannot hold (BibTeX's and TeX's specials)
_BAD_KEY = re.compile(r"[\s{}%#~\\,]")


@register_element("d-cite", block=False)
def _citation(html: HtmlRenderer, el: Element) -> str:
    """distill's citation: ``\\mdcite{a,b}`` (keys comma-separated; the citation support
    defines the macro)."""
    keys = [k.strip() for k in el.attrs.get("key", "").split(",") if k.strip()]
    bad = [k for k in keys if _BAD_KEY.search(k)]
    if bad or not keys:
        html.r.warn("raw-html", f"<d-cite> key {bad[0]!r} cannot be a citation key; it is "
                    "left out" if bad else "<d-cite> without a key is left out")
    good = [k for k in keys if k not in bad]
    return f"\\mdcite{{{','.join(good)}}}" if good else ""


@register_element("d-bibliography", block=False)
def _bibliography(html: HtmlRenderer, el: Element) -> str:
    return "\\mdbibliography{}"


@register_element("aside")
def _aside(html: HtmlRenderer, el: Element) -> str:
    """A note the web page shows beside the text: a small note set off by a bar."""
    body = html.blocks(el.children)
    if not body.strip():
        return ""
    # no frame holds an argument or a longtable; in a list (or quote) the frame would open
    # the item's first line, where LaTeX reports a missing \item, and ignores its indent
    if html.r.ctx.in_argument or html.r.ctx.list_depth or "\\begin{longtable}" in body:
        return f"{{\\small {body}}}" if html.r.ctx.in_argument else f"{{\\small\n{body}\n}}"
    html.r.ctx.features.add("aside")
    return html.environment("mdaside", body)


class TheoremKind(NamedTuple):
    """One theorem-like block: its name and the environment it becomes."""

    name: str
    environment: str


#: theorem-like classes (``<div class="lemma">``) -> name and environment (``mdtheorem``:
#: italic text; ``mddefinition``: upright; ``proof``: amsthm's, ending in its box)
THEOREM_KINDS: dict[str, TheoremKind] = {
    "theorem": TheoremKind("Theorem", "mdtheorem"),
    "lemma": TheoremKind("Lemma", "mdtheorem"),
    "proposition": TheoremKind("Proposition", "mdtheorem"),
    "corollary": TheoremKind("Corollary", "mdtheorem"),
    "claim": TheoremKind("Claim", "mdtheorem"),
    "conjecture": TheoremKind("Conjecture", "mdtheorem"),
    "definition": TheoremKind("Definition", "mddefinition"),
    "remark": TheoremKind("Remark", "mddefinition"),
    "example": TheoremKind("Example", "mddefinition"),
    "exercise": TheoremKind("Exercise", "mddefinition"),
    "note": TheoremKind("Note", "mddefinition"),
    "proof": TheoremKind("Proof", "proof"),
    # the short class names some themes use
    "thm": TheoremKind("Theorem", "mdtheorem"),
    "lem": TheoremKind("Lemma", "mdtheorem"),
    "prop": TheoremKind("Proposition", "mdtheorem"),
    "cor": TheoremKind("Corollary", "mdtheorem"),
    "defn": TheoremKind("Definition", "mddefinition"),
}
#: the elements themes write theorem-like blocks with
THEOREM_TAGS = ("div", "blockquote", "section")


def _theorem(html: HtmlRenderer, el: Element) -> str:
    """A theorem-like block: its heading from a bold lead (``<b>Theorem 2.</b>``) or a
    ``data-title``/``title`` attribute, else its kind's name; its text and math kept."""
    kind = next(THEOREM_KINDS[c] for c in el.classes if c in THEOREM_KINDS)
    children = list(el.children)
    lead = _take_lead(children)
    if lead is not None:
        heading = html.inlines_in_argument(lead.children).strip()
        plain = lead.text().strip()
    else:
        title = el.attrs.get("data-title") or el.attrs.get("title") or ""
        plain = f"{kind.name} ({title})" if title.strip() else kind.name
        heading = html.r.text(escape_references(plain))
    body = html.blocks(children)
    if kind.environment == "proof":
        argument = "" if plain.rstrip(".") == kind.name else f"[{{{heading}}}]"
    else:
        dot = "" if plain[-1:] in ".:!?" else "."
        argument = f"[{{{heading}{dot}}}]"
    if html.r.ctx.in_argument:
        return f"\\textbf{{{heading}}} {body}"
    html.r.ctx.features.add("theorems")
    return html.environment(kind.environment, body or "~", argument)


for _kind in THEOREM_KINDS:
    for _tag in THEOREM_TAGS:
        ELEMENTS.add(f"{_tag}.{_kind}", handler=_theorem, block=True)


def _take_lead(children: list[Element | str]) -> Element | None:
    """The bold lead that opens a block (directly or in its first paragraph), taken out of
    ``children``; None if the block does not open with one."""
    holder = children
    for _depth in range(2):
        first = next((i for i, c in enumerate(holder) if not (isinstance(c, str)
                                                               and not c.strip())), None)
        if first is None:
            return None
        node = holder[first]
        if isinstance(node, Element) and node.tag in ("b", "strong"):
            del holder[first]
            return node
        if not (isinstance(node, Element) and node.tag == "p"):
            return None
        holder = node.children
    return None


_LEADING_NEWLINES = re.compile(r"(?:\\newline\s*)+")


def _without_edge_newlines(text: str) -> str:
    """``text`` stripped, without ``\\newline``s at its start or end (the end is cut from the
    right, not searched for from every ``\\newline`` in the text)."""
    m = _LEADING_NEWLINES.match(text)
    text = text[m.end():] if m else text
    text = text.rstrip()
    while text.endswith("\\newline"):
        text = text[: -len("\\newline")].rstrip()
    return text.strip()


_BR_TAG = re.compile(r"<br\s*/?>", re.I)
#: a tag, or one cut short at the end (an alt cut from a longer caption)
_TAG = re.compile(r"</?[A-Za-z][^<>]*(?:>|$)")


def _words_of(alt: str) -> str:
    """An image's alt as the words its placeholder prints: tags in it (a caption made the
    alt, ``Credit:<br/><a href=…>``) are markup, not words; a ``<br>`` is a space."""
    return _TAG.sub("", _BR_TAG.sub(" ", alt)) if "<" in alt else alt


def _span(cell: Element) -> int:
    try:
        return max(1, min(int(cell.attrs.get("colspan", "1")), 50))
    except ValueError:
        return 1


def _tags_as_text(tokens: list[Token]) -> list[Token]:
    """Inline tokens of an HTML text with every tag-like piece as text: the parser took the
    real tags out already, so what looks like one was written ``&lt;tag&gt;`` (or is a bare
    ``<``), which a browser shows as it reads."""
    for i, tok in enumerate(tokens):
        if tok["type"] == "inline_html":
            tokens[i] = {"type": "text", "raw": escape_references(tok.get("raw", ""))}
        elif "children" in tok:
            tok["children"] = _tags_as_text(list(tok["children"]))
    return tokens


def _inline_children(tokens: Sequence[Token]) -> list[Token]:
    out: list[Token] = []
    for tok in tokens:
        if tok["type"] in ("paragraph", "block_text", "heading"):
            if out:
                out.append({"type": "text", "raw": " "})
            out.extend(tok.get("children", []))
        elif tok["type"] == "block_code":
            out.append({"type": "codespan", "raw": tok.get("raw", "").strip()})
        elif tok["type"] == "math_block":
            out.append({"type": "math", "raw": tok["raw"], "attrs": {"display": True}})
        elif "children" in tok:
            out.extend(_inline_children(tok["children"]))
    return out


_SPACES = re.compile(r"\s+")


def _origins(text: str) -> list[int]:
    """For each character of ``text`` as ``markdown`` reads it (references escaped, each run
    of whitespace one space), the offset in ``text`` it comes from."""
    origin: list[int] = []
    start = 0
    for m in [*_SPACES.finditer(text), None]:
        end = m.start() if m else len(text)
        if start < end:
            word = text[start:end]
            grown = len(escape_references(word)) if "&" in word else len(word)
            if grown == len(word):
                origin.extend(range(start, end))
            else:  # "&amp;" in place of "&": its characters all come from the "&"
                origin.extend(start + min(i, len(word) - 1) for i in range(grown))
        if m:
            origin.append(m.start())
            start = m.end()
    return origin


def _place_math(tokens: list[Token], text: Text, lead: int) -> None:
    """Math found in ``text`` (read as one line, ``lead`` spaces cut from its start) gets
    the line and column it has in the HTML fragment, which starts at the block's line."""
    origin: list[int] = []
    breaks: list[int] = []  # where the text's line ends are (found once, searched by halves)
    written = text.written or text
    references = _References(text.written)
    todo = list(tokens)
    while todo:
        tok = todo.pop()
        todo.extend(tok.get("children", ()))
        attrs = tok.get("attrs")
        if tok["type"] != "math" or not attrs or not attrs.get("column"):
            continue
        if not origin:
            origin = _origins(text) or [0]
            breaks = [m.start() for m in re.finditer("\n", written)]
        at = references.written_offset(origin[min(lead + attrs["column"] - 1, len(origin) - 1)])
        newlines = bisect.bisect_left(breaks, at)
        attrs["line_offset"] = text.line + newlines
        attrs["column"] = at - breaks[newlines - 1] if newlines else text.column + at + 1


_CHARREF = re.compile(r"&(?:#[0-9]+;?|#[xX][0-9a-fA-F]+;?|[A-Za-z][A-Za-z0-9]*;?)")


class _References:
    """Offsets in decoded text -> offsets in the text as written (``&amp;`` is five
    characters there, one here)."""

    def __init__(self, written: str) -> None:
        #: decoded offset where each reference starts, and the shift after it
        self.starts: list[int] = []
        self.shifts: list[int] = []
        shift = 0
        for m in _CHARREF.finditer(written):
            self.starts.append(m.start() - shift)
            shift += len(m.group()) - len(decode_html(m.group()))
            self.shifts.append(shift)

    def written_offset(self, at: int) -> int:
        i = bisect.bisect_left(self.starts, at)
        return at + (self.shifts[i - 1] if i else 0)
