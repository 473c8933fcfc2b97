"""mistune tokens to LaTeX body text: one method per token type, recording Features.

Content only; the template decides layout. Every block starts with a ``%L<line>`` marker so a
TeX error can be traced back to its Markdown line.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from . import highlight as hl
from .diagnostics import Diagnostic, warning
from .escape import escape_code, escape_text, escape_url, smart_quotes, url_scheme_allowed
from .images import ImageResolver
from .mathcheck import prepare

Token = dict[str, Any]

_SECTIONING = ["section", "subsection", "subsubsection", "paragraph", "subparagraph",
               "subparagraph"]
MAX_LIST_DEPTH = 12
_HTML_COMMENT = re.compile(r"<!--.*?-->", re.S)
_HTML_TAG = re.compile(r"</?[A-Za-z][^<>]*>|<!--|-->")
_BR = re.compile(r"<br\s*/?>", re.I)


@dataclass
class RenderResult:
    body: str
    features: set[str]
    packages: set[str]
    diagnostics: list[Diagnostic]
    resources: dict[str, str]


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


class LatexRenderer:
    """Renders a token list to LaTeX; dispatches on ``token["type"]``."""

    def __init__(self, ctx: _Context) -> None:
        self.ctx = ctx

    # ----------------------------------------------------------------------- plumbing
    def warn(self, code: str, message: str, line: int | None = None, **kw: Any) -> None:
        self.ctx.diagnostics.append(warning(code, message, line or self.ctx.line,
                                            path=self.ctx.path, **kw))

    def text(self, s: str) -> str:
        return escape_text(smart_quotes(s), self.ctx.unicode, self._missing_char)

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
            if tok.get("line") is not None:
                self.ctx.line = tok["line"]
            out = self.block(tok)
            if not out:
                continue
            marker = f"%L{tok['line']}\n" if tok.get("line") and not self.ctx.in_argument \
                else ""
            if kind == "math_block" and prev_type in ("paragraph", "block_text") and parts:
                parts[-1] += "\n" + marker + out
            else:
                parts.append(marker + out)
            prev_type = kind
        sep = "\n\\par\n" if self.ctx.in_argument else "\n\n"
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
        for tok in tokens:
            method: Callable[[Token], str] | None = getattr(self, "i_" + tok["type"], None)
            if method is None:
                out.append(self.inline(tok.get("children", [])) if "children" in tok
                           else self.text(tok.get("raw", "")))
            else:
                out.append(method(tok))
        return "".join(out)

    def plain(self, tokens: Iterable[Token]) -> str:
        """Text content only, for PDF bookmarks."""
        out: list[str] = []
        for tok in tokens:
            if tok["type"] == "math":
                out.append(tok["raw"])
            elif "children" in tok:
                out.append(self.plain(tok["children"]))
            else:
                out.append(tok.get("raw", ""))
        return escape_text(" ".join("".join(out).split()), self.ctx.unicode)

    # ------------------------------------------------------------------------- blocks
    def b_paragraph(self, tok: Token) -> str:
        children = tok["children"]
        image = self._lone_image(children)
        if image is not None:
            return self.image(image, standalone=True)
        return self.inline(children).strip()

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
        return f"\\{_SECTIONING[index]}{{{content}}}"

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
        if lang and not hl.known_language(lang):
            self.warn("code-language", f"no highlighter for language '{lang}'; shown as "
                      "plain text")
        if self.ctx.in_argument:
            lines = [escape_code(line, self.ctx.unicode) for line in code.rstrip("\n").split("\n")]
            return "{\\ttfamily\\small " + "\\\\\n".join(lines) + "}"
        self.ctx.features.add("code")
        return hl.highlight(code, lang, linenos)

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
        raw = _HTML_COMMENT.sub("", tok.get("raw", ""))
        if not raw.strip():
            return ""
        text = _HTML_TAG.sub("", _BR.sub("\n", raw)).strip()
        self.warn("raw-html", "raw HTML block is not typeset; its text is kept",
                  tok.get("line"))
        return self.text(text)

    def b_table(self, tok: Token) -> str:
        self.ctx.features.add("table")
        head = next((c for c in tok["children"] if c["type"] == "table_head"), None)
        body = next((c for c in tok["children"] if c["type"] == "table_body"), None)
        head_cells = head["children"] if head else []
        rows = [r["children"] for r in body["children"]] if body else []
        ncols = len(head_cells) or max((len(r) for r in rows), default=1)
        aligns = [(c.get("attrs") or {}).get("align") for c in head_cells] + [None] * ncols
        widths = [0] * ncols
        for row in [head_cells, *rows]:
            for i, cell in enumerate(row[:ncols]):
                widths[i] = max(widths[i], len(self.plain(cell.get("children", []))))
        spec = _column_spec(aligns[:ncols], widths)
        lines = [f"\\begin{{longtable}}[l]{{@{{}}{spec}@{{}}}}", "\\toprule"]
        head_row = self.table_row(head_cells, ncols, bold=True)
        lines += [head_row, "\\midrule", "\\endhead", "\\bottomrule", "\\endlastfoot"]
        lines += [self.table_row(r, ncols) for r in rows]
        lines.append("\\end{longtable}")
        return "\n".join(lines)

    def table_row(self, cells: Sequence[Token], ncols: int, bold: bool = False) -> str:
        out = []
        for cell in list(cells[:ncols]) + [{"children": []}] * (ncols - len(cells)):
            text = self.inline_in_argument(cell.get("children", [])).strip()
            out.append(f"\\textbf{{{text}}}" if bold and text else text)
        return " & ".join(out) + " \\\\"

    def b_def_list(self, tok: Token) -> str:
        items: list[str] = []
        for child in tok["children"]:
            if child["type"] == "def_list_head":
                items.append(f"\\item[{self.inline_in_argument(child['children'])}]")
            else:
                items.append(self.nested(child.get("children", [])) if "children" in child
                             and child["children"] and "type" in child["children"][0]
                             and child["children"][0]["type"] in ("paragraph", "block_text")
                             else self.inline(child.get("children", [])))
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
        return "\n" if not self.ctx.in_argument else " "

    def i_inline_html(self, tok: Token) -> str:
        raw = tok.get("raw", "")
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
            return text
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
        if found.diagnostic is not None:
            self.warn(found.diagnostic[0], found.diagnostic[1])
        if found.name is None:
            self.ctx.features.add("links")
            box = (f"\\mdimageplaceholder{{{self.text(alt or 'image')}}}"
                   f"{{\\nolinkurl{{{escape_url(src)}}}}}")
        else:
            self.ctx.features.add("graphics")
            box = f"\\mdincludegraphics{{{found.name}}}"
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
        try:
            body = self.blocks(item.get("children", []))
        finally:
            self.ctx.footnote_depth -= 1
            self.ctx.in_argument -= 1
        return f"\\footnote{{{body.strip()}}}"

    def i_math(self, tok: Token) -> str:
        attrs = tok.get("attrs", {})
        line = self.ctx.line + attrs.get("line_offset", 0) if self.ctx.line else None
        return self.math(tok["raw"], display=attrs.get("display", False), line=line,
                         column=attrs.get("column"), opener=len(attrs.get("delim", "")),
                         source=attrs.get("source", tok["raw"]))

    def math(self, raw: str, display: bool, line: int | None, column: int | None, opener: int,
             source: str) -> str:
        result = prepare(raw, display=display, path=self.ctx.path, line=line, column=column,
                         opener_len=opener, unicode=self.ctx.unicode,
                         numbered=self.ctx.numbered)
        self.ctx.diagnostics.extend(result.diagnostics)
        self.ctx.packages |= result.packages
        if any(d.severity.value == "error" for d in result.diagnostics):
            # keep the document compilable: the formula is shown as code
            return f"\\mdbadmath{{{escape_code(source.strip(), self.ctx.unicode)}}}"
        if result.environment:
            return result.latex
        if display and not self.ctx.in_argument:
            return f"\\[\n{result.latex}\n\\]"
        return f"${result.latex}$"


def _column_spec(aligns: Sequence[str | None], widths: Sequence[int]) -> str:
    letters = {"left": "l", "center": "c", "right": "r", None: "l"}
    total = sum(widths)
    if total <= 70:
        return "".join(letters[a] for a in aligns)
    ragged = {"left": "\\raggedright", "center": "\\centering", "right": "\\raggedleft",
              None: "\\raggedright"}
    cols = []
    n = len(widths)
    for align, w in zip(aligns, widths, strict=True):
        share = max(w / total, 0.5 / n) if total else 1 / n
        frac = share * 0.97 / max(1.0, sum(max(x / total, 0.5 / n) for x in widths))
        cols.append(f">{{{ragged[align]}\\arraybackslash}}p{{{frac:.3f}\\linewidth}}")
    return "".join(cols)


def collect_footnotes(tokens: Sequence[Token]) -> dict[str, Token]:
    notes: dict[str, Token] = {}
    for tok in tokens:
        if tok["type"] == "footnotes":
            for item in tok.get("children", []):
                notes[item.get("attrs", {}).get("key", "")] = item
    return notes


def top_heading_level(tokens: Sequence[Token]) -> int:
    levels = [t["attrs"]["level"] for t in tokens if t["type"] == "heading"]
    return min(levels) if levels else 2


def render_body(tokens: Sequence[Token], *, path: str, unicode: bool, numbered: bool,
                images: ImageResolver) -> RenderResult:
    """Render a whole post's tokens."""
    ctx = _Context(path=path, unicode=unicode, numbered=numbered,
                   top_level=top_heading_level(tokens), images=images,
                   footnotes=collect_footnotes(tokens))
    body = LatexRenderer(ctx).blocks(tokens)
    return RenderResult(body, ctx.features, ctx.packages, ctx.diagnostics, images.resources)
