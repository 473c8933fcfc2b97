"""Jekyll's Liquid layer, applied before Markdown as Jekyll does, keeping line numbers.

Every replacement keeps the number of newlines it removes, so a Markdown line number in the
result is the line number in the post (``{% highlight %}`` with code on the tag's own line is
the one exception, and it shifts lines by one).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from .diagnostics import Diagnostic, warning

_TAG = re.compile(r"\{%-?\s*(?P<name>[A-Za-z_]\w*)(?P<args>(?:[^%]|%(?!\}))*?)\s*-?%\}")
#: only Liquid-looking variables are output tags; ``{{`` in math or code stays as it is
_OUTPUT = re.compile(
    r"\{\{-?\s*(?P<expr>(?:site|page|include|post|paginator|layout|jekyll)\b[^{}]*?)\s*-?\}\}"
)
_END_HIGHLIGHT = re.compile(r"\{%-?\s*endhighlight\s*-?%\}")
_END_RAW = re.compile(r"\{%-?\s*endraw\s*-?%\}")
_END_COMMENT = re.compile(r"\{%-?\s*endcomment\s*-?%\}")
_BLOCK_TAGS = {"if", "unless", "for", "case", "capture", "tablerow"}


@dataclass
class LiquidContext:
    """What Liquid variables resolve against: ``site.*`` and ``page.*``."""

    site: Mapping[str, Any] = field(default_factory=dict)
    page: Mapping[str, Any] = field(default_factory=dict)

    def lookup(self, expr: str) -> Any:
        """Resolve ``site.url | relative_url``-style expressions (a few common filters)."""
        parts = [p.strip() for p in expr.split("|")]
        value = self._path(parts[0])
        for flt in parts[1:]:
            name, _, arg = flt.partition(":")
            arg = arg.strip().strip("'\"")
            text = "" if value is None else str(value)
            if name == "prepend":
                value = arg + text
            elif name == "append":
                value = text + arg
            elif name in ("relative_url", "absolute_url"):
                base = str(self.site.get("baseurl", "") or "")
                if name == "absolute_url":
                    base = str(self.site.get("url", "") or "") + base
                value = base.rstrip("/") + "/" + text.lstrip("/") if base else text
        return value

    def _path(self, dotted: str) -> Any:
        head, *rest = dotted.split(".")
        value: Any = {"site": self.site, "page": self.page}.get(head)
        for key in rest:
            if not isinstance(value, Mapping):
                return None
            value = value.get(key)
        return value


@dataclass
class LiquidResult:
    text: str
    diagnostics: list[Diagnostic]


def _newlines(text: str) -> str:
    return "\n" * text.count("\n")


class _Renderer:
    def __init__(self, src: str, ctx: LiquidContext, line0: int) -> None:
        self.src = src
        self.ctx = ctx
        self.line0 = line0
        self.out: list[str] = []
        self.diags: list[Diagnostic] = []
        self.handlers: dict[str, Callable[[re.Match[str]], int]] = {
            "raw": self._raw,
            "highlight": self._highlight,
            "comment": self._comment,
        }

    def line_at(self, pos: int) -> int:
        return self.line0 + self.src.count("\n", 0, pos)

    def run(self) -> None:
        pos = 0
        pattern = re.compile(_TAG.pattern + "|" + _OUTPUT.pattern)
        while True:
            m = pattern.search(self.src, pos)
            if not m:
                break
            self.out.append(self.src[pos : m.start()])
            if m.group("name"):
                handler = self.handlers.get(m.group("name"), self._other)
                pos = handler(m)
            else:
                pos = self._output(m)
        self.out.append(self.src[pos:])

    def _output(self, m: re.Match[str]) -> int:
        value = self.ctx.lookup(m.group("expr"))
        if value is None:
            self.diags.append(warning(
                "liquid-variable",
                f"Liquid variable '{{{{ {m.group('expr')} }}}}' has no value here; it is left out",
                self.line_at(m.start())))
            value = ""
        self.out.append(str(value) + _newlines(m.group(0)))
        return m.end()

    def _raw(self, m: re.Match[str]) -> int:
        end = _END_RAW.search(self.src, m.end())
        if not end:
            self.diags.append(warning("liquid-unclosed", "{% raw %} is never closed",
                                      self.line_at(m.start())))
            self.out.append(_newlines(m.group(0)))
            return m.end()
        self.out.append(_newlines(m.group(0)) + self.src[m.end() : end.start()]
                        + _newlines(end.group(0)))
        return end.end()

    def _comment(self, m: re.Match[str]) -> int:
        end = _END_COMMENT.search(self.src, m.end())
        stop = end.end() if end else m.end()
        self.out.append(_newlines(self.src[m.start() : stop]))
        return stop

    def _highlight(self, m: re.Match[str]) -> int:
        words = m.group("args").split()
        lang = words[0] if words else ""
        extra = " linenos" if any(w.startswith("linenos") for w in words[1:]) else ""
        end = _END_HIGHLIGHT.search(self.src, m.end())
        if not end:
            self.diags.append(warning(
                "liquid-unclosed", "{% highlight %} is never closed by {% endhighlight %};"
                " the rest of the post is treated as code", self.line_at(m.start())))
            code_end, resume = len(self.src), len(self.src)
        else:
            code_end, resume = end.start(), end.end()
        code = self.src[m.end() : code_end]
        code = code[1:] if code.startswith("\n") else code.lstrip(" \t")
        if code and not code.endswith("\n"):
            code += "\n"
        line_start = self.src.rfind("\n", 0, m.start()) + 1
        before = self.src[line_start : m.start()]
        indent = before if not before.strip() else ""
        lead = "" if not before.strip() else "\n"
        ticks = "`" * max(3, 1 + max((len(r) for r in re.findall(r"`+", code)), default=0))
        self.out.append(f"{lead}{ticks}{lang}{extra}\n{code}{indent}{ticks}")
        if resume < len(self.src) and self.src[resume] != "\n":
            self.out.append("\n")
        return resume

    def _other(self, m: re.Match[str]) -> int:
        name = m.group("name")
        if name.startswith("end") or name in ("else", "elsif", "when"):
            self.out.append(_newlines(m.group(0)))
            return m.end()
        hint = ""
        if name in _BLOCK_TAGS:
            hint = "; its content is kept"
        self.diags.append(warning(
            "liquid-tag", f"Liquid tag {{% {name} %}} is not supported and is left out{hint}",
            self.line_at(m.start())))
        self.out.append(_newlines(m.group(0)))
        return m.end()


def render_liquid(body: str, ctx: LiquidContext | None = None, first_line: int = 1) -> LiquidResult:
    """Apply Liquid tags and variables to a post body, keeping its line structure."""
    if "{%" not in body and "{{" not in body:
        return LiquidResult(body, [])
    r = _Renderer(body, ctx or LiquidContext(), first_line)
    r.run()
    return LiquidResult("".join(r.out), r.diags)
