"""Markdown to mistune tokens, with our math rules and a Markdown line on every block token."""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from typing import Any

import mistune
from mistune import list_parser as _list_parser
from mistune.block_parser import BlockParser
from mistune.core import BlockState
from mistune.plugins import import_plugin

from md2tex.budget import UNLIMITED, Budget
from md2tex.markdown.delimiters import line_counter, math_plugin
from md2tex.mathengine import DEFAULT_ENGINE

#: deepest list/quote nesting we parse as structure; deeper input stays text (TeX's limit)
MAX_NESTING = 12


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


def make_markdown() -> mistune.Markdown:
    """Our Markdown parser: CommonMark + GFM plugins + math; renders to tokens (AST)."""
    block = LineBlockParser(max_nested_level=MAX_NESTING)
    md = LineMarkdown(
        renderer=None,
        block=block,
        plugins=[import_plugin(name) for name in
                 ("strikethrough", "footnotes", "table", "task_lists", "url", "def_list")],
    )
    math_plugin(md)
    return md


_MD: mistune.Markdown | None = None


def parse_markdown(text: str, first_line: int = 1, dollar_math: bool | str = True,
                   math_engine: str = DEFAULT_ENGINE,
                   dollar_lines: Sequence[tuple[int, int]] = (), raw_html: bool = False,
                   budget: Budget = UNLIMITED) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """Tokens for ``text``; lines are counted from ``first_line``. Returns (tokens, env).
    ``dollar_math``: True (the engine's rule), False or "pandoc"; ``dollar_lines``: the
    line ranges of ``{% katexmm %}`` blocks, the only places single ``$`` is math if any;
    ``raw_html``: ``text`` is the text of raw HTML, which MathJax reads as it stands;
    ``budget``: the conversion's deadline, for the block and inline rules (``env["budget"]``)."""
    global _MD
    if _MD is None:
        _MD = make_markdown()
    state = LineState()
    state.line_base = first_line
    state.env["dollar_math"] = dollar_math
    state.env["math_engine"] = math_engine
    state.env["dollar_lines"] = tuple(dollar_lines)
    state.env["raw_html"] = raw_html
    state.env["budget"] = budget
    tokens, final = _MD.parse(text, state)
    assert isinstance(tokens, list)
    return tokens, dict(final.env)
