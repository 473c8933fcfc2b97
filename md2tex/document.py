"""The result of a conversion: LaTeX source plus everything learned on the way."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from functools import cached_property
from typing import Any, NamedTuple

from md2tex import texengine
from md2tex.diagnostics import SHOWN_AS_ERROR, Diagnostic, Severity, warning
from md2tex.options import Options

#: ``%L12`` alone on a line, or ending one (``\\item{} %L12`` in lists)
_MARKER = re.compile(r"(?<!\\)%L(\d+)$")
#: the .tex line build.tex_errors puts in a TeX error's message
_TEX_LINE = re.compile(r"\(LaTeX line (\d+)\)$")
#: the TeX errors of one build may swap at most this many formulas for their fallback
MAX_FALLBACKS = 8

#: what a formula's fallback is made from: ``math.check.fallback_latex``'s arguments
#: (source, display, unicode, line ends), kept instead of the LaTeX, which only a formula
#: TeX rejects needs
FallbackArgs = tuple[str, bool, bool, int]
#: ``math.check.fallback_latex``, handed in by the pipeline (this core may not import math)
FallbackMaker = Callable[[str, bool, bool, int], str]


class FormulaSpan(NamedTuple):
    """Where a formula is in ``Document.tex`` (offsets), where it was in the Markdown, and
    what shows it as MathJax shows an error (``FallbackArgs``), so a formula TeX rejects
    can be swapped without converting again."""

    start: int
    end: int
    line: int | None
    column: int | None
    fallback: FallbackArgs
    #: already swapped for its fallback
    fallen: bool = False


def locate_formulas(tex: str,
                    formulas: Iterable[tuple[str, int | None, int | None, FallbackArgs]],
                    ) -> tuple[FormulaSpan, ...]:
    """Spans of ``formulas`` ((latex, line, column, fallback), in the order the renderer
    wrote them, which is their order in ``tex``): each is looked for after the previous one
    (prose never holds an unescaped ``$`` or ``\\[``); one not found gets an empty span."""
    out: list[FormulaSpan] = []
    pos = tex.find("\\begin{document}")
    pos = max(pos, 0)
    for latex, line, column, fallback in formulas:
        at = tex.find(latex, pos) if latex else -1
        if at < 0:  # kept (indices match the formulas), never swapped
            out.append(FormulaSpan(-1, -1, line, column, fallback, fallen=True))
            continue
        out.append(FormulaSpan(at, at + len(latex), line, column, fallback))
        pos = at + len(latex)
    return tuple(out)


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
    engine: str = texengine.DEFAULT
    title: str = ""
    extra: Mapping[str, Any] = field(default_factory=dict)
    #: the formulas of ``tex`` that can be swapped for their fallback (``with_fallbacks``)
    formulas: tuple[FormulaSpan, ...] = ()
    #: makes a formula's fallback LaTeX from its ``FallbackArgs`` (a module-level function,
    #: so the Document still pickles); None: no formula can be swapped
    make_fallback: FallbackMaker | None = None

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

    def with_fallbacks(self, indices: Iterable[int]) -> Document:
        """This document with the formulas ``indices`` (into ``formulas``) shown as MathJax
        shows an error; each fallback ends with as many (commented) line ends as its formula
        had, so the ``%L`` line map stays exact."""
        chosen = set(indices)
        if self.make_fallback is None:
            return self
        parts: list[str] = []
        spans: list[FormulaSpan] = []
        last = shift = 0
        for k, span in enumerate(self.formulas):
            if span.start < 0:
                spans.append(span)
                continue
            start, end = span.start + shift, span.end + shift
            if k in chosen and not span.fallen:
                old = self.tex[span.start:span.end]
                new = self.make_fallback(*span.fallback).rstrip("%\n")
                new += "%\n" * old.count("\n")
                parts += [self.tex[last:span.start], new]
                last = span.end
                shift += len(new) - len(old)
                span = span._replace(fallen=True)
                end = start + len(new)
            spans.append(span._replace(start=start, end=end))
        parts.append(self.tex[last:])
        return replace(self, tex="".join(parts), formulas=tuple(spans))

    def formula_at(self, tex_line: int, context: str = "") -> int | None:
        """The formula (index into ``formulas``, not yet swapped) on .tex line ``tex_line``;
        ``context``: the text TeX read on that line up to its error (TeX's ``l.N`` line,
        maybe cut to its end), which picks among several formulas on the line."""
        starts = [0, *(m.end() for m in re.finditer("\n", self.tex))]
        if not 0 < tex_line <= len(starts):
            return None
        line_start = starts[tex_line - 1]
        line_end = starts[tex_line] - 1 if tex_line < len(starts) else len(self.tex)
        found = [k for k, span in enumerate(self.formulas) if not span.fallen
                 and span.start <= line_end and span.end >= line_start]
        context = context.removeprefix("...")
        if len(found) > 1 and context:
            text = self.tex[line_start:line_end]
            ends = [m.start() + len(context) + line_start
                    for m in re.finditer(re.escape(context), text)]
            inside = [k for k in found if any(
                self.formulas[k].start < end <= self.formulas[k].end for end in ends)]
            found = inside or found
        return found[0] if found else None

    def blamed_line(self, tex_line: int, name: str | None = None) -> int:
        """The .tex line an error at ``tex_line`` is about. TeX reads an amsmath environment
        whole before it typesets it, so an error inside one is reported at its ``\\end``
        line; ``name`` (the control sequence TeX stopped at, as the document wrote it) is
        then looked for in the formula's lines, the last one holding it wins."""
        k = self.formula_at(tex_line)
        lines = self.tex.split("\n")
        if name is None or k is None or not 0 < tex_line <= len(lines) \
                or _written(name, lines[tex_line - 1]):
            return tex_line
        first = self.tex.count("\n", 0, self.formulas[k].start) + 1
        for number in range(tex_line - 1, first - 1, -1):
            if _written(name, lines[number - 1]):
                return number
        return tex_line

    def error_line(self, tex_line: int, name: str | None = None) -> int | None:
        """The Markdown line of a TeX error at ``tex_line`` (``blamed_line``, then
        ``markdown_line``)."""
        return self.markdown_line(self.blamed_line(tex_line, name))

    def fallback_for(self, tex_errors: Sequence[Diagnostic], context: str = "",
                     name: str | None = None) -> tuple[Document, Diagnostic] | None:
        """After TeX failed with ``tex_errors`` (``passes.tex_errors``; ``context``: what TeX
        had read of the line it stopped in, ``name``: the control sequence there as the
        document wrote it, both from ``texlog``): when the first error is inside a formula,
        this document with that formula shown as MathJax shows an error, and a warning at
        the Markdown line TeX stopped in (the formula's column when that is its first line);
        None for any other failure, and under ``strict`` (the post is refused, as for any
        math error)."""
        if self.options.strict or self.make_fallback is None or not tex_errors \
                or tex_errors[0].code != "tex-error":
            return None
        m = _TEX_LINE.search(tex_errors[0].message)
        if m is None:
            return None
        tex_line = int(m.group(1))
        k = self.formula_at(tex_line, context)
        if k is None:
            return None
        span = self.formulas[k]
        message = tex_errors[0].message.removeprefix("TeX: ")
        message = _TEX_LINE.sub("", message).strip().rstrip(".")
        if message == "Undefined control sequence" and name:
            message += " " + name
        line = self.error_line(tex_line, name) or span.line
        column = span.column if line == span.line else None
        d = warning("math-tex-rejected", f"TeX rejects this formula: {message}; "
                    f"{SHOWN_AS_ERROR}", line, column=column, path=self.path,
                    hint="TeX stopped with this error while building the PDF")
        return self.with_fallbacks([k]), d


def _written(name: str, line: str) -> bool:
    """Does ``line`` hold the control sequence ``name`` (not a longer one it starts)?"""
    return re.search(re.escape(name) + ("(?![A-Za-z@])" if name[-1:].isalpha() else ""),
                     line) is not None


#: what in an uncertain formula can change the formulas after it (definitions, \global)
_LEAKS = re.compile(r"\\(?:[egx]?def|let|futurelet|global|aftergroup|newcommand|"
                    r"renewcommand|providecommand|newenvironment|renewenvironment|"
                    r"DeclarePairedDelimiter\w*|MakeAboxedCommand|DeclareMathOperator|"
                    r"hsize|chardef|mathchardef)(?![A-Za-z])")


class Formula(NamedTuple):
    """One formula of the post as the document has it (``latex``: ``\\[...\\]``, ``$...$``
    or an environment), where it is in the Markdown, and, when it is TeX programming, the
    ``math-unverified`` warning the checker gave it."""

    latex: str
    line: int | None
    column: int | None
    unverified: Diagnostic | None = None
    #: the formula's text (the probe looks for definitions and \global in it)
    raw: str = ""
    #: what shows it as MathJax shows an error (``FallbackArgs``)
    fallback: FallbackArgs = ("", False, False, 0)

    @property
    def leaks(self) -> bool:
        return self.unverified is not None and _LEAKS.search(self.raw) is not None
