"""What a formula says, as the site's engine shows it: each construct below is written as a
small post of our own, converted, typeset by the installed TeX and read back with
``pdftotext`` (nothing mocked)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from helpers import build, codes, needs_engine, needs_tex, pdf_text, pdf_words, squash

import md2tex
from md2tex.math import table as mathtable
from md2tex.math.commands import _OLD_FORMS as OLD_FORMS
from md2tex.math.macros import definitions_from_text
from md2tex.math.safe import _known_macro as safe_whitelist
from md2tex.math.translate import TRANSLATIONS

pytestmark = needs_tex


def typeset(tmp_path: Path, markdown: str, **options: Any) -> tuple[md2tex.Document, str]:
    """The post converted with ``options``, built to a PDF, and the PDF's text."""
    doc = md2tex.convert(markdown, md2tex.Options(**options), path="post.md")
    assert doc.ok, [(d.code, d.message) for d in doc.diagnostics]
    engine = options.get("engine", "pdflatex")
    return doc, pdf_text(build(doc, tmp_path / f"post-{engine}.pdf"))


def test_rows_with_extra_cells(tmp_path: Path) -> None:
    md = ("Cases:\n\n$$f = \\begin{cases} \\text{alpha} & \\text{beta} & \\text{gamma} \\\\ "
          "1 & 2 \\end{cases}$$\n\nEqnarray:\n\n$$\\begin{eqnarray} a & = & b & "
          "\\text{delta} \\end{eqnarray}$$\n\nArray:\n\n$$\\begin{array}{cc} p & q & "
          "\\text{epsilon} \\end{array}$$\n\nAligned:\n\n$$\\begin{aligned} u & = v & "
          "\\text{zeta} \\end{aligned}$$\n")
    doc, text = typeset(tmp_path, md)
    assert codes(doc).count("mathjax-extra-cells") == 3
    for word in ("alpha", "beta", "gamma", "delta", "epsilon", "zeta"):
        assert word in text


def test_numbered_eqnarray_with_extra_cells_keeps_its_number(tmp_path: Path) -> None:
    md = ("$$\\begin{eqnarray} a &=& b & \\text{extra} \\label{eq:wide} \\\\ c &=& d "
          "\\end{eqnarray}$$\n\nSee $\\eqref{eq:wide}$.\n")
    doc, text = typeset(tmp_path, md)
    assert "mathjax-extra-cells" in codes(doc)
    assert "See (1)" in squash(text) and "extra" in text


def test_newcommand_name_without_backslash(tmp_path: Path) -> None:
    md = "$$\\newcommand{iid}{\\overset{\\text{indep}}{\\sim}} X \\iid P$$\n"
    doc, text = typeset(tmp_path, md)
    assert "\\iid" in doc.tex and "indep" in text


def test_safe_mode_keeps_in_step(tmp_path: Path) -> None:
    """--safe expands \\newcommand{name} too and lets the engine's environments through."""
    md = ("$$\\newcommand{iid}{\\text{safeiid}} X \\iid Y \\begin{darray}{c} "
          "\\text{cell} \\end{darray}$$\n")
    _doc, text = typeset(tmp_path, md, safe=True, math_engine="katex")
    assert "safeiid" in text and "cell" in text


def test_safe_mode_takes_what_check_translates() -> None:
    """--safe lets through every command the checker rewrites (one set of tables decides):
    ``\\amp`` becomes ``\\&`` with or without --safe, and is not refused."""
    for safe in (False, True):
        doc = md2tex.convert("Text $a \\amp b$ and $\\lt x$.\n", md2tex.Options(safe=safe))
        assert "$a \\& b$" in doc.tex and "$< x$" in doc.tex
        assert codes(doc) == ["mathjax-alias", "mathjax-alias"]
    for name in [*mathtable.translations(None), *TRANSLATIONS]:
        if not name.startswith("{"):  # environments: checked by the emitter
            assert safe_whitelist(name, True), name
    for name, env in OLD_FORMS.items():  # \pmatrix{...}: a row, so --safe takes it too
        assert mathtable.mathjax_only()[name].latex_equivalent == \
            f"\\begin{{{env}}}#1\\end{{{env}}}"
    doc = md2tex.convert("$$\\array{a&b\\\\c&d}$$\n", md2tex.Options(safe=True))
    assert "\\begin{matrix}" in doc.tex and codes(doc) == ["math-old-form"]


def test_macro_body_as_unbraced_script(tmp_path: Path) -> None:
    md = ("$$\\newcommand{\\w}{\\boldsymbol{\\theta}}$$\n\nThe loss $L_\\w$ and "
          "$x^\\w_2$ and $Z_\\rm{masked}$ end.\n")
    doc, text = typeset(tmp_path, md)
    assert codes(doc).count("math-script-brace") == 3
    assert "L_{\\w}" in doc.tex and "Z_{\\rm{masked}}" in doc.tex
    assert "masked" in text and text.count("θ") == 2


def test_def_in_one_block_used_in_a_later_one(tmp_path: Path) -> None:
    md = ("$$\\def\\foo{\\text{reused}}$$\n\nProse between.\n\n$$\\foo + 1$$\n\n"
          "And inline $\\foo$ too.\n")
    doc, text = typeset(tmp_path, md)
    assert "\\def\\foo{\\text{reused}}" in doc.tex
    assert squash(text).count("reused") == 2


def test_engine_commands_in_macro_bodies(tmp_path: Path) -> None:
    """A body reaches the preamble as written: the engine's own commands it uses are
    provided there."""
    md = ("$$\\newcommand{\\ltt}{\\lt} \\newcommand{\\RR}{\\R} a \\ltt b, c \\in \\RR$$\n")
    doc, text = typeset(tmp_path, md, math_engine="katex")
    assert "\\providecommand{\\lt}{<}" in doc.tex
    assert "a < b" in text or "a<b" in text.replace(" ", "")
    # a front matter macro of a KaTeX site
    md = '---\nmacros:\n  RRR: "\\\\R^3"\n---\nSpace $\\RRR$ here.\n'
    doc, text = typeset(tmp_path, md, math_engine="katex")
    assert "macro-definition" not in codes(doc) and "Space R3 here" in squash(text)


def test_macros_named_like_tex_internals(tmp_path: Path) -> None:
    """MathJax scopes \\newcommand{\\or} to math; in LaTeX \\or is every \\ifcase's: the
    macro gets a private name, its uses too."""
    md = ("$$\\newcommand{\\and}{\\wedge} \\newcommand{\\or}{\\vee} p \\or q \\and r$$\n\n"
          "A table forces \\ifcase: $\\begin{array}{c} s \\or t \\end{array}$.\n")
    doc, text = typeset(tmp_path, md)
    assert "\\renewcommand{\\mdtexor}{\\vee}" in doc.tex and "\\renewcommand{\\or}" not in doc.tex
    vee, wedge = "\u2228", "\u2227"
    flat = squash(text).replace(" ", "")
    assert f"p{vee}q{wedge}r" in flat and f"s{vee}t" in flat


def test_site_macro_file_comment_mentions_newcommand(tmp_path: Path) -> None:
    site = ("% old: \\newcommand{\\broken}{\\frac{  -- kept for reference\n"
            "\\newcommand{\\site}{\\text{fromsite}} % \\newcommand{\\x}{never}\n"
            "\\newcommand{\\pct}{50\\%}\n")
    defs, errors = definitions_from_text(site)
    assert [d.name for d in defs] == ["site", "pct"] and errors == []
    doc, text = typeset(tmp_path, "Uses $\\site$ and $\\pct$.\n", macros=site)
    assert "macro-definition" not in codes(doc)
    assert "fromsite" in text and "50%" in text


KATEX_POST = ("Exists $\\exist x \\in \\R$, bold $\\bold{v}$, tau $\\Tau$, arrow "
              "$a \\rarr b$, naturals $\\N$, hearts $\\hearts$.\n")


def test_katex_only_commands(tmp_path: Path) -> None:
    doc, text = typeset(tmp_path, KATEX_POST, math_engine="katex")
    notes = [d.message for d in doc.diagnostics if d.code == "mathjax-alias"]
    assert any("\\exist (KaTeX) became \\exists" in m for m in notes)
    flat = squash(text)
    for shown in ("∃", "→", "♡", "Exists", "tau T"):
        assert shown in flat, shown


def test_every_katex_row_typesets(tmp_path: Path) -> None:
    """Each translation in katex_only.tsv, used in a formula under KaTeX, typesets."""
    uses = [f"\\{name}" + "{x}" * info.args
            for name, info in sorted(mathtable.translations("katex").items())
            if not name.startswith("{") and info.latex_equivalent]
    doc, text = typeset(tmp_path, "".join(f"${u}$ Row{k}.\n\n" for k, u in enumerate(uses)),
                        math_engine="katex")
    assert "math-undefined" not in codes(doc)
    assert f"Row{len(uses) - 1}." in text


def test_katex_commands_are_not_mathjax() -> None:
    """MathJax has no \\R: the engine chooses the table."""
    doc = md2tex.convert(KATEX_POST, md2tex.Options(math_engine="mathjax3"), path="p.md")
    assert "mathjax-alias" not in codes(doc)
    assert "\\R" not in mathtable.translations("mathjax3")
    assert not set(mathtable.translations("katex")) & set(mathtable.all_macros())
    assert mathtable.translations("katex")["R"].latex_equivalent == "\\mathbb{R}"
    assert "R" in mathtable.translations(None)  # --safe lets every engine's names through


def test_katex_environments(tmp_path: Path) -> None:
    md = ("$$\\begin{darray}{cc} \\text{left} & \\text{right} \\end{darray}$$\n\n"
          "$$\\begin{rcases} a & \\text{rc} \\\\ c & d \\end{rcases} \\begin{dcases} \\frac12 & "
          "\\text{dc} \\end{dcases} \\begin{Bmatrix*}[r] 1 & -1 \\end{Bmatrix*}$$\n")
    doc, text = typeset(tmp_path, md, math_engine="katex")
    assert "\\begin{array}{>{\\displaystyle}c>{\\displaystyle}c}" in doc.tex
    assert "katex-environment" in codes(doc)
    assert "left right" in squash(text) and "rc" in text and "dc" in text


def test_katex_top_level_line_break(tmp_path: Path) -> None:
    md = "$$\\text{first} = 1 \\\\ \\text{second} = 2$$\n"
    doc, text = typeset(tmp_path, md, math_engine="katex")
    assert "\\begin{gathered}" in doc.tex
    lines = [x.strip() for x in text.splitlines() if x.strip()]
    assert any(x.startswith("first") for x in lines) and any(
        x.startswith("second") for x in lines)
    # MathJax 3 (and LaTeX) ignore it: one line
    doc, text = typeset(tmp_path, md, math_engine="mathjax3")
    assert "gathered" not in doc.tex and "first=1second=2" in text.replace(" ", "")


def test_definecolor_in_math_is_hoisted(tmp_path: Path) -> None:
    md = ("$$\\definecolor{brand}{RGB}{200,30,30} \\textcolor{brand}{\\text{tinted}}$$\n\n"
          "Later $\\color{brand}{\\text{again}}$.\n")
    doc, text = typeset(tmp_path, md)
    preamble = doc.tex[: doc.tex.index("\\begin{document}")]
    assert "\\definecolor{brand}{RGB}{200,30,30}" in preamble
    assert "math-color" not in codes(doc)
    assert "tinted" in text and "again" in text


def test_unknown_colour_is_the_default_with_a_warning(tmp_path: Path) -> None:
    md = ("Unknown $\\textcolor{blurple}{\\text{plain}}$, CSS $\\color{DarkOrange} "
          "\\text{orange}$ and $\\colorbox{nosuch}{\\text{boxed}}$.\n")
    doc, text = typeset(tmp_path, md)
    warnings = [d for d in doc.diagnostics if d.code == "math-color"]
    assert len(warnings) == 2 and all(d.severity.value == "warning" for d in warnings)
    assert "\\textcolor{.}" in doc.tex and "[HTML]{FF8C00}" in doc.tex
    assert all(w in text for w in ("plain", "orange", "boxed"))


def test_double_struck_one(tmp_path: Path) -> None:
    """MathJax shows \\mathbb{1} (the indicator function) double-struck; amssymb has no
    digits."""
    doc, text = typeset(tmp_path, "Indicator $\\mathbb{1}_{x>0}$ here.\n")
    assert "mathjax-mathbb" in codes(doc) and "math-mathbb" not in codes(doc)
    assert "Indicator 11" in squash(text)


def test_size_switches_in_display_math(tmp_path: Path) -> None:
    md = ("\\[\\small \\text{smallword}\\]\n\n\\[\\text{normalword}\\]\n\n"
          "\\[\\large \\text{largeword} \\sqrt[\\small 3]{x}\\]\n")
    typeset(tmp_path, md)
    _pages, words = pdf_words(tmp_path / "post-pdflatex.pdf")
    height = {w.text: w.height for w in words}
    assert height["smallword"] < height["normalword"] < height["largeword"]


@pytest.mark.parametrize("engine", ["pdflatex", pytest.param("xelatex", marks=needs_engine(
    "xelatex"))])
def test_unicode_symbols_in_math(tmp_path: Path, engine: str) -> None:
    md = ("Symbols $x ∈ A → B$, a die $⚀ + 1$, music $♭ ♯$ and $a ⋘ b$, "
          "$\\text{in text ∈}$.\n")
    doc, text = typeset(tmp_path, md, engine=engine, cli_keys=frozenset({"engine"}))
    assert doc.engine == engine
    missing = {d.message[11:12] for d in doc.diagnostics if d.code == "missing-character"}
    flat = squash(text)
    assert all(c in flat for c in "∈→♭♯") and "in text ∈" in flat
    if engine == "pdflatex":  # no font has the die: a placeholder, said so
        assert missing == {"⚀", "⋘"} and "U+2680" in flat
    else:  # the symbol font the post's scripts chose has it
        assert missing == set() and "⚀" in flat


@needs_tex
def test_accent_with_scripts_in_a_group_takes_another_script(tmp_path: Path) -> None:
    """``{\\hat{y}_{r-1}^{(i)}}^2`` is a double superscript for amsmath (its accents read the
    group and the accent's scripts as one nucleus) and fine for MathJax: it is typeset."""
    post = ("Second derivative $\\cfrac{\\partial^2 l}{\\partial {\\hat{y}_{r-1}^{(i)}}^2}$ "
            "and $ {\\tilde{x}_a}_b + {\\bar{x}^2}_c $ here.\n")
    doc = md2tex.convert(post)
    assert "mathjax-accent-group" in [d.code for d in doc.diagnostics]
    pdf = tmp_path / "accents.pdf"
    result = md2tex.build_pdf(doc, pdf)
    assert not result.diagnostics  # no formula needed its fallback
    text = squash(pdf_text(pdf))
    assert "Second derivative" in text and "\\hat" not in text and "here." in text


def test_commands_that_fail_as_unbraced_scripts(tmp_path: Path) -> None:
    """``\\*`` (discretionary times), ``\\cdots``, ``\\,``... take no argument, yet TeX
    rejects them as an unbraced script; MathJax shows them: braced, nothing shown as an
    error. Macros named like LaTeX's text accents (``\\r``, ``\\o``) are the post's own."""
    md = ("$$\n\\newcommand{\\r}{\\boldsymbol}\n\\newcommand{\\o}{\\omega}\n$$\n\n"
          "The identity $\\r{\\o}$ maps samples.\n\n"
          "$$\nP(\\r{\\o} = \\omega^\\*) = P\\{\\omega \\mid \\r{\\o} = \\omega^\\*\\} "
          "+ x^\\cdots + y_\\,\n$$\n\nClosing words.\n")
    doc, text = typeset(tmp_path, md)
    assert codes(doc).count("math-script-brace") == 4
    assert not {"math-unverified", "math-tex-rejected"} & set(codes(doc))
    assert "\\omega^{\\*}" in doc.tex and "x^{\\cdots}" in doc.tex
    assert "P(ω=ω)=P{ω|ω=ω}+x···+y" in "".join(text.split()) and "\\" not in text
    assert "The identity ω maps samples." in " ".join(text.split())


def test_line_break_inside_braces_follows_the_engine(tmp_path: Path) -> None:
    """``\\\\`` inside a script's braces: KaTeX breaks the line there (stacked lines, the
    top-level break a gathered block); MathJax ignores it (one line). Never TeX's error."""
    md = ("Before.\n\n$$\np_{\\theta\\\\\n=\\theta_0}(x) = \\mathbb{E}[y], \\\\\n"
          "q(x) \\propto r(x)\n$$\n\nAfter.\n")
    doc, text = typeset(tmp_path, md, math_engine="katex")
    assert "\\substack{" in doc.tex and "\\begin{gathered}" in doc.tex
    assert "math-group-break" in codes(doc)
    lines = [x.strip() for x in text.splitlines() if x.strip()]
    assert "=θ0" in [x.replace(" ", "") for x in lines]
    assert any(x.replace(" ", "").startswith("q(x)∝r(x)") for x in lines)
    doc, text = typeset(tmp_path, md, math_engine="mathjax3")
    assert "substack" not in doc.tex and "math-group-break" in codes(doc)
    assert "pθ=θ0(x)=E[y],q(x)∝r(x)" in "".join(text.split()) and "\\" not in text


def test_text_accents_in_math_follow_the_engine(tmp_path: Path) -> None:
    """``\\o`` and ``\\r{a}`` are LaTeX text commands: MathJax does not define them in math
    (its noundefined shows the name in red and typesets the rest), KaTeX refuses the whole
    formula (its source in red); a post that defines them as math macros gets those."""
    md = "Sum $\\alpha + \\o + \\r{b}$ ends.\n"
    doc, text = typeset(tmp_path, md)
    assert codes(doc) == ["math-undefined", "math-undefined"]
    assert "Sum \u03b1 + \\o + \\rb ends." in " ".join(text.split())
    doc, text = typeset(tmp_path, md, math_engine="katex")
    assert "math-text-command" in codes(doc)
    assert "Sum $\\alpha + \\o + \\r{b}$ ends." in " ".join(text.split())
