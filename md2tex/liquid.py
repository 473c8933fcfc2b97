"""Jekyll's Liquid layer, applied before Markdown as Jekyll does, keeping line numbers.

Every replacement keeps the number of newlines it removes, so a Markdown line number in the
result is the line number in the post. The one exception is a ``{% highlight %}`` that shares
its line with text or code: the fence must stand on lines of its own, so each such tag adds a
line and later lines shift by one per tag (up to three for a one-line highlight in a sentence).

Handled: output tags ``{{ site.* }}``, ``{{ page.* }}``, ``{{ 'literal' | filter }}`` and
captured/assigned names, with the filters Jekyll posts use in URLs and text; ``{% raw %}``,
``{% highlight %}``, ``{% comment %}``, ``{% if/elsif/else/unless/case/when %}`` (conditions on
known values are evaluated; an unknown value is false), ``{% capture %}``, ``{% assign %}``,
``{% post_url %}``, figure and TOC ``{% include %}``s. Anything else is a warning and leaves
no text behind.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from .diagnostics import Diagnostic, warning

_TAG = re.compile(r"\{%-?\s*(?P<name>[A-Za-z_]\w*)(?P<args>(?:[^%]|%(?!\}))*?)\s*-?%\}")
_LITERAL = r"'[^'{}\n]*'|\"[^\"{}\n]*\""
#: only Liquid-looking variables are output tags; ``{{`` in math or code stays as it is
_OUTPUT = re.compile(
    r"\{\{-?\s*(?P<expr>(?:site|page|include|post|paginator|layout|jekyll)\b[^{}]*?"
    r"|(?:" + _LITERAL + r")\s*\|[^{}]*?)\s*-?\}\}"
)
_ANY_OUTPUT = re.compile(r"\{\{-?\s*(?P<expr>[A-Za-z_][\w.-]*\s*(?:\|[^{}]*?)?)\s*-?\}\}")
_END_HIGHLIGHT = re.compile(r"\{%-?\s*endhighlight\s*-?%\}")
_END_RAW = re.compile(r"\{%-?\s*endraw\s*-?%\}")
_END_COMMENT = re.compile(r"\{%-?\s*endcomment\s*-?%\}")
_END_FOR = re.compile(r"\{%-?\s*(?P<name>for|tablerow|endfor|endtablerow)\b[^%]*%\}")
_INCLUDE_ARG = re.compile(r"(?P<key>[\w-]+)\s*=\s*(?P<value>" + _LITERAL + r"|[^\s'\"]+)")
_FIGURE_KEYS = ("path", "image_path", "image", "src", "url", "file", "img")
_CAPTION_KEYS = ("caption", "title", "alt", "description")
#: text that marks a table of contents for the renderer (kramdown's own marker)
TOC_MARKER = "{:toc}"


@dataclass(frozen=True)
class PostRef:
    """What ``{% post_url NAME %}`` links to: a title and a URL."""

    title: str
    url: str


@dataclass
class LiquidContext:
    """What Liquid variables resolve against: ``site.*``, ``page.*`` and, for
    ``{% post_url %}``, the posts of a batch (name such as ``2018-02-19-slug`` -> PostRef)."""

    site: Mapping[str, Any] = field(default_factory=dict)
    page: Mapping[str, Any] = field(default_factory=dict)
    posts: Mapping[str, PostRef] = field(default_factory=dict)
    variables: dict[str, Any] = field(default_factory=dict)

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
            "size": len, "strip_html": lambda s: re.sub(r"<[^>]*>", "", s),
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
        """The post ``{% post_url name %}`` means: from the batch if known, else a link in
        Jekyll's default permalink style."""
        name = name.strip().strip("'\"")
        ref = self.posts.get(name) or self.posts.get(name.rsplit("/", 1)[-1])
        if ref is not None:
            return ref
        base = name.rsplit("/", 1)[-1]
        m = re.match(r"(\d{4})-(\d{2})-(\d{2})-(.+)$", base)
        path = f"/{m[1]}/{m[2]}/{m[3]}/{m[4]}.html" if m else f"/{base}.html"
        url = self._filter("absolute_url", path, None)
        title = m[4].replace("-", " ") if m else base
        return PostRef(title=title[:1].upper() + title[1:], url=str(url))


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


@dataclass
class LiquidResult:
    text: str
    diagnostics: list[Diagnostic]
    #: the post asked for a table of contents ({% include toc.html %})
    toc: bool = False
    #: line ranges (of ``text``) of ``{% katexmm %}`` blocks: with jekyll-katex, single ``$``
    #: is math there only
    dollar_lines: tuple[tuple[int, int], ...] = ()


def _newlines(text: str) -> str:
    return "\n" * text.count("\n")


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
        self.handlers: dict[str, Callable[[re.Match[str]], int]] = {
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
        }
        self.dollar_lines: list[tuple[int, int]] = []
        self.katexmm_start: int | None = None
        self._counted = (0, 0)  # (items of self.out counted, their newlines)

    def line_at(self, pos: int) -> int:
        return self.line0 + self.src.count("\n", 0, pos)

    def warn(self, code: str, message: str, pos: int) -> None:
        self.diags.append(warning(code, message, self.line_at(pos)))

    @property
    def active(self) -> bool:
        return all(f.active for f in self.frames)

    def emit(self, text: str) -> None:
        """Output text, unless a false branch is open; a capture takes it instead. The
        newlines always reach the output, so lines keep their numbers."""
        if not self.active:
            self.out.append(_newlines(text))
            return
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
            self.emit(self.src[pos : m.start()])
            if m.re is _TAG:
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

    def _next(self, pos: int) -> re.Match[str] | None:
        found = [m for m in (_TAG.search(self.src, pos), _OUTPUT.search(self.src, pos))
                 if m is not None]
        if self.ctx.variables:
            m = _ANY_OUTPUT.search(self.src, pos)
            if m is not None and _split_filters(m.group("expr"))[0].split(".")[0] \
                    in self.ctx.variables:
                found.append(m)
        return min(found, key=lambda m: m.start()) if found else None

    # ----------------------------------------------------------------------- output
    def _output(self, m: re.Match[str]) -> int:
        if not self.active:
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
    def _raw(self, m: re.Match[str]) -> int:
        end = _END_RAW.search(self.src, m.end())
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

    def _katexmm(self, m: re.Match[str]) -> int:
        """jekyll-katex typesets ``$``/``$$`` math inside ``{% katexmm %}`` only: the block's
        output lines are recorded for the parser; the tags leave their newlines."""
        self.out.append(_newlines(m.group(0)))
        if self.katexmm_start is None:
            self.katexmm_start = self.out_line()
        return m.end()

    def _endkatexmm(self, m: re.Match[str]) -> int:
        if self.katexmm_start is not None:
            self.dollar_lines.append((self.katexmm_start, self.out_line()))
            self.katexmm_start = None
        self.out.append(_newlines(m.group(0)))
        return m.end()

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
            self.warn("liquid-unclosed", "{% highlight %} is never closed by "
                      "{% endhighlight %}; the rest of the post is treated as code", m.start())
            code_end, resume = len(self.src), len(self.src)
        else:
            code_end, resume = end.start(), end.end()
        code = self.src[m.end() : code_end]
        code = code[1:] if code.startswith("\n") else code.lstrip(" \t")
        # the indentation before an indented {% endhighlight %} is not a line of code
        code = re.sub(r"\n[ \t]+$", "\n", code)
        if code and not code.endswith("\n"):
            code += "\n"
        line_start = self.src.rfind("\n", 0, m.start()) + 1
        before = self.src[line_start : m.start()]
        indent = before if not before.strip() else ""
        lead = "" if not before.strip() else "\n"
        ticks = "`" * max(3, 1 + max((len(r) for r in re.findall(r"`+", code)), default=0))
        self.emit(f"{lead}{ticks}{lang}{extra}\n{code}{indent}{ticks}")
        if resume < len(self.src) and self.src[resume] != "\n":
            self.emit("\n")
        return resume

    def _condition(self, text: str, pos: int) -> bool:
        """``a == b and c contains 'x' or d``: Liquid evaluates right to left, no brackets."""
        text = text.strip()
        for op, join in ((" or ", any), (" and ", all)):
            if op in text:
                return join(self._condition(part, pos) for part in text.split(op))
        m = re.fullmatch(r"(.+?)\s*(==|!=|<>|>=|<=|>|<|contains)\s*(.+)", text)
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

    def _if(self, m: re.Match[str]) -> int:
        value = self._condition(m.group("args"), m.start()) if self.active else False
        if m.group("name") == "unless":
            value = not value
        self.frames.append(_Frame("if", value, taken=value))
        self.out.append(_newlines(m.group(0)))
        return m.end()

    def _branch(self, m: re.Match[str], cond: Callable[[], bool]) -> int:
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

    def _elsif(self, m: re.Match[str]) -> int:
        return self._branch(m, lambda: self._condition(m.group("args"), m.start()))

    def _else(self, m: re.Match[str]) -> int:
        return self._branch(m, lambda: True)

    def _case(self, m: re.Match[str]) -> int:
        self.frames.append(_Frame("case", False, subject=self.ctx.value(m.group("args"))))
        self.out.append(_newlines(m.group(0)))
        return m.end()

    def _when(self, m: re.Match[str]) -> int:
        frame = self.frames[-1] if self.frames else None
        options = [self.ctx.value(v) for v in re.split(r",|\s+or\s+", m.group("args"))]
        return self._branch(m, lambda: frame is not None and frame.subject in options)

    def _end(self, m: re.Match[str]) -> int:
        self.out.append(_newlines(m.group(0)))
        if self.frames and self.frames[-1].kind in ("if", "case"):
            self.frames.pop()
        return m.end()

    def _capture(self, m: re.Match[str]) -> int:
        self.frames.append(_Frame("capture", True, name=m.group("args").strip()))
        self.out.append(_newlines(m.group(0)))
        return m.end()

    def _endcapture(self, m: re.Match[str]) -> int:
        self.out.append(_newlines(m.group(0)))
        if self.frames and self.frames[-1].kind == "capture":
            frame = self.frames.pop()
            if self.active:
                self.ctx.variables[frame.name] = "".join(frame.buffer).strip()
        return m.end()

    def _assign(self, m: re.Match[str]) -> int:
        self.out.append(_newlines(m.group(0)))
        name, eq, expr = m.group("args").partition("=")
        if eq and self.active and re.fullmatch(r"\s*[A-Za-z_][\w-]*\s*", name):
            self.ctx.variables[name.strip()] = self.ctx.lookup(expr)
        return m.end()

    def _for(self, m: re.Match[str]) -> int:
        """A loop over site data we do not have: its body is left out, with a warning."""
        depth, pos = 1, m.end()
        while depth:
            nxt = _END_FOR.search(self.src, pos)
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
    def _post_url(self, m: re.Match[str]) -> int:
        self.out.append(_newlines(m.group(0)))
        if not self.active:
            return m.end()
        ref = self.ctx.post(m.group("args"))
        before = self.src[max(0, m.start() - 2) : m.start()]
        in_link = before.endswith("(") or before.endswith("]:") or before.endswith(": ") \
            or before.endswith("=\"") or before.endswith("='")
        if in_link:
            self.emit(ref.url)
        else:
            title = ref.title.replace("[", "\\[").replace("]", "\\]")
            self.emit(f"[{title}]({ref.url})")
        return m.end()

    def _include(self, m: re.Match[str]) -> int:
        self.out.append(_newlines(m.group(0)))
        if not self.active:
            return m.end()
        args = m.group("args").strip()
        file, _, rest = args.partition(" ")
        params = {a["key"]: self.ctx.value(a["value"]) for a in _INCLUDE_ARG.finditer(rest)}
        stem = file.rsplit("/", 1)[-1].lower()
        if re.match(r"(toc|table[-_]of[-_]contents)\b", stem):
            self.toc = True
            self.emit(self._own_block(m, TOC_MARKER))
            return m.end()
        src = next((params[k] for k in _FIGURE_KEYS if params.get(k)), None)
        if src is not None and re.search(r"fig|image|img|photo|picture", stem):
            caption = next((str(params[k]) for k in _CAPTION_KEYS if params.get(k)), "")
            alt = str(params.get("alt") or caption or "figure")
            self.emit(self._own_block(m, _markdown_image(str(src), alt, caption,
                                                        params.get("width"))))
            return m.end()
        self.warn("liquid-include", f"{{% include {file} %}} is part of the site's theme, "
                  "which md2tex does not have; it is left out", m.start())
        return m.end()

    def _own_block(self, m: re.Match[str], text: str) -> str:
        """``text`` as a Markdown block of its own; blank lines are added only where the tag
        shares its line or touches other text (then later lines shift)."""
        start = self.src.rfind("\n", 0, m.start()) + 1
        end = self.src.find("\n", m.end())
        end = len(self.src) if end < 0 else end
        alone = not self.src[start : m.start()].strip() and not self.src[m.end() : end].strip()
        prev_line = self.src[self.src.rfind("\n", 0, max(start - 1, 0)) + 1 : max(start - 1, 0)]
        next_end = self.src.find("\n", end + 1)
        next_line = self.src[end + 1 : len(self.src) if next_end < 0 else next_end]
        lead = "" if alone and (start == 0 or not prev_line.strip()) else "\n\n"
        tail = "" if alone and not next_line.strip() else "\n\n"
        return f"{lead}{text}{tail}"

    def _other(self, m: re.Match[str]) -> int:
        name = m.group("name")
        self.out.append(_newlines(m.group(0)))
        if name.startswith("end"):
            return m.end()
        if self.active:
            self.warn("liquid-tag", f"Liquid tag {{% {name} %}} is not supported and is left "
                      "out", m.start())
        return m.end()


def _markdown_image(src: str, alt: str, caption: str, width: Any) -> str:
    """A Markdown image (its own paragraph) with the caption as title and a width hint."""
    def clean(s: str) -> str:
        return re.sub(r"\s+", " ", s).replace("\\", "\\\\").replace('"', '\\"')

    alt = clean(alt).replace("[", "\\[").replace("]", "\\]")
    title = f' "{clean(caption)}"' if caption else ""
    hint = f'{{: width="{clean(str(width))}"}}' if width else ""
    return f"![{alt}](<{src.replace('>', '%3E')}>{title}){hint}"


def render_liquid(body: str, ctx: LiquidContext | None = None, first_line: int = 1) -> LiquidResult:
    """Apply Liquid tags and variables to a post body, keeping its line structure."""
    if "{%" not in body and "{{" not in body:
        return LiquidResult(body, [])
    r = _Renderer(body, ctx or LiquidContext(), first_line)
    r.run()
    if r.katexmm_start is not None:  # never closed: to the end, as jekyll-katex reads it
        r.dollar_lines.append((r.katexmm_start, r.out_line()))
    return LiquidResult("".join(r.out), r.diags, r.toc, tuple(r.dollar_lines))
