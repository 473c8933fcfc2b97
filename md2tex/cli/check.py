"""``md2tex check``: every diagnostic of a conversion, as a linter prints it. It runs no
build, but the conversion is the build's, and with TeX installed every formula goes through
TeX's probe run (``--no-probe``: none), so every formula the PDF would show as an error is
reported here, at the same place, with the same code.

What it reads: files, folders (their ``*.md``/``*.markdown``, recursively, without the
folders a site keeps generated or foreign files in) and ``-`` (standard input). What it
prints: ``text`` (compiler-style with the source line), ``json``, ``github`` (GitHub
Actions annotations) or ``sarif`` (code scanning). Exit status: ``EXIT_CLEAN`` no errors
(warnings do not count; ``--strict`` makes them errors), ``EXIT_ERRORS`` errors found; a
usage error (unknown code, missing file) is click's, 2.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, TextIO

import click

from md2tex.diagnostic_codes import CODES
from md2tex.diagnostics import Diagnostic, Md2TexError, Severity
from md2tex.memo import Memo
from md2tex.options import Options
from md2tex.pipeline import convert, read_post
from md2tex.version import __version__

EXIT_CLEAN, EXIT_ERRORS = 0, 1
#: what a folder argument contributes
POST_SUFFIXES = (".md", ".markdown")
#: folders never searched: Jekyll's output, version control, other tools' packages
SKIPPED_FOLDERS = frozenset({"_site", ".git", "node_modules", "vendor"})
#: the name standard input has in messages unless ``--stdin-filename`` gives one
STDIN_NAME = "<stdin>"
FORMATS = ("text", "json", "github", "sarif")


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
        options = replace(options, base_dir=p.resolve().parent)
    return check_text(text, options, str(p), memo)


def find_markdown(targets: Sequence[str]) -> list[Path | None]:
    """The posts ``targets`` name, in order, each once: a file as given, a folder's
    ``*.md``/``*.markdown`` (sorted, recursively, leaving out ``SKIPPED_FOLDERS`` and hidden
    folders), None for ``-``. A name that does not exist is a usage error."""
    found: list[Path | None] = []
    for target in targets:
        if target == "-":
            found.append(None)
            continue
        path = Path(target)
        if path.is_dir():
            found += _folder_posts(path)
        elif path.exists():
            found.append(path)
        else:
            raise click.BadParameter(f"{target}: no such file or folder",
                                     param_hint="FILES")
    return list(dict.fromkeys(found))


def _folder_posts(folder: Path) -> list[Path | None]:
    posts: list[Path | None] = []
    for dirpath, dirnames, filenames in os.walk(folder):
        dirnames[:] = sorted(d for d in dirnames
                             if d not in SKIPPED_FOLDERS and not d.startswith("."))
        posts += [Path(dirpath, f) for f in sorted(filenames)
                  if f.lower().endswith(POST_SUFFIXES) and not f.startswith(".")]
    return posts


def parse_codes(values: Iterable[str], option: str) -> frozenset[str]:
    """``--ignore``/``--select`` values (each may be ``CODE,CODE``); an unknown code is a
    usage error naming it."""
    codes = {c.strip() for value in values for c in value.split(",") if c.strip()}
    unknown = sorted(codes - set(CODES))
    if unknown:
        raise click.BadParameter(f"unknown diagnostic code {', '.join(unknown)} (every code "
                                 "is listed in docs/diagnostics.md)", param_hint=option)
    return frozenset(codes)


@dataclass(frozen=True)
class CodeFilter:
    """Which diagnostics are reported: ``select`` (when given) keeps only its codes,
    ``ignore`` drops its codes, notes only when ``notes``, warnings unless ``errors_only``."""

    ignore: frozenset[str] = frozenset()
    select: frozenset[str] = frozenset()
    notes: bool = False
    errors_only: bool = False

    def keeps(self, d: Diagnostic) -> bool:
        if d.code in self.ignore or (self.select and d.code not in self.select):
            return False
        if d.severity is Severity.NOTE:
            return self.notes and not self.errors_only
        return d.severity is Severity.ERROR or not self.errors_only

    def apply(self, result: CheckResult) -> CheckResult:
        return replace(result, diagnostics=[d for d in result.diagnostics if self.keeps(d)])


def combined_filter(settings: Mapping[str, Any], ignore: frozenset[str],
                    select: frozenset[str], verbose: int, quiet: bool) -> CodeFilter:
    """The command line's codes over the site config's (``ignore:``/``select:``): ignored
    codes add up, a ``--select`` replaces the config's."""
    return CodeFilter(ignore | frozenset(settings.get("ignore") or ()),
                      select or frozenset(settings.get("select") or ()),
                      notes=verbose > 0, errors_only=quiet)


def run(targets: Sequence[str], options_for: Callable[[Path | None], Options],
        settings_for: Callable[[Path | None], Mapping[str, Any]], *, fmt: str = "text",
        verbose: int = 0, quiet: bool = False, ignore: Sequence[str] = (),
        select: Sequence[str] = (), stdin_filename: str | None = None,
        stdin: TextIO | None = None) -> int:
    """``md2tex check``: check every post ``targets`` name, print in ``fmt``, return the
    exit status. ``options_for(path)``/``settings_for(path)``: the options and batch
    settings of a post's site (None: standard input)."""
    ignored, selected = parse_codes(ignore, "--ignore"), parse_codes(select, "--select")
    results: list[CheckResult] = []
    posts = find_markdown(targets)
    if not posts:
        click.secho("md2tex: no posts (*.md, *.markdown) to check", fg="yellow", err=True)
    for post in posts:
        where = post if post is not None else (
            Path(stdin_filename).parent if stdin_filename else None)
        chosen = combined_filter(settings_for(where), ignored, selected, verbose, quiet)
        # a linter stays off the network: remote images are not fetched to be checked
        options = replace(options_for(where), offline=True)
        if post is None:
            name = stdin_filename or STDIN_NAME
            if options.base_dir is None:
                options = replace(options, base_dir=(where or Path.cwd()).resolve())
            text = (stdin or sys.stdin).read()
            result = check_text(text, options, name)
        else:
            result = check_file(post, options)
        results.append(chosen.apply(result))
    PRINTERS[fmt](results, quiet)
    return EXIT_ERRORS if any(r.errors for r in results) else EXIT_CLEAN


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


def format_result(result: CheckResult) -> list[str]:
    """Every diagnostic, under it the post's line when it is about the post (a site macro
    file's warnings name that file instead)."""
    lines = result.text.split("\n")
    return [format_diagnostic(d, lines if d.path == result.path else [])
            for d in result.diagnostics]


_COLOURS: Mapping[Severity, str] = {Severity.ERROR: "red", Severity.WARNING: "yellow",
                                    Severity.NOTE: "cyan"}


def print_text(results: Sequence[CheckResult], quiet: bool) -> None:
    for result in results:
        for d, text in zip(result.diagnostics, format_result(result), strict=True):
            click.secho(text, fg=_COLOURS[d.severity])
    if not quiet:
        n_err = sum(r.errors for r in results)
        n_warn = sum(r.warnings for r in results)
        click.echo(f"{_count(len(results), 'file')} checked: {_count(n_err, 'error')}, "
                   f"{_count(n_warn, 'warning')}", err=True)


def _count(n: int, word: str) -> str:
    return f"{n} {word}{'s' if n != 1 else ''}"


def to_json(result: CheckResult) -> list[dict[str, Any]]:
    return [{"path": d.path, "line": d.line, "column": d.column,
             "severity": d.severity.value, "code": d.code, "message": d.message,
             "fix": d.fix, "hint": d.hint} for d in result.diagnostics]


def print_json(results: Sequence[CheckResult], quiet: bool) -> None:
    click.echo(json.dumps([x for r in results for x in to_json(r)], indent=2,
                          ensure_ascii=False))


#: a GitHub Actions workflow command's level for each severity
_GITHUB_LEVEL: Mapping[Severity, str] = {Severity.ERROR: "error",
                                         Severity.WARNING: "warning",
                                         Severity.NOTE: "notice"}


def github_annotation(d: Diagnostic) -> str:
    """``::error file=post.md,line=3,col=16,title=CODE::message``: GitHub shows it on the
    line of the pull request's diff. Values are escaped as the runner expects."""
    props = [f"file={_github_escape(d.path, True)}"]
    if d.line is not None:
        props.append(f"line={d.line}")
        if d.column is not None:
            props.append(f"col={d.column}")
    props.append(f"title={_github_escape(d.code, True)}")
    message = d.message + (f"\nhint: {d.hint}" if d.hint else "") + (
        f"\nfix: {d.fix}" if d.fix else "")
    return f"::{_GITHUB_LEVEL[d.severity]} {','.join(props)}::{_github_escape(message)}"


def _github_escape(text: str, property_value: bool = False) -> str:
    text = text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")
    if property_value:
        text = text.replace(":", "%3A").replace(",", "%2C")
    return text


def print_github(results: Sequence[CheckResult], quiet: bool) -> None:
    for result in results:
        for d in result.diagnostics:
            click.echo(github_annotation(d))


#: SARIF's level for each severity
_SARIF_LEVEL: Mapping[Severity, str] = {Severity.ERROR: "error", Severity.WARNING: "warning",
                                        Severity.NOTE: "note"}


def to_sarif(results: Sequence[CheckResult]) -> dict[str, Any]:
    """A SARIF 2.1.0 log (what code scanning uploads): one run, a rule per code used."""
    diags = [d for r in results for d in r.diagnostics]
    used = sorted({d.code for d in diags})
    rules = [{"id": code, "shortDescription": {"text": CODES.get(code, code)}}
             for code in used]
    out = []
    for d in diags:
        region: dict[str, int] = {}
        if d.line is not None:
            region["startLine"] = d.line
            if d.column is not None:
                region["startColumn"] = d.column
        location: dict[str, Any] = {"artifactLocation": {"uri": Path(d.path).as_posix()}}
        if region:
            location["region"] = region
        out.append({"ruleId": d.code, "ruleIndex": used.index(d.code),
                    "level": _SARIF_LEVEL[d.severity], "message": {"text": d.message},
                    "locations": [{"physicalLocation": location}]})
    return {"version": "2.1.0",
            "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
            "runs": [{"tool": {"driver": {"name": "md2tex", "version": __version__,
                                          "rules": rules}},
                      "results": out}]}


def print_sarif(results: Sequence[CheckResult], quiet: bool) -> None:
    click.echo(json.dumps(to_sarif(results), indent=2, ensure_ascii=False))


PRINTERS: Mapping[str, Callable[[Sequence[CheckResult], bool], None]] = {
    "text": print_text, "json": print_json, "github": print_github, "sarif": print_sarif}
