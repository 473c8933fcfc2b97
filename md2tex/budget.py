"""One budget for a whole conversion, not only for TeX.

A small post must not be able to make md2tex work or allocate without end before TeX even
starts. Two kinds of limits cover the Python stages:

* **time**: ``convert`` runs under ``limit(options.timeout, path, len(text))``, a deadline
  in a context variable (so threads and batch jobs each have their own). Loops whose length
  the post decides call ``check(line)``: per Liquid tag (liquid.py), per block parsed
  (parse.py), per inline formula found (mathsyntax.py), per block and formula rendered
  (render.py). Past the deadline, ``check`` raises ``InputError`` with a
  ``time-budget`` diagnostic at the Markdown line being worked on. Outside ``limit`` (a
  direct call of a stage, as tests do) nothing is checked. This is the one place the pure
  conversion looks at a clock: its result is the same or it is this error.
* **size**: wherever text can grow faster than the input, the growth is capped in
  proportion to the input with a hard ceiling (``output_cap``): Liquid's output, captured
  and assigned values (liquid.py); the characters YAML aliases repeat (yamlload.py). The
  LaTeX the renderer writes has its own, wider cap (``latex_cap``: escaping makes text
  longer, but a footnote or link referenced thousands of times must not make gigabytes):
  render.py reports what it writes to ``spend``, which raises an ``output-budget``
  InputError past the cap. An input over a cap is an error, never a large allocation.

Scanners are linear in their input (no regex that backtracks on a long run, no recounting
of lines from the start per item), so the deadline is a guard, not the usual way out.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

from md2tex.diagnostics import InputError, error


class _Running:
    """The conversion running in this context: its deadline, path and LaTeX written."""

    __slots__ = ("cap", "deadline", "path", "written")

    def __init__(self, deadline: float, path: str, cap: int) -> None:
        self.deadline, self.path, self.cap, self.written = deadline, path, cap, 0


_DEADLINE: ContextVar[_Running | None] = ContextVar("md2tex_deadline", default=None)

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


@contextmanager
def limit(seconds: float, path: str = "<string>", input_size: int = 0) -> Iterator[None]:
    """Run the body under a deadline ``seconds`` from now (nested calls keep the earliest)
    and the LaTeX cap of an input of ``input_size`` characters."""
    deadline = time.monotonic() + max(float(seconds), 0.0)
    outer = _DEADLINE.get()
    if outer is not None and outer.deadline < deadline:
        deadline = outer.deadline
    token = _DEADLINE.set(_Running(deadline, path, latex_cap(input_size)))
    try:
        yield
    finally:
        _DEADLINE.reset(token)


def expired() -> bool:
    """Has the running conversion used up its time?"""
    current = _DEADLINE.get()
    return current is not None and time.monotonic() > current.deadline


def check(line: int | None = None) -> None:
    """Raise the ``time-budget`` InputError when the running conversion is out of time."""
    current = _DEADLINE.get()
    if current is not None and time.monotonic() > current.deadline:
        raise InputError("conversion exceeded its time budget", [error(
            "time-budget", "conversion exceeded its time budget (the --timeout limit); the "
            "post is too large or too repetitive to convert", line, path=current.path,
            hint="split the post or raise --timeout")])


def spend(size: int, line: int | None = None) -> None:
    """Count ``size`` characters of LaTeX written; past the cap, raise the ``output-budget``
    InputError (the post expands too much: a footnote or link used thousands of times)."""
    current = _DEADLINE.get()
    if current is None:
        return
    current.written += size
    if current.written > current.cap:
        raise InputError("conversion output too large", [error(
            "output-budget", f"the post expands to more than {current.cap:,} characters of "
            "LaTeX (a long footnote or link referenced many times?)", line,
            path=current.path)])
