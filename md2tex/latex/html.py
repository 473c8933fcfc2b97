"""The raw HTML that blog posts really use, turned into LaTeX (stdlib ``html.parser``).

Block HTML (``<figure>``, ``<center>``, ``<table>``, ``<details>``, ``<div>``…) is parsed into
a small tree and rendered; inline HTML arrives from mistune one tag at a time, so opening and
closing tags are paired with a stack (an unclosed tag is closed at the end of its paragraph,
a stray closing tag is ignored: braces always balance). Text inside HTML still goes through
the Markdown inline parser, because MathJax typesets ``$$…$$`` wherever it appears.
Unknown tags: a warning, their text kept. Scripts, styles and embeds: a warning, left out.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from html.parser import HTMLParser
from typing import Any, Protocol

from md2tex.escape import escape_code, escape_url, url_scheme_allowed, without_spans
from md2tex.latex import tables
from md2tex.markdown.kramdown import width_from_attrs

Token = dict[str, Any]

VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "param",
        "source", "track", "wbr"}
BLOCK = {"p", "div", "center", "figure", "figcaption", "table", "ul", "ol", "li", "dl", "dt",
         "dd", "blockquote", "pre", "hr", "details", "summary", "section", "article", "header",
         "footer", "main", "aside", "nav", "h1", "h2", "h3", "h4", "h5", "h6", "address",
         "iframe", "video", "audio", "object", "embed", "script", "style", "noscript",
         "form", "canvas", "svg", "math", "head", "meta", "link", "title", "html", "body"}
#: content left out (with a warning): it means nothing on paper
DROPPED = {"script", "style", "noscript", "head", "meta", "link", "title", "form", "input",
           "button", "select", "textarea", "canvas", "svg", "math", "template", "object",
           "param", "source", "track", "iframe", "video", "audio", "embed"}
#: tag -> (LaTeX opener, closer, feature)
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
    "code": ("\\mdcode{", "}", ""),
}
_COLOURS = {"red": "D62728", "blue": "1F5FBF", "green": "2CA02C", "orange": "E67E00",
            "purple": "7E3FA0", "gray": "777777", "grey": "777777", "brown": "8C564B",
            "magenta": "C0309F", "teal": "17807E", "darkred": "8B0000", "navy": "000080"}
_COLOR_RE = re.compile(r"(?:^|;)\s*color\s*:\s*(?:#(?P<hex>[0-9a-fA-F]{6}|[0-9a-fA-F]{3})\b|"
                       r"(?P<name>[a-zA-Z]+))")
_SINGLE_TAG = re.compile(r"<(?P<close>/)?(?P<tag>[A-Za-z][\w-]*)(?P<rest>[^<>]*?)(?P<self>/)?>",
                         re.S)


@dataclass
class Element:
    tag: str
    attrs: dict[str, str] = field(default_factory=dict)
    children: list[Element | str] = field(default_factory=list)

    def text(self) -> str:
        return "".join(c if isinstance(c, str) else c.text() for c in self.children)

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
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
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
        el = Element(tag, {k.lower(): v or "" for k, v in attrs})
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
        self.stack[-1].children.append(data)


def parse_html(raw: str) -> Element:
    """An HTML fragment as a tree (comments dropped, unclosed tags closed at the end)."""
    return parse_html_bounded(raw)[0]


def parse_html_bounded(raw: str) -> tuple[Element, bool]:
    """``parse_html`` and whether tags nested deeper than ``MAX_HTML_DEPTH`` were dropped."""
    builder = _TreeBuilder()
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
                joined.append("".join(run))
                run = []
            joined.append(child)
            todo.append(child)
        if run:
            joined.append("".join(run))
        element.children = joined


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


class _Context(Protocol):
    unicode: bool
    in_argument: int
    line: int | None
    features: set[str]
    dollar_math: bool | str


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


class _Outside(str):
    """Text of an HTML block outside its elements (after ``</figure>`` on the next line):
    kramdown ends the block at the closing tag and reads this as Markdown; text inside an
    element reaches the browser (and MathJax) as it stands."""

    __slots__ = ()


class HtmlRenderer:
    """Renders parsed HTML through a LatexRenderer (escaping, math, images, diagnostics)."""

    def __init__(self, r: Renderer) -> None:
        self.r = r
        self.warned: set[str] = r.ctx.html_warned
        #: >0 inside <center>: inner figures do not open another center environment
        self.centering = 0

    # ------------------------------------------------------------------ plumbing
    def warn_tag(self, tag: str, what: str) -> None:
        if tag not in self.warned:
            self.warned.add(tag)
            self.r.warn("raw-html", f"HTML <{tag}> {what}")

    def markdown(self, text: str) -> str:
        """Text inside HTML: whitespace collapsed, math and Markdown inline syntax kept."""
        from md2tex.markdown.parse import parse_markdown

        collapsed = re.sub(r"\s+", " ", text)
        core = collapsed.strip()
        if not core:
            return " " if collapsed else ""
        if not re.search(r"[\\$*_`\[<&!]", core):
            body = self.r.text(core)
        else:
            tokens, _env = parse_markdown(core.replace("\n", " "), self.r.ctx.line or 1,
                                          getattr(self.r.ctx, "dollar_math", True),
                                          getattr(self.r.ctx, "math_engine", "mathjax3"),
                                          raw_html=not isinstance(text, _Outside),
                                          budget=self.r.ctx.budget)
            body = self.r.inline(_inline_children(tokens))
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
        root.children = [_Outside(c) if isinstance(c, str) else c for c in root.children]
        return self.blocks(root.children).strip()

    def blocks(self, nodes: Sequence[Element | str]) -> str:
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
            if isinstance(node, Element) and node.tag in BLOCK:
                flush()
                out = self.block_element(node)
                if out.strip():
                    parts.append(out.strip())
            else:
                run.append(node)
        flush()
        return self.sep.join(parts)

    def centered(self, body: str, caption: str = "") -> str:
        cap = f"\\par\\mdcaption{{{caption}}}" if caption.strip() else ""
        if self.centering:
            return f"{body}{cap}".strip()
        if self.r.ctx.in_argument:
            return f"{{\\centering {body}{cap}\\par}}"
        return f"\\begin{{center}}\n{body}{cap}\n\\end{{center}}"

    def block_element(self, el: Element) -> str:
        tag = el.tag
        if tag in DROPPED:
            src = el.attrs.get("src") or next((s.attrs.get("src", "") for s in
                                               el.find_all("source")), "")
            if tag in ("iframe", "video", "audio", "embed", "object") and src:
                self.warn_tag(tag, "(embedded media) cannot be shown on paper; a placeholder "
                              "with its address is printed")
                self.r.ctx.features.add("links")
                return self.centered(f"\\mdimageplaceholder{{{self.r.text('Embedded ' + tag)}}}"
                                     f"{{\\nolinkurl{{{escape_url(src)}}}}}")
            self.warn_tag(tag, "is not typeset; it is left out")
            return ""
        if tag == "figure":
            images = list(el.find_all("img"))
            caption_el = next(iter(el.find_all("figcaption")), None)
            caption = self.inlines_in_argument(caption_el.children) if caption_el else ""
            rest = [c for c in el.children if not (isinstance(c, Element)
                                                   and c.tag in ("img", "figcaption"))]
            others = self.blocks([c for c in rest if not (isinstance(c, Element)
                                                          and list(c.find_all("img")))])
            boxes = " ".join(self.img(i) for i in images)
            out = self.centered(boxes, caption) if boxes or caption.strip() else ""
            return self.sep.join(p for p in (out, others.strip()) if p)
        if tag == "figcaption":
            caption = self.inlines_in_argument(el.children).strip()
            return self.centered("", caption) if caption else ""
        if tag == "center":
            self.centering += 1
            try:
                body = self.blocks(el.children)
            finally:
                self.centering -= 1
            return self.centered(body) if body.strip() else ""
        if tag in ("h1", "h2", "h3", "h4", "h5", "h6"):
            return f"\\textbf{{{self.inlines_in_argument(el.children).strip()}}}"
        if tag in ("ul", "ol"):
            return self.listing(el)
        if tag == "blockquote":
            self.r.ctx.features.add("quote")
            return f"\\begin{{quote}}\n{self.blocks(el.children)}\n\\end{{quote}}"
        if tag == "pre":
            code = el.text()
            lang = re.sub(r"^(?:language|lang)-", "", (el.attrs.get("class") or "").split(
                " ")[0]) if el.attrs.get("class") else ""
            inner = next(iter(el.find_all("code")), None)
            if not lang and inner is not None and inner.attrs.get("class"):
                lang = re.sub(r"^(?:language|lang)-", "", inner.attrs["class"].split(" ")[0])
            return self.r.b_block_code({"type": "block_code", "raw": code.strip("\n") + "\n",
                                        "attrs": {"info": lang}})
        if tag == "hr":
            return "\\mdrule"
        if tag == "table":
            return self.table(el)
        if tag == "summary":
            return f"\\textbf{{{self.inlines_in_argument(el.children).strip()}}}"
        if tag == "dt":
            return f"\\textbf{{{self.inlines_in_argument(el.children).strip()}}}"
        if tag == "li":
            return self.blocks(el.children)
        # p, div, details, section, dd, … : the content, as paragraphs
        return self.blocks(el.children)

    def listing(self, el: Element) -> str:
        env = "enumerate" if el.tag == "ol" else "itemize"
        self.r.ctx.features.add("lists")
        items = []
        for child in el.children:
            if isinstance(child, Element) and child.tag == "li":
                items.append("\\item{} " + self.blocks(child.children))
            elif isinstance(child, Element):
                items.append("\\item{} " + self.blocks([child]))
            elif child.strip():
                items.append("\\item{} " + self.markdown(child))
        if not items:
            return ""
        return f"\\begin{{{env}}}\n" + "\n".join(items) + f"\n\\end{{{env}}}"

    def table(self, el: Element) -> str:
        rows: list[list[Element]] = []
        for tr in el.find_all("tr"):
            cells = [c for c in tr.children if isinstance(c, Element) and c.tag in ("td", "th")]
            if cells:
                rows.append(cells)
        if not rows:
            return self.blocks(el.children)
        ncols = max(sum(_span(c) for c in r) for r in rows)
        if ncols > MAX_TABLE_COLUMNS:
            # padding every row to the widest would multiply the post; no page is that wide
            self.r.warn("html-table", f"HTML table with {ncols:,} columns (more than "
                        f"{MAX_TABLE_COLUMNS}): its rows are printed as text")
            return tables.as_paragraphs([[self.inlines_in_argument(c.children).strip()
                                          for c in row] for row in rows])
        rendered: list[list[str]] = []
        lengths = [0] * ncols
        for row in rows:
            cells_out = []
            col = 0
            for cell in row:
                text = self.inlines_in_argument(cell.children).strip()
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
        if self.r.ctx.in_argument:
            return tables.as_paragraphs(rendered)
        self.r.ctx.features.add("table")
        # widths measured around cells spanning columns are rough: the columns share equally
        spec = tables.column_spec([None] * ncols, lengths, equal=True)
        lines = [tables.row(cells) for cells in rendered]
        if rows[0] and all(c.tag == "th" for c in rows[0]):
            return tables.longtable(spec, lines[:1], lines[1:])
        return tables.longtable(spec, None, lines)

    # -------------------------------------------------------------------- inline
    def inlines_in_argument(self, nodes: Sequence[Element | str]) -> str:
        self.r.ctx.in_argument += 1
        try:
            return self.inlines(nodes)
        finally:
            self.r.ctx.in_argument -= 1

    def inlines(self, nodes: Sequence[Element | str]) -> str:
        out: list[str] = []
        ink, read = False, 0  # is there text before this point? (out[:read] was looked at)
        for node in nodes:
            if isinstance(node, str):
                out.append(self.markdown(node))
                continue
            tag = node.tag
            if tag == "br":
                if not ink:
                    ink, read = any(part.strip() for part in out[read:]), len(out)
                if self.r.ctx.in_argument:
                    out.append(" ")
                elif ink:
                    out.append("\\newline\n")
                continue
            if tag == "img":
                out.append(self.img(node))
                continue
            if tag == "d-math":  # distill's math element: the math rules read it
                block = " block" if "block" in node.attrs else ""
                out.append(self.markdown(f"<d-math{block}>{node.text()}</d-math>"))
                continue
            if tag == "a":
                out.append(self.link(node))
                continue
            if tag in ("code", "kbd", "samp", "tt") and not any(
                    isinstance(c, Element) for c in node.children):
                out.append("\\mdcode{" + escape_code(node.text(), self.r.ctx.unicode) + "}")
                continue
            if tag in DROPPED:
                out.append(self.block_element(node))
                continue
            if tag in BLOCK and tag not in WRAPPERS:
                out.append(" " + self.inlines(node.children) + " ")
                continue
            opener, closer = self.wrapper(tag, node.attrs)
            out.append(opener + self.inlines(node.children) + closer)
        return "".join(out)

    def wrapper(self, tag: str, attrs: dict[str, str]) -> tuple[str, str]:
        """LaTeX around an inline element's content (unknown tags: a warning, content kept)."""
        known = WRAPPERS.get(tag)
        if known is None:
            self.warn_tag(tag, "is not typeset; its text is kept")
            opener, closer = "{", "}"
        else:
            opener, closer, feature = known
            if feature:
                self.r.ctx.features.add(feature)
        colour = colour_of(attrs)
        if colour:
            opener, closer = opener + f"\\textcolor[HTML]{{{colour}}}{{", "}" + closer
        return opener, closer

    def link(self, el: Element) -> str:
        inner = self.inlines(el.children)
        url = el.attrs.get("href", "").strip()
        if not url or url.startswith("#") or not url_scheme_allowed(url) \
                or ":" not in url.split("/")[0]:
            return inner
        self.r.ctx.features.add("links")
        if not inner.strip():
            return f"\\url{{{escape_url(url)}}}"
        return f"\\href{{{escape_url(url)}}}{{{inner}}}"

    def img(self, el: Element) -> str:
        attrs: dict[str, Any] = {"url": el.attrs.get("src", "")}
        width = width_from_attrs(el.attrs)
        if width is not None:
            attrs["width_hint"] = width
        alt = el.attrs.get("alt") or el.attrs.get("title") or ""
        tok: Token = {"type": "image", "attrs": attrs,
                      "children": [{"type": "text", "raw": alt}] if alt else []}
        return self.r.image(tok, standalone=False)

    # ------------------------------------------------------- inline HTML tokens
    def inline_tag(self, raw: str, stack: list[tuple[str, str]]) -> str:
        """One inline tag from mistune: opens push their closer, closes pop to their opener."""
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
        if tag == "br":
            return " " if self.r.ctx.in_argument else "\\newline\n"
        if tag == "img":
            return self.img(Element("img", attrs))
        if tag == "hr":
            return " "
        if tag in DROPPED or tag in VOID:
            self.warn_tag(tag, "is not typeset inside a paragraph; it is left out")
            return ""
        if tag == "a":
            url = attrs.get("href", "").strip()
            if url and not url.startswith("#") and url_scheme_allowed(url) \
                    and ":" in url.split("/")[0]:
                self.r.ctx.features.add("links")
                stack.append((tag, "}"))
                return f"\\href{{{escape_url(url)}}}{{"
            stack.append((tag, ""))
            return ""
        opener, closer = self.wrapper(tag, attrs)
        if tag == "code":
            opener, closer = "\\texttt{", "}" + closer[1:] if closer.startswith("}") else "}"
        stack.append((tag, closer))
        return opener

    @staticmethod
    def close_all(stack: list[tuple[str, str]]) -> str:
        out = "".join(closer for _, closer in reversed(stack))
        stack.clear()
        return out


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


def _span(cell: Element) -> int:
    try:
        return max(1, min(int(cell.attrs.get("colspan", "1")), 50))
    except ValueError:
        return 1


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
