"""Definitions inside a formula (``\\newcommand``, ``\\def``, ``\\let``...): checked and
hoisted to the preamble; and TeX programming the checker cannot model, which sends the
formula to TeX for its verdict (``MathResult.needs_tex``, see mathprobe.py).

Why a module of its own: what a formula defines changes how the rest of it is read, and
deciding "TeX must judge this" changes which errors stay; both are about TeX as a
programming language rather than LaTeX math.
"""

from __future__ import annotations

import re

from md2tex.diagnostics import Diagnostic, warning
from md2tex.math import table as mathtable
from md2tex.math.macros import MacroError, parse_definition
from md2tex.math.scan import DELIMS, Scanner

#: TeX programming the checker cannot model: a formula using one "needs TeX's verdict"
#: (mathprobe.py compiles it) instead of getting an error. Only harmless primitives: file,
#: catcode, \csname and \write-like commands stay unknown (errors) whatever happens.
TEX_PROGRAMMING = frozenset({
    "global", "long", "outer", "edef", "xdef", "noexpand", "expandafter", "futurelet",
    "message", "vtop", "hsize", "break", "afterassignment", "aftergroup",
    "newenvironment", "renewenvironment", "MakeAboxedCommand", "DeclarePairedDelimiterX",
    "DeclarePairedDelimiterXPP"})
#: names a formula defines for itself (whatever the definer): not "undefined" in it
_DEFINES = re.compile(r"\\(?:[egx]?def|let|futurelet|newcommand|renewcommand|providecommand|"
                      r"DeclareMathOperator\*?|DeclarePairedDelimiter(?:X|XPP)?|"
                      r"MakeAboxedCommand|newenvironment|renewenvironment)\s*"
                      r"(?:\{\s*\\?|\\)([A-Za-z]+|(?<=\\).)")
#: errors an uncertain formula keeps (TeX is not asked about them): unknown commands
#: (layer 2 of SECURITY.md), limits of the checker itself, packages and characters
_KEPT_WHEN_UNCERTAIN = frozenset({"math-undefined", "math-too-long", "math-too-deep",
                                  "math-package-missing", "math-unicode"})


class DefinitionChecks(Scanner):
    """Definitions met in the formula: checked, recorded, removed for the preamble."""

    def definition(self, i: int, name: str, pos: int) -> int:
        try:
            d, stop = parse_definition(self.raw, pos)
        except MacroError as exc:
            if "parameter text" in str(exc) or "followed by the name" in str(exc):
                # \def\x#1\end{..} (delimited by a command), \newcommand{\11}: TeX decides
                self.needs_tex(pos, f"\\{name} with parameters md2tex cannot read")
            else:
                self.err(pos, "math-definition", f"cannot read this definition: {exc}")
            return i + 1
        target = d.body.lstrip("= ").strip()
        if d.kind == "let" and not target.startswith("\\") and target not in DELIMS:
            # \let to a character, '{' or '^': TeX programming (\let\bgroup={ ...)
            self.needs_tex(pos, f"\\let\\{d.name} to '{target}'")
        if "##" in d.body:
            self.needs_tex(pos, f"\\{d.name} defines macros inside its body (##)")
        if re.search(r"\\(?:includegraphics|input|include)(?![A-Za-z])", d.body):
            self.err(pos, "math-definition", f"\\{d.name} includes a file: not supported in "
                     "a formula")
        if "\\@" in d.body:
            self.err(pos, "math-definition", f"\\{d.name} uses LaTeX internals (\\@...), "
                     "which do not work in a document")
        if d.kind != "let" and re.search(r"(?<!\\)[\^_]\s*$", d.body):
            self.err(pos, "math-definition", f"\\{d.name} ends with '^' or '_': its script "
                     "has no argument")
        if d.kind != "let" and re.search(r"\\" + re.escape(d.name) + r"(?![A-Za-z])",
                                         d.body) and d.name.isalpha():
            self.err(pos, "math-definition", f"\\{d.name} is defined in terms of itself: "
                     "TeX would loop forever")
        if d.kind == "def" and (d.nargs > 9 or d.params != "".join(
                f"#{k}" for k in range(1, d.nargs + 1))):
            self.delimited_def(d.name, d.params, pos, stop)
        if re.search(r"(?<!#)#(?![1-9#])", d.body) or any(
                int(k) > d.nargs for k in re.findall(r"(?<!#)#([1-9])", d.body)):
            self.err(pos, "math-definition", f"\\{d.name}: '#' in its body must be "
                     f"followed by a parameter number 1..{d.nargs}")
        if d.kind == "let" and target.startswith("\\") and len(target) > 2 and \
                target[1:] != d.name and mathtable.macro(target[1:]) is None and \
                target[1:] not in self.user:
            if target == "\\undefined" or target[1:] in _DEFINES.findall(self.raw):
                # \let\x=\undefined: makes \x undefined (its later use is TeX's call)
                self.needs_tex(pos, f"\\let\\{d.name} to {target}")
            else:
                self.err(pos, "math-definition", f"\\let\\{d.name} to {target}, which "
                         "LaTeX does not have")
        elif d.kind == "let" and target[1:] == d.name and mathtable.macro(d.name) is None:
            self.err(pos, "math-definition", f"\\let\\{d.name} to itself: undefined")
        self.result.definitions.append(d)
        if self.user is not self.own_user:
            self.own_user = dict(self.user)
            self.user = self.own_user
        self.own_user[d.name] = d.nargs
        self.bodies[d.name] = d.expansion()
        if d.kind == "def" and d.params != "".join(f"#{k}" for k in range(1, d.nargs + 1)):
            self.own_user[d.name] = 0  # delimited parameters: delimited_def checks its uses
            self.delimited.add(d.name)
        if d.kind == "let" and target.startswith("\\") and target[1:] != d.name:
            self.own_user[d.name] = self.arity(target[1:])
            info = mathtable.macro(target[1:])
            self.let_optional[d.name] = info.optional if info is not None and \
                target[1:] not in self.user else 0
        if d.kind == "let" and (target in DELIMS or target[1:] in self.let_delims):
            self.let_delims.add(d.name)
        else:
            self.let_delims.discard(d.name)
        self.edit(pos, stop, "")
        self.hoists.append(self.edits[-1])
        self.fixed(pos, "math-definition-hoisted", f"definition of \\{d.name} moved to the "
                   "preamble")
        self.skip_to = stop
        return self.tok_index_at(stop, i)

    def delimited_def(self, name: str, params: str, pos: int, stop: int) -> None:
        """``\\def\\x#1|#2.{...}``: parameters numbered 1, 2... (at most 9) and, in this
        formula, every use followed by the delimiters in order (else TeX runs away)."""
        nums = re.findall(r"#(\d+|.|$)", params.rstrip("#") if params.endswith("#{") or
                          (params.endswith("#") and not params.endswith("##")) else params)
        if nums != [str(k) for k in range(1, len(nums) + 1)] or len(nums) > 9:
            self.err(pos, "math-definition", f"\\def\\{name}{params}: parameters must be "
                     "#1, #2... in order (at most 9)")
            return
        delims = [x.strip() for x in re.split(r"#\d", params) if x.strip() and x.strip() != "#"]
        if not delims:
            return
        for m in re.finditer(r"\\" + re.escape(name) + r"(?![A-Za-z])", self.raw[stop:]):
            k = stop + m.end()
            for piece in delims:
                k = self.raw.find(piece, k)
                if k < 0:
                    self.err(pos, "math-definition", f"\\{name} is used without the "
                             f"delimiter '{piece}' its definition asks for")
                    return
                k += len(piece)


def defer_to_tex(ck: Scanner) -> None:
    """A formula with TeX programming: the checker's errors are guesses, so only those it
    is sure of stay (unknown commands the formula does not define, its own limits); the
    rest is TeX's call (``needs_tex``, one ``math-unverified`` warning). Definitions stay
    in the formula, where TeX reads them as written (hoisting would change their meaning
    and could break the preamble)."""
    res = ck.result
    defined = set(_DEFINES.findall(ck.raw)) | {"undefined"} | set(
        re.findall(r"\\noexpand\s*\\([A-Za-z]+|.)", ck.raw))  # \noexpand\x: \x not run
    kept: list[Diagnostic] = []
    for d in res.diagnostics:
        if d.severity.value == "error":
            m = re.search(r"undefined control sequence \\([A-Za-z]+|.)", d.message)
            if d.code not in _KEPT_WHEN_UNCERTAIN or (m is not None and
                                                       m.group(1) in defined):
                continue
        elif d.code in ("math-definition-hoisted", "math-unverified"):
            continue
        kept.append(d)
    res.diagnostics = kept
    hoisted = {id(e) for e in ck.hoists}
    ck.edits = [e for e in ck.edits if id(e) not in hoisted]
    ck.hoists = []
    res.definitions = []
    pos, what = ck.uncertain[0]
    res.needs_tex = what
    if res.ok:
        res.diagnostics.append(warning(
            "math-unverified", f"{what}: this formula uses TeX programming md2tex cannot "
            "check without TeX; TeX will decide", **ck.loc.at(pos)))
