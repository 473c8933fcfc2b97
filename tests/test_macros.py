"""Site, front matter and post macros: parsing, MathJax semantics, and a real compile."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from helpers import compiles

from md2tex import Options, convert
from md2tex.math.macros import (
    Definition,
    MacroError,
    definitions_from_mapping,
    definitions_from_text,
    load_macro_file,
    parse_definition,
    to_text,
)

CORPUS = Path(__file__).resolve().parents[2] / "shared" / "corpus" / "jekyll"
WISEODD_MACROS = CORPUS / "wiseodd__wiseodd.github.io.site-macros.txt"


def test_parse_forms() -> None:
    text = (r"\newcommand{\R}{\mathbb{R}} \newcommand\norm[1]{\lVert #1 \rVert}"
            r"\renewcommand{\v}[2][x]{#1_#2} \def\pair#1#2{(#1,#2)}"
            r"\DeclareMathOperator*{\argmax}{arg\,max} \let\eps\varepsilon")
    defs, errors = definitions_from_text(text)
    assert errors == []
    assert [(d.name, d.nargs, d.kind) for d in defs] == [
        ("R", 0, "command"), ("norm", 1, "command"), ("v", 2, "command"),
        ("pair", 2, "def"), ("argmax", 0, "operator*"), ("eps", 0, "let")]
    assert defs[2].default == "x"
    assert definitions_from_text(to_text(defs))[0] == defs


def test_mathjax_semantics_in_latex() -> None:
    d = Definition("S", 0, r"\mathcal{S}")
    assert d.latex() == r"\providecommand{\S}{}\renewcommand{\S}{\mathcal{S}}"


def test_errors() -> None:
    with pytest.raises(MacroError):
        parse_definition(r"\newcommand{\end}{x}", 0)
    with pytest.raises(MacroError):
        parse_definition(r"\newcommand{\x}[12]{x}", 0)
    with pytest.raises(MacroError):
        parse_definition(r"\newcommand{\x}{x", 0)


def test_mapping_katex_and_mathjax() -> None:
    defs, errors = definitions_from_mapping({"\\RR": "\\mathbb{R}", "bold": ["\\mathbf{#1}", 1],
                                             "pair": "(#1,#2)"})
    assert errors == []
    assert [(d.name, d.nargs) for d in defs] == [("RR", 0), ("bold", 1), ("pair", 2)]


def test_macro_files(tmp_path: Path) -> None:
    (tmp_path / "m.json").write_text(json.dumps({"macros": {"\\RR": "\\mathbb{R}"}}))
    (tmp_path / "m.yaml").write_text("RR: '\\mathbb{R}'\nbold: ['\\mathbf{#1}', 1]\n")
    (tmp_path / "m.tex").write_text("\\newcommand{\\RR}{\\mathbb{R}}\n")
    for name in ("m.json", "m.yaml", "m.tex"):
        defs, errors = load_macro_file(tmp_path / name)
        assert errors == [] and defs[0].name == "RR"



POST = """---
title: Macros
macros:
  E: "\\\\mathbb{E}"
  RR: "\\\\mathbb{Q}"
---
Site, front matter and post: $$\\RR^n \\ni x, \\E[x], \\S, \\L(\\theta), \\norm{x}$$

$$\\newcommand{\\norm}[1]{\\lVert #1 \\rVert} \\DeclareMathOperator{\\Tr}{Tr} \\Tr A$$
"""


@pytest.mark.skipif(shutil.which("pdflatex") is None, reason="pdflatex not installed")
def test_three_sources_later_wins_andcompiles() -> None:
    site = "\\newcommand{\\RR}{\\mathbb{R}}\n\\newcommand{\\S}{\\mathcal{S}}\n" \
           "\\renewcommand{\\L}{\\mathcal{L}}"
    doc = convert(POST, Options(macros=site))
    assert [d for d in doc.diagnostics if d.severity.value == "error"] == []
    pre = doc.tex.split("\\begin{document}")[0]
    # front matter after site: its \RR wins; the post's definitions are hoisted
    assert pre.index("\\mathbb{R}") < pre.index("\\mathbb{Q}")
    assert "\\renewcommand{\\norm}[1]" in pre and "\\operatorname{Tr}" in pre
    assert "\\newcommand{\\norm}" not in doc.tex.split("\\begin{document}")[1]
    # \\L without the site's definition: a text command MathJax lacks in math (undefined)
    assert any(d.code == "math-undefined" and "\\L" in d.message
               for d in convert(POST).diagnostics)
    assert compiles(doc.tex)


@pytest.mark.skipif(not WISEODD_MACROS.exists(), reason="corpus not present")
def test_wiseodd_site_macros_make_its_posts_clean() -> None:
    from md2tex.cli.commands import _load_macros
    opts = Options(macros=_load_macros(WISEODD_MACROS), dollar_math=False)
    posts = sorted((CORPUS / "wiseodd__wiseodd.github.io").glob("*.md"))[-10:]
    undefined_with = undefined_without = 0
    for p in posts:
        text = p.read_text(encoding="utf-8")
        with_site = convert(text, opts, str(p)).diagnostics
        without = convert(text, Options(dollar_math=False), str(p)).diagnostics
        undefined_with += sum(d.code == "math-undefined" for d in with_site)
        undefined_without += sum(d.code == "math-undefined" for d in without)
    assert undefined_without > 20
    assert undefined_with <= undefined_without // 20
