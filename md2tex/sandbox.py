"""Isolation for the TeX process: bubblewrap when it works here, else the plain safe run.

With ``bwrap`` TeX sees a read-only system (only what TeX needs: ``/usr``, the TeX and font
configuration under ``/etc``, ``/var/lib/texmf``), an empty private ``/tmp``, no ``$HOME``,
no network, its own PID/IPC/UTS namespaces and no capabilities; the work directory is the only
writable place. Whether bwrap works is probed once per process with a trivial command; if it
does not (no user namespaces in a container, say), builds fall back silently to the plain
run, and ``BuildResult.isolation`` says which one was used.

``MD2TEX_ISOLATION=none`` in the caller's environment turns bwrap off (for hosts where it
misbehaves); ``MD2TEX_ISOLATION=bwrap`` makes a missing or broken bwrap an error instead.
"""

from __future__ import annotations

import contextlib
import logging
import os
import shutil
import subprocess
import threading
from functools import cache
from pathlib import Path

from .diagnostics import BuildError, error

log = logging.getLogger(__name__)

BWRAP = "bwrap"
NONE = "none"

#: read-only system paths TeX (and fontconfig for xelatex/lualatex) may need
_SYSTEM_DIRS = ("/usr", "/etc/texmf", "/etc/fonts", "/etc/alternatives", "/var/lib/texmf",
                "/var/cache/fontconfig", "/opt/texlive", "/usr/local/texlive")
_SYSTEM_FILES = ("/etc/ld.so.cache", "/etc/localtime", "/etc/papersize")
_TOP_LINKS = ("/bin", "/lib", "/lib32", "/lib64", "/sbin", "/libx32")


#: one probe at a time: a build waits for the CLI's background probe instead of repeating it
_probe_lock = threading.Lock()


class IsolationUnavailable(BuildError):
    """``MD2TEX_ISOLATION=bwrap`` was asked for but bwrap does not work here."""


def _mounts(workdir: Path, exe: str) -> list[str]:
    args: list[str] = []
    for top in _TOP_LINKS:
        p = Path(top)
        if p.is_symlink():
            args += ["--symlink", os.readlink(p), top]
        elif p.is_dir():
            args += ["--ro-bind", top, top]
    dirs = list(_SYSTEM_DIRS)
    # an engine installed outside /usr (e.g. /usr/local/texlive/2024/bin/x86_64-linux)
    real = Path(exe).resolve()
    if not str(real).startswith("/usr/"):
        dirs.append(str(real.parents[2] if len(real.parents) > 3 else real.parent))
    for d in dirs:
        if Path(d).is_dir():
            args += ["--ro-bind", d, d]
    for f in _SYSTEM_FILES:
        if Path(f).exists():
            args += ["--ro-bind", f, f]
    args += ["--dev", "/dev", "--proc", "/proc", "--tmpfs", "/tmp",
             "--bind", str(workdir), str(workdir), "--chdir", str(workdir)]
    return args


def bwrap_command(workdir: Path, exe: str) -> list[str]:
    """The bwrap prefix that runs a command in ``workdir`` with nothing else writable."""
    bwrap = shutil.which("bwrap")
    if bwrap is None:
        return []
    return [bwrap, "--unshare-all", "--die-with-parent", "--new-session", "--cap-drop", "ALL",
            *_mounts(workdir, exe), "--"]


@cache
def _bwrap_works(exe: str) -> bool:
    bwrap = shutil.which("bwrap")
    if bwrap is None:
        return False
    import tempfile

    probe = Path(tempfile.mkdtemp(prefix="md2tex-probe-"))
    try:
        cmd = [*bwrap_command(probe, exe), "/bin/sh", "-c", "echo ok > probe"]
        done = subprocess.run(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                              stderr=subprocess.PIPE, timeout=10, check=False,
                              env={"PATH": "/usr/bin:/bin"})
        ok = done.returncode == 0 and (probe / "probe").read_text().strip() == "ok"
        if not ok:
            log.debug("bwrap unusable here: %s", done.stderr.decode(errors="replace")[:200])
        return ok
    except (OSError, subprocess.SubprocessError) as exc:
        log.debug("bwrap unusable here: %s", exc)
        return False
    finally:
        shutil.rmtree(probe, ignore_errors=True)


def choose(exe: str) -> str:
    """Which isolation the next TeX run gets: ``"bwrap"`` or ``"none"``."""
    wanted = _wanted()
    if wanted == NONE:
        return NONE
    with _probe_lock:
        works = _bwrap_works(exe)
    if wanted == BWRAP and not works:
        raise IsolationUnavailable("MD2TEX_ISOLATION=bwrap but bubblewrap does not work here",
                                   [error("isolation", "MD2TEX_ISOLATION=bwrap is set but "
                                          "bubblewrap (bwrap) does not work here")])
    return BWRAP if works else NONE


def _wanted() -> str:
    """``MD2TEX_ISOLATION``: auto (the default), bwrap or none."""
    return os.environ.get("MD2TEX_ISOLATION", "auto").strip().lower()


def expected(exe: str) -> str:
    """What ``choose`` will most likely say, without waiting for the probe: ``"bwrap"``
    whenever bwrap is installed and not turned off (``earlytex`` starts TeX under bwrap while
    the probe runs; if the probe then says "none", that process is not used). Never less
    isolation than ``choose``."""
    wanted = _wanted()
    if wanted == NONE or shutil.which("bwrap") is None:
        return NONE
    return BWRAP


def wrap(cmd: list[str], workdir: Path, exe: str, isolation: str) -> list[str]:
    """``cmd`` run under ``isolation`` (the prefix goes after resource limits are set)."""
    if isolation == BWRAP:
        return [*bwrap_command(workdir, exe), *cmd]
    return cmd


def descendants(pid: int) -> list[int]:
    """Every process below ``pid`` (Linux ``/proc``; empty elsewhere). A sandboxed TeX runs
    in its own session and PID namespace, so killing our process group does not reach it
    directly; it dies with its parent, but asynchronously."""
    children: dict[int, list[int]] = {}
    try:
        entries = os.listdir("/proc")
    except OSError:
        return []
    for name in entries:
        if not name.isdigit():
            continue
        try:
            with open(f"/proc/{name}/stat", "rb") as fh:
                stat = fh.read()
        except OSError:
            continue
        # the command name may contain spaces and parentheses: split after the last ')'
        fields = stat[stat.rfind(b")") + 2:].split()
        if len(fields) > 1:
            children.setdefault(int(fields[1]), []).append(int(name))
    out: list[int] = []
    stack = [pid]
    while stack:
        for child in children.get(stack.pop(), []):
            out.append(child)
            stack.append(child)
    return out


def kill_and_reap(pids: list[int], wait: float = 3.0) -> None:
    """SIGKILL ``pids`` and wait (bounded) until they are gone."""
    import signal
    import time

    for p in pids:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.kill(p, signal.SIGKILL)
    deadline = time.monotonic() + wait
    while pids and time.monotonic() < deadline:
        pids = [p for p in pids if _alive(p)]
        if pids:
            time.sleep(0.01)


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat", "rb") as fh:
            state = fh.read().rsplit(b")", 1)[-1].split()[0]
    except (OSError, IndexError):
        return False
    return state not in (b"Z", b"X")
