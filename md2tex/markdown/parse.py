"""Markdown to mistune tokens, with our math rules and a Markdown line on every block token.

Two parsers: kramdown's reading (Jekyll's default: ``kramdown.py``'s rules swapped in) and
CommonMark's, chosen by the post's ``Flavour``."""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from typing import Any

import mistune
from mistune import list_parser as _list_parser
from mistune._inline import emphasis as _emphasis
from mistune.block_parser import BlockParser
from mistune.core import BlockState, InlineState
from mistune.helpers import parse_link as parse_link_target
from mistune.helpers import unescape_char
from mistune.inline_parser import InlineParser
from mistune.plugins import footnotes as _footnotes
from mistune.plugins import import_plugin
from mistune.util import escape_url, expand_tab, unikey

from md2tex.budget import UNLIMITED, Budget
from md2tex.markdown import kramdown
from md2tex.markdown.delimiters import line_counter, math_plugin
from md2tex.markdown.kramdown import JEKYLL_DEFAULT, Flavour
from md2tex.mathengine import DEFAULT_ENGINE

#: deepest list/quote nesting we parse as structure; deeper input stays text (TeX's limit)
MAX_NESTING = 12
#: white space inside a kramdown link address, hidden from mistune's CommonMark link rule
_HIDDEN_SPACE = re.compile(r"\s")


class LineState(BlockState):
    """A BlockState that knows which Markdown line its source starts on.

    mistune keeps no positions; we stamp ``token["line"]`` when a token is appended, from the
    start of the block being parsed. A child state (list item, block quote) starts where the
    container's next child begins: children of one container follow each other line by line.
    """

    line_base: int
    block_start: int
    pending_child_line: int | None

    def __init__(self, parent: Any | None = None) -> None:
        super().__init__(parent)
        self.line_base = 1
        self.block_start = 0
        self.pending_child_line = None

    def line_at(self, pos: int) -> int:
        return self.line_base + line_counter(self, self.src).line(pos)

    def child_state(self, src: str, lazy_line_starts: set[int] | None = None) -> BlockState:
        child = super().child_state(src, lazy_line_starts)
        assert isinstance(child, LineState)
        start = self.pending_child_line
        self.pending_child_line = None
        child.line_base = self.line_at(self.block_start) if start is None else start
        return child

    def _stamp(self, token: dict[str, Any]) -> None:
        if "line" not in token:
            token["line"] = self.line_at(self.block_start)

    def append_token(self, token: dict[str, Any]) -> None:
        self._stamp(token)
        super().append_token(token)

    def prepend_token(self, token: dict[str, Any]) -> None:
        self._stamp(token)
        super().prepend_token(token)

    def add_paragraph(self, text: str) -> None:
        last = self.last_token()
        if last and last["type"] == "paragraph":
            last["text"] += text
        else:
            self.tokens.append({"type": "paragraph", "text": text,
                                "line": self.line_at(self.cursor)})


class LineBlockParser(BlockParser):
    """Records where each block starts, so LineState can stamp lines."""

    state_cls = LineState

    def parse_method(self, m: re.Match[str], state: BlockState) -> int | None:
        assert isinstance(state, LineState)
        limit: Budget = state.env.get("budget", UNLIMITED)
        if limit.expired():
            limit.check(state.line_at(m.start()))
        saved = state.block_start, state.pending_child_line
        state.block_start, state.pending_child_line = m.start(), None
        try:
            return super().parse_method(m, state)
        finally:
            state.block_start, state.pending_child_line = saved

    def _parse_indent_code_fast(self, state: BlockState) -> int | None:
        # mistune >= 3.2 parses indented code here, without parse_method: stamp its start
        assert isinstance(state, LineState)
        saved = state.block_start
        state.block_start = state.cursor
        try:
            end: int | None = super()._parse_indent_code_fast(state)
            return end
        finally:
            state.block_start = saved

    def parse_block_quote(self, m: re.Match[str], state: BlockState) -> int:
        """mistune reads the block that ends a quote's lazy lines (a list, a fence...) while it
        reads the quote, then puts the quote before the last token; that block may have added
        several (a list parses the block after it too): the quote goes before all of them,
        where it stands in the post."""
        before = len(state.tokens)
        end: int = super().parse_block_quote(m, state)
        if len(state.tokens) - before > 2:
            state.tokens.insert(before, state.tokens.pop(-2))
        return end

    def parse_list(self, m: re.Match[str], state: BlockState) -> int:
        assert isinstance(state, LineState)
        line = state.line_at(m.start())
        end = super().parse_list(m, state)
        for tok in state.tokens:
            if tok["type"] == "list" and "line" not in tok:
                tok["line"] = line
        return end


def _stamping_list_item(original: Any) -> Any:
    """Wrap mistune's list-item parser so each item's child state knows its first line.

    When it is called, the cursor has just passed the item's marker line.
    """
    if getattr(original, "_md2tex", False):
        return original

    def wrapper(block: Any, bullet: str, item: Any, token: Any, state: BlockState,
                rules: list[str]) -> Any:
        if isinstance(state, LineState):
            state.pending_child_line = state.line_at(max(state.cursor - 1, 0))
        return original(block, bullet, item, token, state, rules)

    wrapper._md2tex = True  # type: ignore[attr-defined]
    return wrapper


_list_parser._parse_list_item = _stamping_list_item(_list_parser._parse_list_item)


def _noting_footnote_lines(original: Any) -> Any:
    """Wrap mistune's footnote-definition rule so the line a note's text starts on is kept
    (``env["footnote_lines"]``): mistune parses the notes after the body, from their text
    alone."""
    if getattr(original, "_md2tex", False):
        return original

    def wrapper(block: Any, m: re.Match[str], state: BlockState) -> int:
        if isinstance(state, LineState):
            text = m.group("footnote_text")
            skipped = text[:len(text) - len(text.lstrip())].count("\n")
            lines = state.env.setdefault("footnote_lines", {})
            lines.setdefault(unikey(m.group("footnote_key")),
                             state.line_at(m.start("footnote_text")) + skipped)
        end: int = original(block, m, state)
        return end

    wrapper._md2tex = True  # type: ignore[attr-defined]
    return wrapper


def _stamping_footnote_item(original: Any) -> Any:
    """Wrap mistune's footnote-item parser so a note's blocks carry the lines of its
    definition, not of the block parsed last (a warning inside a note names its line)."""
    if getattr(original, "_md2tex", False):
        return original

    def wrapper(block: Any, key: str, index: int, state: BlockState) -> Any:
        line = state.env.get("footnote_lines", {}).get(key)
        if line is None or not isinstance(state, LineState):
            return original(block, key, index, state)
        state.pending_child_line = line
        item = original(block, key, index, state)
        state.pending_child_line = None  # a one-paragraph note makes no child state
        for child in item["children"]:
            child.setdefault("line", line)
        return item

    wrapper._md2tex = True  # type: ignore[attr-defined]
    return wrapper


_footnotes.parse_ref_footnote = _noting_footnote_lines(_footnotes.parse_ref_footnote)
_footnotes.parse_footnote_item = _stamping_footnote_item(_footnotes.parse_footnote_item)


class LineMarkdown(mistune.Markdown):
    """Tells the inline rules the Markdown line of the block whose text they parse
    (``env["block_line"]``): whether single ``$`` is math can depend on it (katexmm blocks)."""

    def _iter_render(self, tokens: Iterable[dict[str, Any]], state: BlockState
                     ) -> Iterable[dict[str, Any]]:
        for tok in tokens:
            if "line" in tok:
                state.env["block_line"] = tok["line"]
            if "children" in tok:
                tok["children"] = list(self._iter_render(tok["children"], state))
            elif "text" in tok:
                # as mistune: strip only ASCII white space (keep em spaces)
                tok["children"] = self.inline(tok.pop("text").strip(" \r\n\t\f"), state.env)
            yield tok


class KramdownBlockParser(LineBlockParser):
    """Block rules as kramdown has them (``kramdown.py``'s, registered by ``make_markdown``);
    here the block HTML a list item or quote ends at, which mistune hands to its own rule,
    and quotes' lines (``kramdown.quote_lines``)."""

    def extract_block_quote(self, m: re.Match[str], state: BlockState
                            ) -> tuple[str, int | None, set[int]]:
        lines = (state.get_line(pos) for pos in _line_starts(state))
        text, used = kramdown.quote_lines(lines)
        state.cursor += used
        return expand_tab(text), None, set()

    def parse_block_html(self, m: re.Match[str], state: BlockState) -> int | None:
        start = kramdown.HTML_START_RE.match(state.src, m.start())
        if start is None:
            found: int | None = super().parse_block_html(m, state)
            return found
        return kramdown.parse_html_element(self, start, state)


def _line_starts(state: BlockState) -> Iterable[int]:
    """The starts of the lines from the cursor on."""
    pos = state.cursor
    while pos < state.cursor_max:
        yield pos
        pos += len(state.get_line(pos))


class AnchorAwareInlineParser(InlineParser):
    """mistune stops reading links after any ``<a ...>`` until ``</a>``; an anchor written
    as ``<a name="x" />`` (a target, no link) closes itself, so the links after it are
    links, as the page shows them."""

    def parse_inline_html(self, m: re.Match[str], state: InlineState) -> int | None:
        end: int | None = super().parse_inline_html(m, state)
        if end is not None and state.src[:end].endswith("/>") and \
                state.src.startswith(("<a ", "<A "), m.start()):
            state.in_link = False
        return end


class KramdownInlineParser(AnchorAwareInlineParser):
    """Inline rules as kramdown has them: emphasis opens before a non-space and closes after
    one (``**정규화(regularization)**란`` is bold; CommonMark's flanking rules refuse it),
    and with ``hard_wrap`` a line break in a paragraph is a line break."""

    def parse_softbreak(self, m: re.Match[str], state: InlineState) -> int:
        flavour = kramdown.flavour_at(state.env, state.env.get("block_line"))
        # a soft break that shows as a line break: attribute lists and lone images still
        # see a soft break (kramdown's hard_wrap)
        state.append_token({"type": "softbreak", "attrs": {"hard": True}} if flavour.hard_wrap
                           else {"type": "softbreak"})
        return m.end()

    def parse_link_close(self, m: re.Match[str], state: InlineState) -> int:
        """``[text](address with spaces)`` is a link in kramdown (its address runs to the
        balancing parenthesis), not in CommonMark: mistune's rule reads it with the address's
        white space hidden (same length, so no position moves), then the link gets the address
        kramdown gives it."""
        src = state.src
        target = None
        if state.brackets and src.startswith("(", m.end()) and \
                parse_link_target(src, m.end() + 1)[0] is None:
            target = kramdown.inline_link_target(src, m.end())
        if target is None:
            return super().parse_link_close(m, state)
        state.src = src[:target.start] + _HIDDEN_SPACE.sub(
            "\u00a0", src[target.start:target.stop]) + src[target.stop:]
        try:
            end = super().parse_link_close(m, state)
        finally:
            state.src = src
        link = state.tokens[-1] if state.tokens else None
        if end == target.end and link is not None and link["type"] in ("link", "image"):
            link["attrs"]["url"] = escape_url(unescape_char(target.url))
        return end

    def finalize_tokens(self, tokens: list[dict[str, Any]], depth: int
                        ) -> list[dict[str, Any]]:
        remaining = self.max_nested_level - depth
        if "emphasis" not in self.rules or remaining <= 0:
            return super().finalize_tokens(tokens, depth)
        return _kramdown_emphasis(tokens, remaining)


def _kramdown_emphasis(tokens: list[dict[str, Any]], max_depth: int) -> list[dict[str, Any]]:
    """mistune's delimiter matching with kramdown's rule for which runs may open and close."""
    e = _emphasis
    if len(tokens) > 1:
        tokens = e._coalesce_emphasis_text(tokens)
    if not e._contains_emphasis_marker(tokens):
        return [e._clean_emphasis_token(token) for token in tokens]
    parts: list[dict[str, Any]] = []
    delimiters: list[Any] = []
    source = e._emphasis_source_text(tokens)
    source_pos = 0
    for token in tokens:
        if token["type"] == "text" and token.get("_emphasis", True):
            _split_kramdown_runs(token["raw"], source, source_pos, parts, delimiters)
        else:
            parts.append(e._clean_emphasis_token(token))
        source_pos += e._emphasis_source_length(token)
    if not e._process_dense_emphasis(parts, delimiters):
        e._process_emphasis_delimiters(parts, delimiters, max_depth)
    merged: list[dict[str, Any]] = e._merge_text_tokens(parts)
    return merged


def _split_kramdown_runs(text: str, source: str, start: int, parts: list[dict[str, Any]],
                         delimiters: list[Any]) -> None:
    """Text and ``*``/``_`` runs; a run opens unless a space follows, closes unless a space
    precedes; ``_`` between letters or digits does neither (kramdown's emphasis.rb)."""
    pos = 0
    while pos < len(text):
        if text[pos] not in "*_":
            end = _emphasis._next_delimiter_run(text, pos)
            parts.append({"type": "text", "raw": text[pos:end]})
            pos = end
            continue
        marker = text[pos]
        end = pos
        while end < len(text) and text[end] == marker:
            end += 1
        at = start + pos
        before = source[at - 1] if at > 0 else "\n"
        after = source[at + end - pos] if at + end - pos < len(source) else "\n"
        inside_word = marker == "_" and before.isalnum() and after.isalnum()
        can_open = not after.isspace() and not inside_word
        can_close = not before.isspace() and not inside_word and not (
            marker == "_" and after.isalnum())
        index = len(parts)
        parts.append({"type": "text", "raw": text[pos:end]})
        if can_open or can_close:
            delimiters.append(_emphasis._Delimiter(index, marker, end - pos, can_open,
                                                   can_close, end - pos, len(delimiters)))
        pos = end


_PLUGINS = ("strikethrough", "footnotes", "table", "task_lists", "url", "def_list")


def make_markdown(kramdown_rules: bool = True) -> mistune.Markdown:
    """Our Markdown parser: CommonMark + GFM plugins + math; renders to tokens (AST).
    ``kramdown_rules``: kramdown's reading where it differs (tables, HTML blocks, emphasis,
    ``{::options}``, ``![^1]``)."""
    block = (KramdownBlockParser if kramdown_rules else LineBlockParser)(
        max_nested_level=MAX_NESTING)
    inline = (KramdownInlineParser if kramdown_rules else AnchorAwareInlineParser)(
        max_nested_level=MAX_NESTING)
    md = LineMarkdown(renderer=None, block=block, inline=inline,
                      plugins=[import_plugin(name) for name in _PLUGINS])
    math_plugin(md)
    if kramdown_rules:
        _swap_in_kramdown(md)
    return md


def _swap_in_kramdown(md: mistune.Markdown) -> None:
    block, inline = md.block, md.inline
    for name in ("table", "nptable"):
        block.rules.remove(name)
    block.register("kramdown_options", kramdown.OPTIONS_LINE, kramdown.parse_options_line,
                   before="raw_html")
    block.register("kramdown_html", kramdown.HTML_START, kramdown.parse_html_element,
                   before="raw_html")
    block.register("kramdown_table", kramdown.TABLE_START, kramdown.parse_table)
    block.register("kramdown_end_of_block", kramdown.END_OF_BLOCK,
                   kramdown.parse_end_of_block, before="raw_html")
    # kramdown reads quotes and list items with the same block rules
    for rules in (block.block_quote_rules, block.list_rules):
        for name in ("kramdown_options", "kramdown_html", "kramdown_end_of_block"):
            block.insert_rule(rules, name, before="raw_html")
        rules.append("kramdown_table")
    inline.register("kramdown_bang", kramdown.BANG_BEFORE_FOOTNOTE,
                    kramdown.parse_bang_before_footnote, before="link")
    inline.register("kramdown_ial", kramdown.SPAN_ATTRIBUTE_LIST,
                    kramdown.parse_attribute_list_text, before="escape", start_chars="{")


_PARSERS: dict[bool, mistune.Markdown] = {}


def parse_markdown(text: str, first_line: int = 1, dollar_math: bool | str = True,
                   math_engine: str = DEFAULT_ENGINE,
                   dollar_lines: Sequence[tuple[int, int]] = (), raw_html: bool = False,
                   budget: Budget = UNLIMITED, flavour: Flavour = JEKYLL_DEFAULT
                   ) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """Tokens for ``text``; lines are counted from ``first_line``. Returns (tokens, env).
    ``dollar_math``: True (the engine's rule), False or "pandoc"; ``dollar_lines``: the
    line ranges of ``{% katexmm %}`` blocks, the only places single ``$`` is math if any;
    ``raw_html``: ``text`` is the text of raw HTML, which MathJax reads as it stands;
    ``budget``: the conversion's deadline, for the block and inline rules (``env["budget"]``);
    ``flavour``: kramdown's reading (Jekyll's default) or CommonMark's, and kramdown's options
    (``kramdown.flavour_of`` the site's settings)."""
    md = _PARSERS.get(flavour.kramdown)
    if md is None:
        md = _PARSERS[flavour.kramdown] = make_markdown(flavour.kramdown)
    state = LineState()
    state.line_base = first_line
    state.env["dollar_math"] = dollar_math
    state.env["math_engine"] = math_engine
    state.env["dollar_lines"] = tuple(dollar_lines)
    state.env["raw_html"] = raw_html
    state.env["budget"] = budget
    state.env["kramdown"] = flavour
    state.env["kramdown_changes"] = [(0, flavour)]
    tokens, final = md.parse(text, state)
    assert isinstance(tokens, list)
    return tokens, dict(final.env)
