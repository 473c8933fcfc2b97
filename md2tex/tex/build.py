"""Build a Document's PDF: a private work dir, the cached preamble format, TeX's passes
(``passes``, run as ``process`` runs every engine), the PDF check, and an atomic write.

A failure is reported at the Markdown line; TeX failing inside a formula swaps that formula
for its fallback and builds again. ``cancel_all``/``reset_cancel`` are re-exported: the batch
stops every TeX run through them.
"""

from __future__ import annotations

import errno
import logging
import shutil
import tempfile
import time
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING

from md2tex import scripts
from md2tex.diagnostics import (
    BuildError,
    Diagnostic,
    InputError,
    OutputError,
    error,
    note,
)
from md2tex.document import MAX_FALLBACKS, Document
from md2tex.tex import formats as fmtcache
from md2tex.tex import pdfcheck, private_dir, sandbox, texlog
from md2tex.tex.output import check_output, is_stream_name, write_output
from md2tex.tex.passes import run_until_settled
from md2tex.tex.process import (
    TEX_NAME,
    find_engine,
)

if TYPE_CHECKING:
    from md2tex.tex.warmtex import EarlyTex

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class BuildResult:
    pdf: Path
    runs: int
    seconds: float
    log_tail: str
    #: how TeX was isolated: "bwrap" (bubblewrap sandbox) or "none" (limits and env only)
    isolation: str = "none"
    #: the first pass was a TeX process started before the conversion ended (``warmtex``)
    early: bool = False
    #: formulas TeX rejected in the build, shown as MathJax shows an error (warnings)
    diagnostics: tuple[Diagnostic, ...] = ()


def prewarm(engine: str) -> None:
    """Do the once-per-process probes of a build ahead of time (the CLI runs this in a
    background thread while it parses the post): whether bubblewrap works, and the TeX
    version that keys the format cache. Both are cached and locked, so the build waits for
    a probe in progress instead of repeating it. Never raises: the build reports problems."""
    try:
        sandbox.choose(find_engine(engine))
        fmtcache.tex_version(engine)
    except Exception as exc:  # the real build will say what is wrong
        log.debug("prewarm for %s: %s", engine, exc)


def _workdir_error(document: Document, where: Path, exc: OSError) -> BuildError:
    """The temporary directory could not hold the TeX run (full disk, no permission)."""
    if exc.errno == errno.ENOSPC:
        message = f"no space left in the temporary directory {where}; nothing was written"
        code = "disk-full"
    else:
        message = f"cannot prepare the TeX run in {where}: {exc.strerror or exc}"
        code = "workdir"
    return BuildError(message, [error(code, message, path=document.path,
                                      hint="free some space or set TMPDIR to a folder with room")])


def compile_document(document: Document, workdir: Path, timeout: float,
                     early: EarlyTex | None = None) -> tuple[int, str]:
    """Write the .tex and its images into ``workdir`` and run TeX until it is settled.
    ``early``: a TeX process already waiting in ``workdir`` with this document's format
    (``warmtex``); it does the first pass."""
    (workdir / f"{TEX_NAME}.tex").write_text(document.tex, encoding="utf-8")
    for name, source in document.resources.items():
        dest = (workdir / name).resolve()
        if workdir.resolve() not in dest.parents:
            continue
        dest.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(source, dest, follow_symlinks=True)
    deadline = time.monotonic() + timeout
    fmt = fmtcache.use_format(document, workdir)
    if early is not None and not early.takes(fmt):
        early.discard(keep_dir=True)
        early = None
    if fmt is not None:
        try:
            return run_until_settled(document, workdir, deadline, fmt.args, early)
        except BuildError as exc:
            if any(d.code == "tex-timeout" for d in exc.diagnostics):
                raise  # a looping post loops without the format too
            # silent fallback: the same post without the dumped format
            (workdir / f"{TEX_NAME}.tex").write_text(document.tex, encoding="utf-8")
            result = run_until_settled(document, workdir, deadline, ())
            fmtcache.mark_bad(fmt)
            return result
    result = run_until_settled(document, workdir, deadline, ())
    fmtcache.create_format(document, workdir, max(1.0, deadline - time.monotonic()))
    return result


def build_pdf(document: Document, output: str | Path, timeout: float | None = None,
              early: EarlyTex | None = None, *, follow: bool = True,
              within: str | Path | None = None) -> BuildResult:
    """Typeset ``document`` and write the PDF to ``output`` (atomically: a failed build never
    leaves a partial file, and an earlier good file survives). ``early``: a TeX process
    ``md2tex watch`` started after the previous build (``warmtex.start_for``); used for the
    first pass if it has this document's format, else killed; its work dir is removed either
    way. ``follow``/``within``: how ``output`` is written (``output.write_output``): through
    what is there (a name the user gave), refusing links (a derived name), or only into real
    folders below ``within`` (batch); a refusal is an ``OutputError`` before TeX runs."""
    fallbacks: list[Diagnostic] = []
    attempt = early
    try:
        while True:
            try:
                result = _build_pdf(document, output, timeout, attempt, follow, within)
                return replace(result, diagnostics=(*fallbacks, *result.diagnostics))
            except BuildError as exc:
                # TeX failed inside a formula the checker passed: that formula is shown as
                # MathJax shows an error and the post is built again (a few times at most)
                swapped = _swapped(document, exc) if len(fallbacks) < MAX_FALLBACKS else None
                if swapped is None:
                    if document.options.strict:
                        raise _every_rejected_formula(document, exc, timeout) from None
                    raise
                document, found = swapped
                fallbacks.append(found)
                attempt = None
    finally:
        if early is not None:
            early.discard()


def _swapped(document: Document, failure: BuildError) -> tuple[Document, Diagnostic] | None:
    """``document`` with the formula TeX stopped in swapped for its fallback, and the
    warning that says so; None when TeX did not stop in a formula."""
    stopped = texlog.first_error(failure.log)
    return document.fallback_for(failure.diagnostics, stopped.context if stopped else "",
                                 stopped.written_name() if stopped else None)


def _every_rejected_formula(document: Document, refused: BuildError,
                            timeout: float | None) -> BuildError:
    """``--strict`` refuses the post at the first formula TeX rejects; the user should see
    every such formula at once, so the post is built on (each rejected formula swapped for
    its fallback, into a scratch file, never the output) until TeX has no more to say."""
    lenient = replace(document, options=replace(document.options, strict=False))
    rejected: list[Diagnostic] = []
    failure = refused
    try:
        scratch = private_dir.create()
    except OSError:
        return refused
    try:
        while len(rejected) < MAX_FALLBACKS:
            swapped = _swapped(lenient, failure)
            if swapped is None:
                break
            lenient, found = swapped
            rejected.append(error(found.code, found.message.split(";")[0], found.line,
                                  column=found.column, path=found.path))
            try:
                _build_pdf(lenient, scratch / "strict.pdf", timeout, None, False, None)
                break
            except BuildError as again:
                failure = again
    except (OutputError, InputError, OSError):
        pass  # the first refusal stands on its own
    finally:
        private_dir.remove(scratch)
    if len(rejected) <= 1:
        return refused
    return BuildError(refused.message, (*refused.diagnostics, *rejected[1:]), log=refused.log)


def _build_pdf(document: Document, output: str | Path, timeout: float | None,
               early: EarlyTex | None, follow: bool = True,
               within: str | Path | None = None) -> BuildResult:
    if not document.ok:
        raise InputError("the post has errors", document.errors)
    output = Path(output)
    timeout = document.options.timeout if timeout is None else timeout
    isolation = sandbox.choose(find_engine(document.engine))
    try:
        check_output(output, follow=follow, within=within)
    except OSError as exc:
        raise OutputError(f"{output}: cannot write: {exc.strerror or exc}") from None
    started = time.monotonic()
    if early is not None and not early.fits(document, timeout, isolation):
        early.discard()
        early = None
    try:
        workdir = early.workdir if early else private_dir.create()
    except OSError as exc:
        raise _workdir_error(document, Path(tempfile.gettempdir()), exc) from None
    try:
        try:
            runs, log_text = compile_document(document, workdir, timeout, early)
        except OSError as exc:
            raise _workdir_error(document, workdir.parent, exc) from None
        except BuildError as exc:
            raise _with_kept(exc, document, output, workdir, within) from None
        # characters no font had: warnings at their Markdown lines; the main script's font
        # missing altogether is an error (the PDF would be empty boxes)
        glyphs = scripts.missing_glyphs(document, log_text)
        if any(d.code == scripts.MISSING_FONT for d in glyphs):
            raise BuildError("no font for the post's script", glyphs, log=log_text)
        pdf = (workdir / f"{TEX_NAME}.pdf").read_bytes()
        if not pdf.startswith(b"%PDF"):
            raise BuildError("TeX wrote no PDF", [error(
                "tex-no-output", "TeX produced no pages (is the post empty?)",
                path=document.path)])
        findings = pdfcheck.inspect(pdf)
        if findings:
            raise BuildError("the PDF is active content", [error(
                "pdf-active", f"refused the PDF: it contains {', '.join(map(str, findings))}",
                path=document.path, hint="a post must not put actions, scripts, attached "
                "files or non-web links into the PDF")])
        try:
            write_output(output, pdf, follow=follow, within=within)
            kept = keep_sources(document, output, workdir, within)
        except OSError as exc:
            raise OutputError(f"{exc.filename or output}: cannot write: "
                              f"{exc.strerror or exc}") from None
        return BuildResult(output, runs, time.monotonic() - started, log_text[-2000:],
                           isolation, early is not None and early.used,
                           (*glyphs, *_kept_note(document, kept)))
    finally:
        private_dir.remove(workdir)


def keep_sources(document: Document, output: Path, workdir: Path,
                 within: str | Path | None = None) -> tuple[Path, ...]:
    """``--keep-tex``: the .tex and TeX's .log beside ``output`` (names md2tex derived: never
    written through a link; in a batch only below its folder), also when the build failed;
    none beside a stream (``-o /dev/stdout``). Returns what was written."""
    if not document.options.keep_tex or is_stream_name(output):
        return ()
    files = [(output.with_suffix(".tex"), document.tex.encode("utf-8"))]
    log_file = workdir / f"{TEX_NAME}.log"
    if log_file.is_file():
        files.append((output.with_suffix(".log"), log_file.read_bytes()))
    for path, data in files:
        write_output(path, data, follow=False, within=within)
    return tuple(path for path, _data in files)


def _kept_note(document: Document, kept: tuple[Path, ...]) -> tuple[Diagnostic, ...]:
    if not kept:
        return ()
    where = ", TeX's log in ".join(map(str, kept))
    return (note("tex-kept", f"--keep-tex: the LaTeX is kept in {where}",
                 path=document.path),)


def _with_kept(exc: BuildError, document: Document, output: Path, workdir: Path,
               within: str | Path | None) -> BuildError:
    """A failed build's error, with ``--keep-tex``'s files written and named: in a note,
    and in the first error's hint (what a failure prints without -v)."""
    try:
        kept = keep_sources(document, output, workdir, within)
    except OSError as write_error:
        log.warning("--keep-tex: %s", write_error)
        return exc
    notes = _kept_note(document, kept)
    if not notes or not exc.diagnostics:
        return exc
    first = exc.diagnostics[0]
    hint = notes[0].message.removeprefix("--keep-tex: ")
    first = replace(first, hint=f"{first.hint}; {hint}" if first.hint else hint)
    return BuildError(exc.message, (first, *exc.diagnostics[1:], *notes), log=exc.log)
