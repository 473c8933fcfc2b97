"""Diagnostics and the error family: every problem is reported against a Markdown line."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass, replace
from enum import Enum
from typing import Any

#: the end of the message of a math error whose formula the PDF shows as MathJax shows an
#: error (its source in red) instead of refusing the post
SHOWN_AS_ERROR = "shown in red as MathJax shows a formula with an error"
#: the same when only undefined names were shown in red (MathJax's noundefined)
SHOWN_UNDEFINED = ("the undefined name shown in red as MathJax does, the rest of the formula "
                   "typeset")


class Severity(str, Enum):
    """How bad a diagnostic is; errors stop the build, warnings and notes do not."""

    ERROR = "error"
    WARNING = "warning"
    NOTE = "note"

    def __str__(self) -> str:
        """``error``, ``warning`` or ``note``, as a compiler prints it (not ``Severity.ERROR``)."""
        return self.value

    def __format__(self, spec: str) -> str:
        return format(self.value, spec)


@dataclass(frozen=True)
class Diagnostic:
    """One message about the input, located at a Markdown line (and column, when known)."""

    severity: Severity
    code: str
    message: str
    path: str = "<string>"
    line: int | None = None
    column: int | None = None
    hint: str | None = None
    fix: str | None = None

    def format(self) -> str:
        """Render compiler-style: ``post.md:12:8: error: message [code]``."""
        where = self.path
        if self.line is not None:
            where += f":{self.line}"
            if self.column is not None:
                where += f":{self.column}"
        text = f"{where}: {self.severity.value}: {self.message} [{self.code}]"
        if self.hint:
            text += f"\n  hint: {self.hint}"
        return text

    def strict(self) -> Diagnostic:
        """As ``--strict`` reports it: a warning is an error, and a formula that would have
        been shown as MathJax shows an error refuses the post instead (no "shown" clause)."""
        if self.severity is not Severity.WARNING:
            return self
        message = self.message
        for shown in (SHOWN_AS_ERROR, SHOWN_UNDEFINED):
            message = message.removesuffix("; " + shown)
        return replace(self, severity=Severity.ERROR, message=message)

    def with_path(self, path: str) -> Diagnostic:
        return replace(self, path=path)

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["severity"] = self.severity.value
        return data


def error(code: str, message: str, line: int | None = None, **kw: Any) -> Diagnostic:
    return Diagnostic(Severity.ERROR, code, message, line=line, **kw)


def warning(code: str, message: str, line: int | None = None, **kw: Any) -> Diagnostic:
    return Diagnostic(Severity.WARNING, code, message, line=line, **kw)


def note(code: str, message: str, line: int | None = None, **kw: Any) -> Diagnostic:
    return Diagnostic(Severity.NOTE, code, message, line=line, **kw)


class Md2TexError(Exception):
    """Base of md2tex's errors; carries the diagnostics that explain it."""

    exit_code = 1

    def __init__(self, message: str, diagnostics: Sequence[Diagnostic] = ()) -> None:
        super().__init__(message)
        self.message = message
        self.diagnostics: tuple[Diagnostic, ...] = tuple(diagnostics)

    def __str__(self) -> str:
        if self.diagnostics:
            return "\n".join(d.format() for d in self.diagnostics)
        return self.message


class InputError(Md2TexError):
    """The Markdown (or its front matter) cannot be read or converted."""

    exit_code = 1


class BuildError(Md2TexError):
    """TeX ran and failed; diagnostics point at Markdown lines. ``log``: TeX's log, when it
    has one (where on its line TeX stopped tells which formula failed); ``tex``: the LaTeX
    that was built, when the caller knows it (``md2tex.build_pdf`` fills it in)."""

    exit_code = 3
    #: how much of the end of TeX's log ``log_tail`` keeps
    TAIL_CHARS = 2000

    def __init__(self, message: str, diagnostics: Sequence[Diagnostic] = (),
                 log: str = "", tex: str = "") -> None:
        super().__init__(message, diagnostics)
        self.log = log
        self.tex = tex

    @property
    def log_tail(self) -> str:
        """The end of TeX's log, where its error is (empty when TeX wrote none)."""
        return self.log[-self.TAIL_CHARS:]


class EngineMissingError(Md2TexError):
    """No TeX engine is installed."""

    exit_code = 4


class OutputError(Md2TexError):
    """The output file cannot be written."""

    exit_code = 5
