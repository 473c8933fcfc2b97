"""Macro definitions written for MathJax/KaTeX, and their LaTeX with MathJax semantics.

Three sources, later wins: a site file (``--macros FILE``: ``\\newcommand`` lines, or a
YAML/JSON mapping like KaTeX's ``macros``), the front matter (``macros:``), and the
post's own formulas (``\\newcommand``, ``\\renewcommand``, ``\\def``,
``\\DeclareMathOperator`` inside math, hoisted to the preamble).

MathJax lets ``\\newcommand`` replace a name LaTeX already has (``\\S``, ``\\L``) and
``\\renewcommand`` define a new one, so every definition becomes
``\\providecommand{\\X}{}\\renewcommand{\\X}...``, which works either way in LaTeX.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any, NamedTuple

__all__ = ["Definition", "MacroError", "definitions_from_mapping", "definitions_from_text",
           "load_macro_file", "parse_definition", "preamble", "scan_definitions"]

#: names a post may not redefine: TeX would break long before the formula
FORBIDDEN = frozenset(
    [
        "begin", "end", "par", "relax", "def", "edef", "gdef", "xdef", "let", "newcommand",
        "renewcommand", "providecommand", "DeclareMathOperator", "document", "enddocument",
        "csname", "endcsname", "expandafter", "the", "input", "include", "write", "immediate",
        "openout", "openin", "read", "catcode", "makeatletter", "makeatother", "usepackage",
        "documentclass", "special", "jobname", "endinput", "everypar", "everymath"
    ])

#: names TeX and LaTeX use themselves (\\or in every \\ifcase, \\and in \\author): a post's
#: definition (MathJax scopes it to math) gets a private name, and its uses with it
RENAMED = frozenset({"or", "and", "else", "fi", "do"})
_RENAMED_RE = re.compile(r"\\(" + "|".join(sorted(RENAMED)) + r")(?![A-Za-z])")


def tex_name(name: str) -> str:
    """The name a user macro has in the LaTeX md2tex writes."""
    return "mdtex" + name if name in RENAMED else name


def rename_uses(text: str) -> str:
    """``text`` with every use of a renamed user macro under its LaTeX name."""
    return _RENAMED_RE.sub(lambda m: "\\" + tex_name(m.group(1)), text)


DEFINER_RE = re.compile(r"\\(newcommand|renewcommand|providecommand|gdef|def|"
                        r"DeclareMathOperator|let)(?![A-Za-z])")
#: the name being defined: ``{\\x}`` or ``\\x``; MathJax also takes ``\\newcommand{x}`` (its
#: argument is a name with the backslash optional), so a braced name may lack it
_NAME_RE = re.compile(r"\s*(?:\{\s*\\?([A-Za-z]+|(?<=\\).)\s*\}|\\([A-Za-z]+|.))", re.S)
_DEFINECOLOR_RE = re.compile(r"\\definecolor\s*\{([^{}]*)\}")
_COMMENT_RE = re.compile(r"(?<!\\)((?:\\\\)*)%[^\n]*")
_PARAM_RE = re.compile(r"#(\d)")


class KnownMacros(dict[str, int]):
    """User macros by name with their number of arguments, and what each expands to (the
    checker braces a macro used as an unbraced script when its body needs it)."""

    def __init__(self) -> None:
        super().__init__()
        self.bodies: dict[str, str] = {}
        #: colours the post defines with ``\\definecolor`` (hoisted, so known everywhere)
        self.colors: set[str] = set()

    def __bool__(self) -> bool:
        # callers write ``macros or {}``: defined colours alone must survive that
        return len(self) > 0 or bool(self.colors)

    def define_colors(self, text: str) -> None:
        self.colors.update(m.strip() for m in _DEFINECOLOR_RE.findall(text))

    def define(self, d: Definition) -> None:
        self[d.name] = d.nargs
        self.bodies[d.name] = d.expansion()


class MacroError(ValueError):
    """A macro definition that cannot be read."""


class Definition(NamedTuple):
    """One macro definition: ``name`` without the backslash."""

    name: str
    nargs: int = 0
    body: str = ""
    #: default of the optional first argument (``\\newcommand{\\x}[2][a]{...}``)
    default: str | None = None
    #: "command", "operator", "operator*", "def" (``params`` holds its parameter text), "let",
    #: "color" (a colour: ``params`` is its model, ``body`` its value)
    kind: str = "command"
    params: str = ""

    def expansion(self) -> str:
        """What a use of the macro becomes (its body; an operator's ``\\operatorname``)."""
        if self.kind.startswith("operator"):
            return f"\\operatorname{'*' if self.kind.endswith('*') else ''}{{{self.body}}}"
        return self.body.lstrip("= ") if self.kind == "let" else self.body

    def latex(self) -> str:
        """The preamble line, with MathJax semantics (defining an existing name works).
        Commands of the web engines LaTeX lacks that the body uses (``\\lt``, KaTeX's
        ``\\R``) are provided first: a body reaches TeX as written, not translated."""
        if self.kind == "color":
            return f"\\definecolor{{{self.name}}}{{{self.params}}}{{{self.body}}}"
        return _engine_commands(self.body) + self._definition()

    def _definition(self) -> str:
        d = self._replace(name=tex_name(self.name), body=rename_uses(self.body))
        return d._plain_definition()

    def _plain_definition(self) -> str:
        n = "\\" + self.name
        if self.kind == "def":
            return f"\\def{n}{self.params}{{{self.body}}}"
        if self.kind == "let":
            return f"\\let{n}{self.body}"
        head = f"\\providecommand{{{n}}}{{}}\\renewcommand{{{n}}}"
        if self.kind.startswith("operator"):
            star = "*" if self.kind.endswith("*") else ""
            return f"{head}{{\\operatorname{star}{{{self.body}}}}}"
        args = f"[{self.nargs}]" if self.nargs else ""
        if self.default is not None and self.nargs:
            args += f"[{self.default}]"
        return f"{head}{args}{{{self.body}}}"


def _engine_commands(body: str) -> str:
    from md2tex.math import table as mathtable

    out = []
    for name in dict.fromkeys(re.findall(r"\\([A-Za-z]+)", body)):
        if mathtable.macro(name) is not None:
            continue
        info = mathtable.translations(None).get(name)
        if info is not None and info.latex_equivalent:
            args = f"[{info.args}]" if info.args else ""
            out.append(f"\\providecommand{{\\{name}}}{args}{{{info.latex_equivalent}}}")
    return "".join(out)


def read_group(text: str, pos: int, comments: bool = False) -> tuple[str, int] | None:
    """The content of the brace group starting at ``text[pos]`` (after spaces) and the
    offset after its ``}``; None when there is no complete group. ``comments``: a ``%``
    comment hides the rest of its line (TeX source; not for verbatim-like arguments)."""
    return read_balanced(text, pos, "{", "}", comments)


def _read_bracket(text: str, pos: int) -> tuple[str, int] | None:
    """Like ``read_group`` for an optional ``[...]`` argument (braces inside are skipped)."""
    return read_balanced(text, pos, "[", "]")


def read_balanced(text: str, pos: int, open_: str, close: str,
                  comments: bool = False) -> tuple[str, int] | None:
    """The math room's one reader of a balanced ``{...}`` or ``[...]`` (after spaces): its
    content and the offset after it, or None when there is none or it is never closed.
    Braces nest, a backslash escapes the next character, and a ``}`` that closes more than
    was opened ends the search (``[a}]`` is no argument)."""
    i = pos
    while i < len(text) and text[i] in " \t\n":
        i += 1
    if i >= len(text) or text[i] != open_:
        return None
    depth = 0  # brace depth; a bracket closes only outside braces
    j = i + 1 if open_ == "[" else i
    while j < len(text):
        c = text[j]
        if c == "\\":
            j += 2
            continue
        if c == "%" and comments:
            eol = text.find("\n", j)
            j = len(text) if eol < 0 else eol + 1
            continue
        if c == "{":
            depth += 1
        elif c == "}":
            depth -= 1
            if close == "}" and depth == 0:
                return text[i + 1 : j], j + 1
            if depth < 0:
                return None
        elif c == close and depth == 0:
            return text[i + 1 : j], j + 1
        j += 1
    return None


def _nargs_of(body: str) -> int:
    return max((int(m.group(1)) for m in _PARAM_RE.finditer(body)), default=0)


def parse_definition(text: str, pos: int) -> tuple[Definition, int]:
    """Read the definition starting at ``text[pos]`` (a command DEFINER_RE matches); returns
    it and the offset after it. Raises MacroError."""
    m = DEFINER_RE.match(text, pos)
    if m is None:
        raise MacroError("not a macro definition")
    kind = m.group(1)
    i = m.end()
    star = False
    if kind in ("newcommand", "renewcommand", "providecommand", "DeclareMathOperator") and \
            text.startswith("*", i):
        star, i = True, i + 1
    nm = _NAME_RE.match(text, i)
    if nm is None:
        raise MacroError(f"\\{kind} must be followed by the name of the macro")
    name = nm.group(1) or nm.group(2)
    i = nm.end()
    if name in FORBIDDEN:
        raise MacroError(f"\\{name} cannot be redefined")
    if kind == "let":
        j = i
        while j < len(text) and text[j] in " =":
            j += 1
        target = re.match(r"\\([A-Za-z]+|.)|[^\s]", text[j:])
        if target is None:
            raise MacroError(f"\\let\\{name} needs a second macro")
        return Definition(name, 0, target.group(0), kind="let"), j + target.end()
    if kind in ("def", "gdef"):
        brace = text.find("{", i)
        if brace < 0:
            raise MacroError(f"\\{kind}\\{name} has no body in braces")
        params = text[i:brace]
        if not re.fullmatch(r"[^{}%\\]*", params):
            raise MacroError(f"\\{kind}\\{name}: cannot read its parameter text")
        group = read_group(text, brace, comments=True)
        if group is None:
            raise MacroError(f"the body of \\{name} is not closed by '}}'")
        nargs = len(_PARAM_RE.findall(params))
        return Definition(name, nargs, group[0], kind="def", params=params.strip()), group[1]
    if kind == "DeclareMathOperator":
        group = read_group(text, i)
        if group is None:
            raise MacroError(f"\\DeclareMathOperator{{\\{name}}} needs the operator's text "
                             "in braces")
        return Definition(name, 0, group[0].strip(),
                          kind="operator*" if star else "operator"), group[1]
    nargs = 0
    default: str | None = None
    opt = _read_bracket(text, i)
    if opt is not None:
        if not opt[0].strip().isdigit() or not 0 <= int(opt[0]) <= 9:
            raise MacroError(f"\\{kind}{{\\{name}}}[{opt[0]}]: the number of arguments "
                             "must be 0 to 9")
        nargs, i = int(opt[0]), opt[1]
        opt2 = _read_bracket(text, i)
        if opt2 is not None:
            default, i = opt2
    group = read_group(text, i)
    if group is None:
        raise MacroError(f"the body of \\{name} must follow in braces")
    return Definition(name, nargs, group[0], default), group[1]


def scan_definitions(text: str) -> Iterator[tuple[int, int, Definition | MacroError]]:
    """Every definition in ``text`` with its span (or the error reading it)."""
    pos = 0
    while True:
        m = DEFINER_RE.search(text, pos)
        if m is None:
            return
        if m.start() > 0 and text[m.start() - 1] == "\\":
            pos = m.end()
            continue
        try:
            d, end = parse_definition(text, m.start())
        except MacroError as exc:
            yield m.start(), m.end(), exc
            pos = m.end()
            continue
        yield m.start(), end, d
        pos = end


def definitions_from_text(text: str) -> tuple[list[Definition], list[str]]:
    """Definitions in a ``.tex``/``.txt`` of ``\\newcommand`` lines; plus error messages.
    ``%`` comments are TeX's: a commented-out or mentioned ``\\newcommand`` defines
    nothing."""
    defs: list[Definition] = []
    errors: list[str] = []
    for _s, _e, d in scan_definitions(strip_comments(text)):
        if isinstance(d, MacroError):
            errors.append(str(d))
        else:
            defs.append(d)
    return defs, errors


def strip_comments(text: str) -> str:
    """``text`` without its ``%`` comments (``\\%`` is a percent sign, not a comment)."""
    return _COMMENT_RE.sub(lambda m: m.group(1), text)


def definitions_from_mapping(data: Mapping[Any, Any]) -> tuple[list[Definition], list[str]]:
    """KaTeX ``{"\\\\R": "\\\\mathbb{R}"}`` or MathJax ``{R: ["\\\\mathbf{#1}", 1]}``."""
    defs: list[Definition] = []
    errors: list[str] = []
    for key, value in data.items():
        name = str(key).lstrip("\\")
        if not re.fullmatch(r"[A-Za-z]+|[^A-Za-z\s]", name):
            errors.append(f"{key!r} is not a macro name")
            continue
        if name in FORBIDDEN:
            errors.append(f"\\{name} cannot be redefined")
            continue
        default: str | None = None
        if isinstance(value, str):
            body, nargs = value, _nargs_of(value)
        elif isinstance(value, list) and value and isinstance(value[0], str):
            body = value[0]
            try:
                nargs = int(value[1]) if len(value) > 1 else _nargs_of(body)
            except (TypeError, ValueError):
                errors.append(f"\\{name}: the number of arguments must be a number")
                continue
            if len(value) > 2:
                default = str(value[2])
        else:
            errors.append(f"\\{name}: expected the macro's LaTeX as a string")
            continue
        if read_group("{" + body + "}", 0) is None or not 0 <= nargs <= 9:
            errors.append(f"\\{name}: unbalanced braces or bad argument count")
            continue
        defs.append(Definition(name, nargs, body, default))
    return defs, errors


def definitions_from_value(value: Any) -> tuple[list[Definition], list[str]]:
    """Front matter ``macros:``: a mapping, a string of definitions, or a list of them."""
    if isinstance(value, Mapping):
        return definitions_from_mapping(value)
    if isinstance(value, str):
        return definitions_from_text(value)
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return definitions_from_text("\n".join(value))
    return [], ["macros: expected a mapping of name to LaTeX, or \\newcommand lines"]


def load_macro_file(path: str | Path) -> tuple[list[Definition], list[str]]:
    """A site's macro file: ``.yaml``/``.yml``/``.json`` mapping, else ``\\newcommand``
    lines. Raises OSError when unreadable, MacroError when the mapping does not parse."""
    path = Path(path)
    text = path.read_text(encoding="utf-8")
    suffix = path.suffix.lower()
    if suffix in MAPPING_SUFFIXES:
        return mapping_definitions(text, suffix, str(path))
    return definitions_from_text(text)


#: macro files read as a YAML/JSON mapping (KaTeX's ``macros``), not as LaTeX
MAPPING_SUFFIXES = (".json", ".yaml", ".yml")


def mapping_definitions(text: str, suffix: str, where: str,
                        ) -> tuple[list[Definition], list[str]]:
    """A YAML/JSON macro mapping's definitions and the entries that could not be read (the
    mapping may sit under a ``macros:`` key, as in a KaTeX or MathJax configuration).
    Raises MacroError, naming ``where``, when the text does not parse."""
    import yaml  # only for a macro mapping: a post's conversion need not import it

    from md2tex.yamlload import TooMuch, load_bounded

    try:
        data = json.loads(text) if suffix == ".json" else load_bounded(text)
    except (ValueError, yaml.YAMLError) as exc:
        raise MacroError(f"{where}: cannot read: {exc}") from None
    except TooMuch as exc:
        raise MacroError(f"{where}: {exc}") from None
    if isinstance(data, Mapping) and isinstance(data.get("macros"), Mapping):
        data = data["macros"]
    return definitions_from_value(data)


def to_text(defs: list[Definition]) -> str:
    """Definitions as ``\\newcommand`` text (for ``Options.macros``), round-trippable."""
    out = []
    for d in defs:
        if d.kind == "color":
            out.append(d.latex())
        elif d.kind == "def":
            out.append(f"\\def\\{d.name}{d.params}{{{d.body}}}")
        elif d.kind == "let":
            out.append(f"\\let\\{d.name}{d.body}")
        elif d.kind.startswith("operator"):
            star = "*" if d.kind.endswith("*") else ""
            out.append(f"\\DeclareMathOperator{star}{{\\{d.name}}}{{{d.body}}}")
        else:
            args = f"[{d.nargs}]" if d.nargs else ""
            if d.default is not None and d.nargs:
                args += f"[{d.default}]"
            out.append(f"\\newcommand{{\\{d.name}}}{args}{{{d.body}}}")
    return "\n".join(out)


def preamble(defs: list[Definition]) -> str:
    """Preamble lines for ``defs`` in order (later definitions of a name win)."""
    return "\n".join(d.latex() for d in defs)
