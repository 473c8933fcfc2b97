"""Reading TeX's log: its error lines, where each points in the ``.tex`` file, and whether
TeX finished writing the log at all. One reader for the build (``passes``: errors at their
Markdown lines) and the math probe (``probe``: a formula's error in one line).

TeX run with ``-file-line-error`` writes an error as ``./document.tex:LINE: message``; a
package error raised while TeX reads another file, or TeX without that flag, writes
``! message``. After either, ``l.NNN text`` shows the line TeX stopped in and what it had
read of it (the offending control sequence last).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import NamedTuple

from md2tex.tex.process import TEX_NAME

#: an error line: ``./document.tex:LINE: message`` or ``! message``
_ERROR = re.compile(r"^(?:\./" + TEX_NAME + r"\.tex:(\d+): |! )(.*)$", re.M)
#: the context line after an error: ``l.NNN what TeX had read``
_CONTEXT = re.compile(r"^l\.(\d+) (.*)$", re.M)
#: a macro expansion level in an error's context: ``\\name ->replacement``, or with
#: parameters ``\\name #1->...``
_MACRO_LEVEL = re.compile(r"^(\\(?:[A-Za-z@]+|.))(?: ?#\d)*(?: ?[^-]*)?->")
#: how far after an error line its context line may be
_CONTEXT_WINDOW = 2000
#: the last line of a log TeX finished (a process killed mid-run leaves none)
_FINISHED = "Transcript written"
_FINISHED_WINDOW = 4000


class TexError(NamedTuple):
    """One error in the log: its message, the ``.tex`` line (from ``file:line:``, else from
    ``l.NNN``; None when the log gives neither), what TeX had read of that line, and where
    the error line is in the log (to order it among the other things a log says)."""

    message: str
    line: int | None
    context: str
    at: int
    #: the macro expansions TeX was inside, innermost first (``\\texfails ->\\undefinedmacro``
    #: lines between the error and ``l.NNN``)
    stack: tuple[str, ...] = ()

    def undefined_name(self) -> str | None:
        """For ``Undefined control sequence``: the control sequence (the last one TeX read)."""
        if not self.message.startswith("Undefined control sequence"):
            return None
        names = re.findall(r"\\(?:[A-Za-z@]+|.)", self.context)
        return names[-1] if names else None

    def written_name(self) -> str | None:
        """The control sequence as the document wrote it where TeX stopped: the outermost
        macro TeX was expanding (an error inside ``\\texfails``'s expansion is
        ``\\texfails``'s), else the last one TeX read on the line. Inside an amsmath
        environment the line is its ``\\end``, which is never the one to blame."""
        for level in reversed(self.stack):
            m = _MACRO_LEVEL.match(level)
            if m:
                return m.group(1)
        names = [n for n in re.findall(r"\\(?:[A-Za-z@]+|.)", self.context)
                 if n not in ("\\end", "\\begin")]
        return names[-1] if names else None


def errors(log_text: str) -> Iterator[TexError]:
    """Every error in ``log_text``, in order."""
    for m in _ERROR.finditer(log_text):
        ctx = _CONTEXT.search(log_text, m.end(), m.end() + _CONTEXT_WINDOW)
        if m.group(1):
            line: int | None = int(m.group(1))
        else:
            line = int(ctx.group(1)) if ctx else None
        between = log_text[m.end():ctx.start()] if ctx else ""
        stack = tuple(text.strip() for text in between.split("\n")[1:] if text.strip())
        yield TexError(m.group(2).strip(), line, ctx.group(2) if ctx else "", m.start(),
                       stack)


def first_error(log_text: str) -> TexError | None:
    """The first error in ``log_text``, or None."""
    return next(errors(log_text), None)


def finished(log_text: str) -> bool:
    """Did TeX end its log normally (whatever it thought of the document)?"""
    return _FINISHED in log_text[-_FINISHED_WINDOW:]
