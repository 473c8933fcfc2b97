"""Run the TeX engine safely on a Document and deliver the PDF atomically.

Only this module touches the disk and TeX. Each run gets a fresh private directory, a minimal
environment, stdin closed, no shell escape, paranoid file access, resource limits, and its
whole process group killed on timeout. A failure is reported at the Markdown line.
"""

from __future__ import annotations

import contextlib
import logging
import os
import re
import shutil
import signal
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from .diagnostics import BuildError, Diagnostic, EngineMissingError, InputError, OutputError, error
from .document import Document
from .output import write_atomic

log = logging.getLogger(__name__)

TEX_NAME = "document"
TEXLIVE_PACKAGES = ("texlive-latex-base texlive-latex-recommended texlive-latex-extra "
                    "texlive-fonts-recommended lmodern")
_RERUN = re.compile(r"Rerun to get|Label\(s\) may have changed|Table widths have changed|"
                    r"Rerun LaTeX")
_FILE_LINE_ERROR = re.compile(r"^\./" + TEX_NAME + r"\.tex:(\d+): (.*)$", re.M)
_BANG_ERROR = re.compile(r"^! (.*)$", re.M)
_L_LINE = re.compile(r"^l\.(\d+) ", re.M)
MAX_RUNS = 4
MAX_LOG_BYTES = 1 << 20


@dataclass(frozen=True)
class BuildResult:
    pdf: Path
    runs: int
    seconds: float
    log_tail: str


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
    prlimit = shutil.which("prlimit")
    if not prlimit:
        return []
    cpu = int(timeout) + 5
    return [prlimit, f"--cpu={cpu}", f"--fsize={512 * 1024 * 1024}",
            f"--as={4 * 1024 * 1024 * 1024}", "--"]


def run_engine(workdir: Path, engine: str, timeout: float) -> tuple[int, str]:
    """One TeX pass; returns (exit status, log text). Kills the process group on timeout."""
    exe = find_engine(engine)
    cmd = [*_limits(timeout), exe, "-interaction=nonstopmode", "-halt-on-error",
           "-no-shell-escape", "-file-line-error", f"{TEX_NAME}.tex"]
    proc = subprocess.Popen(cmd, cwd=workdir, stdin=subprocess.DEVNULL,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            env=_environment(workdir, exe), start_new_session=True)
    try:
        proc.wait(timeout=timeout)
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
    return proc.returncode, _read_log(workdir)


def _kill_group(proc: subprocess.Popen[bytes], only_survivors: bool = False) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(proc.pid, signal.SIGKILL)
    if not only_survivors:
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.wait(timeout=5)


def _read_log(workdir: Path) -> str:
    path = workdir / f"{TEX_NAME}.log"
    try:
        with path.open("rb") as fh:
            data = fh.read(MAX_LOG_BYTES)
    except OSError:
        return ""
    return data.decode("utf-8", errors="replace")


def tex_errors(document: Document, log_text: str) -> list[Diagnostic]:
    """TeX's error messages, each at the Markdown line its .tex line came from."""
    out: list[Diagnostic] = []
    found = list(_FILE_LINE_ERROR.finditer(log_text))
    items: list[tuple[int | None, str]] = [(int(m.group(1)), m.group(2)) for m in found]
    if not items:
        for m in _BANG_ERROR.finditer(log_text):
            ln = _L_LINE.search(log_text, m.end())
            items.append((int(ln.group(1)) if ln else None, m.group(1)))
    if not items and "Emergency stop" in log_text:
        items.append((None, "Emergency stop"))
    for tex_line, message in items[:5]:
        md_line = document.markdown_line(tex_line) if tex_line else None
        where = f" (LaTeX line {tex_line})" if tex_line else ""
        out.append(error("tex-error", f"TeX: {message.strip()}{where}", md_line,
                         path=document.path))
    if not out:
        out.append(error("tex-error", "TeX failed without an error message in its log",
                         path=document.path))
    return out


def compile_document(document: Document, workdir: Path, timeout: float) -> tuple[int, str]:
    """Write the .tex and its images into ``workdir`` and run TeX until it is settled."""
    (workdir / f"{TEX_NAME}.tex").write_text(document.tex, encoding="utf-8")
    for name, source in document.resources.items():
        dest = (workdir / name).resolve()
        if workdir.resolve() not in dest.parents:
            continue
        dest.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(source, dest, follow_symlinks=True)
    runs = 0
    deadline = time.monotonic() + timeout
    while True:
        runs += 1
        remaining = max(1.0, deadline - time.monotonic())
        status, log_text = run_engine(workdir, document.engine, remaining)
        if status != 0 or not (workdir / f"{TEX_NAME}.pdf").exists():
            raise BuildError("TeX failed", tex_errors(document, log_text))
        if runs >= MAX_RUNS or not _RERUN.search(log_text):
            return runs, log_text


def build_pdf(document: Document, output: str | Path, timeout: float | None = None) -> BuildResult:
    """Typeset ``document`` and write the PDF to ``output`` (atomically: a failed build never
    leaves a partial file, and an earlier good file survives)."""
    if not document.ok:
        raise InputError("the post has errors", document.errors)
    output = Path(output)
    timeout = document.options.timeout if timeout is None else timeout
    find_engine(document.engine)
    started = time.monotonic()
    workdir = Path(tempfile.mkdtemp(prefix="md2tex-"))
    try:
        os.chmod(workdir, 0o700)
        runs, log_text = compile_document(document, workdir, timeout)
        pdf = (workdir / f"{TEX_NAME}.pdf").read_bytes()
        try:
            write_atomic(output, pdf)
        except OSError as exc:
            raise OutputError(f"{output}: cannot write: {exc.strerror or exc}") from None
        return BuildResult(output, runs, time.monotonic() - started, log_text[-2000:])
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
