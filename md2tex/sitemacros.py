"""The macros a post may use: site file < front matter ``macros:`` < the post's own
definitions (later wins), each definition's body checked like a formula."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from .diagnostics import Diagnostic, error
from .macros import (
    Definition,
    KnownMacros,
    definitions_from_text,
    definitions_from_value,
    scan_definitions,
)

_PARAM = re.compile(r"#+(\d)")


@dataclass
class MacroContext:
    """Known user macros (name -> number of arguments) and the preamble definitions."""

    known: KnownMacros = field(default_factory=KnownMacros)
    definitions: list[Definition] = field(default_factory=list)
    diagnostics: list[Diagnostic] = field(default_factory=list)


def _check(defs: list[Definition], where: str, path: str, known: KnownMacros,
           ctx: MacroContext) -> None:
    for d in defs:
        if d.kind == "let":
            known.define(d)
            ctx.definitions.append(d)
            continue
        body = _PARAM.sub(r"{x}", d.body)
        if d.kind.startswith("operator"):
            body = f"\\operatorname{{{body}}}"
        from .mathcheck import prepare

        result = prepare(body, display=False, path=path, macros={**known, d.name: d.nargs},
                         macro_body=True)
        errors = [x for x in result.diagnostics if x.severity.value == "error"]
        if errors:
            ctx.diagnostics.append(error(
                "macro-definition", f"{where} macro \\{d.name}: {errors[0].message}",
                path=path, hint=errors[0].hint))
            continue
        known.define(d)
        ctx.definitions.append(d)


def collect(site_text: str, meta: Mapping[str, Any], body: str, path: str) -> MacroContext:
    """Site macros (``Options.macros`` text), front matter ``macros:``, and the names the
    post defines in its formulas (their definitions are hoisted by ``mathcheck``)."""
    ctx = MacroContext()
    known = KnownMacros()
    if site_text.strip():
        defs, errs = definitions_from_text(site_text)
        ctx.diagnostics += [error("macro-definition", f"site macros: {e}", path=path)
                            for e in errs]
        _check(defs, "site", path, known, ctx)
    if meta.get("macros"):
        defs, errs = definitions_from_value(meta["macros"])
        ctx.diagnostics += [error("macro-definition", f"front matter macros: {e}", path=path)
                            for e in errs]
        _check(defs, "front matter", path, known, ctx)
    for _s, _e, d in scan_definitions(body):
        if isinstance(d, Definition):
            known.define(d)
    ctx.known = known
    return ctx


def preamble(defs: list[Definition], max_matrix_cols: int = 0) -> str:
    """Preamble text: the definitions in order (MathJax semantics) and MaxMatrixCols."""
    lines = [d.latex() for d in defs]
    if max_matrix_cols:
        lines.append(f"\\setcounter{{MaxMatrixCols}}{{{max_matrix_cols}}}")
    return "\n".join(lines)
