"""What a formula means to LaTeX: check it, fix MathJax-only habits, report the rest at the
Markdown line. User math reaches LaTeX only through ``prepare``.

One linear pass over the formula's tokens with an explicit stack (groups, environments,
``\\left``), so any nesting depth is safe and a typical formula costs well under a
millisecond. pylatexenc 3.0b2 parses the same formulas correctly but costs about 3.5 ms
each and recurses (it dies near 2,000 nested groups), so it is not on this path. What
LaTeX knows (macros, arity, mode, package; environments) is data: ``mathtable``.
"""

from __future__ import annotations

import difflib
import re
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from . import mathtable
from .diagnostics import Diagnostic, error, note, warning
from .escape import unicode_char
from .macros import Definition, MacroError, parse_definition

SIZE_SWITCHES = frozenset(
    ["tiny", "scriptsize", "footnotesize", "small", "normalsize", "large", "Large", "LARGE",
     "huge", "Huge"])
_LAP = {"rlap": "mathrlap", "llap": "mathllap", "clap": "mathclap"}
#: MathJax names LaTeX lacks, when the table has no row for them
_ALIASES = {"lt": "<", "gt": ">", "And": "\\&", "bold": "\\mathbf", "Bbb": "\\mathbb",
            "le": "\\le", "ge": "\\ge", "ne": "\\ne", "amp": "\\&"}
#: display environments turned into their inner forms when mixed with other math
_INNER_FORM = {"align": "aligned", "align*": "aligned", "gather": "gathered",
               "gather*": "gathered", "alignat": "alignedat", "alignat*": "alignedat",
               "flalign": "aligned", "flalign*": "aligned", "multline": "gathered",
               "multline*": "gathered", "equation": "", "equation*": "", "eqnarray": "aligned",
               "eqnarray*": "aligned", "displaymath": "", "split": "aligned",
               "xalignat": "alignedat", "xalignat*": "alignedat", "empheq": "",
               "numcases": "", "subnumcases": "", "xxalignat": ""}
#: display environments with no inner form: valid only as the whole formula
_ALONE = frozenset({"empheq", "numcases", "subnumcases", "xxalignat"})
_EMPHEQ_INNER = frozenset({"align", "align*", "gather", "gather*", "alignat", "alignat*",
                           "multline", "multline*", "flalign", "flalign*", "equation",
                           "equation*", "xalignat", "xalignat*"})
_CE_ARROW = re.compile(r"\s*(<-->|<=>>|<<=>|<=>|<->|->|<-)((?:\[[^\]]*\]){0,2})\s*")
_CD_ARROW = re.compile(r"@(?:([<>])[^<>@]*\1[^<>@]*\1|([AV])[^AV@]*\2[^AV@]*\2|[=|.])")
#: colours xcolor knows with the template's dvipsnames option
_XCOLOR_NAMES = frozenset({
    "red", "green", "blue", "cyan", "magenta", "yellow", "black", "gray", "white", "darkgray",
    "lightgray", "brown", "lime", "olive", "orange", "pink", "purple", "teal", "violet", ".",
    "GreenYellow", "Yellow", "Goldenrod", "Dandelion", "Apricot", "Peach", "Melon",
    "YellowOrange", "Orange", "BurntOrange", "Bittersweet", "RedOrange", "Mahogany", "Maroon",
    "BrickRed", "Red", "OrangeRed", "RubineRed", "WildStrawberry", "Salmon", "CarnationPink",
    "Magenta", "VioletRed", "Rhodamine", "Mulberry", "RedViolet", "Fuchsia", "Lavender",
    "Thistle", "Orchid", "DarkOrchid", "Purple", "Plum", "Violet", "RoyalPurple",
    "BlueViolet", "Periwinkle", "CadetBlue", "CornflowerBlue", "MidnightBlue", "NavyBlue",
    "RoyalBlue", "Blue", "Cerulean", "Cyan", "ProcessBlue", "SkyBlue", "Turquoise",
    "TealBlue", "Aquamarine", "BlueGreen", "Emerald", "JungleGreen", "SeaGreen", "Green",
    "ForestGreen", "PineGreen", "LimeGreen", "YellowGreen", "SpringGreen", "OliveGreen",
    "RawSienna", "Sepia", "Brown", "Tan", "Gray", "Black", "White"})
#: environments where \cr and \hline have no rows to end
_NO_ROWS = frozenset({"equation", "equation*", "displaymath", "math", ""})
_PREAMBLE_ONLY = frozenset({"newcolumntype", "MakeAboxedCommand", "newenvironment",
                            "renewenvironment", "includegraphics"})
_PAIRED = frozenset({"DeclarePairedDelimiter", "DeclarePairedDelimiterX",
                     "DeclarePairedDelimiterXPP"})
#: commands that only go at the start of an alignment row
_ROW_START = frozenset({"hline", "hdashline", "rowcolor", "cline", "noalign"})
_BIG = re.compile(r"[Bb]igg?[lmr]?")
_GENFRAC = frozenset({"over", "choose", "atop", "above", "brace", "brack", "overwithdelims",
                      "atopwithdelims", "abovewithdelims"})
_ACCENTS = frozenset({"hat", "check", "tilde", "acute", "grave", "dot", "ddot", "dddot",
                      "ddddot", "breve", "bar", "vec", "widehat", "widetilde", "mathring"})
_FONT_CMDS = frozenset({"mathcal", "mathbb", "mathrm", "mathbf", "mathit", "mathsf",
                        "mathtt", "mathfrak", "mathscr", "boldsymbol", "bm", "operatorname"})
#: commands that fail as the unbraced argument of another (\\hat\\frac12)
_NOT_UNBRACED = frozenset({"frac", "dfrac", "tfrac", "cfrac", "binom", "dbinom", "tbinom",
                           "genfrac", "overset", "underset", "stackrel", "xrightarrow",
                           "xleftarrow", "textcolor", "colorbox", "fcolorbox", "sqrt"})
_MATHTOOLS_KEYS = frozenset({
    "showonlyrefs", "showmanualtags", "mathic", "centercolon", "firstline-afterskip",
    "lastline-preskip", "multlined-width", "multlined-indent", "shortvdotsadjustabove",
    "shortvdotsadjustbelow", "above-intertext-sep", "below-intertext-sep",
    "original-intertext", "original-shortintertext", "above-shortintertext-sep",
    "below-shortintertext-sep", "smallmatrix-align", "smallmatrix-inner-space",
    "prescript-sup-format", "prescript-sub-format", "prescript-arg-format"})
_TOPLEVEL = {"equation", "align", "alignat", "gather", "multline", "flalign", "eqnarray",
             "xalignat", "displaymath"}
_NUMBERED = {"equation", "align", "alignat", "gather", "multline", "flalign", "eqnarray",
             "xalignat"}
_MATRICES = {"matrix", "pmatrix", "bmatrix", "Bmatrix", "vmatrix", "Vmatrix", "smallmatrix",
             "matrix*", "pmatrix*", "bmatrix*", "Bmatrix*", "vmatrix*", "Vmatrix*",
             "psmallmatrix", "bsmallmatrix", "vsmallmatrix", "Bsmallmatrix", "Vsmallmatrix"}
#: & allowed per row (None: any number)
_TABS: dict[str, int | None] = {
    "equation": 0, "equation*": 0, "gather": 0, "gather*": 0, "gathered": 0,
    "multline": 0, "multline*": 0, "displaymath": 0, "cases": 1, "cases*": 1, "dcases": 1,
    "dcases*": 1, "rcases": 1, "rcases*": 1, "drcases": 1, "split": 1, "eqnarray": 2,
    "numcases": 1, "subnumcases": 1,
    "eqnarray*": 2, "multlined": 0, "CD": 0}
_COLUMN_SPEC_ENVS = {"array", "darray", "subarray", "tabular", "crampedsubarray"}
_ALIGNAT = {"alignat", "alignat*", "alignedat", "xalignat", "xalignat*"}
_MAX_MATRIX_COLS = 10
#: macros that may follow ^ or _ unbraced although they take arguments (checked by compile)
_SCRIPT_OK = frozenset(
    [
        "frac", "emph", "text", "textbf", "textit", "textrm", "textsf", "texttt", "textup",
        "textnormal", "mathbb", "mathbf", "mathcal", "mathfrak", "mathit", "mathnormal", "mathrm",
        "mathscr", "mathsf", "mathtt", "not"
    ])
#: argument-less macros TeX rejects as an unbraced script (operators built on \\mathop)
_SCRIPT_OPERATORS = frozenset(
    [
        "arccos", "arcsin", "arctan", "arg", "cos", "cosh", "cot", "coth", "csc", "deg", "det",
        "dim", "exp", "gcd", "hom", "inf", "ker", "lg", "lim", "liminf", "limsup", "ln", "log",
        "max", "min", "Pr", "sec", "sin", "sinh", "sup", "tan", "tanh", "injlim", "projlim",
        "varlimsup", "varliminf", "varinjlim", "varprojlim", "sum", "prod", "coprod", "int",
        "iint", "iiint", "iiiint", "oint", "idotsint", "bigcup", "bigcap", "bigsqcup", "bigvee",
        "bigwedge", "bigodot", "bigotimes", "bigoplus", "biguplus"
    ])
_TEXT_ARG = frozenset(
    [
        "text", "textrm", "textbf", "textit", "textsf", "texttt", "textup", "textnormal", "textsc",
        "textsl", "textmd", "mbox", "hbox", "fbox", "emph", "tag", "intertext", "shortintertext",
        "textsuperscript", "textsubscript"
    ])
#: argument(s) read verbatim: keys, URLs, dimensions, colours
_RAW_ARGS = {"label": 1, "ref": 1, "eqref": 1, "href": 1, "url": 1, "hspace": 1,
             "vspace": 1, "mspace": 1, "kern": 0, "rule": 2, "textcolor": 1, "color": 1,
             "colorbox": 1, "fcolorbox": 2, "definecolor": 3, "raisebox": 1,
             "cellcolor": 1, "rowcolor": 1, "columncolor": 1, "pagecolor": 1,
             "setlength": 2, "addtolength": 2, "moveleft": 0, "moveright": 0,
             "hyperref": 0, "nolinkurl": 1, "multicolumn": 2, "cline": 1,
             "ce": 1}
_DELIMS = frozenset(
    [
        "(", ")", "[", "]", "|", ".", "/", "<", ">", "\\{", "\\}", "\\|", "\\langle", "\\rangle",
        "\\lvert", "\\rvert", "\\lVert", "\\rVert", "\\vert", "\\Vert", "\\lfloor", "\\rfloor",
        "\\lceil", "\\rceil", "\\uparrow", "\\downarrow", "\\updownarrow", "\\Uparrow",
        "\\Downarrow", "\\Updownarrow", "\\backslash", "\\lgroup", "\\rgroup", "\\lmoustache",
        "\\rmoustache", "\\ulcorner", "\\urcorner", "\\llcorner", "\\lrcorner", "\\lbrace",
        "\\rbrace", "\\lbrack", "\\rbrack", "\\lt", "\\gt", "\\llbracket", "\\rrbracket",
        "\\arrowvert", "\\Arrowvert", "\\bracevert"
    ])
_LIMITS_OK = frozenset(
    [
        "sum", "prod", "coprod", "int", "iint", "iiint", "iiiint", "oint", "intop", "smallint",
        "bigcup", "bigcap", "bigsqcup", "bigvee", "bigwedge", "bigodot", "bigotimes", "bigoplus",
        "biguplus", "lim", "limsup", "liminf", "max", "min", "sup", "inf", "det", "gcd", "Pr",
        "arg", "injlim", "projlim", "varlimsup", "varliminf", "varinjlim", "varprojlim",
        "operatorname", "mathop", "sideset", "underbrace", "overbrace", "lim", "mathlarger"
    ])
_OLD_FORMS = {"matrix": "matrix", "pmatrix": "pmatrix", "cases": "cases", "array": "matrix"}
_COMBINING = {"\u0302": "hat", "\u0303": "tilde", "\u0304": "bar", "\u0307": "dot",
              "\u0308": "ddot", "\u0301": "acute", "\u0300": "grave", "\u030c": "check",
              "\u0306": "breve", "\u20d7": "vec"}
_SUBSCRIPTS = dict(zip("₀₁₂₃₄₅₆₇₈₉₊₋₌₍₎ₐₑₒₓₕₖₗₘₙₚₛₜᵢⱼ", "0123456789+-=()aeoxhklmnpstij",
                       strict=True))
_SUPERSCRIPTS = dict(zip("⁰¹²³⁴⁵⁶⁷⁸⁹⁺⁻⁼⁽⁾ⁿⁱ", "0123456789+-=()ni", strict=True))
#: characters pylatexenc would put in text mode that have a math command
_MATH_CHARS = {"\u2192": "\\rightarrow", "\u2190": "\\leftarrow", "\u2194": "\\leftrightarrow",
               "\u21d2": "\\Rightarrow", "\u21d0": "\\Leftarrow", "\u21d4": "\\Leftrightarrow",
               "\u21a6": "\\mapsto", "\u00d7": "\\times", "\u00b7": "\\cdot", "\u2026": "\\ldots",
               "\u211d": "\\mathbb{R}", "\u2115": "\\mathbb{N}", "\u2124": "\\mathbb{Z}",
               "\u211a": "\\mathbb{Q}", "\u2102": "\\mathbb{C}", "\u00b0": "^{\\circ}",
               "\u00b1": "\\pm",
               "\u00f7": "\\div", "\u00ac": "\\neg", "\u221e": "\\infty", "\u2032": "\\prime"}
_MAX_LEN = 20_000
_MAX_DEPTH = 500
#: packages the template always loads (or loads with options): never requested per formula
_TEMPLATE_PACKAGES = frozenset({"kernel", "amsmath", "amssymb", "xcolor", "hyperref", "url",
                                "xurl", "amsfonts", "latex", ""})
_REQUIRE = {"cancel": "cancel", "mathtools": "mathtools", "bm": "bm", "boldsymbol": "",
            "ams": "", "amscd": "amscd", "color": "", "braket": "braket", "upgreek": "upgreek",
            "gensymb": "gensymb", "mathrsfs": "mathrsfs", "esint": "esint",
            "newcommand": "", "html": "", "unicode": "", "bbox": "", "noundefined": "",
            "textmacros": "", "cases": "", "empheq": "empheq", "colortbl": "colortbl",
            "units": "units"}

#: one-character text commands (accents, special letters) LaTeX has
_TEXT_ONE_LETTER = frozenset("'`^\"~=.uvHtcdbrijoOlLPSk,;:!> -_&#%$@/{}|\\")
#: TeX primitives (and \mspace) whose operand is a dimension, not an argument
_DIMEN_PRIMITIVES = frozenset({"kern", "mkern", "hskip", "mskip", "mspace", "raise",
                               "lower"})
_DIMEN_RE = re.compile(r"\s*([+-]?\s*(?:\d+[.,]?\d*|[.,]\d+))\s*"
                       r"(pt|em|ex|mu|cm|mm|in|bp|pc|dd|cc|sp|px)", re.I)

_TOKEN_RE = re.compile(r"\\(?:[A-Za-z]+|[\s\S])?|%[^\n]*|\s+|[\s\S]")


@dataclass
class MathResult:
    """A formula ready for LaTeX and what was learned about it."""

    latex: str
    #: name of the amsmath environment when the formula is one, emitted at paragraph level
    environment: str | None = None
    packages: set[str] = field(default_factory=set)
    diagnostics: list[Diagnostic] = field(default_factory=list)
    #: definitions found in the formula, hoisted to the preamble
    definitions: list[Definition] = field(default_factory=list)
    #: columns of the widest matrix when above amsmath's limit (the preamble raises it)
    max_matrix_cols: int = 0

    @property
    def ok(self) -> bool:
        return not any(d.severity.value == "error" for d in self.diagnostics)


@dataclass
class _Edit:
    start: int
    end: int
    text: str


class _Locator:
    """Maps an offset in a formula to a Markdown line and column."""

    def __init__(self, raw: str, path: str, line: int | None, column: int | None,
                 opener_len: int) -> None:
        self.raw, self.path, self.line, self.column, self.opener = raw, path, line, column, \
            opener_len

    def at(self, pos: int) -> dict[str, Any]:
        if self.line is None:
            return {"path": self.path}
        before = self.raw[:pos]
        nl = before.count("\n")
        col = (self.column or 1) + self.opener + pos if nl == 0 else pos - before.rfind("\n")
        return {"path": self.path, "line": self.line + nl, "column": col}


@dataclass
class _Frame:
    kind: str  # root, group, env, left
    pos: int
    env: str = ""
    text: bool = False
    #: for groups that are a script's argument: the outer frame keeps its script state
    script_arg: bool = False
    #: scripts on the current nucleus: 0 none, 1 primes, 2 superscript given
    sup: int = 0
    sub: bool = False
    #: what ended the previous atom: "char", "macro:<name>", "group", ""
    last: str = ""
    max_tabs: int | None = None
    tabs: int = 0
    tab_error: bool = False
    row_cols: int = 0
    #: replacement for this group's closing brace (old \pmatrix{...} forms)
    close_text: str | None = None
    #: text inserted before this frame closes or the row ends (size switches)
    pending: list[str] = field(default_factory=list)
    #: env bookkeeping: (begin name span, end name span) filled when closed
    name_span: tuple[int, int] = (0, 0)
    split_wide: bool = False
    tags: list[tuple[int, int]] = field(default_factory=list)
    #: groups that belong to the previous macro (so scripts survive \mathrm{d})
    arg_groups: int = 0
    is_arg: bool = False
    end_span: tuple[int, int] = (0, 0)


class _Checker:
    def __init__(self, raw: str, loc: _Locator, macros: Mapping[str, int], unicode: bool,
                 display: bool) -> None:
        self.raw = raw
        self.loc = loc
        self.user: Mapping[str, int] = macros
        self.own_user: dict[str, int] = {}
        self.unicode = unicode
        self.display = display
        #: a macro's body: its last command may take its arguments where the macro is used
        self.macro_body = False
        self.result = MathResult(latex=raw)
        self.edits: list[_Edit] = []
        self.toks = [(m.group(0), m.start()) for m in _TOKEN_RE.finditer(raw)]
        self.stack: list[_Frame] = [_Frame("root", 0)]
        self.envs: list[_Frame] = []  # closed display/split envs, for the output decision
        self.root_content: list[int] = []  # positions of meaningful root-level tokens
        self.root_envs: list[_Frame] = []
        self.tags: list[tuple[int, int, bool]] = []  # (start, end, inside an env)
        self.skip_to = 0
        self.expect_script: str = ""  # "^" or "_" when the next token is a script's argument
        self.errors_seen: set[tuple[str, int]] = set()
        #: names \let to a delimiter in this formula (\left\x is then valid)
        self.let_delims: set[str] = set()
        self.numbered = False
        self.rows = 0
        self.labels: set[tuple[int, int]] = set()
        self.groups = 0  # open \begingroup
        self.colors: set[str] = set()  # \definecolor names of this formula
        self.tagforms: set[str] = set()
        self.let_optional: dict[str, int] = {}  # \let\x\sqrt: \x takes [..] too
        self.tag_rows: set[tuple[int, int]] = set()
        # \over & co per group, keyed by frame id and start (a closed frame's id is reused)
        self.genfracs: dict[tuple[int, int], int] = {}
        self.paired: set[str] = set()

    # ---------------------------------------------------------------- reporting
    def err(self, pos: int, code: str, msg: str, hint: str | None = None) -> None:
        if (code, pos) in self.errors_seen:
            return
        self.errors_seen.add((code, pos))
        self.result.diagnostics.append(error(code, msg, hint=hint, **self.loc.at(pos)))

    def warn(self, pos: int, code: str, msg: str, fix: str | None = None) -> None:
        self.result.diagnostics.append(warning(code, msg, fix=fix, **self.loc.at(pos)))

    def fixed(self, pos: int, code: str, msg: str, fix: str | None = None) -> None:
        self.result.diagnostics.append(note(code, msg, fix=fix, **self.loc.at(pos)))

    def edit(self, start: int, end: int, text: str) -> None:
        self.edits.append(_Edit(start, end, text))

    def need(self, package: str, pos: int | None = None) -> None:
        if package not in _TEMPLATE_PACKAGES:
            if package in mathtable.OPTIONAL_PACKAGES and pos is not None and \
                    not mathtable.installed(package):
                self.err(pos, "math-package-missing", f"this needs the LaTeX package "
                         f"{package}, which is not installed here",
                         hint=mathtable.OPTIONAL_PACKAGES[package])
            self.result.packages.add(package)

    # ---------------------------------------------------------------- helpers
    @property
    def top(self) -> _Frame:
        return self.stack[-1]

    def in_text(self) -> bool:
        return self.top.text

    def tok_index_at(self, pos: int, start: int) -> int:
        """Index of the first token starting at or after ``pos`` (from ``start``)."""
        i = start
        while i < len(self.toks) and self.toks[i][1] < pos:
            i += 1
        return i

    def next_significant(self, i: int) -> int:
        while i < len(self.toks) and (self.toks[i][0].isspace() or
                                      self.toks[i][0].startswith("%")):
            i += 1
        return i

    def group_at(self, pos: int) -> tuple[str, int, int] | None:
        """Brace group at ``pos`` (after spaces): content, start of '{', offset after '}'."""
        from .macros import read_group
        i = pos
        while i < len(self.raw) and self.raw[i] in " \t\n":
            i += 1
        g = read_group(self.raw, i)
        if g is None:
            return None
        return g[0], i, g[1]

    def bracket_at(self, pos: int) -> tuple[str, int, int] | None:
        i = pos
        while i < len(self.raw) and self.raw[i] in " \t\n":
            i += 1
        if i < len(self.raw) and self.raw[i] == "[":
            j = self.raw.find("]", i)
            if j > 0:
                return self.raw[i + 1 : j], i, j + 1
        return None

    def arg_end(self, pos: int) -> int:
        """Offset after one macro argument starting at ``pos`` (group or single token)."""
        g = self.group_at(pos)
        if g is not None:
            return g[2]
        m = _TOKEN_RE.match(self.raw, pos)
        while m is not None and m.group(0).isspace():
            m = _TOKEN_RE.match(self.raw, m.end())
        return m.end() if m is not None else pos

    def arg_text(self, pos: int) -> tuple[str, int]:
        g = self.group_at(pos)
        if g is not None:
            return g[0], g[2]
        end = self.arg_end(pos)
        return self.raw[pos:end].strip(), end

    # ---------------------------------------------------------------- atoms and scripts
    def atom(self, what: str) -> None:
        f = self.top
        if self.expect_script:
            self.expect_script = ""
            f.last = "script"
            return
        f.sup, f.sub = 0, False
        f.last = what
        if f.kind == "root" and not what.startswith("env"):
            self.root_content.append(0)

    def script(self, tok: str, pos: int) -> None:
        f = self.top
        if self.expect_script:
            self.err(pos, "math-script", f"'{tok}' right after '{self.expect_script}': the "
                     "script needs an argument", hint="put the script in braces: x^{...}")
            return
        if tok == "^":
            if f.sup == 2:
                self.err(pos, "math-double-script", "double superscript: this nucleus "
                         "already has a superscript", hint="group it: {x^a}^b or x^{ab}")
            f.sup = 2
        elif tok == "_":
            if f.sub:
                self.err(pos, "math-double-script", "double subscript: this nucleus "
                         "already has a subscript", hint="group it: {x_a}_b or x_{ab}")
            f.sub = True
            if f.sup == 1:
                f.sup = 2  # a prime then a subscript: a later ^ or ' is a second superscript
        else:  # prime
            if f.sup == 2:
                self.err(pos, "math-double-script", "a prime after a superscript is a "
                         "double superscript in TeX", hint="write x'^{a} or {x^a}'")
                return
            f.sup = 1
            return
        self.expect_script = tok

    # ---------------------------------------------------------------- main loop
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
            self.stack.append(_Frame("inlinemath", pos))
        elif ord(tok) > 127 and not self.unicode:
            out = unicode_char(tok)
            if out is None:
                self.err(pos, "math-unicode", f"character '{tok}' (U+{ord(tok):04X}) "
                         "cannot be typeset by pdflatex")
            else:
                self.edit(pos, pos + 1, out)
        return i + 1

    # ---------------------------------------------------------------- groups
    def push_group(self, pos: int) -> None:
        parent = self.top
        if len(self.stack) > _MAX_DEPTH:
            raise _TooDeep(pos)
        g = _Frame("group", pos, text=parent.text)
        if self.expect_script:
            g.script_arg = True
            self.expect_script = ""
        elif parent.arg_groups > 0:
            g.script_arg = parent.last == "script"
            g.is_arg = not g.script_arg
            parent.arg_groups -= 1
        self.stack.append(g)

    def close_group(self, pos: int) -> None:
        if self.expect_script:
            self.err(pos, "math-script", f"'{self.expect_script}' right before '}}' has no "
                     "argument")
            self.expect_script = ""
        f = self.top
        if f.kind == "inlinemath":
            self.err(f.pos, "math-dollar", "'$' inside \\text{} is not closed before '}'")
            self.stack.pop()
            f = self.top
        if f.kind == "root":
            self.err(pos, "math-unbalanced-brace", "'}' has no matching '{'")
            return
        if f.kind == "env":
            self.err(f.pos, "math-env-mismatch",
                     f"\\begin{{{f.env}}} is not closed by \\end{{{f.env}}} before this "
                     "group ends", hint=f"add \\end{{{f.env}}}")
            self.stack.pop()
            return self.close_group(pos)
        if f.kind == "left":
            self.err(f.pos, "math-left-right", "\\left has no matching \\right in its group",
                     hint="add \\right. (an invisible delimiter) before the '}'")
            self.stack.pop()
            return self.close_group(pos)
        self.flush_pending(f, pos)
        self.stack.pop()
        if f.close_text is not None:
            self.edit(pos, pos + 1, f.close_text)
        parent = self.top
        if f.script_arg:
            parent.last = "script"
        elif f.is_arg:
            pass
        else:
            self.atom("group")

    def flush_pending(self, f: _Frame, pos: int) -> None:
        for text in reversed(f.pending):
            self.edit(pos, pos, text)
        f.pending.clear()

    # ---------------------------------------------------------------- alignment
    def alignment_frame(self) -> _Frame | None:
        for f in reversed(self.stack):
            if f.kind == "env":
                return f
        return None

    def ampersand(self, pos: int) -> None:
        f = self.top
        self.atom("amp")
        f.sup, f.sub = 0, False
        if (f.kind == "env" and f.close_text is None) or (f.kind == "group" and \
                f.close_text is not None):
            self.flush_pending(f, pos)
            f.tabs += 1
            f.row_cols = max(f.row_cols, f.tabs + 1)
            if f.env == "split" and f.tabs > 1:
                f.split_wide = True
                return
            if f.max_tabs is not None and f.tabs > f.max_tabs and not f.tab_error:
                f.tab_error = True
                self.tab_error(f, pos)
            return
        outer = self.alignment_frame()
        if f.kind == "left" and outer is not None:
            self.err(pos, "math-left-right", "'&' between \\left and \\right: a "
                     "\\left...\\right pair cannot span alignment cells",
                     hint="close it with \\right. before '&' and reopen with \\left.")
        elif outer is not None:
            self.err(pos, "math-ampersand", "'&' inside braces in an alignment: TeX "
                     "rejects it", hint="remove the braces around the cells")
        else:
            self.err(pos, "math-ampersand", "'&' outside an alignment (only aligned, "
                     "array, matrix, cases... have columns)",
                     hint="use \\begin{aligned}...\\end{aligned}, or \\& for the symbol")

    def tab_error(self, f: _Frame, pos: int) -> None:
        env = f.env
        limit = f.max_tabs or 0
        if env in _COLUMN_SPEC_ENVS:
            self.err(pos, "math-array-columns", f"this row has more cells than the "
                     f"{limit + 1} column{'s' if limit else ''} of the {env}'s column spec",
                     hint="add columns to the spec, e.g. {ccc}")
        elif env in _ALIGNAT:
            self.err(pos, "math-alignat-columns", f"{env}{{{(limit + 1) // 2}}} allows "
                     f"{limit} '&' per row; this row has more",
                     hint=f"raise the number: \\begin{{{env}}}{{{(f.tabs + 2) // 2}}}")
        elif limit == 0:
            self.err(pos, "math-ampersand", f"'&' in {env}, which has no columns",
                     hint="use aligned (or align) for alignment points")
        else:
            self.err(pos, "math-extra-column", f"{env} allows {limit} '&' per row; this "
                     "row has more", hint="use array or aligned for more columns")

    def row_end(self, pos: int) -> None:
        f = self.top
        if f.kind == "group" and f.close_text is None and not f.is_arg and \
                not f.script_arg and not f.text and self.alignment_frame() is not None:
            self.err(pos, "math-ampersand", "\\\\ inside braces in an alignment: TeX "
                     "rejects it", hint="remove the braces, or use \\substack{...}")
            return
        if f.kind == "left" and self.alignment_frame() is not None:
            self.err(pos, "math-left-right", "\\\\ between \\left and \\right: a "
                     "\\left...\\right pair cannot span lines",
                     hint="close with \\right. at the line end and reopen with \\left.")
            return
        self.flush_pending(f, pos)
        self.rows += 1
        f.tabs = 0
        f.tab_error = False
        f.sup, f.sub = 0, False

    # ---------------------------------------------------------------- macros
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
        rows = next((f for f in reversed(self.stack) if f.kind == "env" or f.env), None)
        if name == "cr" and (rows is None or rows.env in _NO_ROWS):
            self.err(pos, "math-cr", "\\cr outside an alignment", hint="use \\\\ in "
                     "aligned, or remove it")
            return i + 1
        af = self.alignment_frame()
        if name == "\\" and (self.raw.startswith("[", end + (self.raw[end:end + 1] == "*"))
                               or (self.raw[end:].lstrip(" \t").startswith("[") and (
                                   af is None or not (af.env in _MATRICES or af.env in
                                                      _COLUMN_SPEC_ENVS or "cases" in
                                                      af.env)))):
            self.row_skip(end + (self.raw[end:end + 1] == "*"))
        if name == "\\" or name == "cr":
            self.row_end(pos)
            if self.raw.startswith("*", end):
                self.skip_to = end + 1
            return i + 1
        if name in ("begin", "end"):
            return self.environment(i, name, pos, end)
        if name in ("left", "right", "middle"):
            return self.delimiter(i, name, pos, end)
        if name in ("limits", "nolimits", "displaylimits"):
            f = self.top
            prev = f.last[6:] if f.last.startswith("macro:") else ""
            if f.last in ("char", "group", "", "amp", "left") or (f.last.startswith("macro:") and (
                    prev not in _LIMITS_OK and not prev.endswith("int") and
                    mathtable.macro(prev) is not None and
                    prev not in self.user and not prev.startswith("big"))):
                what = f"\\{prev}" if prev else "this"
                self.err(pos, "math-limits", f"\\{name} must follow a big operator such "
                         f"as \\sum or \\int, not {what}", hint="use \\mathop{...}\\limits")
            return i + 1
        if name in ("newcommand", "renewcommand", "providecommand", "def", "gdef",
                    "DeclareMathOperator", "let"):
            return self.definition(i, name, pos)
        if name == "begingroup":
            self.groups += 1
            self.atom("macro:" + name)
            return i + 1
        if name == "endgroup":
            if self.groups == 0:
                self.err(pos, "math-group", "\\endgroup without \\begingroup")
            self.groups -= 1
            self.atom("macro:" + name)
            return i + 1
        if name in ("global", "long", "protected"):
            # a prefix of a definition, which goes to the preamble (global there anyway)
            j = self.next_significant(i + 1)
            if j < len(self.toks) and self.toks[j][0][1:] in (
                    "def", "gdef", "let", "global", "long", "protected"):
                self.edit(pos, end, "")
                return i + 1
        if self.expect_script:
            info_args = self.arity(name)
            if (info_args and name not in _SCRIPT_OK) or name in _SCRIPT_OPERATORS:
                self.brace_script(name, pos, end, info_args)
        if name in self.user:
            if self.user[name]:
                self.check_args(name, pos, end, self.user[name],
                                self.let_optional.get(name, 0))
            self.atom("macro:" + name)
            self.top.arg_groups = self.user[name]
            return i + 1
        if self.misplaced(name, pos, end):
            return i + 1
        special = self.special_checks(i, name, pos, end)
        if special is not None:
            return special
        if name in _OLD_FORMS:
            self.atom("macro:" + name)
            return self.special_arg(i, name, pos, end)
        handled = self.translate(i, name, pos, end)
        if handled is not None:
            return handled
        info = mathtable.macro(name)
        if info is None:
            return self.unknown(i, name, pos, end)
        if info.mode == "text" and name not in _TEXT_ARG and name != "url":
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
        if name in _TEXT_ARG or name in _OLD_FORMS:
            return self.special_arg(i, name, pos, end)
        if name in _RAW_ARGS:
            return self.raw_args(i, name, end, _RAW_ARGS[name])
        if name == "mathbb":
            arg, _e = self.arg_text(end)
            if arg and (arg.isdigit() or arg.islower()):
                self.warn(pos, "math-mathbb", f"\\mathbb{{{arg}}}: amssymb's blackboard "
                          "bold has only capital letters; LaTeX prints wrong glyphs",
                          fix="\\mathbb{1} → \\mathbb{1} needs bbm/dsfont; write "
                          "\\mathbf or \\mathrm instead")
        return i + 1

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

    def special_checks(self, i: int, name: str, pos: int, end: int) -> int | None:
        """Commands whose operands TeX checks itself; an index when fully handled."""
        if _BIG.fullmatch(name):
            j = self.next_significant(self.tok_index_at(end, i))
            delim = self.toks[j][0] if j < len(self.toks) else ""
            g = self.group_at(end) if delim == "{" else None
            if g is not None:
                delim = g[0].strip()  # \\bigl{(}: TeX takes a braced delimiter too
            if delim not in _DELIMS and not (delim[:1] == "\\" and delim[1:] in
                                              self.let_delims):
                self.err(pos, "math-left-right", f"\\{name} must be followed by a delimiter "
                         f"such as ( [ | (found {delim or 'the end'!r})")
                return i + 1
        elif name in _GENFRAC:
            key = (id(self.top), self.top.pos)
            self.genfracs[key] = self.genfracs.get(key, 0) + 1
            if self.genfracs[key] > 1:
                self.err(pos, "math-over", "two of \\over, \\choose, \\atop... in one "
                         "group are ambiguous for TeX", hint="add braces: {a \\over b}")
        elif name == "verb":
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
        elif name == "vcenter" and re.search(r"[\\^_$]", re.sub(
                r"^\s*\\hbox\s*\{.*\}\s*$", "", (self.group_at(end) or ("\\",))[0],
                flags=re.S)):
            self.err(pos, "math-vcenter", "\\vcenter needs a vertical box (LaTeX rejects "
                     "\\vcenter{...} with math inside)", hint="use \\vcenter{\\hbox{$...$}}")
            return i + 1
        elif name == "xmathstrut":
            b = self.bracket_at(end)
            g = self.group_at(b[2] if b else end)
            if g is None or not re.fullmatch(r"\s*-?\d*\.?\d+\s*", g[0]):
                self.err(pos, "math-number", "\\xmathstrut takes a number, e.g. "
                         "\\xmathstrut{0.1}")
                return i + 1
        elif name == "sideset":
            g1 = self.group_at(end)
            g2 = self.group_at(g1[2]) if g1 else None
            rest = self.raw[g2[2]:].lstrip() if g2 else ""
            m = re.match(r"\{?\s*\\([A-Za-z]+)", rest)
            if m is None or not (m.group(1) in _LIMITS_OK or m.group(1).endswith("int")):
                self.err(pos, "math-limits", "\\sideset must be followed by a big operator "
                         "such as \\sum or \\prod")
                return i + 1
        elif name in ("underbracket", "overbracket"):
            k = end
            for _ in range(2):
                b = self.bracket_at(k)
                if b is None:
                    break
                if not _DIMEN_RE.fullmatch(b[0].strip()):
                    self.err(pos, "math-dimension", f"\\{name}[{b[0]}]: not a dimension")
                    return i + 1
                k = b[2]
        elif name == "genfrac":
            a1, e1 = self.arg_text(end)
            a2, _e2 = self.arg_text(e1)
            for a in (a1, a2):
                if not (a.strip() in _DELIMS or a.strip() == "") or (
                        a is a1 and self.raw[end:].lstrip().startswith("[")):
                    self.err(pos, "math-left-right", "\\genfrac: its first two arguments "
                             "must be delimiters (or empty)")
                    return i + 1
        elif name == "char":
            m = re.match(r"\s*(?:'([0-7]+)|\"([0-9A-Fa-f]+)|(\d+)|`(\\?.))", self.raw[end:])
            code = -1
            if m:
                code = int(m.group(1), 8) if m.group(1) else int(m.group(2), 16) if \
                    m.group(2) else int(m.group(3)) if m.group(3) else 0
            if not m or code > 255:
                self.err(pos, "math-char", "\\char needs a character code 0..255")
                return i + 1
        elif name == "ArrowBetweenLines" and self.alignment_frame() is None:
            self.err(pos, "math-misplaced", "\\ArrowBetweenLines only works inside an "
                     "alignment")
            return i + 1
        elif name in ("url", "href") and self.group_at(end) is None:
            self.err(pos, "math-missing-arg", f"\\{name} needs its URL in braces")
            return i + 1
        elif name in ("raisebox", "rule"):
            b = self.bracket_at(end)
            if b is not None and not _DIMEN_RE.fullmatch(b[0].strip()):
                self.err(pos, "math-dimension", f"\\{name}[{b[0]}]: not a dimension")
                return i + 1
            g = self.group_at(b[2] if b else end)
            for box in (b, g, self.group_at(g[2]) if g and name == "rule" else None):
                mu = _DIMEN_RE.fullmatch(box[0].strip()) if box else None
                if box is not None and mu is not None and mu.group(2).lower() == "mu":
                    em = float(mu.group(1).replace(" ", "").replace(",", ".")) / 18
                    self.edit(box[1] + 1, box[2] - 1, f"{em:.4g}em")
                    self.fixed(pos, "mathjax-dimension", f"\\{name}: {box[0].strip()} became "
                               f"{em:.4g}em (mu is only valid in math spacing)")
            if g is None or not (_DIMEN_RE.fullmatch(g[0].strip()) or re.fullmatch(
                    r"\s*-?[\d.]*\s*\\(?:height|depth|width|totalheight|linewidth|"
                    r"textwidth|baselineskip)\s*", g[0])):
                self.err(pos, "math-dimension", f"\\{name} needs a dimension in braces, "
                         "e.g. {1ex}")
                return i + 1
            if name == "rule":
                g2 = self.group_at(g[2])
                if g2 is None or not _DIMEN_RE.fullmatch(g2[0].strip()):
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

    def misplaced(self, name: str, pos: int, end: int) -> bool:
        """Commands valid only in certain places; True when an error was reported."""
        if name in _PREAMBLE_ONLY:
            self.err(pos, "math-preamble-only", f"\\{name} is not supported inside a "
                     "formula (it belongs in the LaTeX preamble)",
                     hint="define it in a --macros file")
            return True
        if name in _ROW_START or name == "columncolor":
            before = self.raw[:pos].rstrip()
            f = self.alignment_frame()
            ok = name != "columncolor" and f is not None and f.env not in _NO_ROWS and (
                before.endswith(("\\\\", "\\hline", "\\hdashline", "}", "\\cr")) and
                (before.endswith(("\\\\", "\\hline", "\\hdashline", "\\cr")) or
                 re.search(r"\\(?:begin\{[^{}]*\}(?:\{[^{}]*\})?|cline\{[^{}]*\}|"
                           r"rowcolor(?:\[[^\]]*\])?\{[^{}]*\})$", before) is not None))
            if not ok:
                self.err(pos, "math-misplaced", f"\\{name} is only valid at the start of a "
                         "row of an array or alignment" if name != "columncolor" else
                         "\\columncolor only works in an array's column spec (>{...})")
                return True
        if name in ("newtagform", "renewtagform", "usetagform"):
            g = self.group_at(end)
            form = g[0].strip() if g else ""
            if name == "usetagform" and form not in self.tagforms and form != "default":
                self.err(pos, "math-tagform", f"\\usetagform{{{form}}}: no such tag form "
                         "(define it with \\newtagform in this formula)")
                return True
            if name == "newtagform" and form in self.tagforms:
                self.err(pos, "math-tagform", f"tag form '{form}' is already defined")
                return True
            self.tagforms.add(form)
        if name in _PAIRED:
            m = re.match(r"\s*\{?\s*\\([A-Za-z]+)", self.raw[end:])
            new = m.group(1) if m else ""
            if not new or mathtable.macro(new) is not None or new in self.paired:
                self.err(pos, "math-definition", f"\\{name}: \\{new or '?'} already exists "
                         "(or no name follows)")
                return True
            self.paired.add(new)
            if self.user is not self.own_user:
                self.own_user = dict(self.user)
                self.user = self.own_user
            self.own_user[new] = 1
        if name == "mathtoolsset":
            g = self.group_at(end)
            for key in (g[0].split(",") if g else []):
                k, _, v = key.partition("=")
                k = k.strip()
                if k and k not in _MATHTOOLS_KEYS and not (
                        k == "multlined-pos" and v.strip() in ("t", "c", "b")):
                    self.err(pos, "math-mathtoolsset", f"\\mathtoolsset: '{k}' is not a "
                             "mathtools key (or not in this TeX Live)")
                    return True
        if name in ("uproot", "leftroot"):
            before = self.raw[:pos]
            at = before.rfind("\\sqrt")
            inside = at >= 0 and before[at + 5 :].lstrip().startswith("[") and \
                "]" not in before[at:]
            arg, _stop = self.arg_text(end)
            if not inside or ("\\" + name) in before[at:] or not re.fullmatch(
                    r"\s*-?\d+\s*", arg):
                self.err(pos, "math-misplaced", f"\\{name} is only valid once, inside the "
                         "[...] of \\sqrt")
                return True
        return False

    def row_skip(self, at: int) -> None:
        """``\\\\[1ex]``: a dimension, not in mu (MathJax takes mu; converted to em)."""
        b = self.bracket_at(at)
        if b is None:
            return
        m = _DIMEN_RE.fullmatch(b[0].strip())
        if m is None:
            self.err(b[1], "math-dimension", f"\\\\[{b[0]}]: the space after a line break "
                     "must be a dimension such as 1ex")
        elif m.group(2).lower() == "mu":
            em = float(m.group(1).replace(" ", "").replace(",", ".")) / 18
            self.edit(b[1], b[2], f"[{em:.4g}em]")
            self.fixed(b[1], "mathjax-dimension", f"\\\\[{b[0]}] became [{em:.4g}em] (mu is "
                       "only valid in math spacing)")

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
            if m and ((m.group(1) in _NOT_UNBRACED and name != "sqrt") or (
                    name in _ACCENTS and m.group(1) in _FONT_CMDS)):
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

    def arity(self, name: str) -> int:
        if name in self.user:
            return self.user[name]
        info = mathtable.macro(name)
        return info.args if info is not None else 0

    def unknown(self, i: int, name: str, pos: int, end: int) -> int:
        mj = mathtable.mathjax_only().get(name)
        if mj is not None and mj.latex_equivalent:
            return self.substitute(i, name, pos, end, mj.args, mj.latex_equivalent)
        if name in _ALIASES:
            return self.substitute(i, name, pos, end, 0, _ALIASES[name])
        if name in SIZE_SWITCHES:
            return self.size_switch(i, name, pos, end)
        if mj is not None:
            self.err(pos, "math-mathjax-only", f"\\{name} exists only in MathJax; LaTeX has "
                     "no equivalent")
        else:
            close = difflib.get_close_matches(
                name, [*mathtable.closest_macros(name), *self.user], n=3, cutoff=0.6)
            hint = ("did you mean " + ", ".join("\\" + c for c in close) + "?") if close \
                else "define it: --macros FILE, front matter macros:, or \\newcommand"
            self.err(pos, "math-undefined", f"undefined control sequence \\{name}", hint=hint)
        self.atom("macro:" + name)
        return i + 1

    def substitute(self, i: int, name: str, pos: int, end: int, nargs: int,
                   template: str) -> int:
        args: list[str] = []
        stop = end
        for _ in range(nargs):
            text, stop = self.arg_text(stop)
            args.append(text)
        out = template
        if any(a.strip() in ("[", "]") for a in args):
            self.err(pos, "math-mathjax-only", f"\\{name}: its arguments cannot be read "
                     "for a LaTeX translation")
            return i + 1
        for k, a in enumerate(args, 1):
            out = out.replace(f"#{k}", a)
        if nargs:
            out = self.sub_formula(out, pos)
        else:
            self.verify_latex(out, pos)
        if nargs == 0 and re.fullmatch(r"\\[A-Za-z]+", out) and \
                re.match(r"[A-Za-z]", self.raw[end : end + 1]):
            out += " "
        self.edit(pos, stop, out)
        self.fixed(pos, "mathjax-alias", f"\\{name} (MathJax) became {out.strip()}", fix=out)
        if nargs == 0:
            self.atom("macro:" + name)
            return i + 1
        self.atom("macro:" + name)
        self.skip_to = stop
        return self.tok_index_at(stop, i)

    def sub_formula(self, text: str, pos: int) -> str:
        """An argument moved by a translation: validated and translated on its own (its
        errors are reported at ``pos``), returned as LaTeX."""
        sub = _Checker(text, self.loc, self.user, self.unicode, False)
        sub.let_delims = self.let_delims
        try:
            res = sub.run()
        except _TooDeep:
            self.err(pos, "math-too-deep", f"braces nested more than {_MAX_DEPTH} deep")
            return text
        for d in res.diagnostics:
            if d.severity.value == "error":
                self.err(pos, d.code, d.message, hint=d.hint)
        self.result.packages |= res.packages
        self.result.definitions.extend(res.definitions)
        return _apply(text, sub.edits)

    def verify_latex(self, latex: str, pos: int) -> None:
        """LaTeX that md2tex writes itself (translations, Unicode): every command in it must
        exist, and its package is loaded."""
        for m in re.finditer(r"\\([A-Za-z]+)", latex):
            name = m.group(1)
            info = mathtable.macro(name)
            if info is not None:
                self.need(info.package, pos)
            elif name not in self.user:
                self.err(pos, "math-undefined", f"this becomes \\{name}, which LaTeX does "
                         "not have here")

    def ce_arg(self, g: tuple[str, int, int], pos: int) -> None:
        """mhchem's \\ce in LaTeX is stricter than MathJax's: arrows need spaces around
        them (added here); commands must be plain symbols; ';' and primes fail."""
        text = g[0]
        for m in re.finditer(r"\\([A-Za-z]+)", text):
            info = mathtable.macro(m.group(1))
            if info is None or info.args or info.package not in ("kernel", "amssymb",
                                                                  "amsmath") or \
                    m.group(1) in _DIMEN_PRIMITIVES or m.group(1) in ("hskip", "smash"):
                self.err(pos, "math-ce", f"\\ce{{...}} with \\{m.group(1)}: mhchem in LaTeX "
                         "cannot be shown to accept it")
                return
        if ";" in text or "'" in text:
            self.err(pos, "math-ce", "\\ce{...} with ';' or a prime fails in LaTeX's mhchem")
            return
        spaced = _CE_ARROW.sub(lambda m: f" {m.group(1)}{m.group(2)} ", text)
        if spaced != text:
            self.edit(g[1] + 1, g[2] - 1, spaced)
            self.fixed(pos, "mathjax-ce-arrow", "spaces were put around the arrows in "
                       "\\ce{...} (LaTeX's mhchem needs them)")

    def color_name(self, text: str) -> bool:
        """xcolor's colour expression: known names, optionally mixed (red!50!blue)."""
        parts = text.strip().lstrip("-").split("!")
        for k, part in enumerate(parts):
            part = part.strip()
            if k % 2 == 1:
                if not re.fullmatch(r"\d+(?:\.\d+)?", part):
                    return False
            elif part not in _XCOLOR_NAMES and part not in self.colors and \
                    not (k > 0 and part == ""):
                return False
        return True

    def color_spec(self, model: str, spec: str, pos: int) -> None:
        """A colour given by model and values (\\color[rgb]{1,0,0}, \\definecolor):
        xcolor rejects values out of range and unknown models."""
        model, spec = model.strip(), spec.strip()
        nums = [v.strip() for v in spec.split(",")]
        ok = True
        try:
            if model in ("rgb", "cmy", "hsb"):
                ok = len(nums) == 3 and all(0 <= float(v) <= 1 for v in nums)
            elif model == "cmyk":
                ok = len(nums) == 4 and all(0 <= float(v) <= 1 for v in nums)
            elif model == "gray":
                ok = len(nums) == 1 and 0 <= float(nums[0]) <= 1
            elif model in ("RGB", "HSB"):
                ok = len(nums) == 3 and all(v.isdigit() and int(v) <= 255 for v in nums)
            elif model == "HTML":
                ok = re.fullmatch(r"[0-9A-Fa-f]{6}", spec) is not None
            elif model == "named":
                ok = re.fullmatch(r"[A-Za-z]+", spec) is not None
            else:
                ok = False
        except ValueError:
            ok = False
        if not ok:
            self.err(pos, "math-color", f"colour [{model}]{{{spec}}}: not a valid colour for "
                     "LaTeX", hint="e.g. [rgb]{1,0,0}, [RGB]{255,0,0}, [HTML]{FF0000}")

    def raw_args(self, i: int, name: str, end: int, n: int) -> int:
        stop = end
        b = self.bracket_at(stop)
        if b is not None:
            stop = b[2]
            if name in ("color", "textcolor", "colorbox", "fcolorbox"):
                g0 = self.group_at(stop)
                if g0 is not None:
                    self.color_spec(b[0], g0[0], self.toks[i][1])
        if name == "definecolor":
            g1 = self.group_at(stop)
            g2 = self.group_at(g1[2]) if g1 else None
            g3 = self.group_at(g2[2]) if g2 else None
            if g3 is not None and g2 is not None:
                self.color_spec(g2[0], g3[0], self.toks[i][1])
        for _ in range(n):
            g = self.group_at(stop)
            if g is None:
                break
            if name in ("color", "textcolor", "colorbox", "fcolorbox") and \
                    g[0].strip().startswith("#"):
                css = g[0].strip()[1:]
                if re.fullmatch(r"[0-9A-Fa-f]{3}|[0-9A-Fa-f]{6}", css):
                    hexa = css.upper() if len(css) == 6 else "".join(c * 2 for c in css.upper())
                    self.edit(g[1], g[2], f"[HTML]{{{hexa}}}")
                    self.fixed(g[1], "math-css-color", f"CSS colour #{css} became "
                               f"[HTML]{{{hexa}}}")
                else:
                    self.err(g[1], "math-color", f"colour '{g[0]}' is not a CSS hex colour "
                             "LaTeX can read", hint="use #rrggbb or a colour name")
            elif name in ("color", "textcolor", "colorbox", "fcolorbox") and b is None and \
                    (_ == 0 or name == "fcolorbox") and not self.color_name(g[0]):
                self.err(g[1], "math-color", f"colour '{g[0].strip()}' is not one LaTeX knows "
                         "(xcolor with dvipsnames)", hint="use #rrggbb or a name such as red, "
                         "blue, ForestGreen")
            if name == "definecolor" and _ == 0:
                self.colors.add(g[0].strip())
            if name == "ce":
                self.ce_arg(g, self.toks[i][1])
            if name in ("href", "url", "nolinkurl") and re.search(r"(?<!\\)[#%]", g[0]):
                self.edit(g[1], g[2], "{" + re.sub(r"(?<!\\)([#%])", r"\\\1", g[0]) + "}")
            stop = g[2]
        if name == "color":
            nxt = self.group_at(stop)
            if nxt is not None and self.toks[i][1] < stop:
                # MathJax 2: \color{red}{x} colours just x
                self.edit(self.toks[i][1], self.toks[i][1] + len("\\color"), "\\textcolor")
                self.fixed(self.toks[i][1], "mathjax-color", "\\color{c}{x} (MathJax 2) "
                           "became \\textcolor{c}{x}")
        if name in ("colorbox", "fcolorbox"):
            box = self.group_at(stop)
            if box is not None and box[0].strip() and "$" not in box[0]:
                # MathJax reads the box's content as math; LaTeX as text
                self.edit(box[1] + 1, box[1] + 1, "$")
                self.edit(box[2] - 1, box[2] - 1, "$")
                self.fixed(self.toks[i][1], "mathjax-colorbox", f"the content of \\{name} "
                           "was put in $...$ (MathJax reads it as math)")
        if name == "url":
            tokpos = self.toks[i][1]
            self.edit(tokpos, tokpos, "\\text{")
            self.edit(stop, stop, "}")
        self.skip_to = stop
        return self.tok_index_at(stop, i)

    def special_arg(self, i: int, name: str, pos: int, end: int) -> int:
        """\\text-like macros: their group is text mode. Old \\pmatrix{...} forms."""
        j = self.next_significant(self.tok_index_at(end, i))
        if name in _OLD_FORMS:
            if j < len(self.toks) and self.toks[j][0] == "{":
                env = _OLD_FORMS[name]
                self.edit(pos, self.toks[j][1] + 1, f"\\begin{{{env}}}")
                self.fixed(pos, "math-old-form", f"\\{name}{{...}} (plain TeX) became "
                           f"\\begin{{{env}}}...\\end{{{env}}}")
                g = _Frame("group", self.toks[j][1], env=env, close_text=f"\\end{{{env}}}",
                           max_tabs=_TABS.get(env, _MAX_MATRIX_COLS - 1))
                self.stack.append(g)
                self.top.last = ""
                return j + 1
            self.err(pos, "math-old-form", f"\\{name} (plain TeX) needs its rows in braces",
                     hint=f"write \\begin{{{_OLD_FORMS[name]}}}...\\end{{{_OLD_FORMS[name]}}}")
            return i + 1
        if j < len(self.toks) and self.toks[j][0] == "{":
            self.stack.append(_Frame("group", self.toks[j][1], text=True))
            self.top.arg_groups = 0
            return j + 1
        return i + 1

    def text_macro(self, i: int, name: str, pos: int, end: int) -> int:
        """A macro inside \\text{}: math-only ones get $...$ around them."""
        if name in ("\\",):
            return i + 1
        if name == "(":
            self.stack.append(_Frame("inlinemath", pos))
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
        if name in _DIMEN_PRIMITIVES and (name in ("mkern", "mskip", "mspace") or
                                          self.group_at(end) is not None):
            self.err(pos, "math-dimension", f"\\{name} inside \\text{{}}: LaTeX cannot "
                     "read it there (use \\hspace{...})")
            return i + 1
        if name in ("def", "gdef", "let", "newcommand", "renewcommand", "edef", "xdef"):
            self.err(pos, "math-definition", f"\\{name} inside \\text{{}} is not supported "
                     "(define macros outside text)")
            return i + 1
        if name in self.user:
            self.wrap_math(i, name, pos, end, self.user[name])
            return i + 1
        info = mathtable.macro(name)
        if info is None:
            mj = mathtable.mathjax_only().get(name)
            if (mj is None and name not in _ALIASES and (
                    len(name) > 1 or name not in _TEXT_ONE_LETTER)) or \
                    name in SIZE_SWITCHES:
                if name not in SIZE_SWITCHES and not re.fullmatch(r"[^A-Za-z]", name):
                    self.err(pos, "math-undefined", f"undefined control sequence \\{name}")
                return i + 1
            if mj is not None or name in _ALIASES:
                return self.unknown(i, name, pos, end)
            return i + 1
        self.need(info.package, pos)
        if info.mode == "math":
            self.wrap_math(i, name, pos, end, info.args)
        if name in _RAW_ARGS:
            return self.raw_args(i, name, end, _RAW_ARGS[name])
        return i + 1

    def wrap_math(self, i: int, name: str, pos: int, end: int, nargs: int) -> None:
        stop = end
        for _ in range(nargs):
            stop = self.arg_end(stop)
        self.edit(pos, pos, "$")
        self.edit(stop, stop, "$")
        self.fixed(pos, "math-in-text", f"\\{name} inside \\text{{}} was put in $...$ (it "
                   "is a math command)")

    def size_switch(self, i: int, name: str, pos: int, end: int) -> int:
        f = self.top
        before = self.raw[:pos]
        at = before.rfind("[")
        if at >= 0 and "]" not in before[at:]:
            self.err(pos, "math-size-switch", f"\\{name} inside [...] (an optional "
                     "argument) cannot be carried over to LaTeX")
            return i + 1
        self.edit(pos, end, f"\\text{{\\{name}$")
        f.pending.append("$}")
        self.fixed(pos, "math-size-switch", f"\\{name} in math was wrapped in \\text so it "
                   "takes effect (LaTeX ignores size switches in math mode)")
        return i + 1

    def translate(self, i: int, name: str, pos: int, end: int) -> int | None:
        """MathJax habits with a LaTeX form; returns the next token index when handled."""
        if name in _LAP:
            self.edit(pos, end, "\\" + _LAP[name])
            self.result.packages.add("mathtools")
            self.fixed(pos, "mathjax-lap", f"\\{name} in math became \\{_LAP[name]} (MathJax "
                       f"typesets \\{name} in math mode; LaTeX needs mathtools' "
                       f"\\{_LAP[name]})", fix=f"\\{_LAP[name]}")
            self.atom("macro:" + name)
            return i + 1
        if name in SIZE_SWITCHES:
            return self.size_switch(i, name, pos, end)
        if name == "require":
            arg, stop = self.arg_text(end)
            pkg = _REQUIRE.get(arg.strip())
            if pkg:
                self.need(pkg)
            self.edit(pos, stop, "")
            self.fixed(pos, "mathjax-require", f"\\require{{{arg}}} (MathJax) was dropped"
                       + (f"; package {pkg} is loaded" if pkg else ""))
            self.skip_to = stop
            return self.tok_index_at(stop, i)
        if name in ("bbox", "class", "cssId", "style"):
            stop = end
            if name == "bbox":
                b = self.bracket_at(stop)
                if b is not None:
                    stop = b[2]
            else:
                g = self.group_at(stop)
                if g is None:
                    self.err(pos, "math-html", f"\\{name} needs its argument in braces")
                    return i + 1
                stop = g[2]
            self.edit(pos, stop, "")
            self.fixed(pos, "mathjax-html", f"\\{name} (MathJax HTML styling) was removed; "
                       "its content is kept")
            self.skip_to = stop
            return self.tok_index_at(stop, i)
        if name == "unicode":
            b = self.bracket_at(end)
            stop = b[2] if b is not None else end
            arg, stop = self.arg_text(stop)
            s = arg.strip()
            try:
                code = int(s[1:], 16) if s[:1] in "xX" else int(s, 0 if s[:2] in
                                                                   ("0x", "0X") else 10)
                ch = chr(code)
            except (ValueError, OverflowError):
                self.err(pos, "math-unicode", f"\\unicode{{{arg}}}: not a character code")
                return i + 1
            if ch.isascii() and ch.isprintable():
                rep = ch if ch.isalnum() or ch in "+-=()[]<>/|!?.,;:*'@ " else "\\" + ch \
                    if ch in "#$%&_{}" else ""
                if not rep:
                    self.err(pos, "math-unicode", f"\\unicode{{{arg}}}: '{ch}' needs its "
                             "LaTeX command")
                    return i + 1
            else:
                rep = ch if self.unicode else self.unicode_latex(ch, pos)
            self.edit(pos, stop, rep)
            self.fixed(pos, "mathjax-unicode", f"\\unicode{{{arg}}} became '{ch}'")
            self.atom("char")
            self.skip_to = stop
            return self.tok_index_at(stop, i)
        if name in _DIMEN_PRIMITIVES:
            return self.dimension(i, name, pos, end)
        if name == "tag":
            stop = end + 1 if self.raw.startswith("*", end) else end
            stop = self.arg_end(stop)
            af = self.alignment_frame()
            key = (af.pos if af is not None else -1, self.rows)
            if key in self.tag_rows:
                self.err(pos, "math-tag", "two \\tag in one row (amsmath allows one)")
            self.tag_rows.add(key)
            self.tags.append((pos, stop, self.alignment_frame() is not None))
            if self.alignment_frame() is not None:
                self.alignment_frame_tags(pos, stop)
            self.skip_to = stop
            return self.tok_index_at(stop, i)
        return None

    def dimension(self, i: int, name: str, pos: int, end: int) -> int:
        """\\kern, \\hskip, \\mkern, \\mskip, \\mspace, \\raise, \\lower: TeX reads a
        dimension (MathJax also takes it in braces). The dimension is checked (mu units
        where TeX wants them) and written the way TeX reads it."""
        mu = name in ("mkern", "mskip", "mspace")
        g = self.group_at(end)
        if g is not None:
            text, stop = g[0], g[2]
        else:
            m = _DIMEN_RE.match(self.raw, end)
            text, stop = (m.group(0), m.end()) if m else ("", end)
        m = _DIMEN_RE.fullmatch(text.strip())
        unit = m.group(2).lower() if m else ""
        if not m or (name == "mspace" and g is None) or (
                unit == "mu" and name in ("raise", "lower")):
            want = "a dimension in mu (e.g. 3mu)" if mu else "a dimension such as 2pt or 0.5em"
            self.err(pos, "math-dimension", f"\\{name} needs {want}; found "
                     f"{text.strip() or self.raw[end:end + 8].strip() or 'nothing'!r}")
            return i + 1
        dim = m.group(1).replace(" ", "") + unit
        self.atom("macro:" + name)
        if (unit == "mu") != mu:
            # MathJax takes any unit anywhere; TeX wants mu exactly for \mkern, \mskip
            new = {"mkern": "kern", "mspace": "kern", "mskip": "hskip", "kern": "mkern",
                   "hskip": "mskip"}[name]
            if unit == "em" and mu:
                dim, new = f"{float(m.group(1).replace(' ', '').replace(',', '.')) * 18:g}mu", name
            self.fixed(pos, "mathjax-dimension", f"\\{name} with {unit}: became "
                       f"\\{new} {dim}")
            name, g = new, g or ("", 0, 0)
        elif g is None and name not in ("raise", "lower"):
            self.skip_to = stop  # as TeX reads it (glue may go on with plus/minus)
            return self.tok_index_at(stop, i)
        if name in ("raise", "lower"):
            box = self.group_at(stop)
            if box is None:
                j = self.next_significant(self.tok_index_at(stop, i))
                if j < len(self.toks) and self.toks[j][0] in ("\\hbox", "\\mbox"):
                    self.edit(pos, stop, f"\\{name}{dim}")
                    self.skip_to = stop
                    return self.tok_index_at(stop, i)
                self.err(pos, "math-dimension", f"\\{name} needs a box after its dimension",
                         hint=f"write \\raisebox{{{dim}}}{{$...$}}")
                return i + 1
            if name == "lower":
                dim = dim[1:] if dim.startswith("-") else "-" + dim
            self.edit(pos, box[1] + 1, f"\\raisebox{{{dim}}}{{$")
            self.stack.append(_Frame("group", box[1], close_text="$}"))
            self.fixed(pos, "mathjax-raise", f"\\{name}{{..}}{{..}} (MathJax) became "
                       "\\raisebox")
            self.skip_to = box[1] + 1
            return self.tok_index_at(box[1] + 1, i)
        rep = f"\\mspace{{{dim}}}" if name == "mspace" else f"\\{name}{dim}\\relax "
        if g is not None and name != "mspace":
            self.fixed(pos, "mathjax-dimension", f"\\{name}{{{text}}}: TeX takes the "
                       f"dimension without braces; became \\{name}{dim}")
        self.edit(pos, stop, rep)
        self.skip_to = stop
        return self.tok_index_at(stop, i)

    def alignment_frame_tags(self, start: int, stop: int) -> None:
        f = self.alignment_frame()
        if f is not None:
            f.tags.append((start, stop))

    def definition(self, i: int, name: str, pos: int) -> int:
        try:
            d, stop = parse_definition(self.raw, pos)
        except MacroError as exc:
            self.err(pos, "math-definition", f"cannot read this definition: {exc}")
            return i + 1
        target = d.body.lstrip("= ").strip()
        if d.kind == "let" and not target.startswith("\\") and target not in _DELIMS:
            self.err(pos, "math-definition", f"\\let\\{d.name} to '{target}' is not "
                     "supported in a formula")
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
            self.err(pos, "math-definition", f"\\let\\{d.name} to {target}, which LaTeX "
                     "does not have")
        elif d.kind == "let" and target[1:] == d.name and mathtable.macro(d.name) is None:
            self.err(pos, "math-definition", f"\\let\\{d.name} to itself: undefined")
        self.result.definitions.append(d)
        if self.user is not self.own_user:
            self.own_user = dict(self.user)
            self.user = self.own_user
        self.own_user[d.name] = d.nargs
        if d.kind == "let" and target.startswith("\\") and target[1:] != d.name:
            self.own_user[d.name] = self.arity(target[1:])
            info = mathtable.macro(target[1:])
            self.let_optional[d.name] = info.optional if info is not None and \
                target[1:] not in self.user else 0
        if d.kind == "let" and (target in _DELIMS or target[1:] in self.let_delims):
            self.let_delims.add(d.name)
        else:
            self.let_delims.discard(d.name)
        self.edit(pos, stop, "")
        self.fixed(pos, "math-definition-hoisted", f"definition of \\{d.name} moved to the "
                   "preamble")
        self.skip_to = stop
        return self.tok_index_at(stop, i)

    # ---------------------------------------------------------------- delimiters
    def delimiter(self, i: int, name: str, pos: int, end: int) -> int:
        j = self.next_significant(self.tok_index_at(end, i))
        delim = self.toks[j][0] if j < len(self.toks) else ""
        if (delim not in _DELIMS or delim[1:] in self.user) and not (
                delim[:1] == "\\" and delim[1:] in self.let_delims):
            self.err(pos, "math-left-right", f"\\{name} must be followed by a delimiter "
                     f"such as ( [ \\{{ | or . (found {delim or 'the end'!r})")
            return i + 1
        if delim in ("\\lt", "\\gt"):
            self.edit(self.toks[j][1], self.toks[j][1] + 3, (delim == "\\lt" and "<") or ">")
        if name == "left":
            self.atom("left")
            self.stack.append(_Frame("left", pos))
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

    # ---------------------------------------------------------------- environments
    def environment(self, i: int, kind: str, pos: int, end: int) -> int:
        g = self.group_at(end)
        if g is None:
            self.err(pos, "math-env-mismatch", f"\\{kind} needs an environment name in braces")
            return i + 1
        name = g[0].strip()
        name_span = (g[1] + 1, g[2] - 1)
        stop = g[2]
        if kind == "begin":
            info = mathtable.environment(name)
            if info is None:
                close = difflib.get_close_matches(name, list(mathtable.all_environments()),
                                                  n=3, cutoff=0.6)
                self.err(pos, "math-unknown-env", f"unknown environment '{name}'",
                         hint=("did you mean " + ", ".join(close) + "?") if close else None)
            else:
                self.need(info.package)
            opt = self.bracket_at(stop) if self.raw.startswith("[", stop) else None
            if name == "math" or (opt is not None and not _env_option_ok(name, opt[0])):
                what = f"[{opt[0]}]: not an option LaTeX accepts here" if opt is not None \
                    else ": not valid inside display math"
                self.err(pos, "math-env-option", f"\\begin{{{name}}}{what}")
            f = _Frame("env", pos, env=name, max_tabs=_TABS.get(name))
            f.name_span = name_span
            if name in _MATRICES:
                f.max_tabs = None
            if name == "empheq":
                b = self.bracket_at(stop)
                inner = self.group_at(b[2] if b else stop)
                if inner is None or inner[0].strip() not in _EMPHEQ_INNER:
                    self.err(pos, "math-env-option", "empheq needs an amsmath environment "
                             "name, e.g. \\begin{empheq}{align}")
            if name in _COLUMN_SPEC_ENVS:
                spec = self.group_at(stop)
                if spec is not None:
                    cols = self.count_columns(spec[0], spec[1])
                    f.max_tabs = None if cols is None else max(cols - 1, 0)
                    if name in ("subarray", "crampedsubarray"):
                        f.max_tabs = 0  # amsmath's subarray has one column, whatever the spec
                    stop = spec[2]
            elif name in _ALIGNAT:
                num = self.group_at(stop)
                if num is not None and num[0].strip().isdigit():
                    f.max_tabs = 2 * int(num[0].strip()) - 1
                    stop = num[2]
                else:
                    self.err(pos, "math-alignat-columns", f"{name} needs the number of "
                             "column pairs: \\begin{" + name + "}{2}")
            elif info is not None and info.args:
                for _ in range(info.args):
                    stop = self.arg_end(stop)
            if self.top.kind == "root":
                self.root_envs.append(f)
            self.atom("env")
            self.stack.append(f)
            self.skip_to = stop
            return self.tok_index_at(stop, i)
        # \end
        f = self.top
        while f.kind in ("group", "left") and f.close_text is None:
            what = "'{'" if f.kind == "group" else "\\left"
            self.err(f.pos, "math-unbalanced-brace" if f.kind == "group" else
                     "math-left-right", f"{what} is not closed before \\end{{{name}}}")
            self.stack.pop()
            f = self.top
        if f.kind != "env":
            self.err(pos, "math-env-mismatch", f"\\end{{{name}}} without a matching "
                     f"\\begin{{{name}}}")
            self.skip_to = stop
            return self.tok_index_at(stop, i)
        if f.env != name:
            self.err(pos, "math-env-mismatch", f"\\end{{{name}}} does not match "
                     f"\\begin{{{f.env}}}", hint=f"write \\end{{{f.env}}}")
        self.flush_pending(f, pos)
        self.stack.pop()
        f.end_span = name_span
        if f.env in _MATRICES and f.row_cols > _MAX_MATRIX_COLS:
            self.result.max_matrix_cols = max(self.result.max_matrix_cols, f.row_cols)
            self.fixed(f.pos, "math-matrix-columns", f"{f.env} with {f.row_cols} columns: "
                       "the preamble raises amsmath's MaxMatrixCols (10)")
        if f.env in _INNER_FORM:
            self.envs.append(f)
        self.atom("env")
        self.skip_to = stop
        return self.tok_index_at(stop, i)

    def count_columns(self, spec: str, at: int) -> int | None:
        n = 0
        k = 0
        s = spec
        while k < len(s):
            c = s[k]
            if c in "lcrX":
                n += 1
            elif c in "pmbw":
                if c != "p":
                    self.need("array")  # m{} b{} w{}{} are the array package's
                g = self.raw_group(s, k + 1)
                width = s[k + 1 : g].strip()[1:-1]
                if not (_DIMEN_RE.fullmatch(width) or re.fullmatch(
                        r"\s*[\d.]*\s*\\(?:linewidth|textwidth|columnwidth|hsize)\s*", width)):
                    self.err(at, "math-array-spec", f"'{c}{{{width}}}': the column width must "
                             "be a dimension such as 2cm")
                    return None
                n += 1
                k = g
                continue
            elif c in "@!<>":
                g_end = self.raw_group(s, k + 1)
                if "\\\\" in s[k + 1 : g_end]:
                    self.err(at, "math-array-spec", f"'\\\\' inside {c}{{...}} of a column spec")
                    return None
                if c != "@":
                    self.need("array")  # !{} >{} <{} are the array package's
                k = self.raw_group(s, k + 1)
                continue
            elif c == "*":
                num_end = self.raw_group(s, k + 1)
                if s[num_end : num_end + 1] in ("{", ""):
                    inner_end = self.raw_group(s, num_end)
                    inner = s[num_end + 1 : inner_end - 1]
                else:  # *{2}r: one column letter
                    inner_end = num_end + 1
                    inner = s[num_end]
                num = s[k + 2 : num_end - 1].strip()
                sub = self.count_columns(inner, at)
                if not num.isdigit() or sub is None:
                    return None
                n += int(num) * sub
                k = inner_end
                continue
            elif c == ":":
                self.edit(at + 1 + k, at + 2 + k, "|")
                self.fixed(at, "mathjax-dashed-rule", "':' (MathJax dashed rule) in the "
                           "column spec became '|'")
            elif c in "| \t\n":
                pass
            else:
                self.err(at, "math-array-spec", f"'{c}' is not a column type LaTeX knows "
                         "(l, c, r, p{..}, |, @{..})")
                return None
            k += 1
        return n

    @staticmethod
    def raw_group(s: str, k: int) -> int:
        from .macros import read_group
        g = read_group(s, k)
        return g[1] if g is not None else len(s)

    # ---------------------------------------------------------------- unicode
    def unicode_latex(self, ch: str, pos: int) -> str:
        if ch in _MATH_CHARS:
            return "{" + _MATH_CHARS[ch] + "}"
        if ch in _SUBSCRIPTS:
            return "_{" + _SUBSCRIPTS[ch] + "}"
        if ch in _SUPERSCRIPTS:
            return "^{" + _SUPERSCRIPTS[ch] + "}"
        decomposed = unicodedata.normalize("NFD", ch)
        if len(decomposed) == 2 and decomposed[1] in _COMBINING and decomposed[0].isascii():
            return f"\\{_COMBINING[decomposed[1]]}{{{decomposed[0]}}}"
        out = unicode_char(ch)
        if out is None or out == ch:
            self.err(pos, "math-unicode", f"character '{ch}' (U+{ord(ch):04X}) cannot be "
                     "typeset by pdflatex", hint="write its LaTeX command instead")
            return ""
        self.verify_latex(out, pos)
        if out.startswith("\\ensuremath{") and out.endswith("}"):
            return "{" + out[len("\\ensuremath{") : -1] + "}"
        return "\\text{" + out + "}"

    def unicode_math(self, i: int, ch: str, pos: int) -> None:
        nfd = unicodedata.normalize("NFD", ch)
        if self.unicode and not (ch in _MATH_CHARS or ch in _SUBSCRIPTS or ch in _SUPERSCRIPTS
                                 or (len(nfd) == 2 and nfd[1] in _COMBINING and nfd[0].isascii())
                                 or (unicode_char(ch) or "").startswith("\\ensuremath{")):
            # no unicode-math: the math fonts are the classic ones, which have no Unicode
            # letters; what has a math command gets it (below), the rest is text-font text
            if unicodedata.category(ch) != "Zs":
                self.edit(pos, pos + 1, "\\text{" + ch + "}")
            self.atom("char")
            return
        if unicodedata.category(ch) == "Zs":
            self.edit(pos, pos + 1, " ")
            return
        rep = self.unicode_latex(ch, pos)
        if ch in _SUBSCRIPTS or ch in _SUPERSCRIPTS:
            # merge runs: x₁₂ → x_{12}
            prev = self.edits[-1] if self.edits else None
            kind = "_" if ch in _SUBSCRIPTS else "^"
            if prev is not None and prev.end == pos and prev.text.startswith(kind + "{"):
                prev.text = prev.text[:-1] + rep[2:]
                prev.end = pos + 1
                return
            self.edit(pos, pos + 1, rep)
            self.script(kind, pos)
            self.expect_script = ""
            return
        self.edit(pos, pos + 1, rep)
        self.atom("char")

    # ---------------------------------------------------------------- the end
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


class _TooDeep(Exception):
    def __init__(self, pos: int) -> None:
        super().__init__(pos)
        self.pos = pos


def prepare(raw: str, *, display: bool, path: str = "<string>", line: int | None = None,
            column: int | None = None, opener_len: int = 0, unicode: bool = False,
            numbered: bool = False, macros: Mapping[str, int] | None = None,
            macro_body: bool = False) -> MathResult:
    """Validate and translate one formula.

    ``display``: the formula stands as display math; if it is a single amsmath display
    environment it is returned raw (``environment`` set) so ``\\tag`` and numbering work.
    ``macros``: user macros (site, front matter, the post's definitions) and their arity.
    ``macro_body``: ``raw`` is a macro's body (``\\renewcommand{\\b}{\\mathbf}``), whose last
    command may take its arguments where the macro is used.
    """
    loc = _Locator(raw, path, line, column, opener_len)
    if len(raw) > _MAX_LEN:
        res = MathResult(latex=raw)
        res.diagnostics.append(error("math-too-long", "formula is longer than 20,000 "
                                     "characters", **loc.at(0)))
        return res
    checker = _Checker(raw, loc, macros or {}, unicode, display)
    checker.macro_body = macro_body
    checker.numbered = numbered
    try:
        result = checker.run()
    except _TooDeep as exc:
        res = MathResult(latex=raw)
        res.diagnostics.append(error("math-too-deep", f"braces nested more than {_MAX_DEPTH} "
                                     "deep", **loc.at(exc.pos)))
        return res
    if not result.ok:
        return result
    _blank_lines(checker)
    _environments(checker, display, numbered)
    if result.ok:
        result.latex = _apply(raw, checker.edits).strip()
        if result.environment is None and not result.latex and display:
            result.latex = "{}"
    return result


_BLANK = re.compile(r"\n[ \t]*(?:\n[ \t]*)+")


def _blank_lines(ck: _Checker) -> None:
    for m in _BLANK.finditer(ck.raw):
        ck.edit(m.start(), m.end(), "\n")
        ck.fixed(m.start(), "math-blank-line", "blank line inside math removed (LaTeX "
                 "ends the paragraph there and fails)")


def _environments(ck: _Checker, display: bool, numbered: bool) -> None:
    """Whole-formula amsmath environments stay; others become aligned/gathered."""
    res = ck.result
    whole: _Frame | None = None
    if display and len(ck.root_envs) == 1 and not ck.root_content and \
            ck.root_envs[0].env in _INNER_FORM and ck.root_envs[0].env != "split":
        whole = ck.root_envs[0]
    for f in ck.envs:
        if f is whole:
            name = f.env
            if name.rstrip("*") in _NUMBERED and not name.endswith("*") and not numbered:
                _rename(ck, f, name + "*")
                name += "*"
            res.environment = name
            continue
        if f.env == "split" and display and not f.split_wide:
            continue
        if f.env in _ALONE:
            ck.err(f.pos, "math-env-alone", f"{f.env} must be the whole display formula "
                   "(LaTeX has no inner form of it)")
            continue
        inner = _INNER_FORM[f.env]
        if f.env == "split" and f.split_wide:
            _rename(ck, f, "aligned")
            ck.fixed(f.pos, "math-split", "split with several '&' in a row became aligned "
                     "(split allows one)")
            continue
        if f.env == "split" and not display:
            _rename(ck, f, "aligned")
            continue
        if inner:
            _rename(ck, f, inner)
        else:
            b1 = f.name_span[1]
            e0, e1 = f.end_span
            ck.edit(f.pos, b1 + 1, "{")
            ck.edit(e0 - 5, e1 + 1, "}")
        ck.fixed(f.pos, "math-inner-env", f"{f.env} inside other math became "
                 f"{inner or 'a group'} (LaTeX allows {f.env} only on its own)")
    if res.environment is not None:
        return
    tags = ck.tags
    if not tags:
        return
    if not display:
        for start, stop, _in_env in tags:
            ck.edit(start, stop, "")
            ck.warn(start, "math-tag", "\\tag in inline math was dropped (LaTeX allows it "
                    "only in display math)")
        return
    if len(tags) > 1:
        ck.err(tags[1][0], "math-tag", "more than one \\tag in one formula",
               hint="use \\begin{align}...\\end{align} alone in $$...$$, one \\tag per row")
        return
    start, stop, in_env = tags[0]
    if in_env:
        text = ck.raw[start:stop]
        ck.edit(start, stop, "")
        ck.edit(len(ck.raw), len(ck.raw), " " + text)
        ck.fixed(start, "math-tag-moved", "\\tag moved to the end of the formula (amsmath "
                 "does not allow it inside aligned)")


def _env_option_ok(env: str, opt: str) -> bool:
    """The ``[...]`` after ``\\begin{env}``: matrix* takes a column alignment, multlined a
    position (and width), aligned & co a vertical position."""
    o = opt.strip()
    if env.endswith("matrix*") or env.endswith("smallmatrix*"):
        return o in ("l", "c", "r")
    if env == "multlined":
        return o in ("t", "c", "b") or _DIMEN_RE.fullmatch(o) is not None
    if env in ("aligned", "alignedat", "gathered"):
        return o in ("t", "c", "b")
    return True


def _rename(ck: _Checker, f: _Frame, new: str) -> None:
    b0, b1 = f.name_span
    e0, e1 = f.end_span
    ck.edit(b0, b1, new)
    ck.edit(e0, e1, new)


def _apply(raw: str, edits: list[_Edit]) -> str:
    """Apply non-overlapping edits; an edit overlapping an earlier-starting one is dropped."""
    out: list[str] = []
    last = 0
    for e in sorted(edits, key=lambda e: (e.start, e.end)):
        if e.start < last:
            if e.start == e.end == last:
                out.append(e.text)
            continue
        out.append(raw[last : e.start])
        out.append(e.text)
        last = e.end
    out.append(raw[last:])
    return "".join(out)
