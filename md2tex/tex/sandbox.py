"""Isolation for the TeX process: bubblewrap when it works here, else the plain safe run.

With ``bwrap`` TeX sees a read-only system (only what TeX needs: ``/usr``, the TeX and font
configuration under ``/etc``, ``/var/lib/texmf``), an empty private ``/tmp``, no ``$HOME``,
no network, its own PID/IPC/UTS namespaces and no capabilities; the work directory is the only
writable place. Whether bwrap works is probed once per process with a trivial command; if it
does not (no user namespaces in a container, say), builds fall back silently to the plain
run, and ``BuildResult.isolation`` says which one was used.

``MD2TEX_ISOLATION=none`` in the caller's environment turns bwrap off (for hosts where it
misbehaves); ``MD2TEX_ISOLATION=bwrap`` makes a missing or broken bwrap an error instead.

The rest of a child's safety lives here too, shared by TeX (``build.py``) and the helper
programs that read a post's files (``run_helper``: ``rsvg-convert``): ``prlimit`` limits,
a session of its own killed as a whole (``kill_group``), and one registry of running children
(``LIVE``) that ``build.cancel_all`` empties on Ctrl-C.
"""

from __future__ import annotations

import contextlib
import logging
import os
import select
import shutil
import signal
import subprocess
import threading
import time
from collections.abc import Mapping, Sequence
from functools import cache
from pathlib import Path
from typing import NamedTuple

from md2tex.diagnostics import BuildError, error
from md2tex.tex import private_dir

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

#: every child process running now (TeX passes, image helpers): ``build.cancel_all`` kills
#: them all, and once ``CANCELLED`` is set no new one starts
LIVE: set[subprocess.Popen[bytes]] = set()
LIVE_LOCK = threading.Lock()
CANCELLED = threading.Event()


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
    try:
        with private_dir.temporary("md2tex-probe-") as probe:
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


def limits(cpu_seconds: float, fsize: int = 512 * 1024 * 1024,
           address_space: int = 4 * 1024 * 1024 * 1024) -> list[str]:
    """The ``prlimit`` prefix: CPU seconds (``cpu_seconds`` + 5, so that the wall-clock
    timeout normally fires first), largest file written, address space. Empty without
    ``prlimit`` (then only the timeout and the group kill hold)."""
    prlimit = shutil.which("prlimit")
    if not prlimit:
        return []
    return [prlimit, f"--cpu={int(cpu_seconds) + 5}", f"--fsize={fsize}",
            f"--as={address_space}", "--"]


def die_with_us() -> list[str]:
    """``setpriv --pdeathsig KILL``: the child is killed by the kernel when the thread that
    started it ends, even when md2tex itself is SIGKILLed and no ``finally`` runs (bwrap's
    ``--die-with-parent`` then takes the sandbox's processes with it). If md2tex died
    before the signal was armed, the shell sees another parent and does not go on."""
    setpriv = shutil.which("setpriv")
    if not setpriv or not os.path.exists("/bin/sh"):
        return []
    return [setpriv, "--pdeathsig", "KILL", "--", "/bin/sh", "-c",
            'test "$PPID" = "$0" || exit 137; exec "$@"', str(os.getpid())]


def wait_exactly(proc: subprocess.Popen[bytes], timeout: float) -> None:
    """Wait for ``proc`` and wake the moment it ends (a pidfd; ``Popen.wait(timeout)`` polls
    with sleeps and oversleeps). ``TimeoutExpired`` after ``timeout`` seconds."""
    try:
        fd = os.pidfd_open(proc.pid)
    except (AttributeError, OSError):
        proc.wait(timeout=timeout)
        return
    try:
        poller = select.poll()
        poller.register(fd, select.POLLIN)
        deadline = time.monotonic() + timeout
        while not poller.poll(min(max(0, int((deadline - time.monotonic()) * 1000)), 1 << 30)):
            if time.monotonic() >= deadline:
                raise subprocess.TimeoutExpired(proc.args, timeout)
    finally:
        os.close(fd)
    proc.wait()


def kill_group(proc: subprocess.Popen[bytes], only_survivors: bool = False) -> None:
    """SIGKILL ``proc``'s process group (it was started in a session of its own) and, for a
    sandboxed child, every process below it, which bwrap put in another session. With
    ``only_survivors`` the caller has already waited for ``proc`` itself."""
    # a sandboxed child is in its own session: collect it before its parent goes
    below = descendants(proc.pid) if proc.poll() is None else []
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(proc.pid, signal.SIGKILL)
    if not only_survivors:
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.wait(timeout=5)
    if below:
        kill_and_reap(below)


class HelperResult(NamedTuple):
    """How a ``run_helper`` child ended: its exit status (negative: killed by that signal),
    whether the timeout killed it, the start of its stderr, and the isolation it ran under."""

    returncode: int
    timed_out: bool
    stderr: str
    isolation: str


def wait_registered(proc: subprocess.Popen[bytes], timeout: float) -> bool:
    """Wait for a process started in its own session and added to ``LIVE`` (TeX, a helper):
    at most ``timeout`` seconds, then its whole group is killed (True: it timed out). Any
    other way out kills the group too; survivors are reaped, the process leaves ``LIVE``, and
    a cancelled run (Ctrl-C, ``cancel_all``) ends in ``KeyboardInterrupt``."""
    timed_out = False
    try:
        wait_exactly(proc, timeout)
    except subprocess.TimeoutExpired:
        kill_group(proc)
        timed_out = True
    except BaseException:
        kill_group(proc)
        raise
    finally:
        kill_group(proc, only_survivors=True)
        with LIVE_LOCK:
            LIVE.discard(proc)
    if CANCELLED.is_set():
        raise KeyboardInterrupt
    return timed_out


def run_helper(cmd: Sequence[str], workdir: Path, timeout: float, *,
               address_space: int = 1024 * 1024 * 1024, fsize: int = 64 * 1024 * 1024,
               env: Mapping[str, str] | None = None) -> HelperResult:
    """Run a program that reads untrusted input (``rsvg-convert`` on a post's SVG) the way TeX
    runs: under bwrap when it works here (``workdir``, a private folder holding its input,
    is all it sees of the files and the only writable place), ``prlimit`` CPU, address space
    and file size limits, an environment made from scratch, stdin closed, a session of its
    own registered in ``LIVE`` (so ``build.cancel_all`` kills it), killed with everything
    below it on timeout, error or interrupt, and by the kernel if md2tex dies first. Output
    goes to files in ``workdir`` (the file size limit bounds them; a pipe it would not).
    ``KeyboardInterrupt`` after ``build.cancel_all``."""
    exe = cmd[0]
    if CANCELLED.is_set():
        raise KeyboardInterrupt
    isolation = choose(exe)
    full = [*limits(timeout, fsize, address_space), *die_with_us(),
            *wrap(list(cmd), workdir, exe, isolation)]
    environment = dict(env) if env is not None else {
        "PATH": "/usr/bin:/bin", "LANG": "C.UTF-8", "LC_ALL": "C.UTF-8", "HOME": str(workdir),
        "XDG_CACHE_HOME": str(workdir / ".cache"), "TMPDIR": str(workdir)}
    err_path = workdir / ".stderr"
    with err_path.open("wb") as err:
        proc = subprocess.Popen(full, cwd=workdir, stdin=subprocess.DEVNULL,
                                stdout=subprocess.DEVNULL, stderr=err, env=environment,
                                start_new_session=True)
    with LIVE_LOCK:
        LIVE.add(proc)
    timed_out = wait_registered(proc, timeout)
    try:
        with err_path.open("rb") as fh:
            stderr = fh.read(4096).decode("utf-8", "replace")
    except OSError:
        stderr = ""
    return HelperResult(proc.returncode if proc.returncode is not None else -9, timed_out,
                        stderr, isolation)


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
