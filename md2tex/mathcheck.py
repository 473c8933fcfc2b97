"""What a formula means to LaTeX: parse it (pylatexenc), fix MathJax-only habits, report the
rest at the Markdown line. User math reaches LaTeX only through ``prepare``."""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from pylatexenc import latexnodes
from pylatexenc.latexwalker import LatexWalker

from .diagnostics import Diagnostic, error, note
from .escape import unicode_char
from .mathsyntax import DISPLAY_ENVIRONMENTS

logging.getLogger("pylatexenc").setLevel(logging.ERROR)

SIZE_SWITCHES = frozenset(
    ["tiny", "scriptsize", "footnotesize", "small", "normalsize", "large", "Large", "LARGE",
     "huge", "Huge"])
_LAP = {"rlap": "mathrlap", "llap": "mathllap", "clap": "mathclap"}
_SIMPLE_ALIASES = {"lt": "<", "gt": ">", "And": r"\&", "bold": r"\mathbf",
                   "Bbb": r"\mathbb"}
#: display environments turned into their inner forms when mixed with other math
_INNER_FORM = {"align": "aligned", "align*": "aligned", "gather": "gathered",
               "gather*": "gathered", "alignat": "alignedat", "alignat*": "alignedat",
               "flalign": "aligned", "flalign*": "aligned", "multline": "gathered",
               "multline*": "gathered", "equation": "", "equation*": "", "eqnarray": "aligned",
               "eqnarray*": "aligned", "displaymath": ""}
_NUMBERED = {"equation", "align", "alignat", "gather", "multline", "flalign", "eqnarray"}
_MAX_LEN = 20_000


@dataclass
class MathResult:
    """A formula ready for LaTeX and what was learned about it."""

    latex: str
    #: name of the amsmath environment when the formula is one, emitted at paragraph level
    environment: str | None = None
    packages: set[str] = field(default_factory=set)
    diagnostics: list[Diagnostic] = field(default_factory=list)


@dataclass
class _Edit:
    start: int
    end: int
    text: str


class _Locator:
    """Maps an offset in a formula to a Markdown line and column."""

    def __init__(self, raw: str, path: str, line: int | None, column: int | None,
                 opener_len: int) -> None:
        self.raw, self.path, self.line, self.column, self.opener = raw, path, line, column, \
            opener_len

    def at(self, pos: int) -> dict[str, Any]:
        if self.line is None:
            return {"path": self.path}
        before = self.raw[:pos]
        nl = before.count("\n")
        col = (self.column or 1) + self.opener + pos if nl == 0 else pos - before.rfind("\n")
        return {"path": self.path, "line": self.line + nl, "column": col}


def prepare(raw: str, *, display: bool, path: str = "<string>", line: int | None = None,
            column: int | None = None, opener_len: int = 0, unicode: bool = False,
            numbered: bool = False) -> MathResult:
    """Validate and translate one formula.

    ``display``: the formula stands as display math; if it is a single amsmath display
    environment it is returned raw (``environment`` set) so ``\\tag`` and numbering work.
    """
    loc = _Locator(raw, path, line, column, opener_len)
    result = MathResult(latex=raw)
    if len(raw) > _MAX_LEN:
        result.diagnostics.append(error("math-too-long", "formula is longer than 20,000 "
                                        "characters", **loc.at(0)))
        return result
    problems = list(_structure_problems(raw))
    if problems:
        for pos, msg, code in problems:
            result.diagnostics.append(error(code, msg, **loc.at(pos)))
        return result
    nodes = _parse(raw)
    edits: list[_Edit] = []
    _fix_nodes(nodes, raw, edits, result, loc, unicode)
    env_node = _single_environment(nodes) if display else None
    if env_node is not None:
        name = env_node.environmentname
        base = name.rstrip("*")
        if base in _NUMBERED and not name.endswith("*") and not numbered:
            _rename_env(env_node, raw, name + "*", edits)
            name += "*"
        result.environment = name
    else:
        _inner_forms(nodes, raw, edits, result, loc)
    result.latex = _apply(raw, edits).strip()
    if not unicode:
        result.latex = _math_unicode(result.latex, result, loc)
    return result


def _parse(raw: str) -> list[Any]:
    walker = LatexWalker(raw, tolerant_parsing=True)
    state = walker.make_parsing_state(in_math_mode=True)
    nodes, _ = walker.parse_content(latexnodes.parsers.LatexGeneralNodesParser(),
                                    parsing_state=state)
    return list(nodes.nodelist) if nodes is not None else []


_TOKEN = re.compile(r"\\(begin|end)\s*\{([^{}]*)\}|\\[A-Za-z@]+|\\.|[{}]", re.S)


def _structure_problems(raw: str) -> Iterator[tuple[int, str, str]]:
    """Unbalanced braces and mismatched environments, with positions."""
    stack: list[tuple[str, int, str]] = []
    for m in _TOKEN.finditer(raw):
        tok = m.group(0)
        if m.group(1) == "begin":
            stack.append(("env", m.start(), m.group(2)))
        elif m.group(1) == "end":
            name = m.group(2)
            if not stack:
                yield m.start(), f"\\end{{{name}}} without a matching \\begin{{{name}}}", \
                    "math-env-mismatch"
                return
            kind, pos, open_name = stack.pop()
            if kind == "{":
                yield pos, "'{' is never closed", "math-unbalanced-brace"
                return
            if open_name != name:
                yield m.start(), (f"\\end{{{name}}} does not match \\begin{{{open_name}}}"), \
                    "math-env-mismatch"
                return
        elif tok == "{":
            stack.append(("{", m.start(), ""))
        elif tok == "}":
            if not stack or stack[-1][0] != "{":
                yield m.start(), "'}' has no matching '{'", "math-unbalanced-brace"
                return
            stack.pop()
    if stack:
        kind, pos, name = stack[-1]
        if kind == "{":
            yield pos, "'{' is never closed", "math-unbalanced-brace"
        else:
            yield pos, f"\\begin{{{name}}} is never closed by \\end{{{name}}}", \
                "math-env-mismatch"


def _children(node: Any) -> Iterator[Sequence[Any]]:
    """The node lists inside a node: its body and each argument's contents."""
    if getattr(node, "nodelist", None) is not None and not _is_macro(node):
        yield list(node.nodelist)
    argd = getattr(node, "nodeargd", None)
    if argd is not None and argd.argnlist:
        for arg in argd.argnlist:
            if arg is None:
                continue
            if getattr(arg, "nodelist", None) is not None and arg.nodelist is not None:
                yield list(arg.nodelist)
            else:
                yield [arg]


def _is_macro(node: Any) -> bool:
    return bool(node.isNodeType(latexnodes.nodes.LatexMacroNode))


def _in_math(node: Any) -> bool:
    state = getattr(node, "parsing_state", None)
    return bool(state is not None and state.in_math_mode)


def _fix_nodes(nodes: Sequence[Any], raw: str, edits: list[_Edit], result: MathResult,
               loc: _Locator, unicode: bool) -> None:
    i = 0
    while i < len(nodes):
        node = nodes[i]
        if _is_macro(node) and _in_math(node):
            name = node.macroname
            if name in _LAP:
                edits.append(_Edit(node.pos, node.pos + len(name) + 1, "\\" + _LAP[name]))
                result.packages.add("mathtools")
                result.diagnostics.append(note(
                    "mathjax-lap", f"\\{name} in math became \\{_LAP[name]} (MathJax typesets "
                    f"\\{name} in math mode; LaTeX needs mathtools' \\{_LAP[name]})",
                    **loc.at(node.pos), fix=f"\\{_LAP[name]}"))
            elif name in SIZE_SWITCHES:
                stop = i + 1
                while stop < len(nodes) and not _is_row_separator(nodes[stop]):
                    stop += 1
                rest = nodes[i + 1 : stop]
                if rest:
                    inner = raw[rest[0].pos : rest[-1].pos_end]
                    edits.append(_Edit(node.pos, rest[-1].pos_end,
                                       f"\\text{{\\{name}${inner}$}}"))
                    for sub in rest:
                        for lst in _children(sub):
                            _fix_nodes(lst, raw, edits, result, loc, unicode)
                else:
                    edits.append(_Edit(node.pos, node.pos_end, ""))
                result.packages.add("amsmath")
                result.diagnostics.append(note(
                    "math-size-switch", f"\\{name} in math was wrapped in \\text so it takes "
                    "effect (LaTeX ignores size switches in math mode)", **loc.at(node.pos)))
                i = stop
                continue
            elif name in _SIMPLE_ALIASES:
                edits.append(_Edit(node.pos, node.pos + len(name) + 1,
                                   _SIMPLE_ALIASES[name] + " "))
                result.diagnostics.append(note(
                    "mathjax-alias", f"\\{name} (MathJax only) became "
                    f"'{_SIMPLE_ALIASES[name] or 'nothing'}'", **loc.at(node.pos)))
        for lst in _children(node):
            _fix_nodes(lst, raw, edits, result, loc, unicode)
        i += 1


def _is_row_separator(node: Any) -> bool:
    if node.isNodeType(latexnodes.nodes.LatexSpecialsNode) and node.specials_chars == "&":
        return True
    return bool(_is_macro(node) and node.macroname in ("\\", "cr"))


def _single_environment(nodes: Sequence[Any]) -> Any | None:
    meaningful = [n for n in nodes if not _is_blank(n)]
    if len(meaningful) == 1:
        node = meaningful[0]
        if node.isNodeType(latexnodes.nodes.LatexEnvironmentNode) and \
                node.environmentname.rstrip("*") in DISPLAY_ENVIRONMENTS:
            return node
    return None


def _is_blank(node: Any) -> bool:
    if node.isNodeType(latexnodes.nodes.LatexCommentNode):
        return True
    is_chars: bool = node.isNodeType(latexnodes.nodes.LatexCharsNode)
    return is_chars and not str(node.chars).strip()


def _rename_env(node: Any, raw: str, new: str, edits: list[_Edit]) -> None:
    name = node.environmentname
    begin = raw.find("{" + name + "}", node.pos)
    end = raw.rfind("{" + name + "}", node.pos, node.pos_end)
    if begin < 0 or end <= begin:
        return
    edits.append(_Edit(begin + 1, begin + 1 + len(name), new))
    edits.append(_Edit(end + 1, end + 1 + len(name), new))


def _inner_forms(nodes: Sequence[Any], raw: str, edits: list[_Edit], result: MathResult,
                 loc: _Locator) -> None:
    """Display environments inside other math become aligned/gathered (MathJax allows it)."""
    for node in nodes:
        if node.isNodeType(latexnodes.nodes.LatexEnvironmentNode):
            name = node.environmentname
            if name in _INNER_FORM:
                inner = _INNER_FORM[name]
                if inner:
                    _rename_env(node, raw, inner, edits)
                else:
                    begin = raw.find("}", node.pos) + 1
                    end = raw.rfind("\\end", node.pos, node.pos_end)
                    edits.append(_Edit(node.pos, begin, "{"))
                    edits.append(_Edit(end, node.pos_end, "}"))
                result.diagnostics.append(note(
                    "math-inner-env", f"{name} inside other math became "
                    f"{inner or 'a group'} (LaTeX allows {name} only on its own)",
                    **loc.at(node.pos)))
                continue
        for lst in _children(node):
            _inner_forms(lst, raw, edits, result, loc)


def _apply(raw: str, edits: list[_Edit]) -> str:
    out = raw
    last_start = len(raw) + 1
    for e in sorted(edits, key=lambda e: (e.start, e.end), reverse=True):
        if e.end > last_start:
            continue  # overlapping edit (nested fix inside a replaced span); outer one wins
        out = out[: e.start] + e.text + out[e.end :]
        last_start = e.start
    return out


_NON_ASCII = re.compile(r"[^\x00-\x7f]")


def _math_unicode(latex: str, result: MathResult, loc: _Locator) -> str:
    def sub(m: re.Match[str]) -> str:
        ch = m.group(0)
        out = unicode_char(ch)
        if out is None:
            result.diagnostics.append(error(
                "math-unicode", f"character '{ch}' (U+{ord(ch):04X}) cannot be typeset in math",
                **loc.at(0)))
            return ""
        if out.startswith("\\ensuremath{") and out.endswith("}"):
            return "{" + out[len("\\ensuremath{") : -1] + "}"
        return "\\text{" + out + "}"

    return _NON_ASCII.sub(sub, latex)
