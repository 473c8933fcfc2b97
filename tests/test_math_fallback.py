"""A formula the PDF cannot typeset never costs the post (issue 11, points 2 and 3).

Each post here is self-written, converted to a real PDF by TeX and read back with pdftotext:
the good math is typeset, the bad formula's source is visible (shown as MathJax shows an
error), the warning is at the formula's line and column, ``--strict`` refuses the post, and
``md2tex check`` reports the same diagnostics the build prints.
"""

from __future__ import annotations

import json
import pickle
import re
from pathlib import Path

from helpers import (
    TRAP,
    TRAP_MACROS,
    needs_tex,
    pdf_text,
    run_md2tex,
    squash,
    trap_options,
    trap_template,
)

import md2tex
from md2tex import Options, Severity

#: line 4 col 29: an undefined command alone (noundefined: the rest is typeset); lines 6-8:
#: a display formula with a structural error (its source in a red frame)
UNDEFINED_POST = """---
title: Fallbacks
---
Good $a^2+b^2=c^2$, then $x \\tims y_{1}$ here.

$$
\\frac{p}{q} + \\left( r
$$

Last $\\sqrt{2} \\cdot \\alpha$ and the end.
"""

#: line 3 col 3: TeX programming the checker cannot judge and TeX rejects (the probe)
PROBE_POST = """Before $\\beta + 1$ text.

$$\\futurelet\\next\\frac 1$$

After $\\gamma^2$ text.
"""

#: line 3: the second formula on the line fails only in TeX (without the probe it reaches
#: the build); the first one, on the same line, must stay typeset
BUILD_POST = """Some prose with $\\beta$ first.

Then $\\delta$ and $\\let\\zz=\\undefined\\zz$ together.

Closing $\\omega$ words.
"""

MACROS = """% the site's macros
\\newcommand{\\R}{\\mathbb{R}}
\\newcommand{\\bad}{\\tims x}
\\newcommand{\\broken}{y
\\newcommand{\\E}{\\mathbb{E}}
"""

_LINE = re.compile(r"^(\S+?):(\d+)(?::(\d+))?: (error|warning): (.*) \[([\w-]+)\]$", re.M)


def printed(text: str) -> list[tuple[str, int, int | None, str, str]]:
    """(file name, line, column, severity, code) of each diagnostic line printed."""
    return [(Path(m.group(1)).name, int(m.group(2)), int(m.group(3)) if m.group(3) else None,
             m.group(4), m.group(6)) for m in _LINE.finditer(text)]


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def checked(path: Path, *args: str) -> list[tuple[str, int, int | None, str, str]]:
    proc = run_md2tex(["check", "--format", "json", *args, path])
    return [(Path(d["path"]).name, d["line"], d["column"], d["severity"], d["code"])
            for d in json.loads(proc.stdout) if d["severity"] != "note"]


@needs_tex
def test_undefined_command_and_bad_formula_are_shown_and_the_post_is_built(
        tmp_path: Path) -> None:
    post = write(tmp_path, "post.md", UNDEFINED_POST)
    pdf = tmp_path / "post.pdf"
    proc = run_md2tex([post, "-o", pdf])
    assert proc.returncode == 0, proc.stderr
    assert "post.md:4:29: warning: undefined control sequence \\tims" in proc.stderr
    assert "the rest of the formula typeset [math-undefined]" in proc.stderr
    found = printed(proc.stderr)
    assert ("post.md", 7, 15, "warning", "math-left-right") in found
    text = squash(pdf_text(pdf))
    # the good math is typeset (superscripts and the square root as glyphs) ...
    assert "a2 + b2 = c2" in text and "√" in text and "\u03b1" in text
    # ... the undefined name in red, the rest of its formula typeset ...
    assert "\\tims" in text and "y1" in text
    # ... and the bad display formula's source is there to read
    assert "\\frac{p}{q} + \\left( r" in text
    assert "Last" in text and "the end." in text
    # md2tex check predicts it: the same diagnostics at the same places
    assert checked(post) == [d for d in found]


@needs_tex
def test_strict_refuses_the_post(tmp_path: Path) -> None:
    post = write(tmp_path, "post.md", UNDEFINED_POST)
    proc = run_md2tex([post, "-o", tmp_path / "post.pdf", "--strict"])
    assert proc.returncode == 1
    assert "post.md:4:29: error: undefined control sequence \\tims [math-undefined]" \
        in proc.stderr  # no "shown in red": nothing is shown
    assert not (tmp_path / "post.pdf").exists()
    # strict: true in a site's config does the same
    site = tmp_path / "site"
    site.mkdir()
    write(site, "post.md", UNDEFINED_POST)
    config = write(tmp_path, "md2tex.yaml", "strict: true\n")
    proc = run_md2tex(["batch", site, "-o", tmp_path / "out", "--config", config, "-j", "1"])
    assert proc.returncode == 1
    assert "post.md:4:29" in proc.stdout + proc.stderr
    assert not (tmp_path / "out" / "post.pdf").exists()
    assert md2tex.convert(UNDEFINED_POST).ok
    strict = md2tex.convert(UNDEFINED_POST, Options(strict=True))
    assert {d.code for d in strict.errors} == {"math-undefined", "math-left-right"}


@needs_tex
def test_formula_tex_rejects_in_the_probe_is_shown(tmp_path: Path) -> None:
    post = write(tmp_path, "probe.md", PROBE_POST)
    pdf = tmp_path / "probe.pdf"
    proc = run_md2tex([post, "-o", pdf])
    assert proc.returncode == 0, proc.stderr
    assert "probe.md:3:3: warning: TeX rejects this formula" in proc.stderr
    text = squash(pdf_text(pdf))
    assert "β + 1" in text and "\u03b3 2" in text
    assert "\\futurelet\\next\\frac 1" in text
    assert [d for d in printed(proc.stderr) if d[4] == "math-tex-rejected"] == \
        [("probe.md", 3, 3, "warning", "math-tex-rejected")]
    assert ("probe.md", 3, 3, "warning", "math-tex-rejected") in checked(post)
    assert run_md2tex([post, "-o", tmp_path / "s.pdf", "--strict"]).returncode == 1


@needs_tex
def test_formula_tex_rejects_in_the_build_is_shown(tmp_path: Path) -> None:
    # without the probe, TeX meets the formula in the build: the build finds it from TeX's
    # error line and context, shows it as an error and builds again
    post = write(tmp_path, "build.md", BUILD_POST)
    pdf = tmp_path / "build.pdf"
    proc = run_md2tex([post, "-o", pdf, "--no-probe"])
    assert proc.returncode == 0, proc.stderr
    assert "build.md:3:20: warning: TeX rejects this formula: Undefined control sequence" \
        in proc.stderr
    text = squash(pdf_text(pdf))
    assert "Then δ and" in text  # the other formula on that line is typeset
    assert "\\let\\zz=\\undefined\\zz" in text
    assert "β" in text and "ω" in text
    # the library: the document is fine, the build reports what it showed as an error
    doc = md2tex.convert(BUILD_POST, Options(probe_math=False), path="build.md")
    assert doc.ok
    result = md2tex.build_pdf(doc, tmp_path / "lib.pdf")
    assert [(d.code, d.severity, d.line, d.column) for d in result.diagnostics] == [
        ("math-tex-rejected", Severity.WARNING, 3, 20)]
    # with the probe (the default), check and build report it before TeX builds anything
    assert ("build.md", 3, 20, "warning", "math-tex-rejected") in checked(post)


@needs_tex
def test_a_pickled_document_still_gets_its_fallback_in_the_build(tmp_path: Path) -> None:
    # convert_many sends Documents to other processes: the fallback is made there, from the
    # formula's source, only for the formula TeX rejects
    doc = md2tex.convert(BUILD_POST, Options(probe_math=False), path="build.md")
    assert "mdbadmath" not in doc.tex.split("\\begin{document}")[1]
    travelled = pickle.loads(pickle.dumps(doc))
    result = md2tex.build_pdf(travelled, tmp_path / "p.pdf")
    assert [(d.code, d.line, d.column) for d in result.diagnostics] == [
        ("math-tex-rejected", 3, 20)]
    text = squash(pdf_text(tmp_path / "p.pdf"))
    assert "\\let\\zz=\\undefined\\zz" in text and "Then δ and" in text


@needs_tex
def test_a_tex_error_outside_math_still_fails(tmp_path: Path) -> None:
    template = write(tmp_path, "t.tex.j2", '((* extends "article.tex.j2" *))\n'
                     "((* block front *))\\mdnosuchcommand((* endblock *))\n")
    post = write(tmp_path, "post.md", BUILD_POST)
    proc = run_md2tex([post, "-o", tmp_path / "post.pdf", "--no-probe",
                       "--template", template])
    assert proc.returncode == 3
    assert "Undefined control sequence" in proc.stderr
    assert not (tmp_path / "post.pdf").exists()


@needs_tex
def test_macro_file_with_bad_definitions(tmp_path: Path) -> None:
    macros = write(tmp_path, "macros.tex", MACROS)
    post = write(tmp_path, "post.md", "Let $x \\in \\R$ with $\\E[x]$ and $\\bad$.\n")
    other = write(tmp_path, "other.md", "Only $\\R^n$ here.\n")
    pdf = tmp_path / "post.pdf"
    proc = run_md2tex([post, "-o", pdf, "--macros", macros])
    assert proc.returncode == 0, proc.stderr
    found = printed(proc.stderr)
    assert ("macros.tex", 3, None, "warning", "macro-definition") in found
    assert ("macros.tex", 4, None, "warning", "macro-definition") in found
    assert "macros.tex:3: warning: site macro \\bad: undefined control sequence \\tims; " \
        "left undefined" in proc.stderr
    # \bad is undefined where the post uses it: its name in red, as MathJax shows it
    assert ("post.md", 1, 34, "warning", "math-undefined") in found
    text = squash(pdf_text(pdf))
    assert "x ∈ R with E[x] and \\bad." in text
    # another post with the same macros is built; only the file's warnings concern it
    proc = run_md2tex([other, "-o", tmp_path / "other.pdf", "--macros", macros])
    assert proc.returncode == 0, proc.stderr
    assert {d[0] for d in printed(proc.stderr)} == {"macros.tex"}
    assert "Rn" in squash(pdf_text(tmp_path / "other.pdf"))
    # check names the file's lines too, without quoting the post's lines under them
    proc = run_md2tex(["check", post, "--macros", macros])
    assert proc.returncode == 0
    assert "macros.tex:3: warning: site macro \\bad" in proc.stdout
    assert printed(proc.stdout) == [d for d in found]


@needs_tex
def test_environment_tex_rejects_in_the_build_is_shown(tmp_path: Path) -> None:
    # the trap macro passes md2tex's checks and fails in TeX; inside align TeX reports it at
    # \end{align}, md2tex at the row that holds it: the whole environment is shown as its
    # source, the rest is typeset
    md = ("Intro $\\pi$.\n\n\\begin{align}\na &= \\texfails \\\\\nb &= c\n\\end{align}\n\n"
          "End $\\nu$.\n")
    doc = md2tex.convert(md, trap_options(tmp_path, strict=False), path="p.md")
    assert doc.ok
    result = md2tex.build_pdf(doc, tmp_path / "p.pdf")
    assert [(d.code, d.line) for d in result.diagnostics] == [("math-tex-rejected", 4)]
    text = squash(pdf_text(tmp_path / "p.pdf"))
    assert "a &= \\texfails \\\\" in text and "b &= c" in text
    assert "Intro \u03c0." in text and "End \u03bd." in text


@needs_tex
def test_check_finds_what_only_the_build_would_reject(tmp_path: Path) -> None:
    # the trap formula passes every static check; with TeX installed, check typesets every
    # formula in its probe run and reports the one the build will show as an error
    macros = write(tmp_path, "macros.tex", TRAP_MACROS + "\n")
    post = write(tmp_path, "post.md", f"Fine $x$.\n\nThen $y$ and {TRAP} here.\n")
    args = ["--template", str(trap_template(tmp_path)), "--macros", str(macros)]
    proc = run_md2tex([post, "-o", tmp_path / "post.pdf", *args])
    assert proc.returncode == 0, proc.stderr
    built = [d for d in printed(proc.stderr) if d[4] == "math-tex-rejected"]
    assert built == [("post.md", 3, 15, "warning", "math-tex-rejected")]
    assert "\\texfails" in pdf_text(tmp_path / "post.pdf")
    assert [d for d in checked(post, *args) if d[4] == "math-tex-rejected"] == built
    assert not [d for d in checked(post, "--no-probe", *args)
                if d[4] == "math-tex-rejected"]  # without TeX's verdict check cannot know


@needs_tex
def test_a_failing_preamble_is_no_formula_error(tmp_path: Path) -> None:
    # the probe cannot judge a formula when the preamble itself fails: the formula keeps
    # its warning (nothing crashes, nothing is shown as an error) and the build fails at
    # the preamble, which is no formula's fault (exit 3)
    template = write(tmp_path, "t.tex.j2", '((* extends "article.tex.j2" *))\n'
                     "((* block preamble *))((( super() )))\n\\mdbrokenpreamble\n"
                     "((* endblock *))\n")
    post = write(tmp_path, "post.md", PROBE_POST)
    doc = md2tex.convert(PROBE_POST, Options(template=template), path="post.md")
    unverified = [d for d in doc.diagnostics if d.code == "math-unverified"]
    assert [d.line for d in unverified] == [3] and "the preamble fails" in unverified[0].message
    assert "math-tex-rejected" not in {d.code for d in doc.diagnostics}
    proc = run_md2tex([post, "-o", tmp_path / "post.pdf", "--template", template])
    assert proc.returncode == 3, proc.stderr
    assert "math-tex-rejected" not in proc.stderr
