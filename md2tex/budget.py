"""One budget for a whole conversion, not only for TeX.

A small post must not be able to make md2tex work or allocate without end before TeX even
starts. Two kinds of limits cover the Python stages:

* **time**: ``convert`` makes one ``Budget(options.timeout, path, len(text))`` and hands it
  to each stage (``LiquidContext.budget``, ``parse_markdown(budget=...)``, which puts it in
  mistune's ``env``, ``render_body(budget=...)``), so threads and batch jobs each have their
  own and no stage finds it by a hidden switch. Loops whose length the post decides call
  ``check(line)``: per Liquid tag (liquid.py), per block parsed (parse.py), per inline
  formula found (delimiters.py), per block and formula rendered (render.py). Past the
  deadline, ``check`` raises ``InputError`` with a ``time-budget`` diagnostic at the
  Markdown line being worked on. A stage called without one (as tests do) runs under
  ``UNLIMITED``. This is the one place the pure conversion looks at a clock: its result is
  the same or it is this error.
* **size**: wherever text can grow faster than the input, the growth is capped in
  proportion to the input with a hard ceiling (``output_cap``): Liquid's output, captured
  and assigned values (liquid.py); the characters YAML aliases repeat (yamlload.py). The
  LaTeX the renderer writes has its own, wider cap (``latex_cap``: escaping makes text
  longer, but a footnote or link referenced thousands of times must not make gigabytes):
  render.py reports what it writes to ``Budget.spend``, which raises an ``output-budget``
  InputError past the cap. An input over a cap is an error, never a large allocation.

Scanners are linear in their input (no regex that backtracks on a long run, no recounting
of lines from the start per item), so the deadline is a guard, not the usual way out.
"""

from __future__ import annotations

import math
import time

from md2tex.diagnostics import InputError, error

#: the most characters any stage may produce from a post, whatever its size
HARD_CAP = 5_000_000
#: a post may grow this many times over (Liquid values, aliases) before it is refused
GROWTH = 4
#: small posts may always grow this far (a few long site variables)
FLOOR = 1_000_000


#: LaTeX may be this many times longer than the post (``~`` becomes ``\\textasciitilde{}``)
LATEX_GROWTH = 40
#: ... and at least this long, at most this long
LATEX_FLOOR = 20_000_000
LATEX_HARD_CAP = 250_000_000


def output_cap(input_size: int) -> int:
    """How many characters a stage may produce from ``input_size`` characters."""
    return min(HARD_CAP, max(FLOOR, GROWTH * input_size))


def latex_cap(input_size: int) -> int:
    """How many characters of LaTeX the renderer may write for ``input_size`` characters."""
    return min(LATEX_HARD_CAP, max(LATEX_FLOOR, LATEX_GROWTH * input_size))


class Budget:
    """One conversion's deadline and LaTeX cap, and the LaTeX written so far."""

    __slots__ = ("cap", "deadline", "path", "written")

    def __init__(self, seconds: float = math.inf, path: str = "<string>",
                 input_size: int | None = None) -> None:
        """``seconds`` from now; the LaTeX cap of an input of ``input_size`` characters
        (None: no cap)."""
        self.deadline = time.monotonic() + max(float(seconds), 0.0)
        self.path = path
        self.cap: float = math.inf if input_size is None else latex_cap(input_size)
        self.written = 0

    def expired(self) -> bool:
        """Has the conversion used up its time?"""
        return time.monotonic() > self.deadline

    def check(self, line: int | None = None) -> None:
        """Raise the ``time-budget`` InputError when the conversion is out of time."""
        if time.monotonic() > self.deadline:
            raise InputError("conversion exceeded its time budget", [error(
                "time-budget", "conversion exceeded its time budget (the --timeout limit); "
                "the post is too large or too repetitive to convert", line, path=self.path,
                hint="split the post or raise --timeout")])

    def spend(self, size: int, line: int | None = None) -> None:
        """Count ``size`` characters of LaTeX written; past the cap, raise the
        ``output-budget`` InputError (the post expands too much: a footnote or link used
        thousands of times)."""
        self.written += size
        if self.written > self.cap:
            raise InputError("conversion output too large", [error(
                "output-budget", f"the post expands to more than {int(self.cap):,} "
                "characters of LaTeX (a long footnote or link referenced many times?)",
                line, path=self.path)])


#: for a stage called on its own (not by ``convert``): no deadline, no cap. Shared, so
#: its ``written`` count means nothing
UNLIMITED = Budget()
