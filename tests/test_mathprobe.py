"""TeX programming in formulas: the checker asks TeX (mathprobe.py); real compiles, no mocks."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from helpers import env_without_tex, run_md2tex

import md2tex
from md2tex import Options, convert
from md2tex.math.check import prepare

needs_tex = pytest.mark.skipif(shutil.which("pdflatex") is None, reason="needs pdflatex")

#: line 5 and line 9 hold TeX programming TeX accepts; line 13 one it rejects
POST = """---
title: probe
---
Some text.
$$\\def\\ta{x}\\xdef\\tb{\\ta}\\tb + \\noexpand\\relax 1$$

Inline math with a prefix:

and $\\let\\tc=\\undefined \\message{hi} a$ here.

Now a broken one:

$$\\futurelet\\td\\frac 1$$

$$\\sqrt{2}$$
"""


def errors(doc: md2tex.Document) -> list[md2tex.Diagnostic]:
    return [d for d in doc.diagnostics if d.severity is md2tex.Severity.ERROR]


def rejected(doc: md2tex.Document) -> list[md2tex.Diagnostic]:
    """TeX's rejections: warnings (the formula is shown as MathJax shows an error)."""
    found = [d for d in doc.diagnostics if d.code == "math-tex-rejected"]
    assert all(d.severity is md2tex.Severity.WARNING for d in found)
    return found


def test_tex_programming_is_uncertain_not_an_error() -> None:
    res = prepare("\\global\\let\\te=\\relax \\edef\\tf{1}\\tf", display=True, line=1,
                  column=1)
    assert res.ok and res.needs_tex
    assert [d.code for d in res.diagnostics] == ["math-unverified"]
    assert not res.definitions  # stays in the formula, as written


@needs_tex
def test_accepted_formulas_build(tmp_path: Path) -> None:
    doc = convert(POST.split("Now a broken")[0])
    assert not errors(doc), [d.format() for d in doc.diagnostics]
    codes = [d.code for d in doc.diagnostics]
    assert codes.count("math-tex-accepted") == 2 and "math-unverified" not in codes
    result = md2tex.build_pdf(doc, tmp_path / "ok.pdf")
    assert result.pdf.read_bytes().startswith(b"%PDF")


@needs_tex
def test_rejected_formula_is_shown_as_an_error_at_its_line(tmp_path: Path) -> None:
    doc = convert(POST, path="post.md")
    assert doc.ok and not errors(doc)
    found = rejected(doc)
    assert [(d.line, d.column) for d in found] == [(13, 3)]
    assert found[0].message.startswith("TeX rejects this formula: ")
    assert "\\futurelet\\td" not in doc.tex.split("\\begin{document}")[1]
    # the others are still TeX's verdict: accepted
    assert [d.code for d in doc.diagnostics].count("math-tex-accepted") == 2
    # the command line builds the post and names the line; --strict refuses it
    post = tmp_path / "post.md"
    post.write_text(POST, encoding="utf-8")
    proc = run_md2tex([post, "-o", tmp_path / "post.pdf"])
    assert proc.returncode == 0, proc.stderr
    assert "post.md:13:3: warning: TeX rejects this formula" in proc.stderr
    assert (tmp_path / "post.pdf").exists()
    proc = run_md2tex([post, "-o", tmp_path / "strict.pdf", "--strict"])
    assert proc.returncode == 1
    assert "post.md:13:3: error: TeX rejects this formula" in proc.stderr
    assert not (tmp_path / "strict.pdf").exists()


@needs_tex
def test_undefined_name_is_named() -> None:
    doc = convert("$$\\let\\tg=\\undefined \\tg$$\n")
    assert [d.message.split(";")[0] for d in rejected(doc)] == [
        "TeX rejects this formula: Undefined control sequence \\tg"]


@needs_tex
def test_several_rejections_are_each_found() -> None:
    text = "".join(f"$${f}$$\n\n" for f in (
        "\\futurelet\\th\\frac 1", "\\edef\\ti{y}\\ti", "\\let\\tj=\\undefined\\tj",
        "\\vtop{z}"))
    doc = convert(text)
    assert [d.line for d in rejected(doc)] == [1, 5]
    assert [d.code for d in doc.diagnostics].count("math-tex-accepted") == 2


@needs_tex
def test_a_global_change_reaches_later_formulas() -> None:
    # \frac made undefined globally in one formula: the plain formula after it fails in TeX
    doc = convert("$$\\global\\let\\frac=\\undefined a$$\n\n$$\\frac12$$\n")
    assert [d.line for d in rejected(doc)] == [3]


@needs_tex
def test_looping_formula_is_stopped() -> None:
    doc = convert("$$\\def\\tl#1\\end{\\tl#1\\end}\\tl x\\end$$\n\n$$\\message{a}b$$\n",
                  Options(timeout=3))
    errs = rejected(doc)
    assert len(errs) == 1 and errs[0].line == 1 and "did not finish" in errs[0].message
    assert [d.code for d in doc.diagnostics].count("math-tex-accepted") == 1


def test_probe_off_leaves_a_warning() -> None:
    doc = convert(POST, Options(probe_math=False))
    assert not errors(doc)
    unverified = [d for d in doc.diagnostics if d.code == "math-unverified"]
    assert [d.line for d in unverified] == [5, 9, 13]
    assert "TeX will decide" in unverified[0].message
    strict = convert(POST, Options(probe_math=False, strict=True))
    assert [d.code for d in errors(strict)].count("math-unverified") == 3


def test_check_without_tex_warns(tmp_path: Path) -> None:
    post = tmp_path / "post.md"
    post.write_text(POST, encoding="utf-8")
    proc = run_md2tex(["check", "--format", "json", post], env=env_without_tex())
    assert proc.returncode == 0, proc.stderr
    found = [(d["code"], d["severity"]) for d in json.loads(proc.stdout)
             if d["code"].startswith("math-")]
    assert found == [("math-unverified", "warning")] * 3


@needs_tex
def test_check_asks_tex(tmp_path: Path) -> None:
    post = tmp_path / "post.md"
    post.write_text(POST, encoding="utf-8")
    proc = run_md2tex(["check", post])
    assert proc.returncode == 0, proc.stdout
    assert "post.md:13:3: warning: TeX rejects this formula" in proc.stdout
    proc = run_md2tex(["check", "--strict", post])
    assert proc.returncode == 1
    assert "post.md:13:3: error: TeX rejects this formula" in proc.stdout
    assert run_md2tex(["check", "--no-probe", post]).returncode == 0
