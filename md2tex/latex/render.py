"""mistune tokens to LaTeX body text: one method per token type, recording Features.

Content only; the template decides layout. Every block starts with a ``%L<line>`` marker so a
TeX error can be traced back to its Markdown line.
"""

from __future__ import annotations

import re
import urllib.parse
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from md2tex.budget import UNLIMITED, Budget
from md2tex.diagnostics import Diagnostic, error, warning
from md2tex.document import Formula
from md2tex.escape import (
    escape_code,
    escape_text,
    escape_url,
    math_to_unicode,
    pdf_string,
    smart_typography,
    url_scheme_allowed,
)
from md2tex.latex import highlight as hl
from md2tex.latex import tables
from md2tex.latex.html import HtmlRenderer, parse_html, strip_comments
from md2tex.latex.images import Found, ImageResolver
from md2tex.markdown.kramdown import JEKYLL_DEFAULT, Flavour, is_toc_list, strip_ials
from md2tex.math.macros import Definition
from md2tex.math.safe import SafeMacros, Unsafe, check_math, image_allowed
from md2tex.memo import Memo

Token = dict[str, Any]

_SECTIONING = ["section", "subsection", "subsubsection", "paragraph", "subparagraph",
               "subparagraph"]
_HTML_TAG = re.compile(r"</?[A-Za-z][^<>]*>|<!--|-->")
_BR = re.compile(r"<br\s*/?>", re.I)
_LABEL = re.compile(r"\\label\s*\{")
_TAG = re.compile(r"\\tag\b")
#: where an HTML element's Markdown content goes in the element's LaTeX (a plain word: the
#: HTML renderer prints it as it stands)
_SLOT = "mdtexslot"
_BRACES = re.compile(r"\\[{}]|[{}]")


def _brace_depth(tex: str) -> int:
    """How many ``{`` groups are open at the end of ``tex`` (escaped braces skipped)."""
    depth = 0
    for m in _BRACES.finditer(tex):
        if m[0] == "{":
            depth += 1
        elif m[0] == "}":
            depth -= 1
    return depth


@dataclass
class RenderResult:
    body: str
    features: set[str]
    packages: set[str]
    diagnostics: list[Diagnostic]
    resources: dict[str, str]
    #: macro definitions found in formulas (hoisted to the preamble), in order
    definitions: list[Definition] = field(default_factory=list)
    #: widest matrix when above amsmath's MaxMatrixCols
    max_matrix_cols: int = 0
    #: every formula as emitted, for mathprobe (TeX's verdict on TeX programming)
    formulas: list[Formula] = field(default_factory=list)


@dataclass
class _Context:
    path: str
    unicode: bool
    numbered: bool
    top_level: int
    images: ImageResolver
    features: set[str] = field(default_factory=set)
    packages: set[str] = field(default_factory=set)
    diagnostics: list[Diagnostic] = field(default_factory=list)
    footnotes: dict[str, Token] = field(default_factory=dict)
    #: >0 while rendering inside a macro argument (footnote, table cell, heading)
    in_argument: int = 0
    list_depth: int = 0
    footnote_depth: int = 0
    line: int | None = None
    warned_chars: set[str] = field(default_factory=set)
    #: --safe: math through the whitelist, raw HTML as text, images only from allowed dirs
    safe: bool = False
    safe_macros: SafeMacros = field(default_factory=SafeMacros)
    #: heading anchors (kramdown and GitHub styles) -> LaTeX label
    anchors: dict[str, str] = field(default_factory=dict)
    #: user macros (site, front matter, the post's definitions) -> number of arguments
    macros: Mapping[str, int] = field(default_factory=dict)
    definitions: list[Definition] = field(default_factory=list)
    max_matrix_cols: int = 0
    #: single-dollar math, for Markdown text found inside raw HTML
    dollar_math: bool | str = True
    #: the site's address (``site.url`` + ``site.baseurl``): relative links are resolved
    #: against it; without it they lead nowhere in a PDF and stay text
    site_url: str = ""
    html_warned: set[str] = field(default_factory=set)
    formulas: list[Formula] = field(default_factory=list)
    #: the site's web math engine (mathtable.MATH_ENGINES)
    math_engine: str = "mathjax3"
    #: every display formula numbered (MathJax ``tags: "all"``): ``\\[..\\]`` is an equation
    number_all: bool = False
    #: whether TeX here has an optional package (``tex.packages.installed``, handed in)
    package_installed: Callable[[str], bool] | None = None
    #: the conversion's deadline and LaTeX cap (``budget.py``)
    budget: Budget = UNLIMITED
    #: where highlighted code is remembered (None: nowhere)
    memo: Memo | None = None
    #: False (md2tex check): code blocks are scanned for their diagnostics, not highlighted
    highlight_code: bool = True
    #: how the site reads Markdown (Markdown inside raw HTML is read the same way)
    flavour: Flavour = JEKYLL_DEFAULT


class LatexRenderer:
    """Renders a token list to LaTeX; dispatches on ``token["type"]``."""

    def __init__(self, ctx: _Context) -> None:
        self.ctx = ctx

    # ----------------------------------------------------------------------- plumbing
    def warn(self, code: str, message: str, line: int | None = None, **kw: Any) -> None:
        self.ctx.diagnostics.append(warning(code, message, line or self.ctx.line,
                                            path=self.ctx.path, **kw))

    def text(self, s: str) -> str:
        return escape_text(smart_typography(s), self.ctx.unicode, self._missing_char)

    def _missing_char(self, ch: str) -> None:
        if ch not in self.ctx.warned_chars:
            self.ctx.warned_chars.add(ch)
            self.warn("missing-character", f"character '{ch}' (U+{ord(ch):04X}) has no glyph "
                      f"under {'this engine' if self.ctx.unicode else 'pdflatex'}; "
                      "a placeholder is printed")

    def blocks(self, tokens: Sequence[Token]) -> str:
        parts: list[str] = []
        prev_type = ""
        for tok in tokens:
            kind = tok["type"]
            if kind in ("blank_line", "footnotes"):
                continue
            line = tok.get("line")
            # plugin containers (definition lists) restart their lines; keep markers monotonic
            if line is not None and (self.ctx.line is None or line >= self.ctx.line):
                self.ctx.line = line
            else:
                line = None
            self.ctx.budget.check(self.ctx.line)
            out = self.block(tok)
            if not out:
                continue
            marker = f"%L{line}\n" if line and not self.ctx.in_argument else ""
            if kind == "math_block" and prev_type in ("paragraph", "block_text") and parts:
                parts[-1] += "\n" + marker + out
            else:
                parts.append(marker + out)
            prev_type = kind
        # inside an argument (a footnote's text comes from further down the post) no line
        # breaks: the lines after it must keep mapping to their own Markdown lines
        sep = " \\par " if self.ctx.in_argument else "\n\n"
        return sep.join(parts)

    def block(self, tok: Token) -> str:
        method: Callable[[Token], str] | None = getattr(self, "b_" + tok["type"], None)
        if method is None:
            self.warn("unsupported-block", f"Markdown block '{tok['type']}' is not supported; "
                      "its text is kept")
            return self.inline(tok.get("children", [])) if "children" in tok else ""
        return method(tok)

    def inline(self, tokens: Iterable[Token]) -> str:
        out: list[str] = []
        tokens, _toc = strip_ials(list(tokens))
        tokens = _soft_beside_display(tokens)
        if not self.ctx.safe:
            tokens = HtmlRenderer.without_hidden_content(tokens)
        #: open inline HTML tags (paired here so that braces always balance)
        html_stack: list[tuple[str, str]] = []
        ink, read = False, 0  # is there text before this point? (out[:read] was looked at)
        for tok in tokens:
            if tok["type"] == "inline_html" and not self.ctx.safe \
                    and not tok.get("raw", "").startswith("<!--"):
                tex = HtmlRenderer(self).inline_tag(tok.get("raw", ""), html_stack)
                if tex.startswith("\\newline") and not ink:
                    ink, read = any(part.strip() for part in out[read:]), len(out)
                    if not ink:
                        tex = ""  # <br> first in a paragraph: TeX has no line to end
                out.append(tex)
                continue
            method: Callable[[Token], str] | None = getattr(self, "i_" + tok["type"], None)
            if method is None:
                out.append(self.inline(tok.get("children", [])) if "children" in tok
                           else self.text(tok.get("raw", "")))
            else:
                out.append(method(tok))
            self.ctx.budget.spend(len(out[-1]), self.ctx.line)
        out.append(HtmlRenderer.close_all(html_stack))
        return "".join(out)

    def plain(self, tokens: Iterable[Token]) -> str:
        """Text content only, for PDF bookmarks."""
        return pdf_string(self._plain_text(tokens))

    def _plain_text(self, tokens: Iterable[Token]) -> str:
        out: list[str] = []
        for tok in tokens:
            if tok["type"] == "math":
                out.append(math_to_unicode(tok["raw"]))
            elif "children" in tok:
                out.append(self._plain_text(tok["children"]))
            else:
                out.append(tok.get("raw", ""))
        return "".join(out)

    # ------------------------------------------------------------------------- blocks
    def b_paragraph(self, tok: Token) -> str:
        children, toc = strip_ials(tok["children"])
        toc_tex = ""
        if toc and not self.ctx.in_argument and not self.ctx.list_depth:
            self.ctx.features.add("toc")
            toc_tex = "\\tableofcontents"
        image = self._lone_image(children)
        if image is not None:
            return "\n".join(p for p in (self.image(image, standalone=True), toc_tex) if p)
        return "\n".join(p for p in (self.inline(children).strip(), toc_tex) if p)

    b_block_text = b_paragraph

    def _lone_image(self, children: Sequence[Token]) -> Token | None:
        meaningful = [c for c in children
                      if not (c["type"] == "text" and not c.get("raw", "").strip())
                      and c["type"] != "softbreak"]
        if len(meaningful) == 1 and meaningful[0]["type"] == "image":
            return meaningful[0]
        return None

    def b_heading(self, tok: Token) -> str:
        level = tok["attrs"]["level"]
        content = self.inline_in_argument(tok["children"]).strip()
        if self.ctx.in_argument or self.ctx.list_depth:
            return f"\\par\\textbf{{{content}}}\\par"
        index = min(max(level - self.ctx.top_level, 0), len(_SECTIONING) - 1)
        plain = self.plain(tok["children"])
        if plain != content:
            content = f"\\texorpdfstring{{{content}}}{{{plain}}}"
        label = tok.get("_label")
        target = f"\\label{{{label}}}" if label else ""
        return f"\\{_SECTIONING[index]}{{{content}}}{target}"

    def inline_in_argument(self, tokens: Sequence[Token]) -> str:
        self.ctx.in_argument += 1
        try:
            return self.inline(tokens)
        finally:
            self.ctx.in_argument -= 1

    def b_thematic_break(self, tok: Token) -> str:
        return "\\mdrule"

    def b_block_code(self, tok: Token) -> str:
        info = (tok.get("attrs") or {}).get("info", "") or ""
        words = info.split()
        lang = words[0] if words else ""
        lang = re.sub(r"^\{?\.?", "", lang).rstrip("}")
        linenos = "linenos" in words[1:]
        code = tok.get("raw", "")
        if lang and not hl.known_language(lang, self.ctx.memo):
            self.warn("code-language", f"no highlighter for language '{lang}'; shown as "
                      "plain text")
        if self.ctx.in_argument:
            lines = [escape_code(line, self.ctx.unicode) for line in code.rstrip("\n").split("\n")]
            return "{\\ttfamily\\small " + "\\\\\n".join(lines) + "}"
        self.ctx.features.add("code")
        return hl.highlight(code, lang, linenos, unicode=self.ctx.unicode,
                            missing=self._missing_char, memo=self.ctx.memo,
                            scan_only=not self.ctx.highlight_code)

    def b_block_quote(self, tok: Token) -> str:
        self.ctx.features.add("quote")
        inner = self.nested(tok["children"])
        return f"\\begin{{quote}}\n{inner}\n\\end{{quote}}"

    def nested(self, tokens: Sequence[Token]) -> str:
        self.ctx.list_depth += 1
        if self.ctx.list_depth > 3:
            self.ctx.features.add("deep_lists")
        try:
            return self.blocks(tokens)
        finally:
            self.ctx.list_depth -= 1

    def b_list(self, tok: Token) -> str:
        if is_toc_list(tok):
            if self.ctx.in_argument or self.ctx.list_depth:
                return ""
            self.ctx.features.add("toc")
            return "\\tableofcontents"
        attrs = tok.get("attrs", {})
        ordered = attrs.get("ordered", False)
        env = "enumerate" if ordered else "itemize"
        opts: list[str] = []
        if tok.get("tight", True):
            opts.append("noitemsep")
        start = attrs.get("start")
        if ordered and start is not None and start != 1:
            opts.append(f"start={int(start)}")
        self.ctx.features.add("lists")
        items: list[str] = []
        self.ctx.list_depth += 1
        if self.ctx.list_depth > 3:
            self.ctx.features.add("deep_lists")
        try:
            for item in tok["children"]:
                items.append(self.list_item(item))
        finally:
            self.ctx.list_depth -= 1
        opt = f"[{','.join(opts)}]" if opts else ""
        body = "\n".join(items)
        return f"\\begin{{{env}}}{opt}\n{body}\n\\end{{{env}}}"

    def list_item(self, item: Token) -> str:
        label = ""
        if item["type"] == "task_list_item":
            self.ctx.packages.add("amssymb")
            label = "[$\\boxtimes$]" if item.get("attrs", {}).get("checked") else "[$\\square$]"
        body = self.blocks(item.get("children", []))
        return f"\\item{label}{{}} {body}" if body else f"\\item{label}{{}}"

    def b_math_block(self, tok: Token) -> str:
        return self.math(tok["raw"], display=True, line=tok.get("line"), column=1,
                         opener=len(tok.get("attrs", {}).get("delim", "")), source=tok["raw"])

    def b_block_html(self, tok: Token) -> str:
        raw = strip_comments(tok.get("raw", ""))
        if not raw.strip():
            return ""
        if not self.ctx.safe:
            return HtmlRenderer(self).block(raw)
        text = _HTML_TAG.sub("", _BR.sub("\n", raw)).strip()
        self.warn("raw-html", "raw HTML block is not typeset; its text is kept",
                  tok.get("line"))
        # its images still count: each goes through the rules for the post's own images
        images = [self.image({"attrs": {"url": img.attrs["src"]},
                              "children": [{"raw": img.attrs.get("alt", "")}]},
                             standalone=True)
                  for img in parse_html(raw).find_all("img") if img.attrs.get("src")]
        return "\n\n".join([*images, self.text(text)] if text else images)

    def b_html_element(self, tok: Token) -> str:
        """Block HTML whose content is Markdown (kramdown's ``markdown="1"``): the element as
        the HTML renderer shows it, the content typeset where its text would go."""
        attrs = tok.get("attrs", {})
        if self.ctx.safe:
            return "\n\n".join(p for p in (
                self.b_block_html({"raw": attrs.get("open", "")}), self.blocks(tok["children"]),
                self.b_block_html({"raw": attrs.get("close", "")})) if p.strip())
        shell = HtmlRenderer(self).block(attrs.get("open", "") + _SLOT + attrs.get("close", ""))
        at = shell.find(_SLOT)
        children = [c for c in tok["children"] if c["type"] != "blank_line"]
        if at >= 0 and shell.count(_SLOT) == 1 and len(children) == 1 \
                and children[0]["type"] == "paragraph":
            # one paragraph (markdown="span"): text, at home in an argument too (a heading)
            inner = self.inline_in_argument(children[0]["children"]) \
                if _brace_depth(shell[:at]) else self.inline(children[0]["children"])
            return shell[:at] + inner.strip() + shell[at + len(_SLOT):]
        if at >= 0 and shell.count(_SLOT) == 1 and _brace_depth(shell[:at]) == 0:
            # inside an environment (a box, a quote) headings are bold lines, as in a quote
            inner = (self.nested if "\\begin{" in shell[:at] else self.blocks)(tok["children"])
            return shell[:at] + inner + shell[at + len(_SLOT):]
        inner = self.blocks(tok["children"])
        # the content's place is inside an argument (a heading, a caption), where paragraphs
        # cannot go, or the element shows no text: the element's parts, then the content
        parts = (HtmlRenderer(self).block(attrs.get("open", "")), inner,
                 HtmlRenderer(self).block(attrs.get("close", "")))
        return "\n\n".join(p for p in parts if p.strip())

    def b_table(self, tok: Token) -> str:
        self.ctx.features.add("table")
        head = next((c for c in tok["children"] if c["type"] == "table_head"), None)
        body = next((c for c in tok["children"] if c["type"] == "table_body"), None)
        head_cells = head["children"] if head else []
        body_rows = body["children"] if body else []
        rows = [r["children"] for r in body_rows]
        ncols = max([len(head_cells), *(len(r) for r in rows), 1])
        aligns = [(c.get("attrs") or {}).get("align")
                  for c in head_cells or (rows[0] if rows else [])] + [None] * ncols
        widths = [0] * ncols
        for row in [head_cells, *rows]:
            for i, cell in enumerate(row[:ncols]):
                widths[i] = max(widths[i], len(self.plain(cell.get("children", []))))
        spec = tables.column_spec(aligns[:ncols], widths)
        # a marker before each row keeps TeX errors in a cell on their own Markdown line
        # (rows carry their line; else header, delimiter and body rows follow line by line)
        line = tok.get("line") if not self.ctx.in_argument else None

        def row_at(row: Token | None, offset: int, cells: Sequence[Token],
                   bold: bool = False) -> list[str]:
            """The row after its marker; its cells' diagnostics at the row's own line."""
            if not line:
                return [self.table_row(cells, ncols, bold)]
            at = (row or {}).get("line") or line + offset
            table_line, self.ctx.line = self.ctx.line, at
            try:
                return [f"%L{at}", self.table_row(cells, ncols, bold)]
            finally:
                self.ctx.line = table_line

        head_lines = row_at(head, 0, head_cells, bold=True) if head_cells else None
        body_lines = [part for i, r in enumerate(body_rows)
                      for part in row_at(r, 2 + i, r["children"])]
        return tables.longtable(spec, head_lines, body_lines)

    def table_row(self, cells: Sequence[Token], ncols: int, bold: bool = False) -> str:
        out = []
        for cell in list(cells[:ncols]) + [{"children": []}] * (ncols - len(cells)):
            text = self.inline_in_argument(cell.get("children", [])).strip()
            out.append(f"\\textbf{{{text}}}" if bold and text else text)
        return tables.row(out)

    def b_def_list(self, tok: Token) -> str:
        items: list[str] = []
        for child in tok["children"]:
            if child["type"] == "def_list_head":
                items.append(f"\\item[{self.inline_in_argument(child['children'])}]")
            else:
                previous_was_definition = bool(items) and not items[-1].startswith("\\item[")
                prefix = "\\par\n" if previous_was_definition else ""
                items.append(prefix + self.nested(child.get("children", [])))
        return "\\begin{description}\n" + "\n".join(items) + "\n\\end{description}"

    # ------------------------------------------------------------------------- inline
    def i_text(self, tok: Token) -> str:
        return self.text(tok["raw"])

    def i_emphasis(self, tok: Token) -> str:
        return f"\\emph{{{self.inline(tok['children'])}}}"

    def i_strong(self, tok: Token) -> str:
        return f"\\textbf{{{self.inline(tok['children'])}}}"

    def i_strikethrough(self, tok: Token) -> str:
        self.ctx.features.add("strike")
        return f"\\sout{{{self.inline(tok['children'])}}}"

    def i_codespan(self, tok: Token) -> str:
        return f"\\mdcode{{{escape_code(tok['raw'], self.ctx.unicode, self._missing_char)}}}"

    def i_linebreak(self, tok: Token) -> str:
        return "\\newline\n" if not self.ctx.in_argument else " "

    def i_softbreak(self, tok: Token) -> str:
        if tok.get("attrs", {}).get("hard") and not self.ctx.in_argument:
            return "\\newline\n"  # kramdown's hard_wrap
        return "\n" if not self.ctx.in_argument else " "

    def i_inline_html(self, tok: Token) -> str:
        raw = tok.get("raw", "")
        if self.ctx.safe:
            return self.text(raw)
        if raw.startswith("<!--"):
            return ""
        if _BR.fullmatch(raw.strip()):
            return self.i_linebreak(tok)
        self.warn("raw-html", f"raw HTML {raw.strip()[:40]!r} is not typeset; its text is kept")
        return ""

    def i_link(self, tok: Token) -> str:
        url = tok.get("attrs", {}).get("url", "")
        text = self.inline(tok["children"])
        plain_text = "".join(c.get("raw", "") for c in tok["children"])
        if url.startswith("#"):
            label = self.ctx.anchors.get(url[1:])
            return f"\\hyperref[{label}]{{{text}}}" if label else text
        if url_scheme_allowed(url) and not urllib.parse.urlsplit(url.strip()).scheme:
            if not self.ctx.site_url or url.startswith("//"):
                # a relative link leads nowhere in a PDF (hyperref would make it a link
                # that opens a local file)
                return text
            # Jekyll's rules: "/x" is from the domain's root, "x" from the site's base URL
            url = urllib.parse.urljoin(self.ctx.site_url.rstrip("/") + "/", url)
        if not url_scheme_allowed(url):
            self.warn("link-scheme", f"link to {url[:60]!r} is not a web or mail link; "
                      "only its text is kept")
            return text
        self.ctx.features.add("links")
        if plain_text.strip() == url.strip() or plain_text == url.removeprefix("mailto:"):
            return f"\\url{{{escape_url(url)}}}"
        return f"\\href{{{escape_url(url)}}}{{{text}}}"

    def i_image(self, tok: Token) -> str:
        return self.image(tok, standalone=False)

    def image(self, tok: Token, standalone: bool) -> str:
        attrs = tok.get("attrs", {})
        src = attrs.get("url", "")
        alt = "".join(c.get("raw", "") for c in tok.get("children", []))
        found = self.ctx.images.resolve(src)
        if found.name is not None and self.ctx.safe and not image_allowed(
                Path(self.ctx.images.origins[found.name]), self.ctx.images.allowed):
            del self.ctx.images.resources[found.name]
            found = Found(None, ("image-outside", f"image {src[:60]!r} is outside the post's "
                                 "folder and the resource path; a placeholder is shown"))
        if found.diagnostic is not None:
            self.warn(found.diagnostic[0], found.diagnostic[1])
        if found.name is None:
            self.ctx.features.add("links")
            box = (f"\\mdimageplaceholder{{{self.text(alt or 'image')}}}"
                   f"{{\\nolinkurl{{{escape_url(src)}}}}}")
        else:
            self.ctx.features.add("graphics")
            width = attrs.get("width_hint")
            size = f"[{width:g}]" if isinstance(width, float) else ""
            box = f"\\mdincludegraphics{size}{{{found.name}}}"
        if standalone and not self.ctx.in_argument:
            title = attrs.get("title")
            caption = f"\\par\\mdcaption{{{self.text(title)}}}" if title else ""
            return f"\\begin{{center}}\n{box}{caption}\n\\end{{center}}"
        return box

    def i_footnote_ref(self, tok: Token) -> str:
        key = tok.get("raw", "")
        item = self.ctx.footnotes.get(key)
        if item is None or self.ctx.footnote_depth:
            return f"\\textsuperscript{{{self.text(key)}}}"
        self.ctx.footnote_depth += 1
        self.ctx.in_argument += 1
        line = self.ctx.line  # the note's lines are its own; the text after it is here
        try:
            body = self.blocks(item.get("children", []))
        finally:
            self.ctx.footnote_depth -= 1
            self.ctx.in_argument -= 1
            self.ctx.line = line
        return f"\\footnote{{{body.strip()}}}"

    def i_math_unclosed(self, tok: Token) -> str:
        """A ``$$`` whose paragraph ends before it closes: text, as on the web page."""
        attrs = tok.get("attrs", {})
        line = self.ctx.line + attrs.get("line_offset", 0) if self.ctx.line else None
        self.warn("math-unclosed", "'$$' is never closed in its paragraph (a list, heading "
                  "or blank line ends the paragraph first): printed as text, as the web page "
                  "shows it", line, column=attrs.get("column"))
        return self.text(tok["raw"])

    def i_math_ref(self, tok: Token) -> str:
        command = tok.get("attrs", {}).get("command", "ref")
        label = re.sub(r"[^\w:.\-/]", "", tok["raw"])
        return f"\\{command}{{{label}}}"

    def i_math(self, tok: Token) -> str:
        attrs = tok.get("attrs", {})
        line = self.ctx.line + attrs.get("line_offset", 0) if self.ctx.line else None
        return self.math(tok["raw"], display=attrs.get("display", False), line=line,
                         column=attrs.get("column"), opener=len(attrs.get("delim", "")),
                         source=attrs.get("source", tok["raw"]))

    def math(self, raw: str, display: bool, line: int | None, column: int | None, opener: int,
             source: str) -> str:
        self.ctx.budget.check(line)
        if self.ctx.safe:
            try:
                raw = check_math(raw, self.ctx.safe_macros)
            except Unsafe as exc:
                self.ctx.diagnostics.append(error(
                    "unsafe-math", f"--safe: {exc.message}; the formula is shown as code",
                    line, column=column, path=self.ctx.path))
                return f"\\mdbadmath{{{escape_code(source.strip(), self.ctx.unicode)}}}"
            if not raw.strip():
                return ""
        from md2tex.math import check as mc

        def check(macros: Mapping[str, int]) -> mc.MathResult:
            return mc.prepare(raw, display=display, path=self.ctx.path, line=line,
                              column=column, opener_len=opener, unicode=self.ctx.unicode,
                              numbered=self.ctx.numbered, macros=macros,
                              engine=self.ctx.math_engine,
                              package_installed=self.ctx.package_installed)

        result = check(self.ctx.macros)
        block = display and not self.ctx.in_argument
        # fallback_latex's arguments: its LaTeX is made only for a formula TeX rejects
        fallback = (source, block, self.ctx.unicode,
                    source.strip().count("\n") + (2 if block else 0))
        if not result.ok:
            # never refuse the post for one formula: MathJax's noundefined when only names
            # are unknown, else the source in red (see mathcheck.fallback_latex)
            names = mc.undefined_names(result.diagnostics)
            retry = check({**self.ctx.macros, **dict.fromkeys(names, 0)}) if names else None
            if retry is None or not retry.ok:
                self.ctx.diagnostics.extend(mc.shown_as_error(result.diagnostics))
                return mc.fallback_latex(*fallback)
            retry.latex = mc.mark_undefined(retry.latex, names)
            retry.diagnostics[:0] = mc.shown_as_error(
                [d for d in result.diagnostics if d.severity.value == "error"],
                mc.SHOWN_UNDEFINED)
            result = retry
        self.ctx.diagnostics.extend(result.diagnostics)
        self.ctx.packages |= result.packages
        self.ctx.definitions.extend(result.definitions)
        self.ctx.max_matrix_cols = max(self.ctx.max_matrix_cols, result.max_matrix_cols)
        if result.environment:
            out = result.latex
        elif display and not self.ctx.in_argument:
            # numbered: every display under tags "all"; a labelled one whose label a
            # reference needs (an unnumbered \\[..\\] would print "()" for \\eqref)
            numbered = self.ctx.number_all or (self.ctx.numbered and _LABEL.search(
                result.latex) is not None and _TAG.search(result.latex) is None)
            out = (f"\\begin{{equation}}\n{result.latex}\n\\end{{equation}}"
                   if numbered else f"\\[\n{result.latex}\n\\]")
        else:
            out = f"${result.latex}$"
        unverified = next((d for d in result.diagnostics if d.code == "math-unverified"),
                          None) if result.needs_tex else None
        start = len(raw) - len(raw.lstrip())
        where = mc.formula_location(raw, line, column, opener, start)
        self.ctx.formulas.append(Formula(out, where[0], where[1], unverified, raw, fallback))
        return out


def _display(tok: Token) -> bool:
    return tok["type"] == "math" and bool(tok.get("attrs", {}).get("display"))


def _soft_beside_display(tokens: list[Token]) -> list[Token]:
    """A hard_wrap line break next to a display formula is a soft one: the display breaks
    the line already (a forced break there only makes an empty line)."""
    out = tokens
    for i, tok in enumerate(tokens):
        if tok["type"] == "softbreak" and tok.get("attrs", {}).get("hard") and (
                (i > 0 and _display(tokens[i - 1]))
                or (i + 1 < len(tokens) and _display(tokens[i + 1]))):
            out = out if out is not tokens else list(tokens)
            out[i] = {"type": "softbreak"}
    return out


def collect_footnotes(tokens: Sequence[Token]) -> dict[str, Token]:
    notes: dict[str, Token] = {}
    for tok in tokens:
        if tok["type"] == "footnotes":
            for item in tok.get("children", []):
                notes[item.get("attrs", {}).get("key", "")] = item
    return notes


def _slugs(text: str) -> set[str]:
    """The ids kramdown and GitHub give a heading, so ``[x](#id)`` links can find it."""
    lowered = text.strip().lower()
    kramdown = re.sub(r"^[^a-z]+", "", re.sub(r"[^a-z0-9 -]", "", lowered)).replace(" ", "-")
    github = re.sub(r"[^\w\- ]", "", lowered).replace(" ", "-")
    return {s for s in (kramdown, github) if s}


def label_headings(tokens: Sequence[Token]) -> dict[str, str]:
    """Give top-level headings a LaTeX label; map their web anchors to it."""
    wanted = set(_internal_links(tokens))
    anchors: dict[str, str] = {}
    if not wanted:
        return anchors  # labels cost a second TeX run; only add them when linked to
    for number, tok in enumerate(t for t in tokens if t["type"] == "heading"):
        text = "".join(c.get("raw", "") for c in tok.get("children", []))
        slugs = _slugs(text) & wanted
        if slugs:
            label = f"md:h{number + 1}"
            tok["_label"] = label
            for slug in slugs:
                anchors.setdefault(slug, label)
    return anchors


def _internal_links(tokens: Iterable[Token]) -> Iterable[str]:
    for tok in tokens:
        if tok["type"] == "link":
            url = tok.get("attrs", {}).get("url", "")
            if url.startswith("#"):
                yield url[1:]
        if "children" in tok and isinstance(tok["children"], list):
            yield from _internal_links(tok["children"])


def top_heading_level(tokens: Sequence[Token]) -> int:
    levels = [t["attrs"]["level"] for t in tokens if t["type"] == "heading"]
    return min(levels) if levels else 2


def render_body(tokens: Sequence[Token], *, path: str, unicode: bool, numbered: bool,
                images: ImageResolver, safe: bool = False,
                safe_macros: SafeMacros | None = None,
                macros: Mapping[str, int] | None = None,
                dollar_math: bool | str = True, site_url: str = "",
                math_engine: str = "mathjax3", number_all: bool = False,
                package_installed: Callable[[str], bool] | None = None,
                budget: Budget = UNLIMITED, memo: Memo | None = None,
                highlight_code: bool = True, flavour: Flavour = JEKYLL_DEFAULT
                ) -> RenderResult:
    """Render a whole post's tokens."""
    ctx = _Context(path=path, unicode=unicode, numbered=numbered,
                   top_level=top_heading_level(tokens), images=images,
                   footnotes=collect_footnotes(tokens), anchors=label_headings(tokens),
                   safe=safe, safe_macros=safe_macros or SafeMacros(), macros=macros or {},
                   dollar_math=dollar_math, site_url=site_url, math_engine=math_engine,
                   number_all=number_all, package_installed=package_installed,
                   budget=budget, memo=memo, highlight_code=highlight_code,
                   flavour=flavour)
    body = LatexRenderer(ctx).blocks(tokens)
    return RenderResult(body, ctx.features, ctx.packages, ctx.diagnostics, images.resources,
                        ctx.definitions, ctx.max_matrix_cols, ctx.formulas)
