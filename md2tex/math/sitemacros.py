"""The macros a post may use: site file < front matter ``macros:`` < the post's own
definitions (later wins), each definition's body checked like a formula.

A bad definition (unreadable, or a body LaTeX cannot typeset) never costs a post: it is a
warning at its file and line (``file_text`` keeps both in ``Options.macros``) and the macro
stays undefined, so where a post uses it MathJax's noundefined fallback applies."""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from md2tex.diagnostics import Diagnostic, warning
from md2tex.math.macros import (
    MAPPING_SUFFIXES,
    Definition,
    KnownMacros,
    MacroError,
    definitions_from_value,
    mapping_definitions,
    scan_definitions,
    to_text,
)
from md2tex.options import MACROS_FILE_TAG, MACROS_MAPPING_TAG, macros_text

_PARAM = re.compile(r"#+(\d)")
#: a definition of a macro file that could not be read (a YAML/JSON mapping's entry)
_ERROR_TAG = "%md2tex-macros-error: "
_COMMENT = re.compile(r"(?<!\\)((?:\\\\)*)%[^\n]*")
_LEFT_UNDEFINED = "; left undefined"


def file_text(path: str | Path) -> str:
    """A site macro file as ``Options.macros`` text (``options.macros_text``): a tag naming
    the file, then its text. Raises OSError, UnicodeDecodeError, or MacroError (a YAML/JSON
    mapping that does not parse), so a config or the command line can refuse it."""
    path = Path(path)
    text = path.read_text(encoding="utf-8")
    if path.suffix.lower() in MAPPING_SUFFIXES:
        mapping_definitions(text, path.suffix.lower(), str(path))
    return f"{MACROS_FILE_TAG}{path.resolve()}\n{text}"


def site_text(value: Any) -> str:
    """``Options.macros`` with every mapping (a YAML/JSON file's, or one given as a Python
    mapping) written as ``\\newcommand`` lines, plus a tag line for each entry that could
    not be read: the text ``collect`` and ``--safe`` read."""
    text = macros_text(value)
    if MACROS_MAPPING_TAG not in text and not any(
            (name or "").lower().endswith(MAPPING_SUFFIXES)
            for _t, name, _e in _site_parts(text)):
        return text
    given: list[str] = []
    out: list[str] = []
    for part, name, _exact in _site_parts(text):
        lines = []
        for line in part.splitlines():
            if line.startswith(MACROS_MAPPING_TAG):
                given.append(_as_text(line[len(MACROS_MAPPING_TAG):], ".json", "macros"))
            else:
                lines.append(line)
        part = "\n".join(lines)
        if name is None:
            given.append(part)
        elif name.lower().endswith(MAPPING_SUFFIXES):
            out.append(f"{MACROS_FILE_TAG}{name}\n"
                       f"{_as_text(part, Path(name).suffix.lower(), name)}")
        else:
            out.append(f"{MACROS_FILE_TAG}{name}\n{part}")
    return "\n".join([*given, *out])


def _as_text(mapping: str, suffix: str, where: str) -> str:
    try:
        defs, errors = mapping_definitions(mapping, suffix, where)
    except MacroError as exc:
        defs, errors = [], [str(exc)]
    return "\n".join([to_text(defs), *(_ERROR_TAG + e.replace("\n", " ") for e in errors)])


def _site_parts(text: str) -> Iterator[tuple[str, str | None, bool]]:
    """(text, file, lines are the file's) for each part of ``Options.macros`` text."""
    parts = text.split(MACROS_FILE_TAG)
    if parts[0].strip():
        yield parts[0], None, False
    for part in parts[1:]:
        name, _nl, body = part.partition("\n")
        yield body, name, not name.lower().endswith(MAPPING_SUFFIXES)


@dataclass
class MacroContext:
    """Known user macros (name -> number of arguments) and the preamble definitions."""

    known: KnownMacros = field(default_factory=KnownMacros)
    definitions: list[Definition] = field(default_factory=list)
    diagnostics: list[Diagnostic] = field(default_factory=list)


def _check(defs: list[Definition], where: str, path: str, known: KnownMacros,
           ctx: MacroContext, lines: list[int | None] | None = None) -> None:
    for d, line in zip(defs, lines or [None] * len(defs), strict=True):
        if d.kind == "let":
            known.define(d)
            ctx.definitions.append(d)
            continue
        body = _PARAM.sub(r"{x}", d.body)
        if d.kind.startswith("operator"):
            body = f"\\operatorname{{{body}}}"
        from md2tex.math.check import prepare

        result = prepare(body, display=False, path=path, macros={**known, d.name: d.nargs},
                         macro_body=True)
        errors = [x for x in result.diagnostics if x.severity.value == "error"]
        if errors:
            ctx.diagnostics.append(warning(
                "macro-definition", f"{where} macro \\{d.name}: {errors[0].message}"
                f"{_LEFT_UNDEFINED}", line, path=path, hint=errors[0].hint))
            continue
        known.define(d)
        ctx.definitions.append(d)


def collect(site_text: str, meta: Mapping[str, Any], body: str, path: str) -> MacroContext:
    """Site macros (``Options.macros`` text), front matter ``macros:``, and the names the
    post defines in its formulas (their definitions are hoisted by ``mathcheck``)."""
    ctx = MacroContext()
    known = KnownMacros()
    for text, name, exact in _site_parts(site_text):
        _site(text, name or path, exact and name is not None, known, ctx)
    if meta.get("macros"):
        defs, errs = definitions_from_value(meta["macros"])
        ctx.diagnostics += [warning("macro-definition", f"front matter macros: {e}"
                                    f"{_LEFT_UNDEFINED}", path=path) for e in errs]
        _check(defs, "front matter", path, known, ctx)
    known.define_colors(body)
    for _s, _e, d in scan_definitions(body):
        if isinstance(d, Definition):
            known.define(d)
    ctx.known = known
    return ctx


def _site(text: str, path: str, exact: bool, known: KnownMacros, ctx: MacroContext) -> None:
    """One macro file's (or the ``Options.macros`` text's) definitions; ``exact``: ``text``
    has the file's lines, so each warning names its line."""
    defs: list[Definition] = []
    lines: list[int | None] = []
    uncommented = _COMMENT.sub(lambda m: m.group(1), text)  # same line breaks
    for start, _end, d in scan_definitions(uncommented):
        line = uncommented.count("\n", 0, start) + 1 if exact else None
        if isinstance(d, MacroError):
            ctx.diagnostics.append(warning("macro-definition", f"site macros: {d}"
                                           f"{_LEFT_UNDEFINED}", line, path=path))
        else:
            defs.append(d)
            lines.append(line)
    for m in re.finditer("^" + re.escape(_ERROR_TAG) + "(.*)$", text, re.M):
        ctx.diagnostics.append(warning("macro-definition", f"site macros: {m.group(1)}"
                                       f"{_LEFT_UNDEFINED}", path=path))
    _check(defs, "site", path, known, ctx, lines)


def preamble(defs: list[Definition], max_matrix_cols: int = 0) -> str:
    """Preamble text: the definitions in order (MathJax semantics) and MaxMatrixCols."""
    lines = [d.latex() for d in defs]
    if max_matrix_cols:
        lines.append(f"\\setcounter{{MaxMatrixCols}}{{{max_matrix_cols}}}")
    return "\n".join(lines)
