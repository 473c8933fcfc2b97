"""parse.py: mistune tokens with a Markdown line on every block token, right inside lists and
block quotes (mistune keeps no positions; md2tex stamps them)."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from md2tex.markdown.parse import MAX_NESTING, parse_markdown

Token = dict[str, Any]


def walk(tokens: list[Token]) -> Iterator[Token]:
    for t in tokens:
        yield t
        children = t.get("children")
        if isinstance(children, list):
            yield from walk(children)


def text_of(tok: Token) -> str:
    if "raw" in tok and isinstance(tok["raw"], str):
        return tok["raw"]
    return "".join(text_of(c) for c in tok.get("children", []) if isinstance(c, dict))


BLOCKS = ("paragraph", "block_text", "heading", "block_code", "math_block", "block_quote",
          "list", "table", "thematic_break", "block_html")


def lines_of_blocks(src: str, **kw: Any) -> list[tuple[str, int | None, str]]:
    tokens, _ = parse_markdown(src, **kw)
    return [(t["type"], t.get("line"), text_of(t)[:20]) for t in walk(tokens)
            if t["type"] in BLOCKS]


SRC = """\
para 1

- item a
- item b

  para in b

      indented in b

  > quote in b
  > more

  $$
  x
  $$
- item c
  1. nested one
  2. nested two

     nested para
> q1
>
> q2 para
>
> - ql1
> - ql2
>
> > deep
> > deeper

    indented top

~~~
fence
~~~

| a | b |
|---|---|
| 1 | 2 |

# H

***

<div>html</div>
"""


def test_lines_inside_lists_and_quotes() -> None:
    got = [(kind, line) for kind, line, _ in lines_of_blocks(SRC)]
    assert got == [
        ("paragraph", 1),
        ("list", 3),
        ("paragraph", 3), ("paragraph", 4),  # a loose list: its items are paragraphs
        ("paragraph", 6), ("block_code", 8),
        ("block_quote", 10), ("paragraph", 10),
        ("math_block", 13),
        ("paragraph", 16),
        ("list", 17), ("paragraph", 17), ("paragraph", 18), ("paragraph", 20),
        ("block_quote", 21), ("paragraph", 21), ("paragraph", 23),
        ("list", 25), ("block_text", 25), ("block_text", 26),
        ("block_quote", 28), ("paragraph", 28),
        ("block_code", 31),
        ("block_code", 33),
        ("table", 37),
        ("heading", 41),
        ("thematic_break", 43),
        ("block_html", 45),
    ]


def test_lines_count_from_first_line() -> None:
    tokens, _ = parse_markdown("a\n\n- b\n  > c\n", first_line=10)
    lines = [(t["type"], t.get("line")) for t in walk(tokens) if t["type"] in BLOCKS]
    assert lines == [("paragraph", 10), ("list", 12), ("block_text", 12),
                     ("block_quote", 13), ("paragraph", 13)]


def test_indented_code_line() -> None:
    tokens, _ = parse_markdown("Intro\n\n    code one\n    code two\n\nAfter\n")
    code = next(t for t in tokens if t["type"] == "block_code")
    assert code["line"] == 3


def test_lazy_continuation_line_in_quote() -> None:
    tokens, _ = parse_markdown("> quoted\nlazy line\n\nnext\n")
    assert [(t["type"], t.get("line")) for t in walk(tokens) if t["type"] in BLOCKS] == [
        ("block_quote", 1), ("paragraph", 1), ("paragraph", 4)]


def test_footnote_definitions_are_collected() -> None:
    tokens, _ = parse_markdown("Text[^n].\n\n[^n]: The note.\n")
    assert any(t["type"] == "footnotes" for t in tokens)
    refs = [t for t in walk(tokens) if t["type"] == "footnote_ref"]
    assert refs and refs[0]["raw"].lower() == "n"


def test_gfm_plugins_present() -> None:
    tokens, _ = parse_markdown("~~s~~ https://x.org\n\n- [x] t\n\n| a |\n|---|\n| 1 |\n")
    kinds = {t["type"] for t in walk(tokens)}
    assert {"strikethrough", "link", "task_list_item", "table"} <= kinds


def test_excessive_nesting_stays_text() -> None:
    deep = "".join("> " * i + "q\n" for i in range(1, MAX_NESTING + 30))
    tokens, _ = parse_markdown(deep)
    depth = 0
    node: list[Token] = tokens
    while node and node[0]["type"] == "block_quote":
        depth += 1
        node = node[0]["children"]
    assert depth <= MAX_NESTING + 1


# --------------------------------------------------------- property: nested structures


@dataclass
class Leaf:
    kind: str  # para | fence | math | heading
    word: str


@dataclass
class Box:
    kind: str  # quote | bullet | ordered | div (markdown="1") | details
    items: list[list[Any]]


_counter = itertools.count()


def _word() -> str:
    return f"w{next(_counter)}x"


leaf = st.sampled_from(["para", "para2", "fence", "math", "heading"]).map(
    lambda k: Leaf(k, _word()))


def _container(children: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    item = st.lists(children, min_size=1, max_size=3)
    return st.one_of(
        st.builds(Box, st.just("quote"), st.lists(item, min_size=1, max_size=1)),
        st.builds(Box, st.sampled_from(["bullet", "ordered"]),
                  st.lists(item, min_size=1, max_size=3)),
        st.builds(Box, st.sampled_from(["div", "details"]), st.lists(item, min_size=1,
                                                                      max_size=1)),
    )


tree = st.recursive(leaf, _container, max_leaves=12)


def render(node: Any) -> list[str]:
    if isinstance(node, Leaf):
        if node.kind == "para":
            return [f"{node.word} text"]
        if node.kind == "para2":
            return [f"{node.word} text", "continued here"]
        if node.kind == "fence":
            return ["```", node.word, "```"]
        if node.kind == "math":
            return ["$$", node.word, "$$"]
        return [f"## {node.word}"]
    out: list[str] = []
    for n, children in enumerate(node.items, start=1):
        body: list[str] = []
        for i, child in enumerate(children):
            if i:
                body.append("")
            body += render(child)
        if node.kind == "quote":
            out += [("> " + line).rstrip() for line in body]
        elif node.kind == "div":  # kramdown: the content of the element is Markdown
            out += ['<div markdown="1">', *body, "</div>"]
        elif node.kind == "details":
            out += ["<details>", "<summary>More</summary>", "", *body, "", "</details>"]
        else:
            marker = "- " if node.kind == "bullet" else f"{n}. "
            pad = " " * len(marker)
            out += [marker + body[0]] + [(pad + line) if line else "" for line in body[1:]]
        if node.kind != "quote" and n < len(node.items):
            out.append("")
    return out


def leaves(node: Any) -> Iterator[Leaf]:
    if isinstance(node, Leaf):
        yield node
    else:
        for children in node.items:
            for child in children:
                yield from leaves(child)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(tree, min_size=1, max_size=4), st.integers(min_value=1, max_value=30))
def test_every_block_knows_its_line_in_any_nesting(blocks: list[Any], first: int) -> None:
    lines: list[str] = []
    for i, b in enumerate(blocks):
        if i:
            lines += ["", "<!-- separator -->", ""]
        lines += render(b)
    src = "\n".join(lines) + "\n"
    tokens, _ = parse_markdown(src, first_line=first)
    found: dict[str, int] = {}
    for t in walk(tokens):
        if t["type"] in ("paragraph", "block_text", "heading", "block_code", "math_block"):
            word = text_of(t).split()[0] if text_of(t).split() else ""
            found.setdefault(word, t.get("line") or -1)
    for lf in (lf for b in blocks for lf in leaves(b)):
        where = next(i for i, line in enumerate(lines) if lf.word in line) + first
        expected = where - 1 if lf.kind in ("fence", "math") else where
        assert found.get(lf.word) == expected, (lf, src)


@pytest.mark.parametrize("first", [1, 7])
def test_table_and_heading_lines(first: int) -> None:
    tokens, _ = parse_markdown("# T\n\n| a |\n|---|\n| 1 |\n", first_line=first)
    assert [(t["type"], t["line"]) for t in tokens if t["type"] != "blank_line"] == [
        ("heading", first), ("table", first + 2)]
