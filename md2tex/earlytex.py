"""Early TeX: start a single post's TeX run while Python is still converting the post.

``md2tex post.md -o post.pdf`` spends ~200 ms in Python (interpreter start, imports, the
conversion) and ~250 ms in TeX, ~110 ms of which is pdflatex starting and loading its format
before it reads a line of the document; done one after the other, they add up. Rebuilding a
post after an edit is the common loop, and a rebuild almost always uses the dumped preamble
format (``fmtcache``) of the last build of the same file. So the CLI's background prewarm
thread, before anything else, looks up the format recorded for this input path on its last
successful build (``last-formats.json`` in the format cache folder) and launches TeX with it
exactly as ``build.run_engine`` would (same limits, minimal environment, own session,
registered for ``build.cancel_all``; under bwrap whenever bwrap is installed and not turned
off, while the sandbox probe runs: ``sandbox.expected``; if the probe then says bwrap does
not work here, the process is not used), in the same kind of private work dir,
but without the source file: its first line, given on the command line, reads the file name
from stdin. TeX loads the format while Python imports and converts, then waits. When the
conversion is done, ``build.build_pdf`` writes the body file and hands TeX its name if the
document's format is the guessed one; otherwise it kills the process, removes its work dir
and builds normally (a wrong guess costs a little CPU, nothing else).

TeX refuses to ``\\read`` from the terminal in the nonstop modes, so the process starts in
errorstopmode and its first line switches to ``\\nonstopmode`` before anything else; the
file is then read with the primitive ``\\input``, as a file name on the command line is, so
error lines (``./document.tex:LINE:``), the Markdown line mapping and the PDF are those of a
normal run. Only the single-post CLI path uses this; ``MD2TEX_EARLY_TEX=0`` turns it off.
"""

from __future__ import annotations

import atexit
import contextlib
import json
import logging
import os
import re
import shutil
import subprocess
import tempfile
import threading
from pathlib import Path
from typing import Any

from . import build, fmtcache, sandbox
from .document import Document
from .output import write_atomic

log = logging.getLogger(__name__)

ENV = "MD2TEX_EARLY_TEX"
#: input path -> {"engine", "format"} of its last successful build, in ``fmtcache.cache_dir()``
RECORD = "last-formats.json"
MAX_RECORDS = 256
_MAX_RECORD_BYTES = 1 << 20
_NAME = re.compile(r"md2tex-[0-9a-f]{24}")
#: TeX's first line: read the file name from stdin, stop interacting, input it as the
#: command line would (``\@@input`` is LaTeX's name for the primitive)
FIRST_LINE = r"\read-1to\mdtexsource \nonstopmode\csname @@input\endcsname\mdtexsource"


class EarlyTex:
    """A TeX process waiting in ``workdir`` (format ``name`` placed) for its file name."""

    def __init__(self, proc: subprocess.Popen[bytes], workdir: Path, engine: str, name: str,
                 timeout: float, isolation: str) -> None:
        self.proc = proc
        self.workdir = workdir
        self.engine = engine
        self.name = name
        self.timeout = timeout
        self.isolation = isolation
        #: it did the document's first pass
        self.used = False
        self._done = False
        self._lock = threading.Lock()
        #: set once the process is finished or killed (see ``hold``)
        self.released = threading.Event()

    def fits(self, document: Document, timeout: float, isolation: str) -> bool:
        """Does this process run the pass ``build_pdf`` would start for ``document``?"""
        if self._done or self.proc.poll() is not None:
            why = "it is gone"
        elif (document.engine, timeout, isolation) != (self.engine, self.timeout,
                                                       self.isolation):
            why = "engine, timeout or isolation differ"
        else:  # the format is compared where it is placed: ``build.compile_document``
            return True
        log.debug("early TeX (%s) not used: %s", self.name, why)
        return False

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


_lock = threading.Lock()
_pending: EarlyTex | None = None
#: the process ``begin`` started (kept after ``claim`` for ``hold``)
_started: EarlyTex | None = None
_closed = False
#: ``begin`` has started a process or decided not to
_settled = threading.Event()


def enabled() -> bool:
    return os.environ.get(ENV, "1").strip().lower() not in ("0", "no", "off", "false")


def begin(source: Path, timeout: float) -> None:
    """Start TeX for ``source`` with the format of its last build, if there is one (run in
    the CLI's prewarm thread). Never raises: the normal build is the fallback."""
    global _pending, _started
    try:
        guess = _guess(source) if enabled() else None
        if guess is None:
            return
        engine, name = guess
        with _lock:
            if _closed or _pending is not None:
                return
            early = _start(engine, name, timeout)
            _pending = _started = early
        if early is not None:
            log.debug("early TeX: started %s with format %s", engine, name)
    except Exception as exc:
        log.debug("early TeX not started: %s", exc)
    finally:
        _settled.set()


def hold() -> None:
    """Keep the calling thread (the one that ran ``begin``) alive until the early process is
    finished or killed: bwrap's ``--die-with-parent`` kills the sandbox when the *thread*
    that started it ends."""
    _settled.set()
    if _started is not None:
        _started.released.wait()


def _start(engine: str, name: str, timeout: float) -> EarlyTex | None:
    fmt = fmtcache.usable(engine, name)
    if fmt is None:
        return None
    exe = build.find_engine(engine)
    isolation = sandbox.expected(exe)
    workdir = Path(tempfile.mkdtemp(prefix="md2tex-"))
    try:
        os.chmod(workdir, 0o700)
        fmtcache.place_format(fmt, workdir, name)
        proc = build.start_engine(workdir, engine, timeout,
                                  (f"-jobname={build.TEX_NAME}", f"-fmt={name}"),
                                  source=FIRST_LINE, interaction="errorstopmode",
                                  stdin=subprocess.PIPE, isolation=isolation)
    except BaseException:
        shutil.rmtree(workdir, ignore_errors=True)
        raise
    return EarlyTex(proc, workdir, engine, name, timeout, isolation)


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


def _record_path() -> Path:
    return fmtcache.cache_dir() / RECORD


def _key(source: Path) -> str:
    return str(Path(source).resolve())


def _records() -> dict[str, Any]:
    try:
        with _record_path().open("rb") as fh:
            data = json.loads(fh.read(_MAX_RECORD_BYTES))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def _guess(source: Path) -> tuple[str, str] | None:
    entry = _records().get(_key(source))
    if not isinstance(entry, dict):
        return None
    engine, name = entry.get("engine"), entry.get("format")
    if engine not in fmtcache.ENGINES or not isinstance(name, str) \
            or not _NAME.fullmatch(name):
        return None
    return str(engine), name


def record(source: Path, document: Document) -> None:
    """After a successful build of ``source``: remember its format for the next build (the
    oldest entries go beyond ``MAX_RECORDS``; written only when it changed, atomically)."""
    try:
        name = fmtcache.planned_format(document)
        key = _key(source)
        records = _records()
        entry = {"engine": document.engine, "format": name}
        if name is None:
            if records.pop(key, None) is None:
                return
        elif records.get(key) == entry:
            return
        else:
            records.pop(key, None)
            records[key] = entry
        for old in list(records)[:max(0, len(records) - MAX_RECORDS)]:
            del records[old]
        _record_path().parent.mkdir(parents=True, exist_ok=True)
        write_atomic(_record_path(), json.dumps(records, indent=0).encode("utf-8"))
    except (OSError, ValueError) as exc:
        log.debug("early TeX: cannot record the format of %s: %s", source, exc)
