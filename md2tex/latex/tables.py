"""The one writer of LaTeX tables, for Markdown tables (``render``) and HTML ``<table>``
(``html``): a ``longtable`` (it breaks across pages; a blog table can be long) with booktabs
rules, the head repeated on every page, and columns that fit the text width.

Columns: when the widest cells of all columns together are short (at most ``NATURAL_WIDTH``
characters) every column takes its natural width (``l``/``c``/``r``); otherwise each becomes a
paragraph column whose text wraps, its share of the line in proportion to its widest cell
(never below half an equal share, so a narrow column stays readable), or equal shares when
the caller cannot measure its columns fairly (HTML cells spanning several columns).
"""

from __future__ import annotations

from collections.abc import Sequence

#: the widest cells of all columns together, in characters, up to which columns keep their
#: natural width (about a line of text)
NATURAL_WIDTH = 70
#: the share of the line all paragraph columns take together (the rest: the column gaps)
_LINE_SHARE = 0.97

_LETTERS = {"left": "l", "center": "c", "right": "r", None: "l"}
_RAGGED = {"left": "\\raggedright", "center": "\\centering", "right": "\\raggedleft",
           None: "\\raggedright"}


def column_spec(aligns: Sequence[str | None], widths: Sequence[int], *,
                equal: bool = False) -> str:
    """The column specification for columns aligned ``aligns`` (``"left"``, ``"center"``,
    ``"right"`` or None) whose widest cells are ``widths`` characters; ``equal``: wrapped
    columns share the line equally."""
    total = sum(widths)
    if total <= NATURAL_WIDTH:
        return "".join(_LETTERS[a] for a in aligns)
    n = len(widths)
    if equal:
        fracs = [_LINE_SHARE / n] * n
    else:
        shares = [max(w / total, 0.5 / n) for w in widths]
        norm = max(1.0, sum(shares))  # once, not per column
        fracs = [share * _LINE_SHARE / norm for share in shares]
    return "".join(f">{{{_RAGGED[a]}\\arraybackslash}}p{{{frac:.3f}\\linewidth}}"
                   for a, frac in zip(aligns, fracs, strict=True))


def row(cells: Sequence[str]) -> str:
    """One table row of typeset cells."""
    return " & ".join(cells) + " \\\\"


def longtable(spec: str, head: Sequence[str] | None, body: Sequence[str]) -> str:
    """The table: ``head`` (lines: rows and ``%L`` line markers; None for a table without a
    head) repeated on every page, then ``body`` (lines likewise)."""
    lines = [f"\\begin{{longtable}}[l]{{@{{}}{spec}@{{}}}}", "\\toprule"]
    if head is not None:
        lines += [*head, "\\midrule", "\\endhead"]
    lines += ["\\bottomrule", "\\endlastfoot", *body, "\\end{longtable}"]
    return "\n".join(lines)


def as_paragraphs(rows: Sequence[Sequence[str]]) -> str:
    """A table where no table can go (inside a macro argument: a footnote, a cell) or none
    fits (thousands of columns): one paragraph per row, its cells separated by semicolons."""
    return "\\par\n".join("; ".join(cells) for cells in rows)
