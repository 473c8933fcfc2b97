"""MathJax habits with a LaTeX form: aliases and MathJax-only commands, size switches,
HTML styling, ``\\require``, ``\\unicode`` and Unicode characters, dimensions in the
wrong unit or in braces, colours (CSS hex, MathJax 2's ``\\color{c}{x}``), ``\\tag``.

Why a module of its own: each of these is an edit of the raw text plus a ``mathjax-*`` note,
the part of the checker that changes a formula rather than judging it.
"""

from __future__ import annotations

import difflib
import re
import unicodedata

from md2tex import mathengine
from md2tex.escape import EMOJI_RE, placeholder, unicode_char
from md2tex.math import table as mathtable
from md2tex.math.macros import Definition
from md2tex.math.mhchem import ChemistryChecks, pu
from md2tex.math.registry import Registry
from md2tex.math.scan import DIMEN_PRIMITIVES, DIMEN_RE, Frame

#: size switches: LaTeX ignores them in math, MathJax applies them (wrapped in \\text)
SIZE_SWITCHES = frozenset(
    ["tiny", "scriptsize", "footnotesize", "small", "normalsize", "large", "Large", "LARGE",
     "huge", "Huge"])
#: ``\\rlap`` & co.: MathJax typesets them in math mode (mathtools' \\mathrlap...)
_LAP = {"rlap": "mathrlap", "llap": "mathllap", "clap": "mathclap"}
_REQUIRE = {"cancel": "cancel", "mathtools": "mathtools", "bm": "bm", "boldsymbol": "",
            "ams": "", "amscd": "amscd", "color": "", "braket": "braket", "upgreek": "upgreek",
            "gensymb": "gensymb", "mathrsfs": "mathrsfs", "esint": "esint",
            "newcommand": "", "html": "", "unicode": "", "bbox": "", "noundefined": "",
            "textmacros": "", "cases": "", "empheq": "empheq", "colortbl": "colortbl",
            "units": "units"}
#: argument(s) read verbatim: keys, URLs, dimensions, colours
RAW_ARGS = {"label": 1, "ref": 1, "eqref": 1, "href": 1, "url": 1, "hspace": 1,
            "vspace": 1, "mspace": 1, "kern": 0, "rule": 2, "textcolor": 1, "color": 1,
            "colorbox": 1, "fcolorbox": 2, "definecolor": 3, "raisebox": 1,
            "cellcolor": 1, "rowcolor": 1, "columncolor": 1, "pagecolor": 1,
            "setlength": 2, "addtolength": 2, "moveleft": 0, "moveright": 0,
            "hyperref": 0, "nolinkurl": 1, "multicolumn": 2, "cline": 1,
            "ce": 1}
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
               "\u00f7": "\\div", "\u00ac": "\\neg", "\u221e": "\\infty", "\u2032": "\\prime",
               "\u2660": "\\spadesuit", "\u2661": "\\heartsuit", "\u2662": "\\diamondsuit",
               "\u2663": "\\clubsuit", "\u2665": "\\heartsuit", "\u2666": "\\diamondsuit"}


#: MathJax habits rewritten into LaTeX, by command name (looked up after the operand checks
#: and before the macro table)
TRANSLATIONS: Registry[Translations] = Registry("translations")


class Translations(ChemistryChecks):
    """MathJax-only commands and habits rewritten as LaTeX (with a note each)."""

    @TRANSLATIONS(*_LAP)
    def lap(self, i: int, name: str, pos: int, end: int) -> int | None:
        self.edit(pos, end, "\\" + _LAP[name])
        self.result.packages.add("mathtools")
        self.fixed(pos, "mathjax-lap", f"\\{name} in math became \\{_LAP[name]} (MathJax "
                   f"typesets \\{name} in math mode; LaTeX needs mathtools' "
                   f"\\{_LAP[name]})", fix=f"\\{_LAP[name]}")
        self.atom("macro:" + name)
        return i + 1

    @TRANSLATIONS("require")
    def require(self, i: int, name: str, pos: int, end: int) -> int | None:
        arg, stop = self.arg_text(end)
        pkg = _REQUIRE.get(arg.strip())
        if pkg:
            self.need(pkg)
        self.edit(pos, stop, "")
        self.fixed(pos, "mathjax-require", f"\\require{{{arg}}} (MathJax) was dropped"
                   + (f"; package {pkg} is loaded" if pkg else ""))
        self.skip_to = stop
        return self.tok_index_at(stop, i)

    @TRANSLATIONS("bbox", "class", "cssId", "style")
    def html_styling(self, i: int, name: str, pos: int, end: int) -> int | None:
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

    @TRANSLATIONS("pu")
    def units(self, i: int, name: str, pos: int, end: int) -> int | None:
        g = self.group_at(end)
        out = pu(g[0]) if g is not None else None
        if g is None or out is None:
            return None  # reported as MathJax-only
        self.edit(pos, g[2], "{" + out + "}")
        self.fixed(pos, "mathjax-pu", f"\\pu{{{g[0]}}} (mhchem units, which this TeX's "
                   f"mhchem lacks) became {out}", fix=out)
        self.atom("macro:" + name)
        self.skip_to = g[2]
        return self.tok_index_at(g[2], i)

    @TRANSLATIONS("unicode")
    def unicode_command(self, i: int, name: str, pos: int, end: int) -> int | None:
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

    @TRANSLATIONS("tag")
    def tag(self, i: int, name: str, pos: int, end: int) -> int | None:
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

    def unknown(self, i: int, name: str, pos: int, end: int) -> int:
        mj = self.engine_table().get(name)
        if mj is not None and mj.latex_equivalent:
            return self.substitute(i, name, pos, end, mj.args, mj.latex_equivalent)
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
        engine = "KaTeX" if self.engine == "katex" else "MathJax"
        self.fixed(pos, "mathjax-alias", f"\\{name} ({engine}) became {out.strip()}", fix=out)
        if nargs == 0:
            self.atom("macro:" + name)
            return i + 1
        self.atom("macro:" + name)
        self.skip_to = stop
        return self.tok_index_at(stop, i)

    @TRANSLATIONS(*SIZE_SWITCHES)
    def size_switch(self, i: int, name: str, pos: int, end: int) -> int:
        f = self.top
        before = self.raw[:pos]
        at = before.rfind("[")
        opener = re.search(r"\\([A-Za-z]+|\\)\*?\s*$", before[:at]) if at >= 0 else None
        info = mathtable.macro(opener.group(1)) if opener is not None else None
        if at >= 0 and "]" not in before[at:] and opener is not None and (
                opener.group(1) == "\\" or (info is not None and info.optional > 0)):
            # a \text box cannot span the ']'; a root index or row skip has its own size
            self.edit(pos, end, "")
            self.fixed(pos, "math-size-switch", f"\\{name} inside [...] (an optional "
                       "argument) was dropped: LaTeX cannot apply it there")
            return i + 1
        # the box's math starts in text style: a display formula's own style is kept
        af = self.alignment_frame()
        display_cells = af is None or mathtable.environment_has(af.env, "display-cells")
        style = "\\displaystyle " if self.display and display_cells \
            and not any(x.script_arg or x.is_arg for x in self.stack) else ""
        self.edit(pos, end, f"\\text{{\\{name}${style}")
        f.pending.append("$}")
        self.fixed(pos, "math-size-switch", f"\\{name} in math was wrapped in \\text so it "
                   "takes effect (LaTeX ignores size switches in math mode)")
        return i + 1

    @TRANSLATIONS(*DIMEN_PRIMITIVES)
    def dimension(self, i: int, name: str, pos: int, end: int) -> int:
        """\\kern, \\hskip, \\mkern, \\mskip, \\mspace, \\raise, \\lower: TeX reads a
        dimension (MathJax also takes it in braces). The dimension is checked (mu units
        where TeX wants them) and written the way TeX reads it."""
        mu = name in ("mkern", "mskip", "mspace")
        g = self.group_at(end)
        if g is not None:
            text, stop = g[0], g[2]
        else:
            m = DIMEN_RE.match(self.nocomment, end)
            text, stop = (m.group(0), m.end()) if m else ("", end)
        m = DIMEN_RE.fullmatch(text.strip())
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
            self.stack.append(Frame("group", box[1], close_text="$}"))
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

    # ---------------------------------------------------------------- colours and raw arguments
    def raw_args(self, i: int, name: str, end: int, n: int) -> int:
        stop = end
        b = self.bracket_at(stop)
        if b is not None:
            stop = b[2]
            if mathtable.has(name, "color"):
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
            if mathtable.has(name, "color") and (g[0].strip().startswith("#") or (
                    b is None and (_ == 0 or name == "fcolorbox"))):
                self.color_arg(g, name == "colorbox" or (name == "fcolorbox" and _ == 1))
            if name == "definecolor" and _ == 0:
                self.colors.add(g[0].strip())
            if name == "ce":
                self.ce_arg(g, self.toks[i][1])
            if name in ("href", "url", "nolinkurl") and re.search(r"(?<!\\)[#%]", g[0]):
                self.edit(g[1], g[2], "{" + re.sub(r"(?<!\\)([#%])", r"\\\1", g[0]) + "}")
            stop = g[2]
        if name == "definecolor" and b is None:
            self.hoist_color(self.toks[i][1], end, stop)
        if name == "color" and mathengine.rules(self.engine).color_takes_argument:
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

    def color_arg(self, g: tuple[str, int, int], background: bool) -> None:
        """A colour argument as the browser reads it: CSS hex (``#f80``) and CSS names
        (``grey``, ``DarkOrange``) are defined for LaTeX; a colour neither knows is the
        default one (the current colour; no background), with a warning."""
        text = g[0].strip()
        hexa = text[1:] if text.startswith("#") and re.fullmatch(
            r"[0-9A-Fa-f]{3}|[0-9A-Fa-f]{6}", text[1:]) else None
        if hexa is None and not text.startswith("#"):
            if self.color_name(text):
                return
            hexa = mathtable.css_color(text)
        if hexa is not None:
            hexa = hexa.upper() if len(hexa) == 6 else "".join(c * 2 for c in hexa.upper())
            # xcolor takes a model before each colour argument (\fcolorbox too)
            self.edit(g[1], g[2], f"[HTML]{{{hexa}}}")
            self.fixed(g[1], "math-css-color", f"CSS colour {text} became [HTML]{{{hexa}}}")
            return
        default = "white" if background else "."
        self.edit(g[1], g[2], "{" + default + "}")
        self.warn(g[1], "math-color", f"colour '{text}' is neither a LaTeX (xcolor) nor a CSS "
                  "colour: the browser shows the default colour, and so does the PDF",
                  fix="use #rrggbb or a name such as red, blue, ForestGreen")

    def hoist_color(self, pos: int, end: int, stop: int) -> None:
        """``\\definecolor{name}{model}{value}`` in a formula: to the preamble (MathJax keeps
        the colour for the later formulas too)."""
        g1 = self.group_at(end)
        g2 = self.group_at(g1[2]) if g1 else None
        g3 = self.group_at(g2[2]) if g2 else None
        if g1 is None or g2 is None or g3 is None or g3[2] != stop or \
                not re.fullmatch(r"[A-Za-z][\w.-]*", g1[0].strip()):
            return
        self.result.definitions.append(Definition(g1[0].strip(), body=g3[0].strip(),
                                                  kind="color", params=g2[0].strip()))
        self.edit(pos, stop, "")
        self.hoists.append(self.edits[-1])
        self.fixed(pos, "math-definition-hoisted", f"colour {g1[0].strip()} (\\definecolor) "
                   "moved to the preamble")

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
        if out is None or out == ch or not self.usable(out):
            return self.missing_glyph(ch, pos)
        self.verify_latex(out, pos)
        if out.startswith("\\ensuremath{") and out.endswith("}"):
            return "{" + out[len("\\ensuremath{") : -1] + "}"
        command = re.fullmatch(r"(\\[A-Za-z]+)(?:\{\})?", out)
        info = mathtable.macro(command.group(1)[1:]) if command is not None else None
        if command is not None and info is not None and info.mode == "math":
            return "{" + command.group(1) + "}"  # a math symbol (\flat for ♭)
        return "\\text{" + out + "}"

    def usable(self, latex: str) -> bool:
        """Whether every command of a character's LaTeX exists here: pylatexenc also
        answers with commands of packages md2tex does not load (``\\verymuchless`` for ⋘)."""
        return all(mathtable.macro(n) is not None or n in self.user
                   for n in re.findall(r"\\([A-Za-z]+)", latex))

    def missing_glyph(self, ch: str, pos: int) -> str:
        """A character without a usable LaTeX command: under xelatex/lualatex text, in the
        fonts the post's scripts chose (as the text does); under pdflatex (``⚀``) and for
        private-use characters, a visible placeholder with a warning; never a TeX error."""
        if self.unicode and not EMOJI_RE.match(ch):
            return "\\text{" + ch + "}"
        self.warn(pos, "missing-character", f"character '{ch}' (U+{ord(ch):04X}) has no "
                  "glyph in the PDF's fonts: a placeholder is printed",
                  fix="write its LaTeX command instead")
        return "\\text{" + placeholder(ch) + "}"

    def unicode_math(self, i: int, ch: str, pos: int) -> None:
        nfd = unicodedata.normalize("NFD", ch)
        if self.unicode and not (ch in _MATH_CHARS or ch in _SUBSCRIPTS or ch in _SUPERSCRIPTS
                                 or (len(nfd) == 2 and nfd[1] in _COMBINING and nfd[0].isascii())
                                 or (unicode_char(ch) or "").startswith("\\ensuremath{")):
            # no unicode-math: the math fonts are the classic ones, which have no Unicode
            # letters; what has a math command gets it (below), the rest is text-font text
            if EMOJI_RE.match(ch):
                self.edit(pos, pos + 1, self.missing_glyph(ch, pos))
            elif unicodedata.category(ch) != "Zs":
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
