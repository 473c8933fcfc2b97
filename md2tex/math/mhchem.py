"""mhchem: ``\\ce{...}`` checked against what LaTeX's mhchem 4 accepts (stricter than
MathJax's), and ``\\pu{...}`` (units, which this TeX's mhchem lacks) as plain LaTeX.

Why a module of its own: chemistry formulas have their own syntax (arrows, bonds, ``$...$``
parts), learned by compiling mhchem; none of it applies outside ``\\ce``/``\\pu``.
"""

from __future__ import annotations

import re

from md2tex.math import table as mathtable
from md2tex.math.macros import read_group
from md2tex.math.scan import BIG, DIMEN_PRIMITIVES, Scanner

_CE_ARROW = re.compile(r"\s*(<-->|<=>>|<<=>|<=>|<->|->|<-)((?:\[[^\]]*\]){0,2})\s*")
#: what mhchem's \\bond{...} accepts (checked by compiling mhchem 4)
_CE_BONDS = frozenset({"-", "=", "#", "1", "2", "3", "~", "~-", "~=", "~--", "-~-", "...",
                       "....", "->", "<-"})


class ChemistryChecks(Scanner):
    """The argument of ``\\ce``: checked, arrows spaced, math parts checked as formulas."""

    def ce_arg(self, g: tuple[str, int, int], pos: int) -> None:
        """mhchem's \\ce in LaTeX is stricter than MathJax's: arrows need spaces around
        them (added here). Checked by compiling mhchem 4: ``$...$`` parts are math (checked
        as formulas); commands outside them need braced arguments and no ``[...]`` (then
        checked as formulas too), dimensions, \\left and unknown names fail; \\bond takes
        mhchem's bond names; ';' and a prime fail outside braces."""
        text = g[0]
        edits: list[tuple[int, int, str]] = []
        protected: list[tuple[int, int]] = []
        depth = 0
        k = 0
        while k < len(text):
            c = text[k]
            if c == "$":
                close = text.find("$", k + 1)
                while close > 0 and text[close - 1] == "\\":
                    close = text.find("$", close + 1)
                if close < 0:
                    self.err(pos, "math-ce", "\\ce{...} with an unclosed $")
                    return
                inner = text[k + 1 : close]
                out = self.sub_formula(inner, pos)
                if out != inner:
                    edits.append((k + 1, close, out))
                protected.append((k, close + 1))
                k = close + 1
                continue
            if c == "\\":
                m = re.match(r"\\([A-Za-z]+)", text[k:])
                if m is None:
                    k += 2  # \, \; \{ ...: control symbols pass through
                    continue
                stop = self.ce_command(text, k, m.group(1), pos, edits)
                if stop < 0:
                    return
                protected.append((k, stop))
                k = stop
                continue
            if c == "{":
                depth += 1
            elif c == "}":
                depth -= 1
            elif c in ";'" and depth == 0:
                self.err(pos, "math-ce", "\\ce{...} with ';' or a prime (outside braces) "
                         "fails in LaTeX's mhchem")
                return
            k += 1
        spaced = False
        for m in _CE_ARROW.finditer(text):
            if any(a <= m.start(1) < b for a, b in protected):
                continue
            if m.group(0) != f" {m.group(1)}{m.group(2)} ":
                edits.append((m.start(), m.start(1), " "))
                edits.append((m.end(2), m.end(), " "))
                spaced = True
        if not edits:
            return
        parts: list[str] = []
        last = 0
        for a, b, s in sorted(edits):
            parts.append(text[last:a] + s)
            last = b
        self.edit(g[1] + 1, g[2] - 1, "".join(parts) + text[last:])
        if spaced:
            self.fixed(pos, "mathjax-ce-arrow", "spaces were put around the arrows in "
                       "\\ce{...} (LaTeX's mhchem needs them)")

    def ce_command(self, text: str, k: int, name: str, pos: int,
                   edits: list[tuple[int, int, str]]) -> int:
        """A command inside \\ce{...} (outside ``$...$``) at ``text[k]``: the index after it
        and its arguments, or -1 after reporting an error."""
        end = k + 1 + len(name)
        j = end
        while j < len(text) and text[j] in " \t\n":
            j += 1
        group = read_group(text, j)
        if name == "bond":
            if group is None or group[0] not in _CE_BONDS:
                self.err(pos, "math-ce", "\\bond{...} needs one of mhchem's bond names "
                         "(- = # 1 2 3 ~ ~- ~= ~-- -~- ... .... -> <-)")
                return -1
            return group[1]
        if name == "ce":
            if group is None:
                self.err(pos, "math-ce", "\\ce inside \\ce{...} needs its argument in braces")
                return -1
            inner = (group[0], k, k)
            before = len(self.edits)
            self.ce_arg(inner, pos)
            for e in self.edits[before:]:  # an edit of the inner text, moved into place
                edits.append((j + 1, group[1] - 1, e.text))
            del self.edits[before:]
            return group[1]
        info = mathtable.macro(name)
        mj = self.engine_table().get(name)
        if info is None and mj is not None and mj.latex_equivalent.isalpha() and not mj.args:
            info = mathtable.MacroInfo(name, 0, 0, "math", "kernel")  # translated below
        bad = info is None or name in DIMEN_PRIMITIVES or name in (
            "hskip", "left", "right", "middle", "begin", "end") or BIG.fullmatch(name)
        stop = end
        if info is not None and not bad:
            for _ in range(info.args):
                j = stop
                while j < len(text) and text[j] in " \t\n":
                    j += 1
                if j < len(text) and text[j] == "[":
                    bad = True
                    break
                arg = read_group(text, j)
                if arg is None:
                    bad = True
                    break
                stop = arg[1]
            if info.optional and text[stop:].lstrip().startswith("["):
                bad = True
        if bad:
            self.err(pos, "math-ce", f"\\ce{{...}} with \\{name}: mhchem in LaTeX cannot be "
                     "shown to accept it", hint="put math in $...$ inside \\ce, with "
                     "arguments in braces")
            return -1
        piece = text[k:stop]
        out = self.sub_formula(piece, pos)
        if out != piece:
            edits.append((k, stop, out))
        return stop


_PU_NUMBER = re.compile(r"\s*([+-]?)(\d+(?:[.,]\d+)?)(?:([eE])([+-]?\d+))?\s*")
_PU_UNIT = re.compile(r"([A-Za-z]+)(-?\d+)?")


def _pu_units(text: str) -> str | None:
    """mhchem's unit syntax (``kJ mol-1``, ``J*s``, ``m/s``) as LaTeX, or None."""
    out: list[str] = []
    for k, part in enumerate(re.split(r"(\s*[*/]\s*|\s+)", text.strip())):
        if k % 2:
            sep = part.strip()
            out.append("\\cdot " if sep == "*" else "/" if sep == "/" else "\\,")
            continue
        m = _PU_UNIT.fullmatch(part)
        if m is None:
            return None
        out.append(f"\\mathrm{{{m.group(1)}}}" + (f"^{{{m.group(2)}}}" if m.group(2) else ""))
    return "".join(out)


def pu(text: str) -> str | None:
    """MathJax mhchem's ``\\pu{...}`` (a number and units) as plain LaTeX, or None when the
    argument is beyond this small subset (number, ``e``/``E`` exponent, units joined by
    spaces, ``*``, ``/``, or ``//`` for a fraction)."""
    m = _PU_NUMBER.match(text)
    number = ""
    rest = text
    if m is not None and m.group(2):
        number = m.group(1) + m.group(2).replace(",", "{,}")
        if m.group(3):
            times = "\\cdot" if m.group(3) == "e" else "\\times"
            number += f"{times}10^{{{m.group(4)}}}"
        rest = text[m.end():]
    if not rest.strip():
        return number or None
    if "//" in rest:
        num, _, den = rest.partition("//")
        a, b = _pu_units(num), _pu_units(den)
        units = f"\\frac{{{a}}}{{{b}}}" if a and b else None
    else:
        units = _pu_units(rest)
    if units is None:
        return None
    return f"{number}\\,{units}" if number else units
