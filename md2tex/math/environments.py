"""Environments and alignments: ``\\begin``/``\\end``, '&' and row ends counted
against each environment's columns, column specs, and what a display environment becomes
when it is not the whole formula.

Why a module of its own: the column rules (array specs, alignat pairs, matrix limits,
split's one '&') and the inner forms (align → aligned) are one body of amsmath knowledge,
separate from the checks of single commands.
"""

from __future__ import annotations

import difflib
import re

from md2tex.math import table as mathtable
from md2tex.math.macros import read_group
from md2tex.math.scan import DIMEN_RE, Frame, Scanner

#: display environments turned into their inner forms when mixed with other math
_INNER_FORM = {"align": "aligned", "align*": "aligned", "gather": "gathered",
               "gather*": "gathered", "alignat": "alignedat", "alignat*": "alignedat",
               "flalign": "aligned", "flalign*": "aligned", "multline": "gathered",
               "multline*": "gathered", "equation": "", "equation*": "", "eqnarray": "aligned",
               "eqnarray*": "aligned", "displaymath": "", "split": "aligned",
               "xalignat": "alignedat", "xalignat*": "alignedat", "empheq": "",
               "numcases": "", "subnumcases": "", "xxalignat": ""}
#: & allowed per row (None: any number)
TABS: dict[str, int | None] = {
    "equation": 0, "equation*": 0, "gather": 0, "gather*": 0, "gathered": 0,
    "multline": 0, "multline*": 0, "displaymath": 0, "cases": 1, "cases*": 1, "dcases": 1,
    "dcases*": 1, "rcases": 1, "rcases*": 1, "drcases": 1, "split": 1, "eqnarray": 2,
    "numcases": 1, "subnumcases": 1,
    "eqnarray*": 2, "multlined": 0, "CD": 0}
COLUMN_SPEC_ENVS = {"array", "darray", "subarray", "tabular", "crampedsubarray"}
_DISPLAY = ">{\\displaystyle}"
#: environments with fixed columns that are arrays underneath, as the array that takes extra
#: cells: (before, after, spec of the first columns, spec of each extra one, separator)
_WIDE_FORMS: dict[str, tuple[str, str, tuple[str, ...], str, str]] = {
    "cases": ("\\left\\{", "\\right.", ("l", "l"), "l", "@{\\quad}"),
    "dcases": ("\\left\\{", "\\right.", (_DISPLAY + "l",) * 2, _DISPLAY + "l", "@{\\quad}"),
    "rcases": ("\\left.", "\\right\\}", ("l", "l"), "l", "@{\\quad}"),
    "drcases": ("\\left.", "\\right\\}", (_DISPLAY + "l",) * 2, _DISPLAY + "l",
                "@{\\quad}"),
    "eqnarray": ("", "", (_DISPLAY + "r", _DISPLAY + "c", _DISPLAY + "l"), _DISPLAY + "l", ""),
    "eqnarray*": ("", "", (_DISPLAY + "r", _DISPLAY + "c", _DISPLAY + "l"), _DISPLAY + "l",
                  ""),
}
#: where a row may have more cells than columns (MathJax's leniency)
_WIDENABLE = frozenset({"array", "darray", *_WIDE_FORMS})
MAX_MATRIX_COLS = 10


def no_rows(env: str) -> bool:
    """Whether \\cr and \\hline have no rows to end in ``env`` ("": no environment)."""
    return env == "" or mathtable.environment_has(env, "no-rows")


def is_matrix(env: str) -> bool:
    """Whether ``env`` is a matrix (no column spec; MathJax allows any number of cells)."""
    return mathtable.environment_has(env, "matrix")


class EnvironmentChecks(Scanner):
    """Environments, alignment cells and rows, column specs."""

    # ---------------------------------------------------------------- alignment
    def ampersand(self, pos: int) -> None:
        f = self.top
        self.atom("amp")
        f.sup, f.sub = 0, False
        if (f.kind == "env" and f.close_text is None) or (f.kind == "group" and \
                f.close_text is not None):
            self.flush_pending(f, pos)
            f.tabs += 1
            f.row_cols = max(f.row_cols, f.tabs + 1)
            if f.tabs == 2 and f.kind == "env":
                f.second_tabs.append(pos)
            if f.env == "split" and f.tabs > 1:
                f.split_wide = True
                return
            if f.max_tabs is not None and f.tabs > f.max_tabs and not f.tab_error and \
                    (f.env not in _WIDENABLE or f.kind != "env"):
                f.tab_error = True
                self.tab_error(f, pos)
            return
        outer = self.alignment_frame()
        if f.kind == "group" and f.owner == "Aboxed" and outer is not None:
            return  # mathtools' \Aboxed{a &= b} splits its argument at the '&' itself
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

    def tab_error(self, f: Frame, pos: int) -> None:
        env = f.env
        limit = f.max_tabs or 0
        if env in COLUMN_SPEC_ENVS:
            self.err(pos, "math-array-columns", f"this row has more cells than the "
                     f"{limit + 1} column{'s' if limit else ''} of the {env}'s column spec",
                     hint="add columns to the spec, e.g. {ccc}")
        elif mathtable.environment_has(env, "alignat"):
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
        if f.kind == "root":
            self.root_breaks = True
        f.tabs = 0
        f.tab_error = False
        f.sup, f.sub = 0, False

    def row_skip(self, at: int) -> None:
        """``\\\\[1ex]``: a dimension, not in mu (MathJax takes mu; converted to em)."""
        b = self.bracket_at(at)
        if b is None:
            return
        m = DIMEN_RE.fullmatch(b[0].strip())
        if m is None:
            self.err(b[1], "math-dimension", f"\\\\[{b[0]}]: the space after a line break "
                     "must be a dimension such as 1ex")
        elif m.group(2).lower() == "mu":
            em = float(m.group(1).replace(" ", "").replace(",", ".")) / 18
            self.edit(b[1], b[2], f"[{em:.4g}em]")
            self.fixed(b[1], "mathjax-dimension", f"\\\\[{b[0]}] became [{em:.4g}em] (mu is "
                       "only valid in math spacing)")

    # ---------------------------------------------------------------- environments
    def environment(self, i: int, kind: str, pos: int, end: int) -> int:
        g = self.group_at(end)
        if g is None:
            self.err(pos, "math-env-mismatch", f"\\{kind} needs an environment name in braces")
            return i + 1
        name = g[0].strip()
        name_span = (g[1] + 1, g[2] - 1)
        stop = g[2]
        alias = self.engine_table().get("{" + name + "}")
        column_prefix = ""
        if alias is not None and mathtable.environment(name) is None:
            # an environment of the site's engine LaTeX lacks (KaTeX's darray): its LaTeX twin,
            # and what goes before each column of its spec (">{\displaystyle}")
            twin, _sp, column_prefix = alias.latex_equivalent.partition(" ")
            self.edit(name_span[0], name_span[1], twin)
            if kind == "begin":
                self.fixed(pos, "katex-environment", f"{name} ({self.engine}) became {twin}")
            name = twin
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
            f = Frame("env", pos, env=name, max_tabs=TABS.get(name))
            f.name_span = name_span
            if is_matrix(name):
                f.max_tabs = None
            if name == "empheq":
                b = self.bracket_at(stop)
                inner = self.group_at(b[2] if b else stop)
                if inner is None or not mathtable.environment_has(inner[0].strip(),
                                                                  "empheq-inner"):
                    self.err(pos, "math-env-option", "empheq needs an amsmath environment "
                             "name, e.g. \\begin{empheq}{align}")
            if name in COLUMN_SPEC_ENVS:
                spec = self.group_at(stop)
                if spec is not None:
                    cols = self.count_columns(spec[0], spec[1])
                    f.max_tabs = None if cols is None else max(cols - 1, 0)
                    if name in ("subarray", "crampedsubarray"):
                        f.max_tabs = 0  # amsmath's subarray has one column, whatever the spec
                    f.spec_span = (spec[1], spec[2])
                    stop = spec[2]
                    if column_prefix:
                        self.prefix_columns(spec[0], spec[1] + 1, column_prefix)
            elif mathtable.environment_has(name, "alignat"):
                num = self.group_at(stop)
                if num is not None and re.fullmatch(r"\s*-?\d+\s*", num[0]):
                    # TeX takes 0 and negative numbers too (no column count then)
                    count = int(num[0].strip())
                    f.max_tabs = 2 * count - 1 if count > 0 else None
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
        f.end_pos = pos
        if f.max_tabs is not None and f.row_cols > f.max_tabs + 1 and f.env in _WIDENABLE:
            self.widen(f)
        if is_matrix(f.env) and f.row_cols > MAX_MATRIX_COLS:
            self.result.max_matrix_cols = max(self.result.max_matrix_cols, f.row_cols)
            self.fixed(f.pos, "math-matrix-columns", f"{f.env} with {f.row_cols} columns: "
                       "the preamble raises amsmath's MaxMatrixCols (10)")
        if f.env in _INNER_FORM:
            self.envs.append(f)
        self.atom("env")
        self.skip_to = stop
        return self.tok_index_at(stop, i)

    def prefix_columns(self, spec: str, at: int, prefix: str) -> None:
        """``prefix`` before each column letter of a column spec."""
        self.need("array")
        for k in _column_letters(spec):
            self.edit(at + k, at + k, prefix)

    def widen(self, f: Frame) -> None:
        """Rows with more cells than the environment has columns: MathJax typesets them (the
        last column's alignment goes on), LaTeX stops. An array gets the missing columns in
        its spec; cases and eqnarray become the array they are, with the extra columns."""
        cols = f.max_tabs + 1 if f.max_tabs is not None else 0
        extra = f.row_cols - cols
        if f.env in COLUMN_SPEC_ENVS:
            s0, s1 = f.spec_span
            letters = [self.raw[s0 + 1 + k] for k in _column_letters(self.raw[s0 + 1 : s1 - 1])]
            self.edit(s1 - 1, s1 - 1, (letters[-1] if letters else "l") * extra)
        else:
            left, right, first, rest, sep = _WIDE_FORMS[f.env]
            spec = sep.join([first[k] if k < len(first) else rest
                             for k in range(f.row_cols)])
            if sep != "":
                spec = f"@{{}}{spec}@{{}}"
            self.need("array")
            self.edit(f.pos, f.name_span[1] + 1, f"{left}\\begin{{array}}{{{spec}}}")
            self.edit(f.end_pos, f.end_span[1] + 1, f"\\end{{array}}{right}")
        self.fixed(f.pos, "mathjax-extra-cells", f"a row of this {f.env} has {f.row_cols} "
                   f"cells for its {cols} column{'s' if cols > 1 else ''}: MathJax shows them "
                   f"all, so {extra} column{'s were' if extra > 1 else ' was'} added")
        f.widened, f.env = f.env, "array"

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
                if not (DIMEN_RE.fullmatch(width) or re.fullmatch(
                        r"\s*[\d.]*\s*\\(?:linewidth|textwidth|columnwidth|hsize)\s*", width)):
                    self.err(at, "math-array-spec", f"'{c}{{{width}}}': the column width must "
                             "be a dimension such as 2cm")
                    return None
                n += 1
                k = g
                continue
            elif c in "@!<>":
                if read_group(s, k + 1) is None:
                    self.err(at, "math-array-spec", f"'{c}' in a column spec needs its "
                             f"material in braces: {c}{{...}}")
                    return None
                g_end = self.raw_group(s, k + 1)
                if "\\\\" in s[k + 1 : g_end]:
                    self.err(at, "math-array-spec", f"'\\\\' inside {c}{{...}} of a column spec")
                    return None
                if c != "@":
                    self.need("array")  # !{} >{} <{} are the array package's
                for name in re.findall(r"\\([A-Za-z]+)", s[k + 1 : g_end]):
                    info = mathtable.macro(name)
                    if info is not None:
                        self.need(info.package, at)  # >{\columncolor{..}}: colortbl
                    elif name not in self.user:
                        self.err(at, "math-undefined", f"undefined control sequence \\{name}")
                k = g_end
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
        g = read_group(s, k)
        return g[1] if g is not None else len(s)


def resolve_environments(ck: Scanner, display: bool, numbered: bool) -> None:
    """Whole-formula amsmath environments stay; others become aligned/gathered."""
    res = ck.result
    whole: Frame | None = None
    if display and len(ck.root_envs) == 1 and not ck.root_content and \
            ck.root_envs[0].env in _INNER_FORM and ck.root_envs[0].env != "split" and \
            not _tag_outside(ck, ck.root_envs[0]):
        whole = ck.root_envs[0]
    for f in ck.envs:
        if f is whole:
            name = f.env
            if name in _EQNARRAY_AS_ALIGN and ck.tags and f.row_cols <= 3:
                name = _eqnarray_as_align(ck, f)
            if mathtable.environment_has(name, "numbered") and not numbered:
                name += "*"
            if name != f.env:
                _rename(ck, f, name)
            res.environment = name
            continue
        if f.env == "split" and display and not f.split_wide:
            continue
        if mathtable.environment_has(f.env, "alone"):
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
    if display and numbered and len(ck.root_envs) == 1 and not ck.root_content and \
            ck.root_envs[0].widened == "eqnarray" and not ck.tags:
        # a numbered eqnarray that became an array keeps a number (its \label works)
        ck.edit(0, 0, "\\begin{equation}")
        ck.edit(len(ck.raw), len(ck.raw), "\\end{equation}")
        res.environment = "equation"
        return
    if ck.root_breaks and display and ck.engine == "katex" and len(ck.tags) <= 1:
        # KaTeX breaks display math at a top-level \\ (MathJax and LaTeX ignore it); its
        # \tag stays on the whole display, so it moves out of the block (below)
        ck.edit(0, 0, "\\begin{gathered}")
        ck.edit(len(ck.raw), len(ck.raw), "\\end{gathered}")
        ck.fixed(0, "katex-line-break", "a top-level \\\\ in display math breaks the line "
                 "as KaTeX does: the formula was put in gathered")
        ck.tags = [(start, stop, True) for start, stop, _in_env in ck.tags]
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
        ck.edit(start, _line_rest(ck.raw, start, stop), "")
        ck.edit(len(ck.raw), len(ck.raw), " " + text)
        ck.fixed(start, "math-tag-moved", "\\tag moved to the end of the formula (amsmath "
                 "does not allow it inside aligned or gathered)")


#: amsmath's ``\\tag`` is not allowed in LaTeX's eqnarray; MathJax numbers its rows by
#: their tags, as align does
_EQNARRAY_AS_ALIGN = {"eqnarray": "align", "eqnarray*": "align*"}


def _eqnarray_as_align(ck: Scanner, f: Frame) -> str:
    """A whole-formula eqnarray with ``\\tag`` becomes align (``a &=& b`` → ``a &= b``:
    each row's second ``&`` dropped), where a tag per row is allowed; returns the new name."""
    new = _EQNARRAY_AS_ALIGN[f.env]
    for pos in f.second_tabs:
        ck.edit(pos, pos + 1, "")
    ck.fixed(f.pos, "math-eqnarray-tag", f"{f.env} with \\tag became {new} (amsmath "
             "allows \\tag in align, not in eqnarray; MathJax shows the tags)")
    return new


def _line_rest(raw: str, start: int, stop: int) -> int:
    """Where a removed ``raw[start:stop]`` ends: with its line's end when it stood on a line
    of its own, so no blank line (a paragraph break, which TeX refuses in math) is left."""
    line_start = raw.rfind("\n", 0, start) + 1
    rest = len(raw) - len(raw[stop:].lstrip(" \t"))
    if raw[line_start:start].strip() or not raw.startswith("\n", rest):
        return stop
    return rest + 1


def _tag_outside(ck: Scanner, f: Frame) -> bool:
    """A ``\\tag`` beside the environment (``\\end{align}\\tag{3}``, which MathJax puts on
    the whole display): the environment then becomes its inner form under that tag."""
    return any(start < f.pos or start >= f.end_span[1] for start, _stop, _in in ck.tags)


def _column_letters(spec: str) -> list[int]:
    """Offsets of the l/c/r columns of a column spec (not the letters inside its groups)."""
    out = []
    depth = 0
    for k, c in enumerate(spec):
        depth += (c == "{") - (c == "}")
        if depth == 0 and c in "lcr":
            out.append(k)
    return out


def _env_option_ok(env: str, opt: str) -> bool:
    """The ``[...]`` after ``\\begin{env}``: matrix* takes a column alignment, multlined a
    position (and width), aligned & co a vertical position."""
    o = opt.strip()
    if env.endswith("matrix*") or env.endswith("smallmatrix*"):
        return o in ("l", "c", "r")
    if env == "multlined":
        return o in ("t", "c", "b") or DIMEN_RE.fullmatch(o) is not None
    if env in ("aligned", "alignedat", "gathered"):
        return o in ("t", "c", "b")
    return True


def _rename(ck: Scanner, f: Frame, new: str) -> None:
    b0, b1 = f.name_span
    e0, e1 = f.end_span
    ck.edit(b0, b1, new)
    ck.edit(e0, e1, new)
