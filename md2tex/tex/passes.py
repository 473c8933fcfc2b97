"""The passes of one document: TeX is run until its log stops asking for a rerun, and what
went wrong is read back from the log as diagnostics at the Markdown line (TeX's errors,
a full disk, a kill by a signal)."""

from __future__ import annotations

import logging
import re
import shutil
import signal
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Protocol

from md2tex.diagnostics import (
    BuildError,
    Diagnostic,
    error,
)
from md2tex.document import Document
from md2tex.tex import bibtex, texlog
from md2tex.tex.process import TEX_NAME, run_engine

log = logging.getLogger(__name__)


class WaitingRun(Protocol):
    """A TeX process already started for the first pass (``warmtex.EarlyTex``)."""

    def finish(self, timeout: float) -> tuple[int, str]: ...


_RERUN = re.compile(r"Rerun to get|Label\(s\) may have changed|Table widths have changed|"
                    r"Rerun LaTeX")


#: hyperref's XeTeX driver asks for a second run to write /PageLabels from the .aux; when the
#: .aux holds only the default labels (arabic numbers from page 1, which is what a viewer shows
#: without a /PageLabels entry) the second run would change nothing a reader sees
_PAGE_LABELS = re.compile(r"^Package hyperref Warning: Rerun to get /PageLabels entry\.$",
                          re.M)


_LABEL_ENTRY = re.compile(r"^\\HyPL@Entry\{(.*)\}$", re.M)


_DEFAULT_LABELS = ["0<</S/D>>"]


MAX_RUNS = 4
#: TeX errors reported from one failed run
MAX_TEX_ERRORS = 20


def tex_errors(document: Document, log_text: str) -> list[Diagnostic]:
    """TeX's error messages, each at the Markdown line its .tex line came from."""
    items = [(e.line, e.message, e.written_name()) for e in texlog.errors(log_text)]
    real = [i for i in items if not _BOILERPLATE.search(i[1])]
    items = real or items
    seen: set[tuple[int | None, str]] = set()
    out: list[Diagnostic] = []
    for tex_line, message, name in items:
        if (tex_line, message) in seen:
            continue
        seen.add((tex_line, message))
        md_line = document.error_line(tex_line, name) if tex_line else None
        where = f" (LaTeX line {tex_line})" if tex_line else ""
        out.append(error("tex-error", f"TeX: {message}{where}", md_line, path=document.path))
        if len(out) >= MAX_TEX_ERRORS:
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
    elif status > 128 and not texlog.finished(log_text):
        number = status - 128
    else:
        return None
    try:
        return signal.Signals(number).name
    except ValueError:
        return f"signal {number}"


def run_until_settled(document: Document, workdir: Path, deadline: float,
                       args: Sequence[str], early: WaitingRun | None = None) -> tuple[int, str]:
    """Run TeX until the log stops asking for a rerun (a single pass for most posts). The
    first pass is ``early``'s waiting process when given (same arguments, same limits).
    A post that cites gets bibtex after its first pass (``_references``) and two more."""
    runs = 0
    at_least = 1
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
        if runs == 1 and _references(document, workdir, deadline):
            at_least = 3
        if runs >= MAX_RUNS or (runs >= at_least and not needs_rerun(log_text, workdir)):
            return runs, log_text


def _references(document: Document, workdir: Path, deadline: float) -> bool:
    """bibtex, when the first pass cited anything: the References for the next passes. Its
    complaints are logged; the build goes on (a citation it could not resolve shows ``?``)."""
    if not bibtex.wanted(workdir):
        return False
    for problem in bibtex.run(workdir, max(1.0, deadline - time.monotonic())):
        log.warning("%s: bibtex: %s", document.path, problem)
    return True


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
