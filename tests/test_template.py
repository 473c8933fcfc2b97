"""template.py and templates/article.tex.j2: LaTeX-safe delimiters, named blocks a user can
override, ``-V`` variables, packages only for features the document uses."""

from __future__ import annotations

from pathlib import Path

import pytest
from helpers import body_of, build, convert, needs_tex, pdf_info, pdf_text, preamble_of

import md2tex
from md2tex.latex.template import DEFAULT_TEMPLATE, render_template, template_source_hash

USER_TEMPLATE = r"""((= a user template: our article with two blocks replaced =))
((* extends "article.tex.j2" *))
((* block preamble *))
((( super() )))
\newcommand{\usermark}{USERPREAMBLEMARK}
((* endblock *))
((* block front *))
\begin{center}\usermark{} FRONT((( title ))) ((( var.greeting )))\end{center}
((* endblock *))
"""


@pytest.fixture()
def user_template(tmp_path: Path) -> Path:
    path = tmp_path / "tpl" / "mine.tex.j2"
    path.parent.mkdir()
    path.write_text(USER_TEMPLATE, encoding="utf-8")
    return path


def test_default_template_is_packaged() -> None:
    from importlib import resources

    assert resources.files("md2tex.templates").joinpath(DEFAULT_TEMPLATE).is_file()


def test_tex_braces_are_not_jinja_syntax(tmp_path: Path) -> None:
    tpl = tmp_path / "raw.tex.j2"
    tpl.write_text("\\def\\a{{x}}{%comment\n{#1}((( body )))\n", encoding="utf-8")
    assert render_template({"body": "B"}, tpl) == "\\def\\a{{x}}{%comment\n{#1}B\n"


def test_user_template_overrides_blocks(user_template: Path) -> None:
    doc = convert("---\ntitle: Hello & bye\n---\nBody text\n", template=user_template,
                  variables={"greeting": "Hi"})
    assert "\\newcommand{\\usermark}{USERPREAMBLEMARK}" in preamble_of(doc.tex)
    assert "\\hypersetup{" in preamble_of(doc.tex), "super() keeps our preamble"
    body = body_of(doc.tex)
    assert "FRONTHello \\& bye Hi" in body
    assert "\\maketitle" not in body
    assert "Body text" in body


def test_user_template_can_include_files_beside_it(tmp_path: Path) -> None:
    (tmp_path / "part.tex.j2").write_text("PART((( title )))", encoding="utf-8")
    (tmp_path / "main.tex.j2").write_text(
        '((* extends "article.tex.j2" *))((* block front *))((* include "part.tex.j2" *))'
        "((* endblock *))", encoding="utf-8")
    doc = convert("---\ntitle: T\n---\nx\n", template=tmp_path / "main.tex.j2")
    assert "PARTT" in doc.tex


def test_broken_user_template_is_an_input_error(tmp_path: Path) -> None:
    bad = tmp_path / "bad.tex.j2"
    bad.write_text('((* extends "article.tex.j2" *))\n((* block front *))\n((( oops\n'
                   "((* endblock *))\n", encoding="utf-8")
    with pytest.raises(md2tex.InputError) as info:
        convert("x\n", template=bad)
    diag = info.value.diagnostics[0]
    assert diag.code == "template" and diag.path.endswith("bad.tex.j2")
    assert diag.line is not None

    missing_parent = tmp_path / "orphan.tex.j2"
    missing_parent.write_text('((* extends "no-such.tex.j2" *))\n', encoding="utf-8")
    with pytest.raises(md2tex.InputError, match="not found"):
        convert("x\n", template=missing_parent)


@pytest.mark.parametrize(("key", "value", "expect"), [
    ("papersize", "letterpaper", "\\documentclass[11pt,letterpaper]{article}"),
    ("fontsize", "12pt", "\\documentclass[12pt,a4paper]{article}"),
    ("geometry", "margin=1in", "\\usepackage[margin=1in]{geometry}"),
    ("numbersections", "true", "\\setcounter{secnumdepth}{3}"),
])
def test_variables(key: str, value: str, expect: str) -> None:
    assert expect in convert("x\n", variables={key: value}).tex


def test_defaults_without_variables() -> None:
    tex = convert("x\n").tex
    assert "\\documentclass[11pt,a4paper]{article}" in tex
    assert "\\usepackage[margin=2.5cm]{geometry}" in tex
    assert "\\setcounter{secnumdepth}{0}" in tex
    for pkg in ("lmodern", "microtype", "hyperref", "amsmath"):
        assert pkg in tex


def test_engine_specific_preamble() -> None:
    pdf = convert("x\n").tex
    xe = convert("x\n", engine="xelatex").tex
    assert "\\usepackage[T1]{fontenc}" in pdf and "fontspec" not in pdf
    assert "\\usepackage{fontspec}" in xe and "inputenc" not in xe


def test_template_hash_changes_with_template(user_template: Path) -> None:
    assert template_source_hash(None) != template_source_hash(user_template)
    assert template_source_hash(None) == template_source_hash(None)


@needs_tex
def test_user_template_and_variables_in_a_real_pdf(user_template: Path, tmp_path: Path) -> None:
    doc = convert("---\ntitle: Templated\n---\nBody words here.\n", template=user_template,
                  variables={"greeting": "Salut", "papersize": "letterpaper"})
    pdf = build(doc, tmp_path / "t.pdf")
    text = pdf_text(pdf)
    assert "USERPREAMBLEMARK FRONTTemplated Salut" in " ".join(text.split())
    assert "Body words here." in text
    assert "612 x 792 pts (letter)" in pdf_info(pdf)["Page size"]


def test_image_placeholder_is_framed() -> None:
    lines = convert("![gone](nowhere.png)\n").tex.split("\n")
    i = next(n for n, line in enumerate(lines)
             if line.startswith("\\newcommand{\\mdimageplaceholder}"))
    definition = "".join(lines[i : i + 3])
    assert "\\fbox" in definition or "\\framebox" in definition or "fcolorbox" in definition
