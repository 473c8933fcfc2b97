"""TeX engine processes: found, started with a minimal environment, resource limits and the
sandbox, waited for with a time limit, and killed with their whole process group.

Every TeX run md2tex makes (a build's passes, a format dump, the math probe, ``md2tex
watch``'s pre-started run) starts here, so the same protections hold for all of them, and
``cancel_all`` (Ctrl-C) reaches every one.
"""

from __future__ import annotations

import logging
import os
import shutil
import subprocess
from collections.abc import Sequence
from pathlib import Path

from md2tex import texengine
from md2tex.diagnostics import (
    BuildError,
    EngineMissingError,
    error,
)
from md2tex.tex import sandbox

log = logging.getLogger(__name__)


TEX_NAME = "document"


MAX_LOG_BYTES = 1 << 20


# one registry with the image helpers (sandbox.run_helper), so cancel_all stops them too
_live = sandbox.LIVE


_live_lock = sandbox.LIVE_LOCK


_cancelled = sandbox.CANCELLED


def find_engine(engine: str) -> str:
    exe = shutil.which(engine)
    if exe is None:
        raise EngineMissingError(
            f"{engine} not found: install TeX Live, e.g. as root: "
            f"{texengine.install_hint(engine)}  (writing -o FILE.tex works without TeX)")
    return exe


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
    ``isolation=sandbox.expected(...)`` (so as not to wait for the probe). The kernel kills
    the pass when the thread that started it ends (``sandbox.die_with_us``), even when md2tex
    is SIGKILLed and no ``finally`` runs: start it in the thread that waits for it, or in
    one that outlives it."""
    exe = find_engine(engine)
    if _cancelled.is_set():
        raise KeyboardInterrupt
    tex = [exe, f"-interaction={interaction}", "-halt-on-error", "-no-shell-escape",
           "-file-line-error", *args, source]
    isolation = sandbox.choose(exe) if isolation is None else isolation
    wrapped = sandbox.wrap(tex, workdir, exe, isolation)
    if isolation == sandbox.BWRAP:
        wrapped = _bind_formats(wrapped, args)
    cmd = [*_limits(timeout), *sandbox.die_with_us(), *wrapped]
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
    if sandbox.wait_registered(proc, timeout):
        raise BuildError(f"TeX did not finish within {timeout:g} s (killed)", [
            error("tex-timeout", f"{engine} did not finish within {timeout:g} seconds and was "
                  "stopped; the post may make TeX loop", hint="raise --timeout if the post "
                  "is just very long")])
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


_kill_group = sandbox.kill_group


def _read_log(workdir: Path, jobname: str = TEX_NAME) -> str:
    path = workdir / f"{jobname}.log"
    try:
        with path.open("rb") as fh:
            data = fh.read(MAX_LOG_BYTES)
    except OSError:
        return ""
    return data.decode("utf-8", errors="replace")
