"""Early TeX: start a single post's TeX run while Python is still converting the post.

``md2tex post.md -o post.pdf`` spends ~200 ms in Python (interpreter start, imports, the
conversion) and ~250 ms in TeX, ~110 ms of which is pdflatex starting and loading its format
before it reads a line of the document; done one after the other, they add up. Rebuilding a
post after an edit is the common loop, and a rebuild almost always uses the dumped preamble
format (``fmtcache``) of the last build of the same file. So the console script
(``launch``), before the CLI is even imported, or else the CLI's background prewarm thread,
looks up the format recorded for this input path on its last successful build
(``lastbuild``; for a post never built, the record of the latest build in its folder: a
site's posts share a preamble) and launches TeX with it exactly as ``build.run_engine``
would (same limits, minimal environment, own session, registered for ``build.cancel_all``;
under bwrap whenever bwrap is installed and not turned off, while the sandbox probe runs:
``sandbox.expected``; if the probe then says bwrap does not work here, the process is not
used), in the same kind of private work dir, but without the source file: its first line,
given on the command line, reads the file name from stdin. TeX loads the format while Python
imports and converts, then waits. When the conversion is done, ``build.build_pdf`` writes
the body file and hands TeX its name if the document's format is the guessed one; otherwise
it kills the process, removes its work dir and builds normally (a wrong guess costs a little
CPU, nothing else).

The record also keeps the last build's *predocument*: the body file's lines up to its
``\\begin{document}`` line (the template's definitions, the site's and the post's macros;
the title and PDF metadata come after ``\\begin{document}``), which rarely change between
two builds of a post, or between two posts of a site. The early process then also runs
those lines, the ``\\begin{document}`` set-up (~40 ms of a ~150 ms pass) and a warm-up of the
fonts the last build used (typeset into a box that is thrown away: loading them later costs
the same, so the output is the same) before it waits. It is used only if the new
document's predocument is the recorded one, character for character; the body file it gets
then has those lines blank, so TeX's line numbers are unchanged, and the whole body file is
put back for any later pass.

TeX refuses to ``\\read`` from the terminal in the nonstop modes, so the process starts in
errorstopmode (scrollmode while it runs a predocument: an error never waits for an answer)
and switches to ``\\nonstopmode`` right after the read; the file is then read with the
primitive ``\\input``, as a file name on the command line is, so error lines
(``./document.tex:LINE:``), the Markdown line mapping and the PDF are those of a normal run.
Only the single-post CLI path uses this; ``MD2TEX_EARLY_TEX=0`` turns it off.
"""

from __future__ import annotations

import atexit
import contextlib
import logging
import os
import shutil
import subprocess
import tempfile
import threading
from pathlib import Path

from md2tex.document import Document
from md2tex.memo import turned_off
from md2tex.tex import build, lastbuild, sandbox
from md2tex.tex import formats as fmtcache
from md2tex.tex.formats import FormatUse

log = logging.getLogger(__name__)

ENV = "MD2TEX_EARLY_TEX"
#: TeX's first line: read the file name from stdin, stop interacting, input it as the
#: command line would (``\@@input`` is LaTeX's name for the primitive)
FIRST_LINE = r"\read-1to\mdtexsource \nonstopmode\csname @@input\endcsname\mdtexsource"
#: the predocument in the work dir, and the first line that runs it before the read
PREDOCUMENT = "md2tex-predocument.tex"
PREDOCUMENT_LINE = (r"\scrollmode\csname @@input\endcsname " + PREDOCUMENT + " "
                    + FIRST_LINE)
#: files a TeX pass writes beside the body file (removed when another pass takes over)
_TEX_OUTPUTS = ("aux", "log", "pdf", "out", "toc", "lof", "lot")


class EarlyTex:
    """A TeX process waiting in ``workdir`` (format ``name`` loaded, read-only, from the
    cache) for its file name."""

    def __init__(self, proc: subprocess.Popen[bytes], workdir: Path, engine: str, name: str,
                 timeout: float, isolation: str, predocument: str | None = None) -> None:
        self.proc = proc
        self.workdir = workdir
        self.engine = engine
        self.name = name
        self.timeout = timeout
        self.isolation = isolation
        #: the predocument it ran before waiting, if any
        self.predocument = predocument
        #: the whole body file, put back after the first pass when a predocument was run
        self._body: str | None = None
        #: its start was logged
        self.announced = False
        #: it did the document's first pass
        self.used = False
        self._done = False
        self._lock = threading.Lock()
        #: set once the process is finished or killed (see ``hold``)
        self.released = threading.Event()

    def fits(self, document: Document, timeout: float, isolation: str) -> bool:
        """Does this process run the pass ``build_pdf`` would start for ``document``? (Asked
        before the build picks its work dir: a process that ran another predocument may
        have written files there.)"""
        why: str | None
        if self._done or self.proc.poll() is not None:
            why = "it is gone"
        elif (document.engine, timeout, isolation) != (self.engine, self.timeout,
                                                       self.isolation):
            why = "engine, timeout or isolation differ"
        else:
            why = self._mismatch(fmtcache.planned_format(document))
            if why is None:
                return True
        log.debug("early TeX (%s) not used: %s", self.name, why)
        return False

    def _mismatch(self, planned: tuple[str, str] | None) -> str | None:
        """Why a document with this (format name, body file) is not for this process."""
        if planned is None or planned[0] != self.name:
            return "the post's format changed"
        if self.predocument is not None:
            split = fmtcache.predocument(planned[1])
            if split is None or split[0] != self.predocument:
                return "the post's predocument changed"
        return None

    def takes(self, fmt: FormatUse | None) -> bool:
        """Once ``use_format`` has chosen the format and written the body file: is it still
        this process's? With a predocument, leave only the rest in the body file."""
        why = self._mismatch(None if fmt is None else (fmt.name, fmt.body))
        if why is not None or fmt is None:
            log.debug("early TeX (%s) not used: %s", self.name, why)
            return False
        split = fmtcache.predocument(fmt.body) if self.predocument is not None else None
        if split is not None:
            (self.workdir / f"{build.TEX_NAME}.tex").write_text(split[1], encoding="utf-8")
            self._body = fmt.body
        return True

    def finish(self, timeout: float) -> tuple[int, str]:
        """Hand TeX the body file's name and wait for it as ``build.run_engine`` does."""
        self.used = True
        stdin = self.proc.stdin
        try:
            if stdin is not None:
                with contextlib.suppress(OSError):  # TeX died: its status and log say why
                    stdin.write(f"{build.TEX_NAME}.tex\n".encode())
                    stdin.close()
            log.debug("early TeX: first pass by the process started with format %s",
                      self.name)
            return build.wait_engine(self.proc, self.workdir, self.engine, timeout)
        finally:
            with self._lock:
                self._done = True
            self.released.set()
            if self._body is not None:  # for a further pass (references, a TOC)
                with contextlib.suppress(OSError):
                    (self.workdir / f"{build.TEX_NAME}.tex").write_text(self._body,
                                                                        encoding="utf-8")

    def discard(self, keep_dir: bool = False) -> None:
        """Kill the process if it still runs and remove its work dir (unless ``keep_dir``:
        the build goes on there). Safe to call more than once."""
        with self._lock:
            done, self._done = self._done, True
        if not done and self.proc.returncode is None:
            build.stop_engine(self.proc)
        if self.proc.stdin is not None:
            with contextlib.suppress(OSError):
                self.proc.stdin.close()
        self.released.set()
        if not keep_dir:
            shutil.rmtree(self.workdir, ignore_errors=True)
            return
        # the build goes on here: drop what a run of a predocument may have written
        for name in (PREDOCUMENT, *(f"{build.TEX_NAME}.{ext}" for ext in _TEX_OUTPUTS)):
            with contextlib.suppress(OSError):
                (self.workdir / name).unlink()


_lock = threading.Lock()
_pending: EarlyTex | None = None
#: the process ``begin`` started (kept after ``claim`` for ``hold``)
_started: EarlyTex | None = None
_closed = False
#: ``begin`` has started a process or decided not to
_settled = threading.Event()


def enabled() -> bool:
    return not turned_off(ENV)


def begin(source: Path, timeout: float | None) -> None:
    """Start TeX for ``source`` with the format of its last build, if there is one: from the
    console script before the CLI is loaded (``launch``; ``timeout`` None: the one recorded),
    and again from the CLI's prewarm thread, which starts it if that did not and says that it
    started (logging is set up by then). Never raises: the normal build is the fallback."""
    global _pending, _started
    try:
        if _started is None:
            guess = lastbuild.guess(source) if enabled() else None
            if guess is not None:
                with _lock:
                    if not _closed and _pending is None:
                        _pending = _started = _start(
                            guess, guess.timeout if timeout is None else timeout)
        early = _started
        if early is not None and timeout is not None and not early.announced:
            early.announced = True
            log.debug("early TeX: started %s with format %s%s", early.engine, early.name,
                      " and its predocument" if early.predocument is not None else "")
    except Exception as exc:
        log.debug("early TeX not started: %s", exc)
    finally:
        if timeout is not None:  # the CLI's call decides; the launcher's may come first
            _settled.set()


def hold() -> None:
    """Keep the calling thread (the one that ran ``begin``) alive until the early process is
    finished or killed: bwrap's ``--die-with-parent`` kills the sandbox when the *thread*
    that started it ends."""
    _settled.set()
    if _started is not None:
        _started.released.wait()


def _start(guess: lastbuild.Guess, timeout: float) -> EarlyTex | None:
    engine, name = guess.engine, guess.name
    fmt = fmtcache.usable(engine, name)
    if fmt is None:
        return None
    predocument = None
    if guess.predocument is not None:
        with contextlib.suppress(OSError, UnicodeError):
            predocument = lastbuild.predocument_file(guess.predocument).read_text(encoding="utf-8")
    exe = build.find_engine(engine)
    isolation = sandbox.expected(exe)
    workdir = Path(tempfile.mkdtemp(prefix="md2tex-"))
    try:
        os.chmod(workdir, 0o700)
        first, interaction = FIRST_LINE, "errorstopmode"
        if predocument is not None:
            warm_up = lastbuild.warm_up(guess.warm_up)
            (workdir / PREDOCUMENT).write_text(predocument + warm_up + "\n", encoding="utf-8")
            first, interaction = PREDOCUMENT_LINE, "scrollmode"
        proc = build.start_engine(workdir, engine, timeout,
                                  (f"-jobname={build.TEX_NAME}", *fmtcache.fmt_args(fmt)),
                                  source=first, interaction=interaction,
                                  stdin=subprocess.PIPE, isolation=isolation)
    except BaseException:
        shutil.rmtree(workdir, ignore_errors=True)
        raise
    return EarlyTex(proc, workdir, engine, name, timeout, isolation, predocument)


def claim(wait: float = 0.0) -> EarlyTex | None:
    """The process ``begin`` started, now the caller's (``build.build_pdf(early=...)``);
    none will be started after this. ``wait``: seconds to wait for ``begin`` to decide."""
    global _pending, _closed
    if wait:
        _settled.wait(wait)
    with _lock:
        _closed = True
        early, _pending = _pending, None
    return early


def discard_pending() -> None:
    """Kill an unclaimed early process and remove its dir (every exit path of the CLI)."""
    early = claim()
    if early is not None:
        early.discard()


atexit.register(discard_pending)
