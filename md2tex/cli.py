"""The ``md2tex`` command: maps errors to exit codes, owns logging and all printing."""

from __future__ import annotations

import logging
import sys
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

import click

from . import __version__
from .build import build_pdf
from .diagnostics import Diagnostic, Md2TexError, OutputError, Severity
from .options import ENGINES, Options
from .output import write_atomic
from .pipeline import convert, convert_file

EXIT_OK, EXIT_CONVERSION, EXIT_USAGE, EXIT_TEX, EXIT_NO_ENGINE, EXIT_OUTPUT = 0, 1, 2, 3, 4, 5
EXIT_INTERRUPTED = 130


class _DefaultGroup(click.Group):
    """``md2tex post.md -o post.pdf`` runs ``convert`` without naming it."""

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        if args and args[0] not in self.commands and args[0] not in ("--help", "-h",
                                                                      "--version"):
            args = ["convert", *args]
        elif not args:
            args = ["convert", "--help"]
        return super().parse_args(ctx, args)


def _print_diagnostics(diags: Sequence[Diagnostic], verbose: int) -> None:
    for d in diags:
        if d.severity is Severity.NOTE and verbose < 1:
            continue
        colour = {"error": "red", "warning": "yellow", "note": "cyan"}[d.severity.value]
        click.secho(d.format(), fg=colour, err=True)


def _parse_variables(values: Sequence[str]) -> dict[str, str]:
    out: dict[str, str] = {}
    for item in values:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise click.BadParameter(f"expected KEY=VALUE, got {item!r}", param_hint="-V")
        out[key.strip()] = value
    return out


def common_options(func: Any) -> Any:
    """Options shared by convert, check and batch."""
    decorators = [
        click.option("--engine", type=click.Choice(ENGINES), default=None,
                     help="TeX engine (default pdflatex)."),
        click.option("--template", type=click.Path(exists=True, dir_okay=False,
                                                   path_type=Path),
                     help="Jinja template (LaTeX-safe delimiters) to use instead of ours."),
        click.option("-V", "variables", multiple=True, metavar="KEY=VALUE",
                     help="Set a template variable, e.g. -V papersize=letterpaper."),
        click.option("--dollar-math/--no-dollar-math", default=None,
                     help="Treat single $..$ as inline math (default on)."),
        click.option("--timeout", type=float, default=None, show_default="60",
                     help="Seconds TeX may run before it is stopped."),
        click.option("--lenient", is_flag=True, help="Replace undecodable bytes."),
        click.option("--strict", is_flag=True, help="Treat warnings as errors."),
        click.option("-v", "--verbose", count=True, help="Show notes and TeX details."),
        click.option("-q", "--quiet", is_flag=True, help="Only print errors."),
    ]
    for deco in reversed(decorators):
        func = deco(func)
    return func


def build_options(engine: str | None, template: Path | None, variables: Sequence[str],
                  dollar_math: bool | None, timeout: float | None, lenient: bool,
                  strict: bool, **_: Any) -> Options:
    given: dict[str, Any] = {"engine": engine, "template": template,
                             "dollar_math": dollar_math, "timeout": timeout}
    explicit = {k: v for k, v in given.items() if v is not None}
    opts = Options(variables=_parse_variables(variables), lenient=lenient, strict=strict)
    return replace(opts.merged(explicit), cli_keys=frozenset(explicit))


def _setup_logging(verbose: int, quiet: bool) -> None:
    level = logging.ERROR if quiet else logging.DEBUG if verbose > 1 else logging.WARNING
    logging.basicConfig(level=level, format="md2tex: %(message)s", stream=sys.stderr)


@click.group(cls=_DefaultGroup, invoke_without_command=False,
             context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="md2tex")
def main() -> None:
    """Turn Markdown posts with LaTeX math into LaTeX and PDF.

    \b
      md2tex post.md -o post.pdf     typeset a post
      md2tex post.md -o post.tex     write LaTeX only (no TeX needed)
      md2tex post.md -o -            LaTeX to standard output

    Exit status: 0 ok, 1 the post has errors, 2 usage error, 3 TeX failed,
    4 no TeX engine, 5 output not writable, 130 interrupted.
    """


@main.command("convert")
@click.argument("source", type=click.Path(allow_dash=True, path_type=Path))
@click.option("-o", "--output", type=click.Path(allow_dash=True, path_type=Path),
              help="OUT.pdf, OUT.tex, or - for LaTeX on stdout (default: SOURCE as .pdf).")
@click.option("--keep-tex", is_flag=True, help="Also write the .tex next to the PDF.")
@common_options
def convert_command(source: Path, output: Path | None, keep_tex: bool, verbose: int,
                    quiet: bool, **kw: Any) -> None:
    """Convert one post (SOURCE may be - for standard input)."""
    _setup_logging(verbose, quiet)
    options = build_options(**kw)
    try:
        if str(source) == "-":
            doc = convert(sys.stdin.read(), options, "<stdin>")
            default_out = Path("stdin.pdf")
        else:
            if not source.is_file():
                raise click.BadParameter(f"{source}: no such file", param_hint="SOURCE")
            doc = convert_file(source, options)
            default_out = source.with_suffix(".pdf")
        out = output or default_out
        if not quiet or not doc.ok:
            _print_diagnostics(doc.diagnostics if not quiet else doc.errors, verbose)
        if not doc.ok:
            n = len(doc.errors)
            click.secho(f"{doc.path}: {n} error{'s' if n != 1 else ''}; nothing written",
                        fg="red", err=True)
            sys.exit(EXIT_CONVERSION)
        if str(out) == "-":
            click.echo(doc.tex, nl=False)
            return
        if out.suffix.lower() == ".tex":
            _write(out, doc.tex.encode("utf-8"))
        else:
            result = build_pdf(doc, out)
            if keep_tex:
                _write(out.with_suffix(".tex"), doc.tex.encode("utf-8"))
            if verbose:
                click.echo(f"md2tex: {out} ({result.runs} TeX run"
                           f"{'s' if result.runs != 1 else ''}, {result.seconds:.2f} s)",
                           err=True)
    except Md2TexError as exc:
        _print_error(exc, verbose)
        sys.exit(exc.exit_code)
    except KeyboardInterrupt:
        click.secho("md2tex: interrupted", fg="red", err=True)
        sys.exit(EXIT_INTERRUPTED)


def _write(path: Path, data: bytes) -> None:
    try:
        write_atomic(path, data)
    except OSError as exc:
        raise OutputError(f"{path}: cannot write: {exc.strerror or exc}") from None


def _print_error(exc: Md2TexError, verbose: int) -> None:
    if exc.diagnostics:
        _print_diagnostics(exc.diagnostics, verbose)
    else:
        click.secho(f"md2tex: error: {exc.message}", fg="red", err=True)
