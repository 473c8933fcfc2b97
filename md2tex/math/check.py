"""What a formula means to LaTeX: check it, fix MathJax-only habits, report the rest at the
Markdown line. User math reaches LaTeX only through ``prepare``.

One linear pass over the formula's tokens with an explicit stack (groups, environments,
``\\left``), so any nesting depth is safe and a typical formula costs well under a
millisecond. pylatexenc 3.0b2 parses the same formulas correctly but costs about 3.5 ms
each and recurses (it dies near 2,000 nested groups), so it is not on this path. What
LaTeX knows (macros, arity, mode, package; environments) is data: ``mathtable``.

The pass is one class assembled from mixins, one module per concern: ``mathscan`` (state,
reading, reporting), ``mathcommands`` (one command), ``mathenv`` (environments, columns),
``mathtext`` (text mode), ``mathtranslate`` (MathJax habits), ``mathchem`` (mhchem),
``mathdefs`` (definitions, TeX programming). This module runs the pass and decides the
output.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import replace

from md2tex.diagnostics import SHOWN_AS_ERROR, SHOWN_UNDEFINED, Diagnostic, Severity, error
from md2tex.math.commands import CommandChecks
from md2tex.math.definitions import defer_to_tex
from md2tex.math.environments import resolve_environments
from md2tex.math.scan import MAX_DEPTH, Locator, MathResult, TooDeep, apply_edits

__all__ = ["SHOWN_UNDEFINED", "Checker", "MathResult", "fallback_latex", "formula_location",
           "mark_undefined", "prepare", "shown_as_error", "undefined_names"]

_CD_ARROW = re.compile(r"@(?:([<>])[^<>@]*\1[^<>@]*\1|([AV])[^AV@]*\2[^AV@]*\2|[=|.])")
_MAX_LEN = 20_000


class Checker(CommandChecks):
    """The whole pass: every token, then the checks at the end of the formula."""

    def run(self) -> MathResult:
        i = 0
        n = len(self.toks)
        while i < n:
            tok, pos = self.toks[i]
            if pos < self.skip_to:
                i += 1
                continue
            i = self.step(i, tok, pos)
        self.finish()
        return self.result

    def step(self, i: int, tok: str, pos: int) -> int:
        c = tok[0]
        if tok.isspace():
            return i + 1
        if c == "%":
            # a comment also eats its line end: keep a bare '%' there, or a line holding only
            # a comment would become a blank line (a paragraph end, fatal in math)
            eol = self.raw.startswith("\n", pos + len(tok))
            line_start = self.raw.rfind("\n", 0, pos) + 1
            if not (eol and tok.strip() == "%" and not self.raw[line_start:pos].strip()):
                # (a line holding just '%' spaces out rows on purpose: nothing to say)
                self.warn(pos, "math-comment", "'%' starts a comment in TeX (and MathJax): "
                          "the rest of the line is dropped", fix="write \\% for a percent sign")
            self.edit(pos, pos + len(tok), "%" if eol else "")
            return i + 1
        if c == "\\":
            return self.macro(i, tok, pos)
        if c == "{":
            self.push_group(pos)
            return i + 1
        if c == "}":
            self.close_group(pos)
            return i + 1
        if self.in_text():
            return self.text_char(i, tok, pos)
        if c in "^_'":
            self.script(c, pos)
            return i + 1
        if c == "&":
            self.ampersand(pos)
            return i + 1
        if c == "#":
            self.err(pos, "math-hash", "'#' is only valid in macro definitions",
                     hint="write \\# for the symbol")
            return i + 1
        if c == "$":
            if self.top.kind == "inlinemath":
                self.stack.pop()
                return i + 1
            # MathJax prints a '$' met inside math as a dollar sign; in LaTeX it would end it
            self.edit(pos, pos + 1, "\\$")
            self.warn(pos, "math-dollar", "'$' inside math became \\$ (a dollar sign, as "
                      "MathJax shows it; in LaTeX it would end the formula)",
                      fix="write \\$ for a dollar sign")
            self.atom("char")
            return i + 1
        if ord(c) > 127:
            self.unicode_math(i, c, pos)
            return i + 1
        if c == "@":
            f = self.alignment_frame()
            if f is not None and f.env == "CD" and not _CD_ARROW.match(self.raw, pos):
                self.err(pos, "math-cd", "amscd arrows are @>>>, @<<<, @VVV, @AAA, @=, @| "
                         "or @. (labels between the symbols)")
        self.atom("char")
        return i + 1

    def finish(self) -> None:
        while len(self.stack) > 1:
            f = self.stack.pop()
            if f.kind == "group":
                self.err(f.pos, "math-unbalanced-brace", "'{' is never closed",
                         hint="add the missing '}'")
            elif f.kind == "left":
                self.err(f.pos, "math-left-right", "\\left has no matching \\right",
                         hint="add \\right. (an invisible delimiter)")
            elif f.kind == "env":
                self.err(f.pos, "math-env-mismatch", f"\\begin{{{f.env}}} is never closed "
                         f"by \\end{{{f.env}}}")
        if self.groups > 0:
            self.err(0, "math-group", "\\begingroup without \\endgroup")
        if self.expect_script:
            self.err(len(self.raw) - 1, "math-script", f"'{self.expect_script}' at the end "
                     "of the formula has no argument")
        self.flush_pending(self.stack[0], len(self.raw))


def formula_location(raw: str, line: int | None, column: int | None, opener_len: int,
                     pos: int) -> tuple[int | None, int | None]:
    """The Markdown line and column of offset ``pos`` of a formula (as diagnostics give)."""
    at = Locator(raw, "", line, column, opener_len).at(pos)
    return at.get("line"), at.get("column")


def prepare(raw: str, *, display: bool, path: str = "<string>", line: int | None = None,
            column: int | None = None, opener_len: int = 0, unicode: bool = False,
            numbered: bool = False, macros: Mapping[str, int] | None = None,
            macro_body: bool = False, engine: str = "mathjax3",
            package_installed: Callable[[str], bool] | None = None) -> MathResult:
    """Validate and translate one formula.

    ``display``: the formula stands as display math; if it is a single amsmath display
    environment it is returned raw (``environment`` set) so ``\\tag`` and numbering work.
    ``macros``: user macros (site, front matter, the post's definitions) and their arity.
    ``macro_body``: ``raw`` is a macro's body (``\\renewcommand{\\b}{\\mathbf}``), whose last
    command may take its arguments where the macro is used.
    ``engine``: the site's web math engine (``mathtable.MATH_ENGINES``): its commands and habits.
    ``package_installed``: whether TeX here has an optional package (``tex.packages``);
    without it every package is assumed installed.
    """
    loc = Locator(raw, path, line, column, opener_len)
    if len(raw) > _MAX_LEN:
        res = MathResult(latex=raw)
        res.diagnostics.append(error("math-too-long", "formula is longer than 20,000 "
                                     "characters", **loc.at(0)))
        return res
    checker = Checker(raw, loc, macros or {}, unicode, display)
    checker.macro_body = macro_body
    checker.engine = engine
    if package_installed is not None:
        checker.package_installed = package_installed
    checker.numbered = numbered
    try:
        result = checker.run()
    except TooDeep as exc:
        res = MathResult(latex=raw)
        res.diagnostics.append(error("math-too-deep", f"braces nested more than {MAX_DEPTH} "
                                     "deep", **loc.at(exc.pos)))
        return res
    if checker.uncertain:
        defer_to_tex(checker)
    if not result.ok:
        return result
    _blank_lines(checker)
    resolve_environments(checker, display, numbered)
    if checker.uncertain:
        defer_to_tex(checker)
    if result.ok:
        result.latex = apply_edits(raw, checker.edits).strip()
        if result.environment is None and not result.latex and display:
            result.latex = "{}"
    return result


_BLANK = re.compile(r"\n[ \t]*(?:\n[ \t]*)+")


def _blank_lines(ck: Checker) -> None:
    for m in _BLANK.finditer(ck.raw):
        ck.edit(m.start(), m.end(), "\n")
        ck.fixed(m.start(), "math-blank-line", "blank line inside math removed (LaTeX "
                 "ends the paragraph there and fails)")


# ------------------------------------------------------------------------------ fallbacks
# A formula LaTeX cannot typeset never costs the post: it is shown the way MathJax shows an
# error (its source in red; a display formula in a red frame), or, when the only trouble is
# undefined commands, as MathJax's noundefined extension does (the rest is typeset, each
# undefined name in red). Its error diagnostics become warnings saying so (``--strict``
# turns them back into errors).

_UNDEFINED = re.compile(r"^undefined control sequence \\([A-Za-z]+)$")
_TOKEN = re.compile(r"\\(?:[A-Za-z]+|.)", re.S)


def undefined_names(diagnostics: Iterable[Diagnostic]) -> set[str]:
    """The names when every error is an undefined control sequence (MathJax's noundefined
    case), else the empty set."""
    names: set[str] = set()
    for d in diagnostics:
        if d.severity is not Severity.ERROR:
            continue
        m = _UNDEFINED.match(d.message)
        if d.code != "math-undefined" or m is None:
            return set()
        names.add(m.group(1))
    return names


def mark_undefined(latex: str, names: set[str]) -> str:
    """``latex`` with each ``\\name`` of ``names`` as its name in red typewriter (a group, so
    it stays one script argument: ``x_\\tims``)."""
    def red(m: re.Match[str]) -> str:
        name = m.group(0)[1:]
        if name not in names:
            return m.group(0)
        shown = f"{{\\textcolor{{red}}{{\\texttt{{\\textbackslash {name}}}}}}}"
        # \oiiint\nolimits: \limits & co. must follow an operator
        limits = re.match(r"\s*\\(?:no|display)?limits(?![A-Za-z])", latex[m.end():])
        return "\\mathop" + shown if limits else shown
    return _TOKEN.sub(red, latex)


def shown_as_error(diagnostics: Iterable[Diagnostic], how: str = SHOWN_AS_ERROR,
                   ) -> list[Diagnostic]:
    """``diagnostics`` with every error a warning that says how the formula is shown; its
    notes (fixes, hoisted definitions) are dropped: none of them happened."""
    return [replace(d, severity=Severity.WARNING, message=f"{d.message}; {how}")
            if d.severity is Severity.ERROR else d for d in diagnostics
            if d.severity is not Severity.NOTE]


def fallback_latex(source: str, display: bool, unicode: bool, newlines: int = 0) -> str:
    """The LaTeX of a formula shown as MathJax shows an error: its source in red
    typewriter, inline; a display formula centred in a red frame, a line per source line.
    Exactly ``newlines`` line ends (comment-ended), so the ``%L`` line map of what follows
    stays right when it replaces a formula of that many lines."""
    from md2tex.escape import escape_code

    lines = [escape_code(x.strip(), unicode) for x in source.strip().split("\n")]
    lines = [x for x in lines if x] or ["{}"]
    if not display:
        out = "\\mdbadmath{" + "\\mdcodespace{}".join(lines) + "}"
    elif len(lines) == 1 and len(source.strip()) <= 60:
        out = f"\\begin{{center}}\\fcolorbox{{red}}{{white}}{{\\mdbadmath{{{lines[0]}}}}}" \
              "\\end{center}"
    else:
        rows = "\\\\".join(f"\\mdbadmath{{{x}}}" for x in lines)
        out = ("\\begin{center}\\fcolorbox{red}{white}{\\parbox{\\dimexpr\\linewidth-"
               f"2\\fboxsep-2\\fboxrule\\relax}}{{\\raggedright {rows}}}}}\\end{{center}}")
    return out + "%\n" * newlines
