"""The ``md2tex`` command: maps errors to exit codes, owns logging and all printing."""

from __future__ import annotations

import contextlib
import logging
import os
import re
import sys
from collections.abc import Callable, Mapping, Sequence
from dataclasses import MISSING, fields, replace
from pathlib import Path
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, NoReturn

import click

from md2tex.diagnostics import Diagnostic, Md2TexError, OutputError, Severity
from md2tex.options import Options
from md2tex.optionschema import BY_NAME, SETTINGS, Setting, check
from md2tex.version import __version__

if TYPE_CHECKING:
    import threading

    from md2tex.document import Document
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


def _exit_now(exc: SystemExit) -> NoReturn:
    """End the program with ``exc``'s status without the interpreter's teardown of every
    loaded module (a rebuild's last ~20 ms): a one-shot process needs only its streams
    flushed and its atexit handlers (logging, temporary folders) run, done here. A status
    that is no number, or a thread still working, takes the normal way out."""
    import atexit
    import threading

    others = [t for t in threading.enumerate()
              if t is not threading.main_thread() and not t.daemon and t.is_alive()]
    if others or not (exc.code is None or isinstance(exc.code, int)):
        raise exc
    _join_prewarm()
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(OSError, ValueError):  # a closed pipe: nothing to say
            stream.flush()
    atexit._run_exitfuncs()
    os._exit(exc.code or 0)


def _interrupted() -> NoReturn:
    """Ctrl-C: the usual message and status (click would say "Aborted!" and exit 1)."""
    _join_prewarm()
    click.secho("md2tex: interrupted", fg="red", err=True)
    sys.exit(EXIT_INTERRUPTED)


_CITATIONS = "citations come from the post's bibliography automatically"
_READER = ("md2tex reads Markdown as the site's math engine does: set math_engine and "
           "dollar_math in md2tex.yaml or the front matter")
_WRITER = "the output kind comes from -o's extension: .pdf or .tex"
_MATH = ("formulas are typeset as LaTeX; the site's web engine is math_engine in md2tex.yaml "
         "(mathjax2, mathjax3, katex)")
_FILTERS = "md2tex runs no filters: change the LaTeX with --template or -H FILE"
_BLOCKS = "write a template that extends md2tex's (md2tex template) and overrides its blocks"
#: pandoc flags md2tex does not have, and the md2tex way to get what they do
PANDOC_ONLY: Mapping[str, str] = MappingProxyType({
    "--citeproc": _CITATIONS, "-C": _CITATIONS, "--bibliography": _CITATIONS,
    "--csl": _CITATIONS, "--natbib": _CITATIONS, "--biblatex": _CITATIONS,
    "-f": _READER, "--from": _READER, "-r": _READER, "--read": _READER,
    "-t": _WRITER, "-w": _WRITER, "--write": _WRITER,
    "--mathjax": _MATH, "--katex": _MATH, "--mathml": _MATH, "--webtex": _MATH,
    "--gladtex": _MATH,
    "-F": _FILTERS, "--filter": _FILTERS, "-L": _FILTERS, "--lua-filter": _FILTERS,
    "--listings": "code is highlighted by Pygments: --highlight-style NAME or --no-highlight",
    "-D": "md2tex template prints the template", "--print-default-template":
        "md2tex template prints the template",
    "--data-dir": "a template is --template FILE; settings are md2tex.yaml or --config FILE",
    "-B": _BLOCKS, "--include-before-body": _BLOCKS, "-A": _BLOCKS,
    "--include-after-body": _BLOCKS, "--top-level-division": _BLOCKS,
    "--shift-heading-level-by": _BLOCKS,
    "--self-contained": "a PDF holds its images already",
    "--embed-resources": "a PDF holds its images already",
    "--fail-if-warnings": "use --strict",
    "--wrap": "the .tex keeps the post's lines (each LaTeX line maps to its Markdown line)",
    "--columns": "the .tex keeps the post's lines (each LaTeX line maps to its Markdown line)",
    "--reference-doc": _WRITER,
    "--pdf-engine-opt": "TeX runs with md2tex's own fixed options (no shell escape, "
                        "paranoid file access); change the document with --template or -H",
})


def _refuse_pandoc_only(args: Sequence[str]) -> None:
    """A usage error naming the md2tex way for a pandoc flag md2tex does not have."""
    for arg in args:
        if arg == "--":
            return
        way = PANDOC_ONLY.get(arg.split("=", 1)[0])
        if way is not None:
            raise click.UsageError(f"{arg.split('=', 1)[0]} is a pandoc option md2tex does "
                                   f"not have: {way}")


class _DefaultGroup(click.Group):
    """``md2tex post.md -o post.pdf`` runs ``convert`` without naming it."""

    def main(self, args: Sequence[str] | None = None, prog_name: str | None = None,
             complete_var: str | None = None, standalone_mode: bool = True,
             windows_expand_args: bool = True, **extra: Any) -> Any:
        """Run as the ``md2tex`` program (no ``args``: the command line), the process ends
        through ``_exit_now``; called with ``args`` (tests, embedding), it returns or raises
        as click does."""
        as_program = args is None and standalone_mode and not extra
        try:
            return super().main(args, prog_name, complete_var, standalone_mode,
                                windows_expand_args=windows_expand_args, **extra)
        except SystemExit as exc:
            if as_program:
                _exit_now(exc)
            raise

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        if args and args[0] not in self.commands and args[0] not in ("--help", "-h",
                                                                      "--version"):
            args = ["convert", *args]
        elif not args:
            args = ["convert", "--help"]
        if args[0] == "convert":
            try:
                _refuse_pandoc_only(args[1:])
            except click.UsageError as exc:
                exc.ctx = ctx
                raise
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


#: pandoc's ``-V``/``-M`` forms: ``KEY=VALUE``, ``KEY:VALUE`` (``geometry:margin=1in``), and
#: ``KEY`` alone for true
_KEY_VALUE = re.compile(r"([^=:]*)(?:[=:](.*))?", re.S)


def _parse_variables(values: Sequence[str], flag: str = "-V") -> dict[str, str]:
    out: dict[str, str] = {}
    for item in values:
        match = _KEY_VALUE.fullmatch(item)
        if match is None or not match.group(1).strip():
            raise click.BadParameter(f"expected KEY=VALUE (or KEY:VALUE, or KEY for true), "
                                     f"got {item!r}", param_hint=flag)
        value = match.group(2)
        out[match.group(1).strip()] = "true" if value is None else value
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
    elif s.kind == "style":
        kw["type"] = _PygmentsStyle()
    if s.effect == "add" or s.kind in ("variables", "codes"):
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


class _PygmentsStyle(click.ParamType[str]):
    """A Pygments style name; an unknown one is a usage error naming a few."""

    name = "style"

    def convert(self, value: Any, param: click.Parameter | None,
                ctx: click.Context | None) -> str:
        from md2tex.optionschema import pygments_styles

        if value in pygments_styles():
            return str(value)
        some = ", ".join(sorted(pygments_styles())[:12])
        self.fail(f"{value!r} is not a Pygments style; some are: {some}... (all: pygmentize "
                  "-L styles)", param, ctx)


def _texts(paths: Sequence[Path], flag: str) -> str:
    """The files' text, for options that hold raw LaTeX (``-H``)."""
    try:
        return "\n".join(path.read_text(encoding="utf-8") for path in paths)
    except (OSError, UnicodeDecodeError) as exc:
        raise click.BadParameter(str(exc), param_hint=flag) from None


#: how a flag that adds to the config's value (``effect="add"``) makes the new value, from
#: the options so far and the flag's values (click's tuple)
_ADDERS: Mapping[str, Callable[[Options, Sequence[Any]], Any]] = MappingProxyType({
    "variables": lambda opts, v: {**opts.variables, **_parse_variables(v)},
    "macros": lambda opts, v: "\n".join(
        t for t in (opts.macros, *(_load_macros(path) for path in v)) if t),
    "metadata": lambda opts, v: {**opts.metadata, **_parse_variables(v, "-M")},
    "include_in_header": lambda opts, v: "\n".join(
        t for t in (opts.include_in_header, _texts(v, "-H")) if t),
})


def _paths_flag(value: str) -> tuple[Path, ...]:
    """``--resource-path A:B`` as pandoc reads it: folders separated by ``os.pathsep``."""
    return tuple(Path(part).resolve() for part in value.split(os.pathsep) if part)


def _metadata_file(path: Path) -> dict[str, Any]:
    """``--metadata-file``: a YAML mapping, read within the bounds of any YAML md2tex reads."""
    from md2tex.yamlload import TooMuch, load_bounded

    try:
        data = load_bounded(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, TooMuch) as exc:
        raise click.BadParameter(f"{path}: {exc}", param_hint="--metadata-file") from None
    except Exception as exc:  # yaml.YAMLError, imported with the loader
        raise click.BadParameter(f"{path}: invalid YAML: {exc}",
                                 param_hint="--metadata-file") from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise click.BadParameter(f"{path}: expected a mapping of keys to values",
                                 param_hint="--metadata-file")
    return {str(k): v for k, v in data.items()}


def build_options(base: Options | None = None, **given: Any) -> Options:
    """The command line's options (click's values, by parameter name) over ``base`` (the
    defaults, or what a config file set). Each setting's ``effect`` says how its flag counts;
    the ones set explicitly become ``cli_keys``, which the front matter does not override."""
    opts = base or Options()
    changes: dict[str, Any] = {}
    explicit: set[str] = set()
    if given.get("metadata_file") is not None:  # under -M, over the config's metadata
        opts = replace(opts, metadata={**opts.metadata,
                                       **_metadata_file(given["metadata_file"])})
    for s in SETTINGS:
        value = given.get(s.param_name)
        if s.section != "options" or not s.flag or value is None:
            continue
        if s.kind == "paths" and isinstance(value, str):
            value = _paths_flag(value)
        if s.effect == "set":
            try:
                check(s, value)
            except ValueError:
                raise click.BadParameter(f"{value!r}: expected {s.expected()}",
                                         param_hint=s.flag[0]) from None
            changes[s.name] = value
            explicit.add(s.name)
        elif s.effect == "add" and value:
            changes[s.name] = _ADDERS[s.name](opts, value)
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


#: the output kinds ``-o`` names by its extension
OUTPUT_SUFFIXES = (".pdf", ".tex")


def config_option(func: Any) -> Any:
    """``--config FILE`` and ``--metadata-file FILE``, on every command."""
    func = click.option(
        "--metadata-file", type=click.Path(exists=True, dir_okay=False, path_type=Path),
        help="Front matter values of every post from a YAML file, over the post's own "
             "(-M wins over it).")(func)
    return click.option(
        "--config", "config_file",
        type=click.Path(exists=True, dir_okay=False, path_type=Path),
        help="Site config (YAML), trusted like the command line; default: the md2tex.yaml "
             "(and Jekyll _config.yml) of the site root, found by walking up from the post "
             "(read as input: files only inside the site, timeout at most 300 s, no report: "
             "see SECURITY.md).")(func)


class _SiteOptions:
    """Each post's options: the configuration of its site (``--config``, or the md2tex.yaml
    and _config.yml found by walking up from it) under the command line's flags. Each
    site's configuration is read once; its warnings are printed once."""

    def __init__(self, config_file: Path | None, given: dict[str, Any]) -> None:
        self.config_file = config_file
        self.given = given
        self.loaded: dict[Path, tuple[Options, dict[str, Any]]] = {}

    def batch_settings(self, where: Path | None) -> dict[str, Any]:
        return self._load(where)[1]

    def __call__(self, where: Path | None) -> Options:
        """The options for a post or folder (None: standard input, from the current
        folder); a refused config is a usage error (exit 2)."""
        return self._load(where)[0]

    def _load(self, where: Path | None) -> tuple[Options, dict[str, Any]]:
        from md2tex.site.config import load_site_config, site_root

        where = where if where is not None else Path.cwd()
        key = site_root(where)
        if key not in self.loaded:
            try:
                config = load_site_config(where, self.config_file,
                                          safe=bool(self.given.get("safe")))
            except Md2TexError as exc:
                _print_error(exc, 0)
                sys.exit(EXIT_USAGE)
            for message in config.warnings:
                click.secho(f"md2tex: warning: {message}", fg="yellow", err=True)
            options = build_options(base=config.apply(), **self.given)
            _check_variables(options)
            self.loaded[key] = (options, dict(config.batch))
        return self.loaded[key]


def _check_variables(options: Options) -> None:
    """The template variables' values md2tex's template reads: a bad one is a usage error,
    a doubtful one (an unknown name, a font pdflatex cannot use) a warning."""
    if not options.variables:
        return
    from md2tex.latex.template import variable_problems

    errors, warnings = variable_problems(options.variables, options.engine,
                                         own_template=options.template is None)
    for message in warnings:
        click.secho(f"md2tex: warning: {message}", fg="yellow", err=True)
    if errors:
        raise click.BadParameter("; ".join(errors), param_hint="-V")


def _is_folder_name(output: str | None) -> bool:
    """``-o dir/`` or an existing folder."""
    return output is not None and (output.endswith(("/", os.sep)) or Path(output).is_dir())


def _convert_targets(sources: Sequence[Path], named: str | None) -> list[tuple[Path, Path]]:
    """(post, output) for each input; a usage error for what cannot be meant: a folder as
    input, standard input without ``-o``, several inputs into one file, an output kind
    md2tex does not write."""
    output = None if named is None else Path(named)
    folder = _is_folder_name(named)
    stdin = [s for s in sources if str(s) == "-"]
    if stdin and len(sources) > 1:
        raise click.UsageError("standard input (-) is converted alone")
    if stdin and output is None:
        raise click.UsageError("reading standard input needs -o: OUT.pdf, OUT.tex, or - for "
                               "LaTeX on standard output")
    for source in sources:
        if source.is_dir():
            raise click.BadParameter(f"{source} is a folder: to convert every post in it, "
                                     f"use md2tex batch {source} -o OUTDIR",
                                     param_hint="SOURCE")
        if str(source) != "-" and not source.is_file():
            raise click.BadParameter(f"{source}: no such file", param_hint="SOURCE")
    if len(sources) > 1 and not folder:
        raise click.UsageError(f"{len(sources)} inputs need -o FOLDER/ (or no -o: each "
                               "output beside its post)")
    if output is not None and not folder and str(output) != "-" and output.suffix \
            and output.suffix.lower() not in OUTPUT_SUFFIXES:
        raise click.BadParameter(f"{output}: md2tex writes {' or '.join(OUTPUT_SUFFIXES)} "
                                 "(or - for LaTeX on standard output)", param_hint="-o")
    targets = []
    for source in sources:
        if str(source) == "-":
            assert output is not None
            if folder:
                raise click.UsageError("standard input needs -o FILE, not a folder")
            targets.append((source, output))
        elif output is None:
            targets.append((source, source.with_suffix(".pdf")))
        elif folder:
            targets.append((source, output / source.with_suffix(".pdf").name))
        else:
            targets.append((source, output))
    return targets


@main.command("convert")
@click.argument("sources", nargs=-1, required=True, metavar="SOURCE...",
                type=click.Path(allow_dash=True, path_type=Path))
@click.option("-o", "--output", type=click.Path(allow_dash=True),
              help="OUT.pdf, OUT.tex, - for LaTeX on stdout, or FOLDER/ for FOLDER/POST.pdf "
                   "(default: beside SOURCE as .pdf).")
@click.option("-s", "--standalone/--body-only", default=True,
              help="A .tex output is a whole document (default; -s is accepted for pandoc "
                   "command lines), or with --body-only the post's body alone (no preamble, "
                   "no title).")
@config_option
@schema_options("convert")
def convert_command(sources: Sequence[Path], output: str | None, standalone: bool,
                    config_file: Path | None, verbose: int, quiet: bool, **kw: Any) -> None:
    """Convert posts (SOURCE may be - for standard input)."""
    _setup_logging(verbose, quiet)
    targets = _convert_targets(sources, output)
    options_for = _SiteOptions(config_file, kw)
    if _is_folder_name(output):
        Path(str(output)).mkdir(parents=True, exist_ok=True)
    # a name md2tex makes up (beside the post, in a folder) is never written through a link
    named = output is not None and not _is_folder_name(output)
    status = EXIT_OK
    for index, (source, out) in enumerate(targets):
        post = None if str(source) == "-" else source
        code = _convert_one(post, out, options_for(post), named=named, standalone=standalone,
                            verbose=verbose, quiet=quiet, prewarm=index == 0)
        status = status or code
    sys.exit(status)


def _convert_one(source: Path | None, out: Path, options: Options, named: bool,
                 standalone: bool, verbose: int, quiet: bool, prewarm: bool) -> int:
    """One post to ``out``; its exit status. ``named``: the user named the output (written
    through a link; ``output.write_output``)."""
    if prewarm and str(out) != "-" and out.suffix.lower() != ".tex":
        _prewarm(options.engine)
    try:
        if source is None:
            doc = convert(sys.stdin.read(), options, "<stdin>")
        else:
            doc = convert_file(source, options)
        if not quiet or not doc.ok:
            _print_diagnostics(doc.diagnostics if not quiet else doc.errors, verbose)
        if not doc.ok:
            n = len(doc.errors)
            click.secho(f"{doc.path}: {n} error{'s' if n != 1 else ''}; nothing written",
                        fg="red", err=True)
            return EXIT_CONVERSION
        tex = doc.tex if standalone else _body_only(doc.tex)
        if str(out) == "-":
            click.echo(tex, nl=False)
            return EXIT_OK
        if out.suffix.lower() == ".tex":
            _write(out, tex.encode("utf-8"))
            return EXIT_OK
        result = build_pdf(doc, out, follow=named)
        if result.diagnostics and not quiet:  # formulas TeX rejected, --keep-tex's files
            _print_diagnostics(result.diagnostics, verbose)
        if verbose:
            click.echo(f"md2tex: {out} ({result.runs} TeX run"
                       f"{'s' if result.runs != 1 else ''}, {result.seconds:.2f} s, "
                       f"isolation: {result.isolation})", err=True)
        return EXIT_OK
    except Md2TexError as exc:
        _print_error(exc, verbose)
        return exc.exit_code
    except KeyboardInterrupt:
        _interrupted()


#: the Markdown line marker the renderer writes before each block of the body
_FIRST_BLOCK = re.compile(r"^%L\d+$", re.M)


def _body_only(tex: str) -> str:
    """The post's body: from its first block to ``\\end{document}``, without the
    preamble, PDF metadata and title (pandoc's output without ``-s``)."""
    start = tex.find("\\begin{document}")
    stop = tex.rfind("\\end{document}")
    first = _FIRST_BLOCK.search(tex, max(start, 0))
    if start < 0 or stop < start:
        return tex
    return tex[first.start():stop] if first is not None and first.start() < stop else ""


@main.command("template")
def template_command() -> None:
    """Print md2tex's LaTeX template (a starting point for --template FILE)."""
    from md2tex.latex.template import default_template_text

    click.echo(default_template_text(), nl=False)


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
@config_option
@schema_options("watch")
def watch_command(source: Path, output: Path | None, to: str, config_file: Path | None,
                  verbose: int, quiet: bool, **kw: Any) -> None:
    """Rebuild SOURCE (a post, or every post under a folder) on every save, until Ctrl-C.

    One process stays up with everything loaded and the next TeX run started, so a save
    becomes a PDF in a fraction of a fresh run's time. A post with errors keeps its
    previous output.
    """
    from md2tex.cli.watch import Event, watch

    _setup_logging(verbose, quiet)
    options = _SiteOptions(config_file, kw)(source)
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
@click.argument("files", nargs=-1, required=True)
@click.option("--format", "fmt", type=click.Choice(["text", "json", "github", "sarif"]),
              default="text", help="text: compiler-style with the source line; json: a list "
              "of objects; github: GitHub Actions annotations; sarif: SARIF 2.1.0.")
@click.option("--stdin-filename", metavar="NAME",
              help="The name standard input (-) has in messages; its folder finds the config.")
@config_option
@schema_options("check")
def check_command(files: Sequence[str], fmt: str, stdin_filename: str | None,
                  config_file: Path | None, verbose: int, quiet: bool, ignore: Sequence[str],
                  select: Sequence[str], **kw: Any) -> None:
    """Check posts (math, Markdown, front matter) as the build reads them; FILES are posts,
    folders (their *.md and *.markdown) or - (standard input).

    Shows errors and warnings (notes with -v). Exit status: 0 no errors, 1 errors found
    (with --strict, warnings count as errors), 2 usage error (an unknown code, a missing
    file, a refused config).
    """
    from md2tex.cli.check import run

    _setup_logging(verbose, quiet)
    site = _SiteOptions(config_file, kw)
    sys.exit(run(files, site, site.batch_settings, fmt=fmt, verbose=verbose, quiet=quiet,
                 ignore=ignore, select=select, stdin_filename=stdin_filename))


@main.command("batch")
@click.argument("directory", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option("-o", "--output", "out_dir", required=True,
              type=click.Path(file_okay=False, path_type=Path),
              help="Folder for the outputs: OUTDIR/<relative path>.pdf (or .tex).")
@config_option
@schema_options("batch")
def batch_command(directory: Path, out_dir: Path, to: str | None, jobs: int | None,
                  config_file: Path | None, report_file: Path | None, fail_fast: bool | None,
                  force: bool | None, verbose: int, quiet: bool, **kw: Any) -> None:
    """Convert every *.md/*.markdown under DIRECTORY (a Jekyll site root: its _posts/).

    Unchanged posts whose output exists are skipped (--force rebuilds); drafts (_drafts/,
    published: false) only with --drafts. Exit status: 0 all converted, 1 some post failed,
    2 usage or config error or no posts, 130 interrupted (--report is written all the same).
    """
    from md2tex.cli.batchview import run_batch

    _setup_logging(verbose, quiet)
    site = _SiteOptions(config_file, kw)
    sys.exit(run_batch(directory, out_dir, site(directory), site.batch_settings(directory),
                       to=to, jobs=jobs, report_file=report_file, fail_fast=fail_fast,
                       force=force, drafts=kw.get("drafts"), verbose=verbose, quiet=quiet))
