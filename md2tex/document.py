"""The result of a conversion: LaTeX source plus everything learned on the way."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

from .diagnostics import Diagnostic, Severity
from .options import Options

#: ``%L12`` alone on a line, or ending one (``\\item{} %L12`` in lists)
_MARKER = re.compile(r"(?<!\\)%L(\d+)$")


@dataclass(frozen=True)
class Document:
    """A converted post. ``tex`` is a complete LaTeX document; nothing has touched the disk."""

    tex: str
    meta: Mapping[str, Any]
    features: frozenset[str]
    diagnostics: tuple[Diagnostic, ...]
    #: name used in the .tex -> file to copy beside it when building
    resources: Mapping[str, str]
    options: Options
    path: str = "<string>"
    engine: str = "pdflatex"
    title: str = ""
    extra: Mapping[str, Any] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        """No error diagnostics: the document can be built."""
        return not any(d.severity is Severity.ERROR for d in self.diagnostics)

    @property
    def errors(self) -> tuple[Diagnostic, ...]:
        return tuple(d for d in self.diagnostics if d.severity is Severity.ERROR)

    @property
    def warnings(self) -> tuple[Diagnostic, ...]:
        return tuple(d for d in self.diagnostics if d.severity is Severity.WARNING)

    @cached_property
    def _line_map(self) -> list[int | None]:
        mapping: list[int | None] = [None]
        current: tuple[int, int] | None = None  # (tex line of marker, md line)
        for number, text in enumerate(self.tex.split("\n"), start=1):
            m = _MARKER.search(text)
            if m:
                current = (number, int(m.group(1)))
                mapping.append(current[1])
            elif current is None:
                mapping.append(None)
            else:
                mapping.append(current[1] + (number - current[0] - 1))
        return mapping

    def markdown_line(self, tex_line: int) -> int | None:
        """The Markdown line a line of ``tex`` came from (markers give block starts; lines in
        a block follow the Markdown line by line)."""
        if 0 < tex_line < len(self._line_map):
            return self._line_map[tex_line]
        return None
