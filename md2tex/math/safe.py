"""The ``--safe`` whitelist: math is rebuilt from its parse tree out of known math macros only.

A formula in ``--safe`` mode goes through three steps before ``mathcheck.prepare`` sees it:

1. a character scan rejects what no formula needs (``^^`` notation, ``@`` in names, ``#``);
2. the post's and the site's macro definitions (``\\newcommand``, ``\\renewcommand``,
   ``\\DeclareMathOperator``) are *expanded* here, with a budget, and removed; TeX never sees a
   definition, so a definition cannot do anything the whitelist would refuse;
3. pylatexenc parses the result and it is re-emitted node by node: every control sequence
   must be in the macro table (``mathtable``) for its mode and not in ``FORBIDDEN``, every
   environment must be a known math environment, and math shifts (``$``) inside math are
   refused. Anything else is a diagnostic and the formula is not typeset.

What comes out contains only whitelisted control sequences, braces, brackets and ordinary
characters, so the untrusted text cannot reach TeX's file, shell or catcode machinery.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any, NamedTuple

from md2tex.math import table as mathtable
from md2tex.math.macros import read_balanced

#: never allowed, whatever the macro table says (defence in depth); a set, not a regular
#: expression: compiling one alternation of them cost every post's start-up time
FORBIDDEN = frozenset({
    "AtBeginDocument", "AtEndDocument", "DeclareMathOperator", "IfFileExists",
    "InputIfFileExists", "RequirePackage", "afterassignment", "afterdocument", "aftergroup",
    "batchmode", "begin", "box", "catcode", "chardef", "closein", "closeout", "copy", "count",
    "countdef", "csname", "def", "detokenize", "dimen", "dimendef", "directlua", "documentclass",
    "dump", "edef", "end", "endcsname", "endinput", "ensuremath", "errmessage", "errorstopmode",
    "everycr", "everydisplay", "everyhbox", "everyjob", "everymath", "everypar", "everyvbox",
    "expandafter", "font", "futurelet", "gdef", "global", "halign", "hbox", "href", "hyperlink",
    "hyperref", "hypertarget", "immediate", "include", "includegraphics", "input", "insert",
    "jobname", "lastbox", "latelua", "lccode", "let", "long", "loop", "lowercase", "luadirect",
    "luaescapestring", "luaexec", "makeatletter", "makeatother", "mark", "marks", "mathchardef",
    "meaning", "message", "newcommand", "newenvironment", "newread", "newwrite", "noalign",
    "noexpand", "nolinkurl", "nonstopmode", "openin", "openout", "openup", "outer", "output",
    "protect", "providecommand", "read", "readline", "relax", "renewcommand", "renewenvironment",
    "repeat", "scantokens", "scrollmode", "setbox", "shipout", "show", "showtokens", "skip",
    "skipdef", "special", "string", "toks", "toksdef", "tracingall", "typeout", "uccode",
    "unexpanded", "unhbox", "unvbox", "uppercase", "url", "usepackage", "vadjust", "valign",
    "vbox", "vcenter", "verb", "vtop", "wlog", "write", "xdef",
})
#: whole families: ``\pdf…`` primitives, ``\XeTeX…`` primitives
FORBIDDEN_PREFIXES = ("pdf", "XeTeX",)


def forbidden(name: str) -> bool:
    """Is ``\\name`` refused under ``--safe`` whatever the tables say?"""
    return name in FORBIDDEN or name.startswith(FORBIDDEN_PREFIXES)


#: control symbols ``\X`` (non-letter X) that may stand in math
CONTROL_SYMBOLS = frozenset([*",;:!> {}|#%&_$*\\", "\n", "\t"])
MAX_EXPANSIONS = 2_000
MAX_EXPANDED = 50_000
MAX_ARGS = 9
_DEFINERS = ("newcommand", "renewcommand", "DeclareMathOperator")
_CS = re.compile(r"\\([A-Za-z]+|.)", re.S)
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")


class Unsafe(Exception):
    """A formula (or macro definition) outside the whitelist; ``pos`` is an offset into it."""

    def __init__(self, message: str, pos: int = 0) -> None:
        super().__init__(message)
        self.message = message
        self.pos = pos


class Macro(NamedTuple):
    nargs: int
    body: str
    #: default of the first argument when it is optional (``\\newcommand\\x[2][d]{..}``)
    default: str | None = None


@dataclass
class SafeMacros:
    """The user macros known so far in a document (site macros first, then the post's)."""

    macros: dict[str, Macro] = field(default_factory=dict)


# --------------------------------------------------------------------------- text reader
def _skip_space(text: str, i: int) -> int:
    while i < len(text) and text[i] in " \t\n":
        i += 1
    return i


def _group(text: str, i: int, open_: str = "{", close: str = "}") -> tuple[str, int]:
    """The balanced group starting at ``text[i] == open_``: (inner text, index after it)."""
    group = read_balanced(text, i, open_, close, comments=True)
    if group is None:
        raise Unsafe(f"'{open_}' is never closed", i)
    return group


def _argument(text: str, i: int) -> tuple[str, int]:
    """One undelimited argument: a group's inside, a control sequence or one character."""
    i = _skip_space(text, i)
    if i >= len(text):
        raise Unsafe("a macro is missing an argument", i)
    if text[i] == "{":
        return _group(text, i)
    if text[i] == "}":
        raise Unsafe("a macro is missing an argument", i)
    m = _CS.match(text, i)
    if m:
        return m.group(0), m.end()
    return text[i], i + 1


def _optional(text: str, i: int) -> tuple[str | None, int]:
    j = _skip_space(text, i)
    if j < len(text) and text[j] == "[":
        inner, end = _group(text, j, "[", "]")
        return inner, end
    return None, i


def _definition(text: str, i: int, kind: str, macros: SafeMacros) -> int:
    """Read a definition starting after ``\\kind``; record it; return the index after it."""
    j = _skip_space(text, i)
    star = j < len(text) and text[j] == "*"
    if star:
        j += 1
    braced = text[_skip_space(text, j) : _skip_space(text, j) + 1] == "{"
    name_text, j = _argument(text, j)
    # MathJax takes \newcommand{name} without the backslash too (not \def)
    m = re.fullmatch(r"\s*\\([A-Za-z]+)\s*" if not braced else r"\s*\\?([A-Za-z]+)\s*",
                     name_text)
    if not m:
        raise Unsafe(f"\\{kind} needs a macro name made of letters", i)
    name = m.group(1)
    if forbidden(name):
        raise Unsafe(f"\\{name} may not be defined", i)
    if kind == "DeclareMathOperator":
        body_text, j = _argument(text, j)
        op = "\\operatorname*" if star else "\\operatorname"
        macros.macros[name] = Macro(0, f"{op}{{{body_text}}}")
        return j
    nargs = 0
    count, j = _optional(text, j)
    if count is not None:
        if not re.fullmatch(r"\s*[0-9]\s*", count) or int(count) > MAX_ARGS:
            raise Unsafe(f"\\{kind}{{\\{name}}}: the argument count must be 0 to 9", i)
        nargs = int(count)
    default, j = _optional(text, j)
    body_text, j = _argument(text, j)
    for p in re.findall(r"#(.?)", body_text):
        if not p.isdigit() or not 1 <= int(p) <= nargs:
            raise Unsafe(f"\\{name}: '#{p}' is not one of its {nargs} parameters", i)
    macros.macros[name] = Macro(nargs, body_text, default if nargs else None)
    return j


def _substitute(body: str, args: list[str]) -> str:
    return re.sub(r"#([1-9])", lambda p: "{" + args[int(p.group(1)) - 1] + "}", body)


def expand(text: str, macros: SafeMacros) -> str:
    """Remove definitions (recording them) and expand uses of user macros, with a budget."""
    out: list[str] = []
    i = 0
    expansions = 0
    while i < len(text):
        m = _CS.search(text, i)
        if m is None:
            out.append(text[i:])
            break
        out.append(text[i:m.start()])
        name = m.group(1)
        if name in _DEFINERS:
            i = _definition(text, m.end(), name, macros)
            continue
        macro = macros.macros.get(name)
        if macro is None:
            out.append(m.group(0))
            i = m.end()
            continue
        expansions += 1
        if expansions > MAX_EXPANSIONS or len(text) > MAX_EXPANDED:
            raise Unsafe(f"macro \\{name} expands too much (recursive definition?)", m.start())
        j = m.end()
        args: list[str] = []
        if macro.default is not None:
            opt, j = _optional(text, j)
            args.append(macro.default if opt is None else opt)
        while len(args) < macro.nargs:
            arg, j = _argument(text, j)
            args.append(arg)
        body = _substitute(macro.body, args)
        # the expansion is read again (nested user macros); a space keeps \x y apart
        text = "".join(out) + body + " " + text[j:]
        i = len("".join(out))
        out = [text[:i]]
    return "".join(out)


# --------------------------------------------------------------------------- whitelist
@cache
def mathcheck_rewrites() -> frozenset[str]:
    """MathJax habits the checker (``check.prepare``) rewrites into LaTeX after this check:
    the names of its translation handlers, so the two stay in step (imported on first use,
    as the checker is)."""
    from md2tex.math.translate import TRANSLATIONS

    return frozenset(TRANSLATIONS)


def _known_macro(name: str, in_math: bool) -> bool:
    if forbidden(name):
        return False
    if in_math and name in mathcheck_rewrites():
        return True
    info = mathtable.macro(name)
    if info is not None:
        if in_math and info.mode == "text" and not info.args and not info.optional and (
                name.startswith("text") or name in ("TeX", "LaTeX")):
            return True  # a text symbol: mathcheck puts it in \text{...}
        return info.mode == "both" or info.mode == ("math" if in_math else "text")
    # any engine's table: under another engine the checker reports the name itself
    return name in mathtable.translations(None) or name in mathcheck_rewrites()


def _node_kind(node: Any, kind: Any) -> bool:
    return bool(node.isNodeType(kind))


def _latexnodes() -> Any:
    """pylatexenc's node types, imported on first use (only --safe posts need them)."""
    from pylatexenc import latexnodes

    return latexnodes


class _Emitter:
    def __init__(self) -> None:
        self.parts: list[str] = []

    def nodes(self, nodes: Any) -> None:
        for node in nodes or ():
            self.node(node)

    def node(self, node: Any) -> None:
        n = _latexnodes().nodes
        in_math = bool(getattr(node.parsing_state, "in_math_mode", True))
        if node is None:
            return
        if _node_kind(node, n.LatexCharsNode):
            chars = str(node.chars)
            bad = re.search(r"[#$\\]", chars)
            if bad:
                raise Unsafe(f"'{bad.group(0)}' may not stand in a formula", node.pos)
            self.parts.append(chars)
        elif _node_kind(node, n.LatexCommentNode):
            self.parts.append("\n" if node.comment_post_space and "\n" in
                              node.comment_post_space else " ")
        elif _node_kind(node, n.LatexGroupNode):
            open_, close = node.delimiters
            if (open_, close) not in (("{", "}"), ("[", "]")):
                raise Unsafe(f"'{open_}' group is not allowed here", node.pos)
            self.parts.append(open_)
            self.nodes(node.nodelist)
            self.parts.append(close)
        elif _node_kind(node, n.LatexMathNode):
            # ``\text{if $n$ is even}`` is fine; a '$' that leaves math mode is not
            if in_math or node.displaytype != "inline":
                raise Unsafe("'$' inside math is not allowed (only inside \\text{...})",
                             node.pos)
            self.parts.append("$")
            self.nodes(node.nodelist)
            self.parts.append("$")
        elif _node_kind(node, n.LatexSpecialsNode):
            chars = str(node.specials_chars)
            if chars not in ("&", "~", "^", "_", "'", "''", "'''", "--", "---", "`", "``",
                             "''''"):
                raise Unsafe(f"'{chars}' is not allowed in a formula", node.pos)
            self.parts.append(chars)
            self.args(node)
        elif _node_kind(node, n.LatexEnvironmentNode):
            name = str(node.environmentname)
            if not re.fullmatch(r"[A-Za-z]+\*?", name) or (
                    mathtable.environment(name) is None and
                    "{" + name + "}" not in mathtable.translations(None)):
                raise Unsafe(f"environment '{name}' is not a known math environment",
                             node.pos)
            self.parts.append(f"\\begin{{{name}}}")
            self.args(node)
            self.nodes(node.nodelist)
            self.parts.append(f"\\end{{{name}}}")
        elif _node_kind(node, n.LatexMacroNode):
            name = str(node.macroname)
            if re.fullmatch(r"[A-Za-z]+", name):
                if not _known_macro(name, in_math):
                    where = "math" if in_math else "text inside math"
                    raise Unsafe(f"\\{name} is not on the --safe list of {where} macros",
                                 node.pos)
                self.parts.append(f"\\{name} ")
            elif name in CONTROL_SYMBOLS:
                self.parts.append("\\" + (" " if name in "\n\t" else name))
            else:
                raise Unsafe(f"control symbol \\{name} is not allowed", node.pos)
            self.args(node)
        else:
            raise Unsafe(f"unexpected {type(node).__name__} in a formula", node.pos)

    def args(self, node: Any) -> None:
        argd = getattr(node, "nodeargd", None)
        if argd is None or not argd.argnlist:
            return
        for arg in argd.argnlist:
            if arg is None:
                continue
            nodes = _latexnodes().nodes
            if _node_kind(arg, nodes.LatexGroupNode) or (
                    _node_kind(arg, nodes.LatexCharsNode) and arg.chars == "*"):
                self.node(arg)  # a group keeps its delimiters; a star stays a star
            else:
                self.parts.append("{")
                self.node(arg)
                self.parts.append("}")


def _parse(text: str) -> Any:
    from pylatexenc.latexwalker import LatexWalker

    latexnodes = _latexnodes()
    walker = LatexWalker(text, tolerant_parsing=False)
    state = walker.make_parsing_state(in_math_mode=True)
    nodes, _ = walker.parse_content(latexnodes.parsers.LatexGeneralNodesParser(),
                                    parsing_state=state)
    return nodes.nodelist if nodes is not None else []


def check_math(raw: str, macros: SafeMacros) -> str:
    """The formula rebuilt from whitelisted parts; raises Unsafe with a reason otherwise."""
    raw = _CONTROL.sub("", raw)
    for pattern, why in ((r"\^\^", "'^^' character codes are not allowed"),
                         (r"\\[A-Za-z]*@", "'@' in a macro name is not allowed")):
        m = re.search(pattern, raw)
        if m:
            raise Unsafe(why, m.start())
    text = expand(raw, macros)
    latexnodes = _latexnodes()
    if text.count("{") > 2_000:
        raise Unsafe("formula has more than 2,000 braces", 0)
    try:
        nodes = _parse(text)
    except RecursionError:
        raise Unsafe("formula is nested too deeply", 0) from None
    except latexnodes.LatexWalkerError as exc:
        raise Unsafe(f"formula cannot be parsed: {str(exc).splitlines()[0]}", 0) from None
    emitter = _Emitter()
    try:
        emitter.nodes(nodes)
    except RecursionError:
        raise Unsafe("formula is nested too deeply", 0) from None
    return "".join(emitter.parts).strip()


def load_site_macros(text: str, macros: SafeMacros) -> None:
    """Site macros (``Options.macros``) are definitions only; they are expanded, not emitted."""
    rest = expand(text, macros)
    # MathJax configurations wrap their definitions in display math inside HTML; the rest is
    # never given to TeX, so only definitions count
    rest = re.sub(r"%[^\n]*|\$\$|\\\[|\\\]|<[^<>]*>", "", rest)
    if rest.strip():
        raise Unsafe("site macros may contain only \\newcommand, \\renewcommand and "
                     "\\DeclareMathOperator definitions", 0)


# --------------------------------------------------------------------------- images
def image_allowed(path: Path, allowed_dirs: list[Path]) -> bool:
    """``path`` (already resolved, symlinks followed) lies inside an allowed directory."""
    try:
        real = path.resolve(strict=True)
    except OSError:
        return False
    for d in allowed_dirs:
        try:
            root = d.resolve(strict=True)
        except OSError:
            continue
        if real == root or root in real.parents:
            return real.is_file()
    return False
