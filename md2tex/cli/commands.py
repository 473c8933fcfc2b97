"""The ``md2tex`` command: maps errors to exit codes, owns logging and all printing."""

from __future__ import annotations

import json
import logging
import os
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import MISSING, fields, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn

import click

from md2tex.diagnostics import Diagnostic, Md2TexError, OutputError, Severity
from md2tex.options import Options
from md2tex.optionschema import BY_NAME, SETTINGS, Setting, check
from md2tex.version import __version__

if TYPE_CHECKING:
    import threading

    from md2tex.document import Document
    from md2tex.site.batch import BatchReport, PostResult
    from md2tex.tex.build import BuildResult

EXIT_OK, EXIT_CONVERSION, EXIT_USAGE, EXIT_TEX, EXIT_NO_ENGINE, EXIT_OUTPUT = 0, 1, 2, 3, 4, 5
EXIT_INTERRUPTED = 130
EXIT_INTERNAL = 70


# The pipeline (Markdown parser, Jinja, math tables) and TeX modules are imported on first
# use, so ``md2tex --help`` and a single post's start-up do not pay for what they do not need
# (``python -X importtime -m md2tex --help``).


def convert(text: str, options: Options, path: str) -> Document:
    from md2tex.memo import Memo
    from md2tex.pipeline import convert as convert_text

    return convert_text(text, options, path, memo=Memo.for_user())


def convert_file(path: Path, options: Options) -> Document:
    from md2tex.memo import Memo
    from md2tex.pipeline import convert_file as convert_path

    return convert_path(path, options, memo=Memo.for_user())


def build_pdf(document: Document, output: Path, follow: bool = True) -> BuildResult:
    """Typeset. ``follow``: the user named ``output`` (written through a link;
    ``output.write_output``)."""
    from md2tex.tex.build import build_pdf as build

    return build(document, output, follow=follow)


def _prewarm(engine: str) -> None:
    """Probe the sandbox and the TeX version in a background thread while the post is
    parsed (their child processes overlap Python's imports; the TeX run reuses the result)."""
    import threading

    from md2tex.tex.build import prewarm

    global _prewarm_thread
    _prewarm_thread = threading.Thread(target=prewarm, args=(engine,), daemon=True,
                                       name="md2tex-prewarm")
    _prewarm_thread.start()


#: the background probe thread, joined on Ctrl-C so its scratch dir is removed before exit
_prewarm_thread: threading.Thread | None = None


def _join_prewarm() -> None:
    """A daemon thread is stopped abruptly at exit; let the probe finish and clean up."""
    if _prewarm_thread is not None:
        _prewarm_thread.join(timeout=12)


def _interrupted() -> NoReturn:
    """Ctrl-C: the usual message and status (click would say "Aborted!" and exit 1)."""
    _join_prewarm()
    click.secho("md2tex: interrupted", fg="red", err=True)
    sys.exit(EXIT_INTERRUPTED)


class _DefaultGroup(click.Group):
    """``md2tex post.md -o post.pdf`` runs ``convert`` without naming it."""

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        if args and args[0] not in self.commands and args[0] not in ("--help", "-h",
                                                                      "--version"):
            args = ["convert", *args]
        elif not args:
            args = ["convert", "--help"]
        try:
            return super().parse_args(ctx, args)
        except KeyboardInterrupt:
            _interrupted()

    def invoke(self, ctx: click.Context) -> Any:
        """Any exception md2tex did not expect is one line on stderr, never a traceback
        (``MD2TEX_DEBUG=1`` shows it)."""
        try:
            return super().invoke(ctx)
        except KeyboardInterrupt:  # one the commands did not catch (Ctrl-C while starting)
            _interrupted()
        except (click.exceptions.Exit, click.ClickException, click.Abort, SystemExit):
            raise
        except Exception as exc:
            if os.environ.get("MD2TEX_DEBUG"):
                raise
            message = " ".join(str(exc).split())[:200]
            click.secho(f"md2tex: internal error: {type(exc).__name__}: {message} (a bug in "
                        "md2tex; please report it with the input)", fg="red", err=True)
            sys.exit(EXIT_INTERNAL)


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


def _default(name: str) -> Any:
    """The ``Options`` field's default, for help texts."""
    return next(f.default for f in fields(Options) if f.name == name)


def _click_option(s: Setting) -> Callable[[Any], Any]:
    """The click option of one setting, from its row in ``optionschema.SETTINGS``."""
    default = _default(s.name) if s.section == "options" else s.default
    kw: dict[str, Any] = {"help": s.help.replace("{default}", str(default)), "default": None}
    if s.kind == "bool" and s.effect != "set":
        kw["is_flag"] = True
    elif s.kind == "count":
        kw.update(count=True, default=0)
    elif s.kind == "choice":
        kw["type"] = click.Choice(s.choices)
    elif s.kind == "seconds":
        kw["type"] = float
        if default is not MISSING:
            kw["show_default"] = f"{default:g}"
    elif s.kind == "jobs":
        kw["type"] = click.IntRange(min=1)
    elif s.kind == "file":
        kw["type"] = click.Path(exists=True, dir_okay=False, path_type=Path)
    elif s.kind == "outfile":
        kw["type"] = click.Path(dir_okay=False, path_type=Path)
    elif s.kind == "variables":
        kw["multiple"] = True
    if s.metavar:
        kw["metavar"] = s.metavar
    return click.option(*s.flag, s.param_name, **kw)


def schema_options(command: str) -> Callable[[Any], Any]:
    """The options of ``command`` declared in ``optionschema.SETTINGS``, in its order."""
    def decorate(func: Any) -> Any:
        for s in reversed(SETTINGS):
            if s.flag and command in s.commands:
                func = _click_option(s)(func)
        return func
    return decorate


def _added(name: str, opts: Options, value: Any) -> Any:
    """What a flag that adds to the config's value (``effect="add"``) makes of it."""
    if name == "variables":
        return {**opts.variables, **_parse_variables(value)}
    if name == "macros":
        return "\n".join(t for t in (opts.macros, _load_macros(value)) if t)
    raise AssertionError(f"no way to add to {name}")


def build_options(base: Options | None = None, **given: Any) -> Options:
    """The command line's options (click's values, by parameter name) over ``base`` (the
    defaults, or what a config file set). Each setting's ``effect`` says how its flag counts;
    the ones set explicitly become ``cli_keys``, which the front matter does not override."""
    opts = base or Options()
    changes: dict[str, Any] = {}
    explicit: set[str] = set()
    for s in SETTINGS:
        value = given.get(s.param_name)
        if s.section != "options" or not s.flag or value is None:
            continue
        if s.effect == "set":
            try:
                check(s, value)
            except ValueError:
                raise click.BadParameter(f"{value!r}: expected {s.expected()}",
                                         param_hint=s.flag[0]) from None
            changes[s.name] = value
            explicit.add(s.name)
        elif s.effect == "add" and value:
            changes[s.name] = _added(s.name, opts, value)
        elif value and s.effect in ("on", "off"):
            changes[s.name] = s.effect == "on"
    try:
        return replace(opts, **changes, cli_keys=frozenset(explicit))
    except ValueError as exc:
        raise click.UsageError(str(exc)) from None


def _load_macros(path: Path) -> str:
    """The file's text for ``Options.macros``; a bad definition in it is a warning at its
    line when a post is converted (``sitemacros``), only an unreadable file is an error."""
    from md2tex.math.macros import MacroError
    from md2tex.math.sitemacros import file_text

    try:
        return file_text(path)
    except (OSError, UnicodeDecodeError, MacroError) as exc:
        raise click.BadParameter(f"{path}: {exc}", param_hint="--macros") from None


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
    4 no TeX engine, 5 output not writable, 70 internal error, 130 interrupted.
    """


@main.command("convert")
@click.argument("source", type=click.Path(allow_dash=True, path_type=Path))
@click.option("-o", "--output", type=click.Path(allow_dash=True, path_type=Path),
              help="OUT.pdf, OUT.tex, or - for LaTeX on stdout (default: SOURCE as .pdf).")
@schema_options("convert")
def convert_command(source: Path, output: Path | None, verbose: int, quiet: bool,
                    **kw: Any) -> None:
    """Convert one post (SOURCE may be - for standard input)."""
    _setup_logging(verbose, quiet)
    options = build_options(**kw)
    if output is None or (str(output) != "-" and output.suffix.lower() != ".tex"):
        _prewarm(options.engine)
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
        if output is not None and out.is_dir():
            out = out / default_out.name
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
            result = build_pdf(doc, out, follow=output is not None)
            if result.diagnostics and not quiet:  # formulas TeX rejected in the build
                _print_diagnostics(result.diagnostics, verbose)
            if options.keep_tex:
                _write(out.with_suffix(".tex"), doc.tex.encode("utf-8"), follow=False)
            if verbose:
                click.echo(f"md2tex: {out} ({result.runs} TeX run"
                           f"{'s' if result.runs != 1 else ''}, {result.seconds:.2f} s, "
                           f"isolation: {result.isolation})", err=True)
    except Md2TexError as exc:
        _print_error(exc, verbose)
        sys.exit(exc.exit_code)
    except KeyboardInterrupt:
        _interrupted()


def _write(path: Path, data: bytes, follow: bool = True) -> None:
    from md2tex.tex.output import write_output

    try:
        write_output(path, data, follow=follow)
    except OSError as exc:
        raise OutputError(f"{path}: cannot write: {exc.strerror or exc}") from None


def _print_error(exc: Md2TexError, verbose: int) -> None:
    if exc.diagnostics:
        _print_diagnostics(exc.diagnostics, verbose)
    else:
        click.secho(f"md2tex: error: {exc.message}", fg="red", err=True)


@main.command("watch")
@click.argument("source", type=click.Path(exists=True, path_type=Path))
@click.option("-o", "--output", type=click.Path(path_type=Path),
              help="OUT.pdf or OUT.tex for a post; a folder for a folder of posts "
                   "(default: beside each post).")
@click.option("--to", type=click.Choice(BY_NAME["to"].choices), default="pdf",
              help="For a folder: write PDFs (default) or LaTeX files.")
@schema_options("watch")
def watch_command(source: Path, output: Path | None, to: str, verbose: int, quiet: bool,
                  **kw: Any) -> None:
    """Rebuild SOURCE (a post, or every post under a folder) on every save, until Ctrl-C.

    One process stays up with everything loaded and the next TeX run started, so a save
    becomes a PDF in a fraction of a fresh run's time. A post with errors keeps its
    previous output.
    """
    from md2tex.cli.watch import Event, watch

    _setup_logging(verbose, quiet)
    options = build_options(**kw)
    targets = _watch_targets(source, output, to)

    def report(event: Event) -> None:
        diags = event.error.diagnostics if event.error else (
            event.document.diagnostics if event.document else ())
        if diags and (not quiet or event.error or (event.document and not event.document.ok)):
            _print_diagnostics(diags, verbose)
        if event.error and not event.error.diagnostics:
            click.secho(f"md2tex: error: {event.error.message}", fg="red", err=True)
        ok = event.error is None and event.document is not None and event.document.ok
        if ok and not quiet:
            click.echo(f"md2tex: {event.output} ({event.seconds:.2f} s)", err=True)
        elif not ok:
            click.secho(f"md2tex: {event.source}: not built; {event.output} unchanged",
                        fg="red", err=True)

    if not quiet:
        click.echo("md2tex: watching (Ctrl-C stops)", err=True)
    try:
        watch(targets, options, report)
    except KeyboardInterrupt:
        click.echo("md2tex: watch stopped", err=True)


def _watch_targets(source: Path, output: Path | None, to: str
                   ) -> Callable[[], list[tuple[Path, Path]]]:
    """The (post, output) pairs ``watch`` follows: one post, or a folder's posts (found
    again on each call)."""
    if source.is_file():
        out = output or source.with_suffix(".pdf")
        if out.is_dir():
            out = out / source.with_suffix(".pdf").name
        if out.suffix.lower() not in (".pdf", ".tex"):
            raise click.BadParameter(f"{out}: expected a .pdf or .tex file", param_hint="-o")
        return lambda: [(source, out)]
    from md2tex.site.batch import find_posts

    out_dir = output or source

    def posts() -> list[tuple[Path, Path]]:
        root, found = find_posts(source, exclude=[out_dir] if output else [])
        return [(post, out_dir / post.relative_to(root).with_suffix("." + to))
                for post in found]

    return posts


@main.command("check")
@click.argument("files", nargs=-1, required=True,
                type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text",
              help="text: compiler-style with the source line; json: a list of objects.")
@schema_options("check")
def check_command(files: Sequence[Path], fmt: str, verbose: int, quiet: bool,
                  **kw: Any) -> None:
    """Check posts (math, Markdown, front matter) without running TeX.

    Exit status: 0 no errors, 1 errors found (with --strict, warnings count as errors).
    """
    from md2tex.cli.check import check_file, format_result
    from md2tex.cli.check import to_json as check_to_json

    _setup_logging(verbose, quiet)
    options = build_options(**kw)
    results = [check_file(f, options) for f in files]
    if fmt == "json":
        click.echo(json.dumps([x for r in results for x in check_to_json(r)], indent=2,
                              ensure_ascii=False))
    else:
        for r in results:
            for text in format_result(r, show_notes=not quiet):
                if quiet and ": error:" not in text.split("\n")[0]:
                    continue
                sev = text.split("\n")[0].split(": ")[1] if ": " in text else "error"
                click.secho(text, fg={"error": "red", "warning": "yellow"}.get(sev, "cyan"))
        n_err = sum(r.errors for r in results)
        n_warn = sum(r.warnings for r in results)
        if not quiet:
            click.echo(f"{len(results)} file{'s' if len(results) != 1 else ''} checked: "
                       f"{n_err} error{'s' if n_err != 1 else ''}, {n_warn} "
                       f"warning{'s' if n_warn != 1 else ''}", err=True)
    if any(r.errors for r in results):
        sys.exit(EXIT_CONVERSION)


@main.command("batch")
@click.argument("directory", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option("-o", "--output", "out_dir", required=True,
              type=click.Path(file_okay=False, path_type=Path),
              help="Folder for the outputs: OUTDIR/<relative path>.pdf (or .tex).")
@click.option("--config", "config_file", type=click.Path(exists=True, dir_okay=False,
                                                         path_type=Path),
              help="Site config (YAML), trusted like the command line; default: "
                   "DIRECTORY/md2tex.yaml if present, read as input (files only inside the "
                   "site, timeout at most 300 s, no report: see SECURITY.md).")
@schema_options("batch")
def batch_command(directory: Path, out_dir: Path, to: str | None, jobs: int | None,
                  config_file: Path | None, report_file: Path | None, fail_fast: bool | None,
                  force: bool | None, verbose: int, quiet: bool, **kw: Any) -> None:
    """Convert every *.md/*.markdown under DIRECTORY (a Jekyll site root: its _posts/).

    Unchanged posts whose output exists are skipped (--force rebuilds). Exit status: 0 all
    converted, 1 some post failed, 2 usage or config error, 130 interrupted.
    """
    from md2tex.memo import Memo
    from md2tex.site.batch import BatchInterrupted, convert_many, find_posts
    from md2tex.site.config import load_site_config

    _setup_logging(verbose, quiet)
    try:
        config = load_site_config(directory, config_file, safe=bool(kw.get("safe")))
    except Md2TexError as exc:
        _print_error(exc, verbose)
        sys.exit(EXIT_USAGE)
    for message in config.warnings:
        click.secho(f"md2tex: warning: {message}", fg="yellow", err=True)
    settings = config.batch
    options = build_options(base=config.apply(), **kw)
    to = to or str(settings.get("to", "pdf"))
    report_path = report_file or settings.get("report")
    root, posts = find_posts(directory, exclude=[out_dir])
    if not posts:
        click.secho(f"md2tex: no *.md or *.markdown files under {root}", fg="yellow", err=True)
    progress = _Progress(sys.stderr.isatty() and not quiet, verbose, quiet)
    try:
        report = convert_many(posts, out_dir, options, root=root, to=to,
                              force=bool(force or settings.get("force")),
                              fail_fast=bool(fail_fast or settings.get("fail_fast")),
                              jobs=jobs or settings.get("jobs"), on_result=progress,
                              memo=Memo.for_user())
    except BatchInterrupted as exc:
        progress.clear()
        _finish_batch(exc.report, report_path, quiet)
        click.secho("md2tex: interrupted", fg="red", err=True)
        sys.exit(EXIT_INTERRUPTED)
    progress.clear()
    _finish_batch(report, report_path, quiet)
    sys.exit(EXIT_CONVERSION if report.exit_code else EXIT_OK)


def _finish_batch(report: BatchReport, report_path: Path | None, quiet: bool) -> None:
    from md2tex.site.batch import write_report

    if report_path is not None:
        try:
            write_report(report, report_path)
        except OSError as exc:
            click.secho(f"md2tex: {report_path}: cannot write report: {exc}", fg="red",
                        err=True)
    if not quiet or report.failed:
        click.echo(report.format_summary(), err=True)


class _Progress:
    """Progress bar on stderr (only on a terminal) and one line per post with problems."""

    def __init__(self, bar: bool, verbose: int, quiet: bool) -> None:
        self.bar = bar
        self.verbose = verbose
        self.quiet = quiet
        self.started = time.monotonic()
        self.drawn = 0

    def __call__(self, result: PostResult, done: int, total: int) -> None:
        from md2tex.site.batch import problems

        self.clear()
        found = problems(result)
        if result.status == "failed" or (result.status == "warning" and not self.quiet):
            colour = "red" if result.status == "failed" else "yellow"
            for d in found if self.verbose else found[:1]:
                line = d.format() if self.verbose else d.format().split("\n")[0]
                if not self.verbose and len(found) > 1:
                    line += f" (+{len(found) - 1} more)"
                click.secho(line, fg=colour, err=True)
            if not found:
                click.secho(f"{result.path}: {result.status}", fg=colour, err=True)
        elif self.verbose:
            click.echo(f"{result.path}: {result.status} {result.reason}".rstrip(), err=True)
        if self.bar and done < total:
            width = 30
            filled = width * done // max(total, 1)
            text = (f"[{'#' * filled}{'-' * (width - filled)}] {done}/{total}  "
                    f"{time.monotonic() - self.started:.0f} s")
            sys.stderr.write("\r" + text)
            sys.stderr.flush()
            self.drawn = len(text)

    def clear(self) -> None:
        if self.drawn:
            sys.stderr.write("\r" + " " * self.drawn + "\r")
            sys.stderr.flush()
            self.drawn = 0
