"""Run the TeX engine safely on a Document and deliver the PDF atomically.

Only this module touches the disk and TeX. Each run gets a fresh private directory, a minimal
environment, stdin closed, no shell escape, paranoid file access, resource limits, and its
whole process group killed on timeout. A failure is reported at the Markdown line.
"""

from __future__ import annotations

import errno
import logging
import os
import re
import shutil
import signal
import subprocess
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING

from md2tex import scripts
from md2tex.diagnostics import (
    BuildError,
    Diagnostic,
    EngineMissingError,
    InputError,
    OutputError,
    error,
)
from md2tex.document import MAX_FALLBACKS, Document
from md2tex.tex import formats as fmtcache
from md2tex.tex import pdfcheck, sandbox
from md2tex.tex.output import check_output, write_output

if TYPE_CHECKING:
    from md2tex.tex.warmtex import EarlyTex

log = logging.getLogger(__name__)

TEX_NAME = "document"
TEXLIVE_PACKAGES = ("texlive-latex-base texlive-latex-recommended texlive-latex-extra "
                    "texlive-fonts-recommended lmodern")
_RERUN = re.compile(r"Rerun to get|Label\(s\) may have changed|Table widths have changed|"
                    r"Rerun LaTeX")
_L_LINE = re.compile(r"^l\.(\d+) ", re.M)
#: an error in TeX's log: ``./document.tex:LINE: message`` (-file-line-error) or ``! message``
TEX_ERROR = re.compile(r"^(?:\./" + TEX_NAME + r"\.tex:(\d+): |! )(.*)$", re.M)
#: hyperref's XeTeX driver asks for a second run to write /PageLabels from the .aux; when the
#: .aux holds only the default labels (arabic numbers from page 1, which is what a viewer shows
#: without a /PageLabels entry) the second run would change nothing a reader sees
_PAGE_LABELS = re.compile(r"^Package hyperref Warning: Rerun to get /PageLabels entry\.$",
                          re.M)
_LABEL_ENTRY = re.compile(r"^\\HyPL@Entry\{(.*)\}$", re.M)
_DEFAULT_LABELS = ["0<</S/D>>"]
MAX_RUNS = 4
MAX_LOG_BYTES = 1 << 20
# one registry with the image helpers (sandbox.run_helper), so cancel_all stops them too
_live = sandbox.LIVE
_live_lock = sandbox.LIVE_LOCK
_cancelled = sandbox.CANCELLED


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


def find_engine(engine: str) -> str:
    exe = shutil.which(engine)
    if exe is None:
        hint = "texlive-xetex" if engine == "xelatex" else \
            "texlive-luatex" if engine == "lualatex" else ""
        raise EngineMissingError(
            f"{engine} not found: install TeX Live, e.g. as root: apt-get install "
            f"{TEXLIVE_PACKAGES} {hint}".strip()
            + "  (writing -o FILE.tex works without TeX)")
    return exe


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


def _environment(workdir: Path, exe: str) -> dict[str, str]:
    """A minimal environment built from scratch: no secrets of the caller reach TeX."""
    return {
        "PATH": os.pathsep.join(dict.fromkeys([str(Path(exe).parent), "/usr/bin", "/bin"])),
        "HOME": str(workdir),
        "TEXMFVAR": str(workdir / ".texmf-var"),
        "TEXMFCONFIG": str(workdir / ".texmf-config"),
        "TEXMFHOME": str(workdir / ".texmf-home"),
        "openin_any": "p",
        "openout_any": "p",
        "shell_escape": "f",
        "LANG": "C.UTF-8",
        "LC_ALL": "C.UTF-8",
        "TZ": "UTC",
    }


def _limits(timeout: float) -> list[str]:
    return sandbox.limits(timeout)


def run_engine(workdir: Path, engine: str, timeout: float, args: Sequence[str] = (),
               source: str = f"{TEX_NAME}.tex", jobname: str = TEX_NAME) -> tuple[int, str]:
    """One TeX pass; returns (exit status, log text). Kills the process group on timeout.
    ``args`` go before ``source`` (e.g. ``-fmt=NAME``, or ``-ini`` for a format dump);
    ``jobname`` names the log to read."""
    proc = start_engine(workdir, engine, timeout, args, source)
    return wait_engine(proc, workdir, engine, timeout, jobname)


def start_engine(workdir: Path, engine: str, timeout: float, args: Sequence[str] = (),
                 source: str = f"{TEX_NAME}.tex", interaction: str = "nonstopmode",
                 stdin: int = subprocess.DEVNULL,
                 isolation: str | None = None) -> subprocess.Popen[bytes]:
    """Launch one TeX pass (sandboxed, limited, minimal environment, its own session) and
    register it for ``cancel_all``; ``wait_engine`` finishes it. ``warmtex`` launches with
    ``stdin=PIPE``, ``interaction="errorstopmode"`` (so that TeX can read the file name) and
    ``isolation=sandbox.expected(...)`` (so as not to wait for the probe)."""
    exe = find_engine(engine)
    if _cancelled.is_set():
        raise KeyboardInterrupt
    tex = [exe, f"-interaction={interaction}", "-halt-on-error", "-no-shell-escape",
           "-file-line-error", *args, source]
    isolation = sandbox.choose(exe) if isolation is None else isolation
    wrapped = sandbox.wrap(tex, workdir, exe, isolation)
    if isolation == sandbox.BWRAP:
        wrapped = _bind_formats(wrapped, args)
    cmd = [*_limits(timeout), *wrapped]
    proc = subprocess.Popen(cmd, cwd=workdir, stdin=stdin,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            env=_environment(workdir, exe), start_new_session=True)
    with _live_lock:
        _live.add(proc)
    return proc


def _bind_formats(wrapped: list[str], args: Sequence[str]) -> list[str]:
    """A format loaded by absolute path (``-fmt=/...``: the user's format cache, never the
    work dir, see ``fmtcache``) is bound read-only at the same path into the sandbox, whose
    only writable place stays the work dir. The binds go before bwrap's ``--``."""
    binds = [part for arg in args if arg.startswith("-fmt=/")
             for part in ("--ro-bind", arg[5:], arg[5:])]
    if not binds:
        return wrapped
    end = wrapped.index("--")
    return [*wrapped[:end], *binds, *wrapped[end:]]


def wait_engine(proc: subprocess.Popen[bytes], workdir: Path, engine: str, timeout: float,
                jobname: str = TEX_NAME) -> tuple[int, str]:
    """Wait for a pass from ``start_engine`` (at most ``timeout`` seconds, then its group is
    killed: ``tex-timeout``); returns (exit status, log text)."""
    try:
        _wait_exactly(proc, timeout)
    except subprocess.TimeoutExpired:
        _kill_group(proc)
        raise BuildError(f"TeX did not finish within {timeout:g} s (killed)", [
            error("tex-timeout", f"{engine} did not finish within {timeout:g} seconds and was "
                  "stopped; the post may make TeX loop", hint="raise --timeout if the post "
                  "is just very long")]) from None
    except BaseException:
        _kill_group(proc)
        raise
    finally:
        _kill_group(proc, only_survivors=True)
        with _live_lock:
            _live.discard(proc)
    if _cancelled.is_set():
        raise KeyboardInterrupt
    return proc.returncode, _read_log(workdir, jobname)


def stop_engine(proc: subprocess.Popen[bytes]) -> None:
    """Kill a pass from ``start_engine`` that will not be waited for (its whole group)."""
    try:
        _kill_group(proc)
    finally:
        with _live_lock:
            _live.discard(proc)


def cancel_all() -> None:
    """Stop every TeX run of this process now and refuse new ones (Ctrl-C in a threaded
    batch: worker threads do not get the KeyboardInterrupt, their TeX groups are killed)."""
    _cancelled.set()
    with _live_lock:
        procs = list(_live)
    for proc in procs:
        _kill_group(proc, only_survivors=True)


def reset_cancel() -> None:
    """Allow TeX runs again after ``cancel_all``."""
    _cancelled.clear()


_wait_exactly = sandbox.wait_exactly
_kill_group = sandbox.kill_group


def _read_log(workdir: Path, jobname: str = TEX_NAME) -> str:
    path = workdir / f"{jobname}.log"
    try:
        with path.open("rb") as fh:
            data = fh.read(MAX_LOG_BYTES)
    except OSError:
        return ""
    return data.decode("utf-8", errors="replace")


def tex_errors(document: Document, log_text: str) -> list[Diagnostic]:
    """TeX's error messages, each at the Markdown line its .tex line came from."""
    items: list[tuple[int | None, str]] = []
    for m in TEX_ERROR.finditer(log_text):
        message = m.group(2).strip()
        if m.group(1):
            tex_line: int | None = int(m.group(1))
        else:
            ln = _L_LINE.search(log_text, m.end(), m.end() + 2000)
            tex_line = int(ln.group(1)) if ln else None
        items.append((tex_line, message))
    real = [i for i in items if not _BOILERPLATE.search(i[1])]
    items = real or items
    seen: set[str] = set()
    out: list[Diagnostic] = []
    for tex_line, message in items:
        if message in seen:
            continue
        seen.add(message)
        md_line = document.markdown_line(tex_line) if tex_line else None
        where = f" (LaTeX line {tex_line})" if tex_line else ""
        out.append(error("tex-error", f"TeX: {message}{where}", md_line, path=document.path))
        if len(out) >= 5:
            break
    if not out:
        out.append(error("tex-error", "TeX failed without an error message in its log",
                         path=document.path))
    return out


_BOILERPLATE = re.compile(r"Emergency stop|Fatal error occurred|==>")


#: below this much free space in the work directory a silent TeX failure is a full disk
_LOW_SPACE = 1 << 20


def _disk_full(workdir: Path, document: Document) -> list[Diagnostic]:
    """A TeX run that died because the temporary directory filled up, said plainly."""
    try:
        free = shutil.disk_usage(workdir).free
    except OSError:
        return []
    if free >= _LOW_SPACE:
        return []
    return [error("disk-full", f"no space left in the temporary directory {workdir.parent} "
                  "while TeX was writing; nothing was written", path=document.path,
                  hint="free some space or set TMPDIR to a folder with room")]


def _killed_by(status: int, log_text: str) -> str | None:
    """The signal that ended TeX, if one did: a negative status from a direct child, or
    128+N from bwrap, whose child TeX died without finishing its log."""
    if status < 0:
        number = -status
    elif status > 128 and "Transcript written" not in log_text[-4000:]:
        number = status - 128
    else:
        return None
    try:
        return signal.Signals(number).name
    except ValueError:
        return f"signal {number}"


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
            return _run_until_settled(document, workdir, deadline, fmt.args, early)
        except BuildError as exc:
            if any(d.code == "tex-timeout" for d in exc.diagnostics):
                raise  # a looping post loops without the format too
            # silent fallback: the same post without the dumped format
            (workdir / f"{TEX_NAME}.tex").write_text(document.tex, encoding="utf-8")
            result = _run_until_settled(document, workdir, deadline, ())
            fmtcache.mark_bad(fmt)
            return result
    result = _run_until_settled(document, workdir, deadline, ())
    fmtcache.create_format(document, workdir, max(1.0, deadline - time.monotonic()))
    return result


def _run_until_settled(document: Document, workdir: Path, deadline: float,
                       args: Sequence[str], early: EarlyTex | None = None) -> tuple[int, str]:
    """Run TeX until the log stops asking for a rerun (a single pass for most posts). The
    first pass is ``early``'s waiting process when given (same arguments, same limits)."""
    runs = 0
    while True:
        runs += 1
        remaining = max(1.0, deadline - time.monotonic())
        if early is not None:
            status, log_text = early.finish(remaining)
            early = None
        else:
            status, log_text = run_engine(workdir, document.engine, remaining, args)
        killed = _killed_by(status, log_text)
        if killed:
            raise BuildError("TeX was killed", [error(
                "tex-killed", f"{document.engine} was stopped by "
                f"{killed} before it finished; nothing was written",
                path=document.path)])
        if status != 0 or not (workdir / f"{TEX_NAME}.pdf").exists():
            raise BuildError("TeX failed", _disk_full(workdir, document)
                             or tex_errors(document, log_text), log=log_text)
        if runs >= MAX_RUNS or not needs_rerun(log_text, workdir):
            return runs, log_text


def needs_rerun(log_text: str, workdir: Path) -> bool:
    """Does the log ask for another pass? A request for /PageLabels alone does not count
    when the labels are the default ones (see ``_PAGE_LABELS``): under xelatex that saves
    the second run of almost every post."""
    if _PAGE_LABELS.search(log_text):
        try:
            aux = (workdir / f"{TEX_NAME}.aux").read_text(encoding="utf-8", errors="replace")
        except OSError:
            aux = ""
        if _LABEL_ENTRY.findall(aux) == _DEFAULT_LABELS:
            log_text = _PAGE_LABELS.sub("", log_text)
    return _RERUN.search(log_text) is not None


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
                swapped = document.fallback_for(exc.diagnostics, exc.log) \
                    if len(fallbacks) < MAX_FALLBACKS else None
                if swapped is None:
                    raise
                document, found = swapped
                fallbacks.append(found)
                attempt = None
    finally:
        if early is not None:
            early.discard()


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
        workdir = early.workdir if early else Path(tempfile.mkdtemp(prefix="md2tex-"))
    except OSError as exc:
        raise _workdir_error(document, Path(tempfile.gettempdir()), exc) from None
    try:
        os.chmod(workdir, 0o700)
        try:
            runs, log_text = compile_document(document, workdir, timeout, early)
        except OSError as exc:
            raise _workdir_error(document, workdir.parent, exc) from None
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
        except OSError as exc:
            raise OutputError(f"{output}: cannot write: {exc.strerror or exc}") from None
        return BuildResult(output, runs, time.monotonic() - started, log_text[-2000:],
                           isolation, early is not None and early.used, tuple(glyphs))
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
