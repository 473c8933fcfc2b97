"""``md2tex check``: every diagnostic of a conversion, as a compiler prints it. It runs no
build, but the conversion is the build's, and with TeX installed every formula goes through
TeX's probe run (``--no-probe``: none), so every formula the PDF would show as an error is
reported here, at the same place, with the same code."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from md2tex.diagnostics import Diagnostic, Md2TexError, Severity
from md2tex.memo import Memo
from md2tex.options import Options
from md2tex.pipeline import convert, read_post


@dataclass
class CheckResult:
    """One file's diagnostics and its text (for source lines under the messages)."""

    path: str
    diagnostics: list[Diagnostic] = field(default_factory=list)
    text: str = ""

    @property
    def errors(self) -> int:
        return sum(d.severity is Severity.ERROR for d in self.diagnostics)

    @property
    def warnings(self) -> int:
        return sum(d.severity is Severity.WARNING for d in self.diagnostics)


def check_text(text: str, options: Options | None = None, path: str = "<string>",
               memo: Memo | None = None) -> CheckResult:
    """Convert (``convert(check=True)``) and keep the diagnostics. Code blocks are scanned,
    not highlighted (Pygments reports nothing a check needs and was most of its time); with
    TeX installed every formula is typeset in the probe run, so every formula TeX would
    reject in the build is found now. ``memo``: the CLI's cache (default: the user's)."""
    try:
        doc = convert(text, options, path, memo=memo or Memo.for_user(), check=True)
    except Md2TexError as exc:
        return CheckResult(path, list(exc.diagnostics), text)
    return CheckResult(path, list(doc.diagnostics), text)


def check_file(path: str | Path, options: Options | None = None,
               memo: Memo | None = None) -> CheckResult:
    p = Path(path)
    options = options or Options()
    try:
        text = read_post(p, options.lenient)
    except Md2TexError as exc:
        return CheckResult(str(p), list(exc.diagnostics) or [
            Diagnostic(Severity.ERROR, "input", exc.message, path=str(p))])
    if options.base_dir is None:
        from dataclasses import replace
        options = replace(options, base_dir=p.resolve().parent)
    return check_text(text, options, str(p), memo)


def format_diagnostic(d: Diagnostic, lines: Sequence[str]) -> str:
    """``post.md:12:8: error: message [code]``, the source line, a caret, hint and fix."""
    out = [d.format().split("\n")[0]]
    if d.line is not None and 1 <= d.line <= len(lines):
        src = lines[d.line - 1].rstrip("\n").expandtabs(1)
        out.append(f"{d.line:6} | {src}")
        if d.column is not None and d.column >= 1:
            out.append("       | " + " " * (min(d.column, len(src) + 1) - 1) + "^")
    if d.hint:
        out.append(f"  hint: {d.hint}")
    if d.fix:
        out.append(f"  fix: {d.fix}")
    return "\n".join(out)


def format_result(result: CheckResult, show_notes: bool = True) -> list[str]:
    """Every diagnostic, under it the post's line when it is about the post (a site macro
    file's warnings name that file instead)."""
    lines = result.text.split("\n")
    return [format_diagnostic(d, lines if d.path == result.path else [])
            for d in result.diagnostics if show_notes or d.severity is not Severity.NOTE]


def to_json(result: CheckResult) -> list[dict[str, Any]]:
    return [{"path": d.path, "line": d.line, "column": d.column,
             "severity": d.severity.value, "code": d.code, "message": d.message,
             "fix": d.fix, "hint": d.hint} for d in result.diagnostics]
