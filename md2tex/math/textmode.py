"""Text mode inside a formula (``\\text{...}`` and friends): characters and commands that
are only valid in math get escaped or put in ``$...$``; nested ``$...$`` is followed.

Why a module of its own: inside a text argument the rules turn around (``_`` and ``^`` are
errors, math commands need ``$``), so the main pass hands every text-mode token here.
"""

from __future__ import annotations

import re

from md2tex.escape import EMOJI_RE, unicode_char
from md2tex.math import table as mathtable
from md2tex.math.macros import RENAMED, MacroError, parse_definition, tex_name
from md2tex.math.scan import DIMEN_PRIMITIVES, Frame
from md2tex.math.translate import RAW_ARGS, SIZE_SWITCHES, Translations

#: one-character text commands (accents, special letters) LaTeX has
_TEXT_ONE_LETTER = frozenset("'`^\"~=.uvHtcdbrijoOlLPSk,;:!> -_&#%$@/{}|\\")


class TextMode(Translations):
    """Tokens met inside a text-mode group."""

    def text_char(self, i: int, tok: str, pos: int) -> int:
        if tok in ("_", "^"):
            rep = "\\_" if tok == "_" else "\\textasciicircum{}"
            self.edit(pos, pos + 1, rep)
            self.fixed(pos, "math-text-special", f"'{tok}' inside \\text{{}} became {rep} "
                       "(in LaTeX it is only valid in math)", fix=rep)
        elif tok in ("&", "#"):
            self.edit(pos, pos + 1, "\\" + tok)
            self.fixed(pos, "math-text-special", f"'{tok}' inside \\text{{}} became \\{tok}")
        elif tok == "$":
            self.stack.append(Frame("inlinemath", pos))
        elif ord(tok) > 127 and (not self.unicode or EMOJI_RE.match(tok)):
            out = None if self.unicode else unicode_char(tok)
            if out is not None and not self.usable(out):
                out = None
            self.edit(pos, pos + 1, out if out is not None else
                      self.missing_glyph(tok, pos)[len("\\text{"):-1])
        return i + 1

    def text_macro(self, i: int, name: str, pos: int, end: int) -> int:
        """A macro inside \\text{}: math-only ones get $...$ around them."""
        if name in ("\\",):
            return i + 1
        if name == "(":
            self.stack.append(Frame("inlinemath", pos))
            return i + 1
        if name == ")":
            self.err(pos, "math-dollar", "\\) without \\( inside \\text{}")
            return i + 1
        if name == "Tiny":
            self.edit(pos, end, "\\tiny")
            return i + 1
        if name in ("'", "`", "^", '"', "~", "=", ".", "u", "v", "H", "c", "d", "b", "r") and \
                self.raw[end:].lstrip()[:1] in ("}", ""):
            self.err(pos, "math-text-accent", f"the accent \\{name} has nothing to put its "
                     "accent on")
            return i + 1
        if name in DIMEN_PRIMITIVES and (name in ("mkern", "mskip", "mspace") or
                                          self.group_at(end) is not None):
            self.err(pos, "math-dimension", f"\\{name} inside \\text{{}}: LaTeX cannot "
                     "read it there (use \\hspace{...})")
            return i + 1
        if name in ("def", "gdef", "let", "newcommand", "renewcommand", "edef", "xdef"):
            # local to the text box in TeX (MathJax has no such boxes): TeX decides
            self.needs_tex(pos, f"\\{name} inside \\text{{}}")
            try:
                stop = parse_definition(self.raw, pos)[1]
            except MacroError:
                return i + 1
            self.skip_to = stop  # left as written
            return self.tok_index_at(stop, i)
        if name in self.user:
            if name in RENAMED and name in self.bodies:  # defined by the post (not a retry)
                self.edit(pos, end, "\\" + tex_name(name))
            if name not in self.delimited:
                self.wrap_math(i, name, pos, end, self.user[name])
            return i + 1
        info = mathtable.macro(name)
        if info is None:
            mj = self.engine_table().get(name)
            if (mj is None and (
                    len(name) > 1 or name not in _TEXT_ONE_LETTER)) or \
                    name in SIZE_SWITCHES:
                if name not in SIZE_SWITCHES and not re.fullmatch(r"[^A-Za-z]", name):
                    self.err(pos, "math-undefined", f"undefined control sequence \\{name}")
                return i + 1
            if mj is not None:
                return self.unknown(i, name, pos, end)
            return i + 1
        self.need(info.package, pos)
        if info.mode == "math":
            self.wrap_math(i, name, pos, end, info.args)
        if name in RAW_ARGS:
            return self.raw_args(i, name, end, RAW_ARGS[name])
        return i + 1

    def wrap_math(self, i: int, name: str, pos: int, end: int, nargs: int) -> None:
        stop = end
        for _ in range(nargs):
            if self.raw[stop:].lstrip()[:1] in ("}", ""):
                self.err(pos, "math-missing-arg", f"\\{name} needs {nargs} argument"
                         f"{'s' if nargs > 1 else ''}; one is missing")
                return
            stop = self.arg_end(stop)
        self.edit(pos, pos, "$")
        self.edit(stop, stop, "$")
        self.fixed(pos, "math-in-text", f"\\{name} inside \\text{{}} was put in $...$ (it "
                   "is a math command)")
