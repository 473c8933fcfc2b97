"""The state of the checker's one pass over a formula, and how it reads and reports.

Why a module of its own: every part of the checker (commands, environments, translations,
mhchem, definitions) works on the same tokens, the same stack of frames and the same list of
edits, and reports through the same ``err``/``warn``/``fixed``. ``Scanner`` holds that state
and the few moves every part needs (read an argument, close a group, mark an atom or a
script); the mixins in the other ``math*.py`` modules add the checks, and
``mathcheck.Checker`` puts them together and runs the pass.
"""

from __future__ import annotations

import re
from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from md2tex.diagnostics import Diagnostic, error, note, warning
from md2tex.math import table as mathtable
from md2tex.math.macros import Definition, KnownMacros

#: tables several parts of the checker read
BIG = re.compile(r"[Bb]igg?[lmr]?")
DELIMS = frozenset(
    [
        "(", ")", "[", "]", "|", ".", "/", "<", ">", "\\{", "\\}", "\\|", "\\langle", "\\rangle",
        "\\lvert", "\\rvert", "\\lVert", "\\rVert", "\\vert", "\\Vert", "\\lfloor", "\\rfloor",
        "\\lceil", "\\rceil", "\\uparrow", "\\downarrow", "\\updownarrow", "\\Uparrow",
        "\\Downarrow", "\\Updownarrow", "\\backslash", "\\lgroup", "\\rgroup", "\\lmoustache",
        "\\rmoustache", "\\ulcorner", "\\urcorner", "\\llcorner", "\\lrcorner", "\\lbrace",
        "\\rbrace", "\\lbrack", "\\rbrack", "\\lt", "\\gt", "\\llbracket", "\\rrbracket",
        "\\arrowvert", "\\Arrowvert", "\\bracevert"
    ])
MAX_DEPTH = 500
#: packages the template always loads (or loads with options): never requested per formula
_TEMPLATE_PACKAGES = frozenset({"kernel", "amsmath", "amssymb", "xcolor", "hyperref", "url",
                                "xurl", "amsfonts", "latex", ""})
#: TeX primitives (and \mspace) whose operand is a dimension, not an argument
DIMEN_PRIMITIVES = frozenset({"kern", "mkern", "hskip", "mskip", "mspace", "raise",
                              "lower"})
#: a number reads one way only, so a long digit run is never retried split by split
DIMEN_RE = re.compile(r"\s*([+-]?\s*(?:\d+(?:[.,]\d*)?|[.,]\d+))\s*"
                      r"(pt|em|ex|mu|cm|mm|in|bp|pc|dd|cc|sp|px)", re.I)

TOKEN_RE = re.compile(r"\\(?:[A-Za-z]+|[\s\S])?|%[^\n]*|\s+|[\s\S]")


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
    #: what makes the formula TeX programming md2tex cannot check ("" when it can): the
    #: pipeline asks TeX (mathprobe.py); the formula keeps its definitions inline
    needs_tex: str = ""

    @property
    def ok(self) -> bool:
        return not any(d.severity.value == "error" for d in self.diagnostics)


@dataclass
class Edit:
    start: int
    end: int
    text: str


class Locator:
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
class Frame:
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
    #: the current nucleus (``atom``'s ``what``), kept while scripts attach to it
    nucleus: str = ""
    is_arg: bool = False
    end_span: tuple[int, int] = (0, 0)
    #: for a macro's argument group: the macro's name
    owner: str = ""
    #: offset of the ``\\end`` that closed this environment; span of its column spec
    end_pos: int = 0
    spec_span: tuple[int, int] = (0, 0)
    #: the environment it was before rows with extra cells made it an array
    widened: str = ""
    #: eqnarray: each row's second '&' (dropped when the eqnarray becomes align)
    second_tabs: list[int] = field(default_factory=list)
    #: a ``\\`` inside this brace group (KaTeX breaks the line inside the group)
    breaks: bool = False


class TooDeep(Exception):
    def __init__(self, pos: int) -> None:
        super().__init__(pos)
        self.pos = pos


def apply_edits(raw: str, edits: list[Edit]) -> str:
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


def _assume_installed(_package: str) -> bool:
    return True


class Scanner(ABC):
    """One formula's tokens, stack, edits and diagnostics; the reading helpers."""

    def __init__(self, raw: str, loc: Locator, macros: Mapping[str, int], unicode: bool,
                 display: bool) -> None:
        self.raw = raw
        self.loc = loc
        self.user: Mapping[str, int] = macros
        self.own_user: dict[str, int] = {}
        #: what the user macros expand to, where known (site, front matter, the post)
        self.bodies: dict[str, str] = dict(macros.bodies) if isinstance(
            macros, KnownMacros) else {}
        #: the site's web math engine (``mathtable.MATH_ENGINES``)
        self.engine = mathtable.DEFAULT_ENGINE
        self.unicode = unicode
        self.display = display
        #: a macro's body: its last command may take its arguments where the macro is used
        self.macro_body = False
        #: does TeX here have this optional package (the TeX room answers; by default yes)
        self.package_installed: Callable[[str], bool] = _assume_installed
        self.result = MathResult(latex=raw)
        self.edits: list[Edit] = []
        self.toks = [(m.group(0), m.start()) for m in TOKEN_RE.finditer(raw)]
        self.stack: list[Frame] = [Frame("root", 0)]
        self.envs: list[Frame] = []  # closed display/split envs, for the output decision
        self.root_content: list[int] = []  # positions of meaningful root-level tokens
        self.root_envs: list[Frame] = []
        self.tags: list[tuple[int, int, bool]] = []  # (start, end, inside an env)
        self.skip_to = 0
        self.expect_script: str = ""  # "^" or "_" when the next token is a script's argument
        self.errors_seen: set[tuple[str, int]] = set()
        #: names \let to a delimiter in this formula (\left\x is then valid)
        self.let_delims: set[str] = set()
        self.numbered = False
        self.rows = 0
        #: a \\ outside any environment (KaTeX breaks display math there)
        self.root_breaks = False
        self.labels: set[tuple[int, int]] = set()
        self.groups = 0  # open \begingroup
        #: \definecolor names of this formula and of the post
        self.colors: set[str] = set(macros.colors) if isinstance(macros, KnownMacros) else set()
        self.tagforms: set[str] = set()
        self.let_optional: dict[str, int] = {}  # \let\x\sqrt: \x takes [..] too
        self.tag_rows: set[tuple[int, int]] = set()
        # \over & co per group, keyed by frame id and start (a closed frame's id is reused)
        self.genfracs: dict[tuple[int, int], int] = {}
        self.paired: set[str] = set()
        #: TeX programming met (position, what): the formula needs TeX's verdict
        self.uncertain: list[tuple[int, str]] = []
        #: the edits that hoist definitions (undone when the formula is uncertain)
        self.hoists: list[Edit] = []
        #: user macros with delimited parameters (\def\x[#1]{..}): left as written in text
        self.delimited: set[str] = set()
        #: the pending '^' follows primes (x'^x: LaTeX's prime macro reads it)
        self.prime_sup = False
        self._nocomment: str | None = None

    @abstractmethod
    def run(self) -> MathResult:
        """The whole pass (``mathcheck.Checker``); a translated argument runs its own."""

    # ---------------------------------------------------------------- reporting
    @property
    def nocomment(self) -> str:
        """The formula with each ``%`` comment (and its line end) blanked, same offsets:
        for reading what TeX reads across a comment (\\kern1 %...<newline>em)."""
        if self._nocomment is None:
            chars = list(self.raw)
            for tok, at in self.toks:
                if tok.startswith("%"):
                    stop = at + len(tok) + (1 if self.raw.startswith("\n", at + len(tok))
                                            else 0)
                    chars[at:stop] = " " * (stop - at)
            self._nocomment = "".join(chars)
        return self._nocomment

    def needs_tex(self, pos: int, what: str) -> None:
        """A construct only TeX can judge: no error; the formula goes to the probe."""
        self.uncertain.append((pos, what))

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
        self.edits.append(Edit(start, end, text))

    def need(self, package: str, pos: int | None = None) -> None:
        if package not in _TEMPLATE_PACKAGES:
            if package in mathtable.OPTIONAL_PACKAGES and pos is not None and \
                    not self.package_installed(package):
                self.err(pos, "math-package-missing", f"this needs the LaTeX package "
                         f"{package}, which is not installed here",
                         hint=mathtable.OPTIONAL_PACKAGES[package])
            self.result.packages.add(package)

    # ---------------------------------------------------------------- helpers
    @property
    def top(self) -> Frame:
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
        from md2tex.math.macros import read_group
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
            # LaTeX's optional argument ends at the first ']' outside braces ([{[x]}])
            from md2tex.math.macros import _read_bracket
            b = _read_bracket(self.raw, i)
            if b is not None:
                return b[0], i, b[1]
        return None

    def arg_end(self, pos: int) -> int:
        """Offset after one macro argument starting at ``pos`` (group or single token)."""
        g = self.group_at(pos)
        if g is not None:
            return g[2]
        m = TOKEN_RE.match(self.raw, pos)
        while m is not None and m.group(0).isspace():
            m = TOKEN_RE.match(self.raw, m.end())
        return m.end() if m is not None else pos

    def arg_text(self, pos: int) -> tuple[str, int]:
        g = self.group_at(pos)
        if g is not None:
            return g[0], g[2]
        end = self.arg_end(pos)
        return self.raw[pos:end].strip(), end

    def engine_table(self) -> Mapping[str, mathtable.MathJaxOnlyInfo]:
        """What the site's engine has and LaTeX lacks (the one lookup the checker uses). A
        macro body may use any engine's: its preamble line provides them
        (``macros.Definition.latex``)."""
        return mathtable.translations(None if self.macro_body else self.engine)

    def arity(self, name: str) -> int:
        if name in self.user:
            return self.user[name]
        info = mathtable.macro(name)
        return info.args if info is not None else 0

    # ---------------------------------------------------------------- atoms and scripts
    def atom(self, what: str) -> None:
        f = self.top
        if self.expect_script:
            self.expect_script = ""
            f.last = "script"
            return
        f.sup, f.sub = 0, False
        f.last = what
        f.nucleus = what
        if f.kind == "root" and not what.startswith("env"):
            self.root_content.append(0)

    def script(self, tok: str, pos: int) -> None:
        f = self.top
        if tok == "'" and self.expect_script == "^" and self.prime_sup:
            # x'^': LaTeX's prime macro joins ^ and the next token to the primes
            self.expect_script = ""
            self.prime_sup = False
            f.last = "script"
            return
        self.prime_sup = tok == "^" and f.sup == 1
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

    # ---------------------------------------------------------------- groups
    def push_group(self, pos: int) -> None:
        parent = self.top
        if len(self.stack) > MAX_DEPTH:
            raise TooDeep(pos)
        g = Frame("group", pos, text=parent.text)
        if self.expect_script:
            g.script_arg = True
            self.expect_script = ""
        elif parent.arg_groups > 0:
            g.script_arg = parent.last == "script"
            g.is_arg = not g.script_arg
            g.owner = parent.last[6:] if parent.last.startswith("macro:") else ""
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
        if f.breaks:
            self.stack_group(f, pos)
        if f.close_text is not None:
            self.edit(pos, pos + 1, f.close_text)
        parent = self.top
        if f.script_arg:
            parent.last = "script"
        elif f.is_arg:
            pass
        else:
            self.accent_group(f, pos)
            self.atom("group")

    def stack_group(self, f: Frame, pos: int) -> None:
        """A brace group holding ``\\\\`` that KaTeX breaks inside: its lines stacked, as a
        script's (``\\substack``) or as a centred block (``gathered``), which TeX takes
        anywhere, where a bare ``\\\\`` in braces ends an alignment row ("Missing }")."""
        how, opener, closer = ("substack", "\\substack{", "}") if f.script_arg else \
            ("gathered", "\\begin{gathered}", "\\end{gathered}")
        self.edit(f.pos + 1, f.pos + 1, opener)
        self.edit(pos, pos, closer)
        self.fixed(f.pos, "math-group-break", "\\\\ inside braces breaks the line there as "
                   f"KaTeX does: the group's lines were stacked ({how})")

    def accent_group(self, f: Frame, pos: int) -> None:
        """``{\\hat{y}_a^b}^2``: amsmath's accents take a group that ends in an accent with
        scripts for the accent's own nucleus, so a script after the group is a double script
        in TeX; MathJax shows it. An empty group closing the braces keeps them apart."""
        following = self.raw[pos + 1:pos + 65].lstrip()
        if not (following[:1] in ("^", "_", "'") and (f.sup or f.sub)
                and f.nucleus.startswith("macro:") and mathtable.has(f.nucleus[6:], "accent")):
            return
        self.edit(pos, pos, "{}")
        self.fixed(pos, "mathjax-accent-group", "an accent with scripts closing a group that "
                   "takes a script of its own got an empty group after it (amsmath reads "
                   "them as one nucleus: a double script in TeX; MathJax shows it)")

    def flush_pending(self, f: Frame, pos: int) -> None:
        for text in reversed(f.pending):
            self.edit(pos, pos, text)
        f.pending.clear()

    def alignment_frame(self) -> Frame | None:
        for f in reversed(self.stack):
            if f.kind == "env":
                return f
        return None

    def alignment_frame_tags(self, start: int, stop: int) -> None:
        f = self.alignment_frame()
        if f is not None:
            f.tags.append((start, stop))

    # ---------------------------------------------------------------- nested formulas
    def sub_formula(self, text: str, pos: int) -> str:
        """An argument moved by a translation: validated and translated on its own (its
        errors are reported at ``pos``), returned as LaTeX."""
        sub = type(self)(text, self.loc, self.user, self.unicode, False)
        sub.let_delims = self.let_delims
        try:
            res = sub.run()
        except TooDeep:
            self.err(pos, "math-too-deep", f"braces nested more than {MAX_DEPTH} deep")
            return text
        for d in res.diagnostics:
            if d.severity.value == "error":
                self.err(pos, d.code, d.message, hint=d.hint)
        self.result.packages |= res.packages
        self.result.definitions.extend(res.definitions)
        return apply_edits(text, sub.edits)

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
