"""What a Jekyll theme's includes and plugin tags show, as Markdown: one handler per name.

A theme's ``{% include figure.html path=… caption="…" %}`` or a plugin's ``{% marginnote 'id'
'text' %}`` stands for HTML md2tex does not have. A handler turns one such call into the
Markdown a reader would have seen (a figure with its caption, a footnote, a citation element),
so the text reaches the PDF and goes through the Markdown and math rules like the post's own.

Handlers are looked up by name, never by a chain of ifs: ``INCLUDES`` (include files, matched
by path, file name or stem) and ``TAGS`` (tag names) hold the built-in ones, and a library user
adds their own with the ``register_include`` / ``register_tag`` decorators. A site names
handlers per include or tag in the ``includes`` setting: a built-in behaviour from
``HANDLERS`` (``figure``, ``image``, ``sidenote``, ``marginnote``, ``drop``, ``text``…) or a
small Jinja snippet producing Markdown, rendered in Jinja's sandbox with the call's parameters
as variables and its output bounded (a site's config is input too).
"""

from __future__ import annotations

import html
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol, TypeVar

if TYPE_CHECKING:
    import jinja2

#: text that marks a table of contents for the renderer (kramdown's own marker)
TOC_MARKER = "{:toc}"
#: the longest snippet a site may give, and the most a snippet may write for one call
MAX_SNIPPET = 4_000
MAX_SNIPPET_OUTPUT = 20_000

#: one argument of a tag: ``key=value``, ``key:"value"`` (jekyll-figure), a quoted text or a word
_ARGUMENT = re.compile(
    r"""(?P<key>[A-Za-z_][\w-]*)\s*(?:=|:(?=\s*['"]))\s*(?P<value>'[^']*'|"[^"]*"|[^\s'"]+)"""
    r"""|(?P<quoted>'[^']*'|"[^"]*")|(?P<word>[^\s'"]+)""")
#: parameter names that carry an image's address, in the order themes prefer them
FIGURE_KEYS = ("path", "image_path", "image", "src", "url", "file", "img")
#: parameters whose text is the visible caption (``title`` is only a tooltip on the web)
CAPTION_KEYS = ("caption", "description")
NOTE_KEYS = ("note", "text", "content", "description")
#: parameters that are attributes, never text a reader sees
_ATTRIBUTE_KEYS = frozenset({
    "class", "style", "id", "width", "height", "path", "image_path", "image", "src", "url",
    "href", "link", "file", "img", "lang", "type", "layout", "size", "align", "target",
    "rel", "loading", "zoomable", "sizes", "max-width", "max_width", "position", "ratio"})
#: a note's first argument is an id (``sn-id-1``) when it is one word with a dash, colon,
#: underscore or digit; otherwise it is the text the note is attached to (the anchor)
_NOTE_ID = re.compile(r"[A-Za-z][\w:.-]*")
_ID_MARK = re.compile(r"[-_:0-9]")
#: a complete HTML tag in a caption (kept); any other ``<`` is text (``$a<b$``)
_HTML_TAG = re.compile(r"</?[A-Za-z][\w-]*(?:\s[^<>]*)?/?>")
#: jekyll-scholar options that take a value (``--file refs``, ``-l 23``)
_CITE_OPTIONS_WITH_VALUE = frozenset({"-f", "--file", "-l", "--locator", "-L", "--label",
                                      "--prefix", "--suffix", "--style", "-p", "-s"})


@dataclass(frozen=True)
class Call:
    """One include or tag as a handler sees it: the positional arguments and the named
    parameters (quotes taken off, Liquid values resolved), and what the post and site say."""

    name: str
    args: tuple[str, ...] = ()
    params: Mapping[str, str] = field(default_factory=dict)
    page: Mapping[str, Any] = field(default_factory=dict)
    site: Mapping[str, Any] = field(default_factory=dict)

    def param(self, *keys: str) -> str:
        """The first of ``keys`` that has a non-empty value, else ""."""
        return next((self.params[k] for k in keys if self.params.get(k)), "")


@dataclass(frozen=True)
class Made:
    """What a handler makes of a call: Markdown in its place (on the tag's line: its line
    breaks become spaces, so every later line keeps its number); ``own_block``: it stands
    apart from the text around the tag (a one-line HTML block where the tag touches other
    lines, so no line is added);
    ``warning``: what the web showed that the PDF lacks (reported at the tag's line);
    ``toc``: it asks for a table of contents."""

    markdown: str
    own_block: bool = False
    warning: str = ""
    toc: bool = False


class Notes(Protocol):
    """Where a handler puts footnote text: the conversion keeps it and returns the Markdown
    reference to write where the note belongs."""

    def add(self, markdown: str) -> str: ...


#: a handler: None when the call is not something it can show (the caller then treats it as
#: an unknown include or tag)
Handler = Callable[[Call, Notes], "Made | None"]
H = TypeVar("H", bound=Handler)


class HandlerTable(dict[str, Handler]):
    """Handlers by name; a name has one handler unless it is registered with ``replace``."""

    def __init__(self, label: str) -> None:
        super().__init__()
        self.label = label

    def add(self, name: str, handler: Handler, replace: bool = False) -> None:
        if name in self and not replace:
            raise ValueError(f"{self.label} {name!r} has a handler already (pass "
                             "replace=True to change it)")
        self[name] = handler

    def register(self, *names: str, replace: bool = False) -> Callable[[H], H]:
        def register(handler: H) -> H:
            for name in names:
                self.add(name, handler, replace)
            return handler

        return register


#: the behaviours a site's ``includes`` setting may name
HANDLERS = HandlerTable("include handler")
#: ``{% include FILE %}`` handlers, by file name (``figure.html``) or stem (``figure``)
INCLUDES = HandlerTable("include")
#: ``{% NAME … %}`` handlers, by tag name
TAGS = HandlerTable("tag")


def register_include(*names: str, replace: bool = False) -> Callable[[H], H]:
    """Decorator: ``handler(call, notes) -> Made | None`` shows ``{% include NAME … %}``.
    ``NAME`` is matched against the include's path, its file name, then its stem."""
    return INCLUDES.register(*names, replace=replace)


def register_tag(*names: str, replace: bool = False) -> Callable[[H], H]:
    """Decorator: ``handler(call, notes) -> Made | None`` shows the Liquid tag ``{% NAME … %}``
    (a tag Liquid itself does not define: ``if``, ``raw``… cannot be replaced)."""
    return TAGS.register(*names, replace=replace)


# ------------------------------------------------------------------------------ arguments

def parse_arguments(text: str, resolve: Callable[[str], str],
                    literal: Callable[[str], str]) -> tuple[tuple[str, ...], dict[str, str]]:
    """A tag's positional arguments and ``key=value`` parameters. ``literal`` finishes a
    quoted text (Liquid outputs inside it), ``resolve`` reads a bare value (a variable)."""
    args: list[str] = []
    params: dict[str, str] = {}
    for m in _ARGUMENT.finditer(text):
        if m["key"] is not None:
            value = m["value"]
            params[m["key"]] = literal(value[1:-1]) if value[0] in "'\"" else resolve(value)
        elif m["quoted"] is not None:
            args.append(literal(m["quoted"][1:-1]))
        else:
            args.append(m["word"])
    return tuple(args), params


def _is_prose(text: str) -> bool:
    """Text a reader would read: letters and a space, not an address."""
    return (" " in text.strip() and re.search(r"[^\W\d_]{2}", text) is not None
            and not re.match(r"\s*(?:[a-z][a-z0-9+.-]*:|/)\S*\s*$", text))


def prose(call: Call, quoted_args: Sequence[str] = ()) -> str:
    """The reader-visible text among a call's parameters and its quoted arguments."""
    texts = [v for k, v in call.params.items() if k.lower() not in _ATTRIBUTE_KEYS]
    return " ".join(t.strip() for t in [*texts, *quoted_args] if _is_prose(t))


def _html_attribute(text: str) -> str:
    return text.replace("&", "&amp;").replace('"', "&quot;").replace("<", "&lt;")


def html_text(text: str) -> str:
    """Markdown for inside an HTML element, on one line: complete tags kept; a ``<`` that
    would open a tag (``$a<b$``) and an ``&`` that would start a reference become references;
    any other ``<`` and ``&`` (``$x < 1$``) stay as they are, as an HTML parser reads them."""
    out: list[str] = []
    pos = 0
    for m in _HTML_TAG.finditer(text):
        out.append(_TEXT_SPECIALS.sub(_reference, text[pos : m.start()]))
        out.append(m.group(0))
        pos = m.end()
    out.append(_TEXT_SPECIALS.sub(_reference, text[pos:]))
    return re.sub(r"\s+", " ", "".join(out)).strip()


_TEXT_SPECIALS = re.compile(r"<(?=[A-Za-z/!?])|&(?=#?\w+;)")


def _reference(m: re.Match[str]) -> str:
    return "&lt;" if m.group(0) == "<" else "&amp;"


#: starts a one-line HTML block: a block that opens with a comment ends on the line that
#: closes it (CommonMark's HTML block 2), so what follows on the next line (a paragraph, a
#: list, a fence) stays Markdown, and it may interrupt a paragraph: no blank line is needed
ONE_LINE_HTML = "<!-- -->"


def figure_html(sources: Sequence[str], caption: str = "", alt: str = "",
                width: str = "") -> str:
    """A one-line HTML ``<figure>`` (images side by side, the caption as Markdown) that is a
    block of its own wherever its line is, so no line is added."""
    size = f' width="{_html_attribute(width)}"' if width else ""
    images = "".join(f'<img src="{_html_attribute(src)}" alt="{_html_attribute(alt)}"{size}>'
                     for src in sources)
    text = f"<figcaption>{html_text(caption)}</figcaption>" if caption.strip() else ""
    return f"{ONE_LINE_HTML}<figure>{images}{text}</figure>"


# ------------------------------------------------------------------------ built-in handlers

@HANDLERS.register("figure", "image")
def figure(call: Call, notes: Notes) -> Made | None:
    """An image with its caption: the address from ``path=``/``image=``/``url=``/``src=``/
    ``file=`` or the first positional argument that looks like a path (a comma-separated list
    is images side by side); the caption from ``caption=``/``description=`` or the quoted
    arguments after the address."""
    source = call.param(*FIGURE_KEYS)
    rest: list[str] = []  # an include's stray words (``zoomable``) are no caption
    if not source:
        at = next((i for i, a in enumerate(call.args) if _looks_like_path(a)), None)
        if at is None:
            return None
        source, rest = call.args[at], list(call.args[at + 1 :])
    caption = call.param(*CAPTION_KEYS) or " ".join(a for a in rest if a.strip())
    alt = call.param("alt", "title") or plain_words(caption)[:120] or "figure"
    sources = [s.strip() for s in source.split(",") if s.strip()]
    return Made(figure_html(sources, caption, alt, call.param("width")))


def plain_words(markdown: str) -> str:
    """A caption's words as an image's alt text shows them (a placeholder prints it): HTML
    tags, link addresses and emphasis marks taken off, entities read."""
    text = _HTML_TAG.sub("", _BREAKING_TAG.sub(" ", markdown))
    text = _MARKDOWN_LINK.sub(r"\1", text)
    text = re.sub(r"[*_`$]", "", html.unescape(text))
    return " ".join(text.split())


#: tags that separate words (a line break, a paragraph, a cell)
_BREAKING_TAG = re.compile(r"</?(?:br|hr|p|div|li|tr|td|th)\b[^<>]*>", re.I)
_MARKDOWN_LINK = re.compile(r"!?\[([^\[\]\n]*)\]\([^()\n]*\)")


def _looks_like_path(text: str) -> bool:
    """One word with a dot or a slash (``a.png``, ``img/a``, a URL)."""
    return bool(text) and ("." in text or "/" in text) and not any(c.isspace() for c in text)


def _is_note_id(text: str) -> bool:
    return _NOTE_ID.fullmatch(text) is not None and _ID_MARK.search(text) is not None


def one_line(text: str) -> str:
    """``text``'s lines joined by spaces (a scan, not a regex that rereads long runs of
    spaces)."""
    return " ".join(line.strip() for line in text.splitlines() if line.strip())


@HANDLERS.register("sidenote", "marginnote")
def sidenote(call: Call, notes: Notes) -> Made | None:
    """A Tufte side or margin note as a footnote. Tag form ``'id' 'text'`` (the id is not
    shown) or ``'anchor' 'text'`` (the anchor stays in the sentence); include form
    ``id=… note=…``."""
    text = call.param(*NOTE_KEYS)
    anchor = ""
    if not text:
        args = [a for a in call.args if a.strip()]
        if not args:
            return None
        text = args[-1]
        if len(args) > 1 and not _is_note_id(args[0].strip()):
            anchor = " ".join(args[:-1])
    return Made(anchor + notes.add(text))


@HANDLERS.register("drop")
def drop(call: Call, notes: Notes) -> Made | None:
    """Nothing: the site says the include shows nothing worth printing."""
    return Made("")


@HANDLERS.register("text")
def text(call: Call, notes: Notes) -> Made | None:
    """The call's reader-visible text (quoted arguments, non-attribute parameters)."""
    return Made(prose(call, call.args) or " ".join(call.args))


@HANDLERS.register("toc")
def toc(call: Call, notes: Notes) -> Made | None:
    """A table of contents: kramdown's marker, read wherever its paragraph is."""
    return Made(TOC_MARKER, toc=True)


@HANDLERS.register("cite")
def cite(call: Call, notes: Notes) -> Made | None:
    """jekyll-scholar's ``{% cite key1 key2 --file refs %}`` as distill's ``<d-cite>``."""
    keys: list[str] = []
    skip = False
    for word in call.args:
        if skip:
            skip = False
        elif word.startswith("-"):
            skip = word in _CITE_OPTIONS_WITH_VALUE
        else:
            keys.extend(k for k in word.split(",") if k)
    keys.extend(v for k, v in call.params.items() if k == "key")
    if not keys:
        return None
    return Made(f'<d-cite key="{_html_attribute(",".join(keys))}"></d-cite>')


@HANDLERS.register("bibliography")
def bibliography(call: Call, notes: Notes) -> Made | None:
    """jekyll-scholar's reference list, whatever its arguments: distill's element (the
    references stand where it is, in a paragraph or alone)."""
    return Made("<d-bibliography></d-bibliography>")


@HANDLERS.register("gist")
def gist(call: Call, notes: Notes) -> Made | None:
    """A GitHub gist's code lives on GitHub: a link to it."""
    if not call.args or not re.fullmatch(r"[\w/.-]{1,200}", call.args[0]):
        return None
    gist_id, *files = call.args
    label = (files[0] if files else gist_id).replace("[", "\\[").replace("]", "\\]")
    url = f"https://gist.github.com/{gist_id}"
    return Made(f"[Gist: {label}]({url})",
                warning=f"the code of gist {gist_id} is on GitHub, not in the post; a link "
                        "to it is printed")


for _name, _handler in {"figure.html": figure, "image.html": figure,
                        "marginfigure.html": figure, "sidenote.html": sidenote,
                        "marginnote.html": sidenote, "toc.html": toc}.items():
    INCLUDES.add(_name, _handler)
for _name, _handler in {"figure": figure, "extfigure": figure, "maincolumn": figure,
                        "fullwidth": figure, "marginfigure": figure, "sidenote": sidenote,
                        "marginnote": sidenote, "cite": cite, "citep": cite, "citet": cite,
                        "reference": cite, "bibliography": bibliography, "gist": gist,
                        "newthought": text}.items():
    TAGS.add(_name, _handler)


# ------------------------------------------------------------------------------- snippets

def _sandbox() -> jinja2.Environment:
    """Jinja's sandbox with nothing to call but a few string methods, no globals (no
    ``range``, ``namespace``), a short list of filters, and ``*``, ``**`` and ``%`` for
    numbers only: a snippet can format its parameters, not grow without end."""
    import jinja2
    from jinja2.exceptions import SecurityError
    from jinja2.sandbox import SandboxedEnvironment

    allowed_methods = frozenset({"lower", "upper", "strip", "lstrip", "rstrip", "title",
                                 "capitalize", "startswith", "endswith", "split", "get",
                                 "items", "keys", "values"})

    class Sandbox(SandboxedEnvironment):
        intercepted_binops = frozenset({"*", "**", "%"})

        def unsafe_undefined(self, obj: Any, attribute: str) -> jinja2.Undefined:
            raise SecurityError(f"{attribute!r} of a {type(obj).__name__} is not "
                                "available to an include snippet")

        def is_safe_callable(self, obj: Any) -> bool:
            return (getattr(obj, "__name__", "") in allowed_methods
                    and isinstance(getattr(obj, "__self__", None), (str, dict)))

        def call_binop(self, context: jinja2.runtime.Context, operator: str, left: Any,
                       right: Any) -> Any:
            if operator == "**" or not (isinstance(left, (int, float))
                                        and isinstance(right, (int, float))):
                raise SecurityError(f"'{operator}' is not allowed in an include snippet")
            return super().call_binop(context, operator, left, right)

    env = Sandbox(autoescape=False, undefined=jinja2.Undefined)
    env.globals.clear()
    keep = {"default", "d", "lower", "upper", "capitalize", "title", "trim", "striptags",
            "first", "last", "length", "join", "string", "int", "float", "urlencode",
            "escape", "e", "truncate"}
    env.filters = {k: v for k, v in env.filters.items() if k in keep}
    return env


#: what a snippet may be made of: output, conditions and expressions (no assignments,
#: macros, blocks or imports); ``for`` only over ``args`` or ``params``, never nested. Its
#: work is then bounded by its own size times the call's
_SNIPPET_NODES = frozenset({
    "Template", "Output", "TemplateData", "Name", "Const", "Getattr", "Getitem", "Slice",
    "Filter", "Test", "CondExpr", "If", "And", "Or", "Not", "Compare", "Operand", "Concat",
    "Add", "Sub", "Mul", "Div", "FloorDiv", "Mod", "Neg", "Pos", "List", "Tuple", "Dict",
    "Pair", "Keyword", "Call", "For"})


def _refused_node(tree: jinja2.nodes.Node) -> str:
    """Why a parsed snippet is refused ("" when it is allowed)."""
    from jinja2 import nodes

    def walk(node: nodes.Node, in_loop: bool) -> str:
        kind = type(node).__name__
        if kind not in _SNIPPET_NODES:
            return f"{{% {kind.lower()} %}} is not allowed in an include snippet"
        if isinstance(node, nodes.For):
            source = node.iter  # ``args``, ``args[0].split(",")``, ``params.items()``
            while isinstance(source, (nodes.Call, nodes.Getattr, nodes.Getitem, nodes.Filter)):
                if source.node is None:
                    break
                source = source.node
            if in_loop or not (isinstance(source, nodes.Name) and source.name in (
                    "args", "params")):
                return "a snippet's for loop goes over args or params, once (not nested)"
        for child in node.iter_child_nodes():
            why = walk(child, in_loop or isinstance(node, nodes.For))
            if why:
                return why
        return ""

    return walk(tree, False)


_compiled: dict[str, jinja2.Template] = {}


def _compile(source: str) -> jinja2.Template:
    """A snippet's template (remembered by its text); ``jinja2.TemplateError`` for one that
    does not parse or is refused."""
    from jinja2.exceptions import SecurityError

    template = _compiled.get(source)
    if template is None:
        if Snippet._env is None:
            Snippet._env = _sandbox()
        why = _refused_node(Snippet._env.parse(source))
        if why:
            raise SecurityError(why)
        template = _compiled[source] = Snippet._env.from_string(source)
    return template


class Snippet:
    """A site's Jinja snippet for one include or tag, compiled on first use; its variables
    are the call's parameters (also as ``params``), ``args``, ``page``, ``site`` and
    ``name``. The output is Markdown on the tag's line (line breaks become spaces, so later
    lines keep their numbers)."""

    _env: jinja2.Environment | None = None

    def __init__(self, name: str, source: str) -> None:
        self.name = name
        self.source = source

    def __call__(self, call: Call, notes: Notes) -> Made | None:
        import jinja2

        try:
            template = _compile(self.source)
            values: dict[str, Any] = {k: v for k, v in call.params.items()
                                      if k.isidentifier()}
            values.update(params=dict(call.params), args=list(call.args), page=call.page,
                          site=call.site, name=call.name)
            chunks: list[str] = []
            size = 0
            for chunk in template.generate(**values):
                size += len(chunk)
                if size > MAX_SNIPPET_OUTPUT:
                    return Made("", warning=f"the site's snippet for {self.name!r} writes "
                                f"more than {MAX_SNIPPET_OUTPUT:,} characters; left out")
                chunks.append(chunk)
        except (jinja2.TemplateError, ArithmeticError, LookupError, TypeError, ValueError,
                RecursionError) as exc:
            return Made("", warning=f"the site's snippet for {self.name!r} failed "
                        f"({type(exc).__name__}: {exc}); left out")
        return Made(one_line("".join(chunks)))


# ---------------------------------------------------------------------------- the lookup

@dataclass
class Includes:
    """The handlers one conversion uses: the site's ``includes`` setting over the registered
    ones. ``problems``: setting entries that cannot be used (name -> why; each is ignored)."""

    config: Mapping[str, Any] = field(default_factory=dict)
    problems: dict[str, str] = field(default_factory=dict)
    _site: dict[str, Handler] = field(default_factory=dict)

    def __post_init__(self) -> None:
        for name, value in self.config.items():
            handler = _configured(str(name), value)
            if isinstance(handler, str):
                self.problems[str(name)] = handler
            else:
                self._site[str(name)] = handler

    def for_include(self, path: str) -> Handler | None:
        """The handler of ``{% include path %}``: by path, file name, then stem; the site's
        setting first. A file named like a figure or a table of contents gets those."""
        names = _names(path)
        for table in (self._site, INCLUDES):
            found = next((table[n] for n in names if n in table), None)
            if found is not None:
                return found
        stem = names[-1].lower()
        if re.match(r"(toc|table[-_]of[-_]contents)\b", stem):
            return toc
        if re.search(r"fig|image|img|photo|picture", stem):
            return figure
        return None

    def for_tag(self, name: str) -> Handler | None:
        return self._site.get(name) or TAGS.get(name)

    def problem(self, name: str) -> str | None:
        """Why the setting's entry for this include or tag is not used (once: the entry is
        forgotten, so a post hears of it at its first use)."""
        for key in _names(name):
            if key in self.problems:
                return self.problems.pop(key)
        return None


def _names(path: str) -> tuple[str, ...]:
    """What an include is known by: its path, file name and stem (a tag: its name)."""
    file = path.rsplit("/", 1)[-1]
    return tuple(dict.fromkeys((path, file, file.rsplit(".", 1)[0])))


def _configured(name: str, value: Any) -> Handler | str:
    """One entry of the ``includes`` setting: a handler, or why it cannot be used."""
    if not isinstance(value, str):
        return (f"includes: {name}: expected a handler name ({', '.join(sorted(HANDLERS))}) "
                "or a Jinja snippet")
    if value in HANDLERS:
        return HANDLERS[value]
    if re.fullmatch(r"[\w-]+", value):
        return (f"includes: {name}: no handler named {value!r} (known: "
                f"{', '.join(sorted(HANDLERS))}); for text, write a Jinja snippet")
    if len(value) > MAX_SNIPPET:
        return f"includes: {name}: the snippet is longer than {MAX_SNIPPET:,} characters"
    return Snippet(name, value)
