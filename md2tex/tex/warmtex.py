"""A TeX process started ahead of the document it will typeset (``md2tex watch``).

Between two saves of a post, the watch process knows the last build's format and its
*predocument* (the body file's lines up to ``\\begin{document}``: the template's definitions,
the site's and the post's macros), which rarely change from one save to the next. Right
after a build it starts the next TeX run: TeX loads the format, runs the predocument,
``\\begin{document}`` and a warm-up of the fonts the last build used (typeset into a box that
is thrown away: loading them later costs the same, so the pages are the same), then waits on
stdin for the body file's name. On the next save, ``build.build_pdf(early=...)`` hands it the
body file if the new document's format and predocument are the same, character for
character (the body file then has those lines blank, so TeX's line numbers and the Markdown
line mapping are unchanged); otherwise the process is killed and the build runs normally.

The process is started exactly as ``process.run_engine`` would start TeX (same limits, minimal
environment, own session, the sandbox the build would use, registered for
``process.cancel_all``), in the same kind of private work dir, without the source file: its
first line, given on the command line, reads the file name from stdin. TeX refuses to
``\\read`` from the terminal in the nonstop modes, so the process starts in errorstopmode
(scrollmode while it runs the predocument: an error never waits for an answer) and switches
to ``\\nonstopmode`` right after the read; the file is then read with the primitive
``\\input``, as a file name on the command line is, so error lines, the line mapping and the
PDF are those of a normal run.

Which fonts to warm up: a process that typeset a body names in its log every font LaTeX
loaded after ``\\begin{document}`` (``FONT_RECORDER``: one ``md2tex-font:`` line each, from
``\\define@newfont``); the next process loads exactly those (``font_warm_up``), the math
sizes, code and headings of the last save included. Before a body has been typeset here, the
fonts are guessed from the body's commands (``WARM_UPS``).
"""

from __future__ import annotations

import contextlib
import logging
import re
import subprocess
import threading
from pathlib import Path

from md2tex.document import Document
from md2tex.tex import formats as fmtcache
from md2tex.tex import private_dir, process, sandbox
from md2tex.tex.formats import FormatUse

log = logging.getLogger(__name__)

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
        #: the fonts LaTeX loaded while this process typeset its body (``FONT_RECORDER``)
        self.fonts: tuple[str, ...] = ()
        #: it did the document's first pass
        self.used = False
        self._done = False
        self._lock = threading.Lock()

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
            (self.workdir / f"{process.TEX_NAME}.tex").write_text(split[1], encoding="utf-8")
            self._body = fmt.body
        return True

    def finish(self, timeout: float) -> tuple[int, str]:
        """Hand TeX the body file's name and wait for it as ``process.run_engine`` does."""
        self.used = True
        stdin = self.proc.stdin
        try:
            if stdin is not None:
                with contextlib.suppress(OSError):  # TeX died: its status and log say why
                    stdin.write(f"{process.TEX_NAME}.tex\n".encode())
                    stdin.close()
            log.debug("warm TeX: first pass by the process started with format %s",
                      self.name)
            status, log_text = process.wait_engine(self.proc, self.workdir, self.engine,
                                                   timeout)
            self.fonts = recorded_fonts(log_text)
            return status, log_text
        finally:
            with self._lock:
                self._done = True
            if self._body is not None:  # for a further pass (references, a TOC)
                with contextlib.suppress(OSError):
                    (self.workdir / f"{process.TEX_NAME}.tex").write_text(self._body,
                                                                        encoding="utf-8")

    def discard(self, keep_dir: bool = False) -> None:
        """Kill the process if it still runs and remove its work dir (unless ``keep_dir``:
        the build goes on there). Safe to call more than once."""
        with self._lock:
            done, self._done = self._done, True
        if not done and self.proc.returncode is None:
            process.stop_engine(self.proc)
        if self.proc.stdin is not None:
            with contextlib.suppress(OSError):
                self.proc.stdin.close()
        if not keep_dir:
            private_dir.remove(self.workdir)
            return
        # the build goes on here: drop what a run of a predocument may have written
        for name in (PREDOCUMENT, *(f"{process.TEX_NAME}.{ext}" for ext in _TEX_OUTPUTS)):
            with contextlib.suppress(OSError):
                (self.workdir / name).unlink()



#: after ``\begin{document}``: load the fonts the last build used, as its body would load
#: them on first use (font loading and microtype's per-font set-up are global), each typeset
#: in a group into a box that is dropped. Feature of the body -> what loads its fonts.
WARM_UPS: dict[str, tuple[re.Pattern[str], str]] = {
    "math": (re.compile(r"(?<!\\)\$|\\[(\[]|\\begin\{(?:equation|align|gather|multline)"),
             r"$x^2$"),
    "italic": (re.compile(r"\\(?:emph|textit|itshape)(?![A-Za-z])"), r"\itshape x"),
    "bold": (re.compile(r"\\(?:textbf|bfseries|subsubsection|paragraph)(?![A-Za-z])"),
             r"\bfseries x"),
    "tt": (re.compile(r"\\(?:texttt|mdcode|ttfamily)(?![A-Za-z])"), r"\ttfamily x"),
    "code": (re.compile(r"\\begin\{(?:Verbatim|verbatim|lstlisting)\}"),
             r"\ifdefined\mdcodesize\mdcodesize\else\small\fi\ttfamily x"),
    "footnote": (re.compile(r"\\footnote(?![A-Za-z])"), r"\footnotesize x$^{\normalfont 1}$"),
    "title": (re.compile(r"\\maketitle(?![A-Za-z])"), r"\LARGE x\normalfont\large x"),
    "abstract": (re.compile(r"\\begin\{abstract\}"), r"\small\bfseries x\normalfont\small x"),
    "section": (re.compile(r"\\section(?![A-Za-z])"), r"\Large\bfseries x"),
    "subsection": (re.compile(r"\\subsection(?![A-Za-z])"), r"\large\bfseries x"),
}


def warm_up(tex: str) -> str:
    """The TeX that loads the fonts the body of ``tex`` (after ``\\begin{document}``) uses."""
    body = tex.partition("\\begin{document}")[2]
    return "".join(r"\begingroup\setbox0\hbox{\normalfont\normalsize " + code + "}\\endgroup"
                   for pattern, code in WARM_UPS.values() if pattern.search(body))


#: put first in the warm-up: each font LaTeX loads from then on is a line of the log
FONT_LOG = "md2tex-font:"
FONT_RECORDER = (r"\makeatletter\let\mdwarm@define@newfont\define@newfont"
                 r"\def\define@newfont{\mdwarm@define@newfont\immediate\write\m@ne{"
                 + FONT_LOG + r"\expandafter\string\font@name}}\makeatother ")
#: a font as NFSS names it: encoding/family/series/shape/size (anything else is not warmed)
_FONT = re.compile(r"\\?([A-Za-z0-9]+)/([A-Za-z0-9]+)/([A-Za-z0-9]+)/([A-Za-z0-9]+)/"
                   r"(\d{1,3}(?:\.\d{1,5})?)")
#: fonts warmed up at most (a post's fonts are a few dozen)
MAX_FONTS = 300


def recorded_fonts(log_text: str) -> tuple[str, ...]:
    """The fonts ``FONT_RECORDER`` named in a log, in loading order, without repeats."""
    found: dict[str, None] = {}
    for line in log_text.splitlines():
        if line.startswith(FONT_LOG):
            m = _FONT.fullmatch(line[len(FONT_LOG):].strip())
            if m is not None and len(found) < MAX_FONTS:
                found["/".join(m.groups())] = None
    return tuple(found)


def font_warm_up(fonts: tuple[str, ...]) -> str:
    """The TeX that loads ``fonts`` (NFSS names) as the body would on first use, each in a
    group; a font of an encoding not declared by then is left out (a warm-up never errs)."""
    out = []
    for font in fonts:
        m = _FONT.fullmatch(font)
        if m is None:
            continue
        encoding, family, series, shape, size = m.groups()
        out.append(rf"\ifcsname T@{encoding}\endcsname\begingroup\setbox0\hbox{{"
                   rf"\fontencoding{{{encoding}}}\fontfamily{{{family}}}\fontseries{{{series}}}"
                   rf"\fontshape{{{shape}}}\fontsize{{{size}}}{{{size}}}\selectfont}}"
                   r"\endgroup\fi")
    return "".join(out)


def start_for(document: Document, timeout: float, fonts: tuple[str, ...] = ()
              ) -> EarlyTex | None:
    """A TeX process for the next build of a document like ``document`` (same format and
    predocument), or None when it has no cached format; ``fonts``: those the last body
    loaded (``EarlyTex.fonts``), warmed up with the guessed ones. Never raises: the normal
    build is the fallback."""
    try:
        planned = fmtcache.planned_format(document)
        if planned is None:
            return None
        name, body = planned
        fmt = fmtcache.usable(document.engine, name)
        if fmt is None:
            return None
        split = fmtcache.predocument(body)
        predocument = None if split is None else split[0]
        warm = FONT_RECORDER + font_warm_up(fonts) + warm_up(body)
        return _start(document.engine, name, fmt, predocument, warm, timeout)
    except Exception as exc:  # the normal build is the fallback
        log.debug("warm TeX not started: %s", exc)
        return None


def _start(engine: str, name: str, fmt: Path, predocument: str | None, warm: str,
           timeout: float) -> EarlyTex:
    exe = process.find_engine(engine)
    isolation = sandbox.choose(exe)
    workdir = private_dir.create()
    try:
        first, interaction = FIRST_LINE, "errorstopmode"
        if predocument is not None:
            (workdir / PREDOCUMENT).write_text(predocument + warm + "\n", encoding="utf-8")
            first, interaction = PREDOCUMENT_LINE, "scrollmode"
        proc = process.start_engine(workdir, engine, timeout,
                                  (f"-jobname={process.TEX_NAME}", *fmtcache.fmt_args(fmt)),
                                  source=first, interaction=interaction,
                                  stdin=subprocess.PIPE, isolation=isolation)
    except BaseException:
        private_dir.remove(workdir)
        raise
    return EarlyTex(proc, workdir, engine, name, timeout, isolation, predocument)
