"""One command (``\\name``) in math: where it may stand, what arguments it needs, and
which part of the checker handles it (environments, ``\\left``/``\\right``, definitions,
translations, text arguments).

Why a module of its own: this is the dispatch of the pass for backslash tokens, together
with the checks TeX makes on a command's operands (delimiters, dimensions, limits, scripts).
A command is looked up by name in three registries, in the order TeX's and MathJax's rules
need: ``STRUCTURE`` (before scripts and user macros), ``OPERANDS`` (after user macros, with
the MathJax ``TRANSLATIONS``), then the macro table, then ``ARGUMENTS`` (how its arguments are
read). Facts about one macro (an operator, an accent...) are the table's ``traits`` column.
"""

from __future__ import annotations

import re

from md2tex.math import table as mathtable
from md2tex.math.definitions import TEX_PROGRAMMING, DefinitionChecks
from md2tex.math.environments import (
    COLUMN_SPEC_ENVS,
    MAX_MATRIX_COLS,
    TABS,
    EnvironmentChecks,
    is_matrix,
    no_rows,
)
from md2tex.math.macros import RENAMED, tex_name
from md2tex.math.registry import Registry
from md2tex.math.scan import DELIMS, DIMEN_RE, Frame
from md2tex.math.textmode import TextMode
from md2tex.math.translate import RAW_ARGS, TRANSLATIONS

_PREAMBLE_ONLY = frozenset({"newcolumntype", "MakeAboxedCommand", "newenvironment",
                            "renewenvironment", "includegraphics"})
_PAIRED = frozenset({"DeclarePairedDelimiter", "DeclarePairedDelimiterX",
                     "DeclarePairedDelimiterXPP"})
#: commands that only go at the start of an alignment row
_ROW_START = frozenset({"hline", "hdashline", "rowcolor", "cline", "noalign"})
_GENFRAC = frozenset({"over", "choose", "atop", "above", "brace", "brack", "overwithdelims",
                      "atopwithdelims", "abovewithdelims"})
_MATHTOOLS_KEYS = frozenset({
    "showonlyrefs", "showmanualtags", "mathic", "centercolon", "firstline-afterskip",
    "lastline-preskip", "multlined-width", "multlined-indent", "shortvdotsadjustabove",
    "shortvdotsadjustbelow", "above-intertext-sep", "below-intertext-sep",
    "original-intertext", "original-shortintertext", "above-shortintertext-sep",
    "below-shortintertext-sep", "smallmatrix-align", "smallmatrix-inner-space",
    "prescript-sup-format", "prescript-sub-format", "prescript-arg-format"})
_TEXT_ARG = frozenset(
    [
        "text", "textrm", "textbf", "textit", "textsf", "texttt", "textup", "textnormal", "textsc",
        "textsl", "textmd", "mbox", "hbox", "fbox", "emph", "tag", "intertext", "shortintertext",
        "textsuperscript", "textsubscript"
    ])
#: delimiters a package provides: mathtools' \lparen and \rparen
_PACKAGE_DELIMS = {"\\lparen": "mathtools", "\\rparen": "mathtools"}
_OLD_FORMS = {"matrix": "matrix", "pmatrix": "pmatrix", "cases": "cases", "array": "matrix"}
#: \big( & co.: a delimiter must follow
_BIG_DELIMS = [f"{b}ig{g}{side}" for b in "Bb" for g in ("", "g") for side in ("", "l", "m", "r")]


#: commands of the structure (rows, environments, delimiters, groups, definitions, TeX
#: programming): looked up first, before scripts and user macros
STRUCTURE: Registry[CommandChecks] = Registry("structure")
#: commands whose operands or place TeX checks itself, and the MathJax translations: looked
#: up after the user macros, before the macro table
OPERANDS: Registry[CommandChecks] = Registry("operands")
#: how a known macro's arguments are read when not as math (text, raw keys and URLs)
ARGUMENTS: Registry[CommandChecks] = Registry("arguments")


class CommandChecks(TextMode, DefinitionChecks, EnvironmentChecks):
    """Backslash tokens in math mode."""

    def macro(self, i: int, tok: str, pos: int) -> int:
        name = tok[1:]
        end = pos + len(tok)
        if len(name) == 1 and not name.isascii():
            self.err(pos, "math-backslash", f"a backslash before '{name}' (U+{ord(name):04X}): "
                     "LaTeX has no such command", hint="remove the backslash")
            return i + 1
        if name.isspace():
            name = " "  # a backslash before a line end is a control space in TeX
        if not name:
            self.err(pos, "math-backslash", "a lone backslash ends the formula")
            return i + 1
        if name == ")" and self.top.kind == "inlinemath":
            self.stack.pop()
            return i + 1
        if self.in_text():
            return self.text_macro(i, name, pos, end)
        handler = STRUCTURE.get(name)
        done = handler(self, i, name, pos, end) if handler is not None else None
        if done is not None:
            return done
        if self.expect_script:
            info_args = self.arity(name)
            # empheq's \empheqlbrace & co. are built on \left...\right: not a script alone
            if (info_args and not mathtable.has(name, "script-ok")) or \
                    mathtable.has(name, "operator") or mathtable.has(name, "script-braced") or \
                    (name.startswith("empheq") and mathtable.macro(name) is not None) or \
                    (name in self.user and self.breaks_script(name)):
                self.brace_script(name, pos, end, info_args)
            elif mathtable.has(name, "font-switch") and name not in self.user:
                # Z_\rm{masked}: MathJax sets the font and takes the next argument as the
                # script; TeX stops at the switch
                self.brace_script(name, pos, end, 1)
        if name in self.user:
            if name in RENAMED and name in self.bodies:  # defined by the post (not a retry)
                self.edit(pos, end, "\\" + tex_name(name))
            if self.user[name]:
                self.check_args(name, pos, end, self.user[name],
                                self.let_optional.get(name, 0))
            self.atom("macro:" + name)
            self.top.arg_groups = self.user[name]
            return i + 1
        if name == "operatorname" and self.raw.startswith("*", end):
            end += 1  # \operatorname*{op}: the star is part of the command
            self.skip_to = end
        handler = OPERANDS.get(name)
        done = handler(self, i, name, pos, end) if handler is not None else None
        if done is not None:
            return done
        info = mathtable.macro(name)
        if info is None:
            return self.unknown(i, name, pos, end)
        if info.mode == "text" and not info.args and not info.optional and (
                name.startswith("text") or name in ("TeX", "LaTeX")):
            # MathJax's textcomp (and base, for the logos) renders these symbols in math
            # braced: it may be the unbraced argument of \\frac, \\hat, \\mathrm...
            self.edit(pos, end, f"{{\\text{{\\{name}}}}}")
            self.fixed(pos, "mathjax-text-symbol", f"\\{name} in math was put in "
                       f"\\text{{\\{name}}} (MathJax accepts it in math; LaTeX only in text)",
                       fix=f"{{\\text{{\\{name}}}}}")
        elif info.mode == "text" and name not in _TEXT_ARG and name != "url":
            if self.engine != "katex" and name.isalpha():
                # MathJax defines none of LaTeX's text-mode commands in math: its noundefined
                # shows the name in red and typesets the rest (KaTeX refuses the formula)
                self.err(pos, "math-undefined", f"undefined control sequence \\{name}",
                         hint=f"\\{name} is a text-mode command: put it in "
                         f"\\text{{\\{name}...}} or outside the formula")
                self.atom("macro:" + name)
                return i + 1
            self.err(pos, "math-text-command", f"\\{name} is a text-mode command and fails "
                     "in math", hint=f"put it in \\text{{\\{name}...}} or outside the "
                     "formula")
        self.need(info.package, pos)
        if info.args:
            self.check_args(name, pos, end, info.args, info.optional)
        if name == "label" and self.extra_label(pos, end):
            return self.tok_index_at(self.skip_to, i)
        self.atom("macro:" + name)
        self.top.arg_groups = info.args
        handler = ARGUMENTS.get(name)
        done = handler(self, i, name, pos, end) if handler is not None else None
        return i + 1 if done is None else done

    # ---------------------------------------------------------------- structure
    @STRUCTURE("cr")
    def carriage_return(self, i: int, name: str, pos: int, end: int) -> int | None:
        rows = next((f for f in reversed(self.stack) if f.kind == "env" or f.env), None)
        if rows is None or no_rows(rows.env):
            self.err(pos, "math-cr", "\\cr outside an alignment", hint="use \\\\ in "
                     "aligned, or remove it")
            return i + 1
        return self.new_row(i, name, pos, end)

    @STRUCTURE("\\")
    def new_row(self, i: int, name: str, pos: int, end: int) -> int | None:
        f = self.top
        if name == "\\" and f.kind == "group" and f.close_text is None and not f.is_arg \
                and not f.text:
            return self.group_break(i, pos, end)
        af = self.alignment_frame()
        if name == "\\" and (self.raw.startswith("[", end + (self.raw[end:end + 1] == "*"))
                               or (self.raw[end:].lstrip(" \t").startswith("[") and (
                                   af is None or not (is_matrix(af.env) or af.env in
                                                      COLUMN_SPEC_ENVS or "cases" in
                                                      af.env)))):
            self.row_skip(end + (self.raw[end:end + 1] == "*"))
        self.row_end(pos)
        if self.raw.startswith("*", end):
            self.skip_to = end + 1
        return i + 1

    def group_break(self, i: int, pos: int, end: int) -> int:
        """``\\\\`` inside a brace group (``p_{a\\\\ =b}``). MathJax ignores it there (its
        line break item is dropped by the open group); KaTeX breaks the line inside the group
        (``stack_group`` when it closes). LaTeX would end an alignment row there."""
        stop = end + (self.raw[end:end + 1] == "*")
        if self.raw.startswith("[", stop):
            b = self.bracket_at(stop)
            if b is not None:
                if self.engine == "katex":
                    self.row_skip(stop)
                stop = b[2]
        if self.engine == "katex":
            self.top.breaks = True
        else:
            self.edit(pos, stop, " ")
            self.fixed(pos, "math-group-break", "\\\\ inside braces was dropped: MathJax "
                       "ignores it there (in LaTeX it would end an alignment row)")
        self.skip_to = stop
        return self.tok_index_at(stop, i)

    @STRUCTURE("limits", "nolimits", "displaylimits")
    def limits(self, i: int, name: str, pos: int, end: int) -> int | None:
        f = self.top
        prev = f.last[6:] if f.last.startswith("macro:") else ""
        if f.last in ("char", "group", "", "amp", "left") or (f.last.startswith("macro:") and (
                not mathtable.has(prev, "limits") and not prev.endswith("int") and
                mathtable.macro(prev) is not None and
                prev not in self.user and not prev.startswith("big"))):
            what = f"\\{prev}" if prev else "this"
            self.err(pos, "math-limits", f"\\{name} must follow a big operator such "
                     f"as \\sum or \\int, not {what}", hint="use \\mathop{...}\\limits")
        return i + 1

    @STRUCTURE("newcommand", "renewcommand", "providecommand", "def", "gdef",
               "DeclareMathOperator", "let")
    def definer(self, i: int, name: str, pos: int, end: int) -> int | None:
        return self.definition(i, name, pos)

    @STRUCTURE("begingroup")
    def begin_group(self, i: int, name: str, pos: int, end: int) -> int | None:
        self.groups += 1
        self.atom("macro:" + name)
        return i + 1

    @STRUCTURE("endgroup")
    def end_group(self, i: int, name: str, pos: int, end: int) -> int | None:
        if self.groups == 0:
            self.err(pos, "math-group", "\\endgroup without \\begingroup")
        self.groups -= 1
        self.atom("macro:" + name)
        return i + 1

    @STRUCTURE("global", "long", "protected")
    def definition_prefix(self, i: int, name: str, pos: int, end: int) -> int | None:
        # a prefix of a definition, which goes to the preamble (global there anyway)
        j = self.next_significant(i + 1)
        if j < len(self.toks) and self.toks[j][0][1:] in (
                "def", "gdef", "let", "global", "long", "protected"):
            self.edit(pos, end, "")
            self.hoists.append(self.edits[-1])
            return i + 1
        return self.tex_programming(i, name, pos, end) if name in TEX_PROGRAMMING else None

    @STRUCTURE("of")
    def root_of(self, i: int, name: str, pos: int, end: int) -> int | None:
        if name not in self.user and re.search(r"\\root(?![A-Za-z])", self.raw[:pos]):
            self.atom("macro:of")  # plain TeX's \root 3 \of x (LaTeX has it too)
            return i + 1
        return None

    def tex_programming(self, i: int, name: str, pos: int, end: int) -> int | None:
        """TeX programming the checker cannot model: TeX decides (unless a user macro)."""
        if name in self.user:
            return None
        self.needs_tex(pos, f"\\{name}")
        if name in ("MakeAboxedCommand", "DeclarePairedDelimiterX",
                    "DeclarePairedDelimiterXPP"):
            self.need("mathtools", pos)
        self.atom("macro:" + name)
        return i + 1

    def breaks_script(self, name: str, depth: int = 0) -> bool:
        """Whether the user macro ``name`` (no arguments) fails as an unbraced script in TeX
        although MathJax, which expands it as text, takes it: its body starts with a command
        that needs its arguments (``\\boldsymbol{\\theta}``), an operator or a font
        switch."""
        body = self.bodies.get(name, "").lstrip()
        m = re.match(r"\\([A-Za-z]+)", body)
        if m is None or depth > 8:
            return False
        first = m.group(1)
        if first in self.user:
            return self.user[first] > 0 or self.breaks_script(first, depth + 1)
        info = mathtable.macro(first)
        if info is None:
            mj = self.engine_table().get(first)
            return mj is not None and mj.args > 0
        return (info.args > 0 and not mathtable.has(first, "script-ok")) or \
            mathtable.has(first, "operator") or mathtable.has(first, "font-switch")

    def brace_script(self, name: str, pos: int, end: int, nargs: int) -> None:
        """``x^\\vec{a}``, ``t_\\max``: MathJax takes the macro with its arguments as the
        script; TeX rejects it ("Missing { inserted"), so the braces are added."""
        stop = end
        info = mathtable.macro(name)
        if info is not None and info.optional:
            b = self.bracket_at(stop)
            if b is not None:
                stop = b[2]
        for _ in range(nargs):
            stop = self.arg_end(stop)
        self.edit(pos, pos, "{")
        self.edit(stop, stop, "}")
        what = "superscript" if self.expect_script == "^" else "subscript"
        self.fixed(pos, "math-script-brace", f"\\{name} as an unbraced {what} was put in "
                   "braces (MathJax accepts it; TeX does not)",
                   fix=f"{self.expect_script}{{{self.raw[pos:stop]}}}")

    # ---------------------------------------------------------------- operands and places
    @OPERANDS(*_BIG_DELIMS)
    def big_delimiter(self, i: int, name: str, pos: int, end: int) -> int | None:
        j = self.next_significant(self.tok_index_at(end, i))
        delim = self.toks[j][0] if j < len(self.toks) else ""
        g = self.group_at(end) if delim == "{" else None
        if g is not None:
            delim = g[0].strip()  # \\bigl{(}: TeX takes a braced delimiter too
        if delim in _PACKAGE_DELIMS:
            self.need(_PACKAGE_DELIMS[delim], pos)
        elif delim not in DELIMS and not (delim[:1] == "\\" and delim[1:] in
                                            self.let_delims):
            self.err(pos, "math-left-right", f"\\{name} must be followed by a delimiter "
                     f"such as ( [ | (found {delim or 'the end'!r})")
            return i + 1
        return None

    @OPERANDS(*_GENFRAC)
    def infix_fraction(self, i: int, name: str, pos: int, end: int) -> int | None:
        key = (id(self.top), self.top.pos)
        self.genfracs[key] = self.genfracs.get(key, 0) + 1
        if self.genfracs[key] > 1:
            self.err(pos, "math-over", "two of \\over, \\choose, \\atop... in one "
                     "group are ambiguous for TeX", hint="add braces: {a \\over b}")
        return None

    @OPERANDS("verb")
    def verb(self, i: int, name: str, pos: int, end: int) -> int | None:
        k = end + (1 if self.raw.startswith("*", end) else 0)
        while self.raw[k : k + 1] in (" ", "\t") and k == end:
            k += 1  # TeX skips spaces after the control word \\verb (not after \\verb*)
        delim = self.raw[k : k + 1]
        close = self.raw.find(delim, k + 1) if delim else -1
        if not delim or delim.isalpha() or delim.isspace() or delim == "*" or \
                close < 0 or "\n" in self.raw[k:close]:
            self.err(pos, "math-verb", "\\verb needs its text between two equal "
                     "characters on one line, e.g. \\verb|x|")
            return i + 1
        self.atom("macro:verb")
        self.skip_to = close + 1
        return self.tok_index_at(close + 1, i)

    @OPERANDS("vcenter")
    def vcenter(self, i: int, name: str, pos: int, end: int) -> int | None:
        if re.search(r"[\\^_$]", re.sub(r"^\s*\\hbox\s*\{.*\}\s*$", "",
                                        (self.group_at(end) or ("\\",))[0], flags=re.S)):
            self.err(pos, "math-vcenter", "\\vcenter needs a vertical box (LaTeX rejects "
                     "\\vcenter{...} with math inside)", hint="use \\vcenter{\\hbox{$...$}}")
            return i + 1
        return None

    @OPERANDS("xmathstrut")
    def xmathstrut(self, i: int, name: str, pos: int, end: int) -> int | None:
        b = self.bracket_at(end)
        g = self.group_at(b[2] if b else end)
        if g is None or not re.fullmatch(r"\s*-?(?:\d+(?:\.\d+)?|\.\d+)\s*", g[0]):
            self.err(pos, "math-number", "\\xmathstrut takes a number, e.g. "
                     "\\xmathstrut{0.1}")
            return i + 1
        return None

    @OPERANDS("sideset")
    def sideset(self, i: int, name: str, pos: int, end: int) -> int | None:
        g1 = self.group_at(end)
        g2 = self.group_at(g1[2]) if g1 else None
        rest = self.raw[g2[2]:].lstrip() if g2 else ""
        m = re.match(r"\{?\s*\\([A-Za-z]+)", rest)
        if m is None or not (mathtable.has(m.group(1), "limits") or m.group(1).endswith("int")):
            base = self.group_at(g2[2]) if g2 else None
            if g2 is not None and base is None and rest[:1].isalnum():
                at = len(self.raw) - len(rest)
                base = (rest[0], at, at + 1)
            elif g2 is not None and base is None and m is not None and \
                    rest.startswith("\\") and self.arity(m.group(1)) == 0 and \
                    mathtable.macro(m.group(1)) is not None:
                at = len(self.raw) - len(rest)
                base = (m.group(0), at, at + len(m.group(0)))
            if base is None or self.expect_script:
                self.err(pos, "math-limits", "\\sideset must be followed by a big "
                         "operator such as \\sum or \\prod")
                return i + 1
            # MathJax puts the scripts around any base; amsmath needs an operator (the
            # extra braces keep a single letter from being centred like \sum)
            braced = self.raw[base[1]] == "{"
            self.edit(pos, pos, "{")
            self.edit(base[1] + braced, base[1] + braced,
                      "\\mathop{{" if braced else "{\\mathop{{")
            self.edit(base[2] - braced, base[2] - braced, "}}" if braced else "}}}")
            self.edit(base[2], base[2], "}")
            self.fixed(pos, "mathjax-sideset", "the base of \\sideset was made an "
                       "operator with \\mathop (MathJax accepts any base; LaTeX needs an "
                       "operator such as \\sum)")
        return None

    @OPERANDS("underbracket", "overbracket")
    def bracket_dimensions(self, i: int, name: str, pos: int, end: int) -> int | None:
        k = end
        for _ in range(2):
            b = self.bracket_at(k)
            if b is None:
                break
            if not DIMEN_RE.fullmatch(b[0].strip()):
                self.err(pos, "math-dimension", f"\\{name}[{b[0]}]: not a dimension")
                return i + 1
            k = b[2]
        return None

    @OPERANDS("genfrac")
    def genfrac(self, i: int, name: str, pos: int, end: int) -> int | None:
        a1, e1 = self.arg_text(end)
        a2, _e2 = self.arg_text(e1)
        for a in (a1, a2):
            if not (a.strip() in DELIMS or a.strip() == "") or (
                    a is a1 and self.raw[end:].lstrip().startswith("[")):
                self.err(pos, "math-left-right", "\\genfrac: its first two arguments "
                         "must be delimiters (or empty)")
                return i + 1
        return None

    @OPERANDS("char")
    def char(self, i: int, name: str, pos: int, end: int) -> int | None:
        m = re.match(r"\s*(?:'([0-7]+)|\"([0-9A-Fa-f]+)|(\d+)|`(\\(?:[A-Za-z](?![A-Za-z])|"
                     r"[^A-Za-z])|[^\\]|$))", self.raw[end:])
        code = -1
        if m:
            code = int(m.group(1), 8) if m.group(1) else int(m.group(2), 16) if \
                m.group(2) else int(m.group(3)) if m.group(3) else 0
        if not m or code > 255:
            self.err(pos, "math-char", "\\char needs a character code 0..255")
            return i + 1
        if m.group(4) is not None or "`" in m.group(0):
            # the backquote's character is read by \char, not typeset (\char`\%)
            self.atom("macro:char")
            self.skip_to = end + m.end()
            return self.tok_index_at(self.skip_to, i)
        return None

    @OPERANDS("ArrowBetweenLines")
    def arrow_between_lines(self, i: int, name: str, pos: int, end: int) -> int | None:
        if self.alignment_frame() is None:
            self.err(pos, "math-misplaced", "\\ArrowBetweenLines only works inside an "
                     "alignment")
            return i + 1
        return None

    @OPERANDS("url", "href")
    def link(self, i: int, name: str, pos: int, end: int) -> int | None:
        if self.group_at(end) is None:
            self.err(pos, "math-missing-arg", f"\\{name} needs its URL in braces")
            return i + 1
        return None

    @OPERANDS("raisebox", "rule")
    def box_dimensions(self, i: int, name: str, pos: int, end: int) -> int | None:
        b = self.bracket_at(end)
        if b is not None and not DIMEN_RE.fullmatch(b[0].strip()):
            self.err(pos, "math-dimension", f"\\{name}[{b[0]}]: not a dimension")
            return i + 1
        g = self.group_at(b[2] if b else end)
        for box in (b, g, self.group_at(g[2]) if g and name == "rule" else None):
            mu = DIMEN_RE.fullmatch(box[0].strip()) if box else None
            if box is not None and mu is not None and mu.group(2).lower() == "mu":
                em = float(mu.group(1).replace(" ", "").replace(",", ".")) / 18
                self.edit(box[1] + 1, box[2] - 1, f"{em:.4g}em")
                self.fixed(pos, "mathjax-dimension", f"\\{name}: {box[0].strip()} became "
                           f"{em:.4g}em (mu is only valid in math spacing)")
        if g is None or not (DIMEN_RE.fullmatch(g[0].strip()) or re.fullmatch(
                r"\s*-?[\d.]*\s*\\(?:height|depth|width|totalheight|linewidth|"
                r"textwidth|baselineskip)\s*", g[0])):
            self.err(pos, "math-dimension", f"\\{name} needs a dimension in braces, "
                     "e.g. {1ex}")
            return i + 1
        if name == "rule":
            g2 = self.group_at(g[2])
            if g2 is None or not DIMEN_RE.fullmatch(g2[0].strip()):
                self.err(pos, "math-dimension", "\\rule needs two dimensions in braces: "
                         "\\rule{width}{height}")
                return i + 1
        if name == "raisebox":
            # MathJax typesets the box's content as math; LaTeX as text
            k = g[2]
            for _ in range(2):
                b = self.bracket_at(k)
                if b is None:
                    break
                k = b[2]
            box = self.group_at(k)
            if box is not None and box[0].strip():
                self.edit(box[1] + 1, box[1] + 1, "$")
                self.edit(box[2] - 1, box[2] - 1, "$")
                self.fixed(pos, "mathjax-raisebox", "the content of \\raisebox was put "
                           "in $...$ (MathJax reads it as math)")
        return None

    @OPERANDS(*_PREAMBLE_ONLY)
    def preamble_only(self, i: int, name: str, pos: int, end: int) -> int | None:
        self.err(pos, "math-preamble-only", f"\\{name} is not supported inside a "
                 "formula (it belongs in the LaTeX preamble)",
                 hint="define it in a --macros file")
        return i + 1

    @OPERANDS(*_ROW_START, "columncolor")
    def row_start(self, i: int, name: str, pos: int, end: int) -> int | None:
        """Commands valid only at the start of an alignment row (\\columncolor: nowhere in
        a formula, only in an array's column spec)."""
        before = self.raw[:pos].rstrip()
        f = self.alignment_frame()
        ok = name != "columncolor" and f is not None and not no_rows(f.env) and (
            before.endswith(("\\\\", "\\hline", "\\hdashline", "}", "\\cr")) and
            (before.endswith(("\\\\", "\\hline", "\\hdashline", "\\cr")) or
             re.search(r"\\(?:begin\{[^{}]*\}(?:\{[^{}]*\})?|cline\{[^{}]*\}|"
                       r"rowcolor(?:\[[^\]]*\])?\{[^{}]*\})$", before) is not None))
        if not ok:
            self.err(pos, "math-misplaced", f"\\{name} is only valid at the start of a "
                     "row of an array or alignment" if name != "columncolor" else
                     "\\columncolor only works in an array's column spec (>{...})")
            return i + 1
        return None

    @OPERANDS("newtagform", "renewtagform", "usetagform")
    def tag_form(self, i: int, name: str, pos: int, end: int) -> int | None:
        g = self.group_at(end)
        form = g[0].strip() if g else ""
        if name == "usetagform" and form not in self.tagforms and form != "default":
            self.err(pos, "math-tagform", f"\\usetagform{{{form}}}: no such tag form "
                     "(define it with \\newtagform in this formula)")
            return i + 1
        if name == "newtagform" and form in self.tagforms:
            self.err(pos, "math-tagform", f"tag form '{form}' is already defined")
            return i + 1
        self.tagforms.add(form)
        return None

    @OPERANDS(*_PAIRED)
    def paired_delimiter(self, i: int, name: str, pos: int, end: int) -> int | None:
        m = re.match(r"\s*\{?\s*\\([A-Za-z]+)", self.raw[end:])
        new = m.group(1) if m else ""
        if not new or mathtable.macro(new) is not None or new in self.paired:
            self.err(pos, "math-definition", f"\\{name}: \\{new or '?'} already exists "
                     "(or no name follows)")
            return i + 1
        self.paired.add(new)
        if self.user is not self.own_user:
            self.own_user = dict(self.user)
            self.user = self.own_user
        self.own_user[new] = 1
        return None

    @OPERANDS("mathtoolsset")
    def mathtoolsset(self, i: int, name: str, pos: int, end: int) -> int | None:
        g = self.group_at(end)
        for key in (g[0].split(",") if g else []):
            k, _, v = key.partition("=")
            k = k.strip()
            if k and k not in _MATHTOOLS_KEYS and not (
                    k == "multlined-pos" and v.strip() in ("t", "c", "b")):
                self.err(pos, "math-mathtoolsset", f"\\mathtoolsset: '{k}' is not a "
                         "mathtools key (or not in this TeX Live)")
                return i + 1
        return None

    @OPERANDS("uproot", "leftroot")
    def root_shift(self, i: int, name: str, pos: int, end: int) -> int | None:
        before = self.raw[:pos]
        at = before.rfind("\\sqrt")
        inside = at >= 0 and before[at + 5 :].lstrip().startswith("[") and \
            "]" not in before[at:]
        arg, _stop = self.arg_text(end)
        if not inside or ("\\" + name) in before[at:] or not re.fullmatch(
                r"\s*-?\d+\s*", arg):
            self.err(pos, "math-misplaced", f"\\{name} is only valid once, inside the "
                     "[...] of \\sqrt")
            return i + 1
        return None

    @OPERANDS(*_OLD_FORMS)
    def old_form(self, i: int, name: str, pos: int, end: int) -> int | None:
        self.atom("macro:" + name)
        return self.special_arg(i, name, pos, end)

    def check_args(self, name: str, pos: int, end: int, n: int, optional: int) -> None:
        """Each mandatory argument must be there: TeX would take a '}', '&', '^' or the end
        of the formula as one and fail far away."""
        if name == "mod":
            return  # amsmath's \\mod reads its argument without complaint
        k = end
        b = self.bracket_at(k) if optional else None
        if b is not None:
            k = b[2]
        elif optional and self.raw[k:].lstrip().startswith("[") and name != "genfrac":
            self.err(pos, "math-missing-arg", f"\\{name}: its optional argument [...] is "
                     "never closed")
            return
        for _ in range(n):
            while k < len(self.raw) and self.raw[k] in " \t\n":
                k += 1
            rest = self.raw[k : k + 7]
            if k >= len(self.raw) and self.macro_body:
                # a macro body checked on its own (site file, front matter): its last
                # command takes its arguments where the macro is used (\renewcommand{\b}
                # {\mathbf} then \b{x})
                return
            if k >= len(self.raw) or rest[0] in "}^_&'#" or rest.startswith(
                    ("\\\\", "\\end", "\\right", "\\middle", "\\cr", "\\over",
                     "\\choose", "\\atop", "\\above")) or (
                    rest[0] == "%"):
                self.err(pos, "math-missing-arg", f"\\{name} needs {n} argument"
                         f"{'s' if n > 1 else ''}; one is missing",
                         hint=f"write \\{name}{{...}}" + "{...}" * (n - 1))
                return
            m = re.match(r"\\([A-Za-z]+)", self.raw[k : k + 40])
            if m and ((mathtable.has(m.group(1), "braced-arg") and name != "sqrt") or (
                    mathtable.has(name, "accent") and mathtable.has(m.group(1), "font")) or (
                    name == "sqrt" and (mathtable.has(m.group(1), "operator") or m.group(1) ==
                                        "left" or m.group(1).startswith("empheq")))):
                self.err(pos, "math-unbraced-arg", f"\\{name}\\{m.group(1)}: a command with "
                         f"arguments as an unbraced argument fails in LaTeX",
                         hint=f"add braces: \\{name}{{\\{m.group(1)}...}}")
                return
            k = self.arg_end(k)

    def extra_label(self, pos: int, end: int) -> bool:
        """A second \\label where amsmath allows one (per formula, per row when numbered):
        dropped, as MathJax ignores it too. Returns True when dropped (skip_to set)."""
        f = self.alignment_frame()
        key = (f.pos, self.rows) if f is not None and self.numbered else (-1, 0)
        if key not in self.labels:
            self.labels.add(key)
            return False
        stop = self.arg_end(end)
        self.edit(pos, stop, "")
        self.warn(pos, "math-label", "a second \\label in one equation was dropped (LaTeX "
                  "allows one)")
        self.skip_to = stop
        return True

    @ARGUMENTS(*(n for n in RAW_ARGS if n not in _TEXT_ARG))
    def raw_arguments(self, i: int, name: str, pos: int, end: int) -> int | None:
        return self.raw_args(i, name, end, RAW_ARGS[name])

    @ARGUMENTS("mathbb")
    def blackboard(self, i: int, name: str, pos: int, end: int) -> int | None:
        arg, stop = self.arg_text(end)
        if arg.strip() == "1":
            # MathJax's double-struck one (the indicator function); amssymb has no digits
            self.edit(pos, stop, "{\\mathrm{1\\mkern-6.5mu1}}")
            self.fixed(pos, "mathjax-mathbb", "\\mathbb{1} became a double-struck one "
                       "(amssymb's blackboard bold has no digits)")
            self.top.arg_groups = 0  # its argument is consumed here
            self.skip_to = stop
            return self.tok_index_at(stop, i)
        if arg and (arg.isdigit() or arg.islower()):
            self.warn(pos, "math-mathbb", f"\\mathbb{{{arg}}}: amssymb's blackboard "
                      "bold has only capital letters; LaTeX prints wrong glyphs",
                      fix="\\mathbb{1} → \\mathbb{1} needs bbm/dsfont; write "
                      "\\mathbf or \\mathrm instead")
        return None

    @ARGUMENTS(*_TEXT_ARG)
    def special_arg(self, i: int, name: str, pos: int, end: int) -> int:
        """\\text-like macros: their group is text mode. Old \\pmatrix{...} forms."""
        j = self.next_significant(self.tok_index_at(end, i))
        if name in _OLD_FORMS:
            if j < len(self.toks) and self.toks[j][0] == "{":
                env = _OLD_FORMS[name]
                self.edit(pos, self.toks[j][1] + 1, f"\\begin{{{env}}}")
                self.fixed(pos, "math-old-form", f"\\{name}{{...}} (plain TeX) became "
                           f"\\begin{{{env}}}...\\end{{{env}}}")
                g = Frame("group", self.toks[j][1], env=env, close_text=f"\\end{{{env}}}",
                           max_tabs=TABS.get(env, MAX_MATRIX_COLS - 1))
                self.stack.append(g)
                self.top.last = ""
                return j + 1
            self.err(pos, "math-old-form", f"\\{name} (plain TeX) needs its rows in braces",
                     hint=f"write \\begin{{{_OLD_FORMS[name]}}}...\\end{{{_OLD_FORMS[name]}}}")
            return i + 1
        if j < len(self.toks) and self.toks[j][0] == "{":
            self.stack.append(Frame("group", self.toks[j][1], text=True))
            self.top.arg_groups = 0
            return j + 1
        return i + 1

    # ---------------------------------------------------------------- delimiters
    @STRUCTURE("left", "right", "middle")
    def delimiter(self, i: int, name: str, pos: int, end: int) -> int:
        j = self.next_significant(self.tok_index_at(end, i))
        delim = self.toks[j][0] if j < len(self.toks) else ""
        if delim in _PACKAGE_DELIMS and delim[1:] not in self.user:
            self.need(_PACKAGE_DELIMS[delim], pos)
            delim = "("
        if (delim not in DELIMS or delim[1:] in self.user) and not (
                delim[:1] == "\\" and delim[1:] in self.let_delims):
            self.err(pos, "math-left-right", f"\\{name} must be followed by a delimiter "
                     f"such as ( [ \\{{ | or . (found {delim or 'the end'!r})")
            return i + 1
        if delim in ("\\lt", "\\gt"):
            self.edit(self.toks[j][1], self.toks[j][1] + 3, (delim == "\\lt" and "<") or ">")
        if name == "left":
            self.atom("left")
            self.stack.append(Frame("left", pos))
        elif name == "middle":
            if self.top.kind != "left":
                self.err(pos, "math-left-right", "\\middle outside a \\left...\\right pair")
        else:
            f = self.top
            if f.kind == "left":
                self.flush_pending(f, pos)
                self.stack.pop()
                self.top.last = "left"
            else:
                self.err(pos, "math-left-right", "\\right without a matching \\left in the "
                         "same group", hint="add \\left. (an invisible delimiter) where the "
                         "pair should start")
        return j + 1


STRUCTURE.add("begin", CommandChecks.environment)
STRUCTURE.add("end", CommandChecks.environment)
for _name in sorted(TEX_PROGRAMMING - STRUCTURE.keys()):
    STRUCTURE.add(_name, CommandChecks.tex_programming)
OPERANDS.include(TRANSLATIONS)
