"""build.py with the real TeX engine: PDFs are written atomically, TeX errors come back at the
Markdown line they came from, a missing engine or a looping document are clear errors."""

from __future__ import annotations

import os
import shutil
import time
from pathlib import Path

import pytest
from helpers import (
    TRAP,
    build,
    convert,
    make_png,
    needs_tex,
    pdf_image_count,
    pdf_text,
    trap_options,
    trap_template,
)

import md2tex

pytestmark = needs_tex

UNDEFINED = TRAP

# (name, markdown, Markdown line of the bad formula). The formula passes md2tex's own checks
# (``\\texfails`` is declared as a site macro; the template makes it fail), so only TeX finds
# the error, and md2tex must map TeX's line back to the Markdown line.
TEX_ERROR_POSTS = [
    ("paragraph", f"---\ntitle: T\n---\n\nFirst para.\n\nSecond para,\nstill it {UNDEFINED}.\n",
     8),
    ("list", f"Intro.\n\n- one\n- two\n  - nested {UNDEFINED}\n- three\n", 5),
    ("loose-list", f"1. one\n\n2. two\n\n   more text\n   and {UNDEFINED}\n", 6),
    ("quote", f"Intro.\n\n> quoted\n> more\n>\n> > deep {UNDEFINED}\n", 6),
    ("table", f"Intro.\n\n| a | b |\n|---|---|\n| 1 | 2 |\n| 3 | {UNDEFINED} |\n", 6),
    ("heading", f"Intro.\n\n## Title {UNDEFINED}\n\nText.\n", 3),
    ("display", "Intro.\n\n$$\na + b\n= \\texfails\n$$\n", 5),
    ("after-code", f"```python\nx = 1\ny = 2\n```\n\nAfter {UNDEFINED}.\n", 6),
    ("after-liquid", "{% highlight python %}\nx = 1\n{% endhighlight %}\n\n"
     f"Then {UNDEFINED}.\n", 5),
    ("after-footnote", f"Text[^n] here\nthen {UNDEFINED} on line 2.\n\n[^n]: Para one.\n\n"
     "    Para two.\n\n    Para three.\n", 2),
    ("after-liquid-include", f"Intro.\n\n{{% include toc.html %}}\n\nAfter the include,\n"
     f"then {UNDEFINED} here.\n", 6),
    ("html-block", f"Intro.\n\n<div class=\"note\">\n<p>one</p>\n<p>two {UNDEFINED}</p>\n"
     "</div>\n\nEnd.\n", 5),
    ("image-in-paragraph", f"Text before\n![dot](img/dot.png) and\nthen {UNDEFINED} after.\n", 3),
    ("display-third-line", "Intro.\n\n$$\na + b\n= c\n+ \\texfails\n$$\n", 6),
]


@pytest.mark.parametrize(("name", "markdown", "line"), TEX_ERROR_POSTS,
                         ids=[p[0] for p in TEX_ERROR_POSTS])
def test_tex_error_is_reported_at_the_markdown_line(name: str, markdown: str, line: int,
                                                    tmp_path: Path) -> None:
    out = tmp_path / "out"
    out.mkdir()
    make_png(tmp_path / "img" / "dot.png")
    doc = md2tex.convert(markdown, trap_options(tmp_path, base_dir=tmp_path), path="post.md")
    assert doc.ok, [d.format() for d in doc.diagnostics]
    with pytest.raises(md2tex.BuildError) as info:
        md2tex.build_pdf(doc, out / "post.pdf")
    first = info.value.diagnostics[0]
    assert first.format().startswith(f"post.md:{line}: error: TeX: "), first.format()
    assert "Undefined control sequence" in first.message
    assert "LaTeX line" in first.message
    assert info.value.exit_code == 3
    assert list(out.iterdir()) == []


#: (name, markdown, Markdown line): without --strict a formula TeX rejects is shown as an
#: error and warned about at the line TeX stopped in, also inside an amsmath environment
#: (whose errors TeX reports at its \\end) and inside an HTML block
REJECTED_FORMULA_POSTS = [
    ("align-third-row", "Intro.\n\n\\begin{align}\na &= b \\\\\nc &= d \\\\\n"
     "e &= \\texfails\n\\end{align}\n", 6),
    ("display-third-line", "Intro.\n\n$$\na + b\n= c\n+ \\texfails\n$$\n", 6),
    ("html-block", f"Intro.\n\n<div>\n<p>one</p>\n<p>two {UNDEFINED}</p>\n</div>\n", 5),
    ("second-line-of-paragraph", f"Text before\n![dot](img/dot.png) and\nthen {UNDEFINED}.\n",
     3),
]


@pytest.mark.parametrize(("name", "markdown", "line"), REJECTED_FORMULA_POSTS,
                         ids=[p[0] for p in REJECTED_FORMULA_POSTS])
def test_rejected_formula_is_warned_at_the_line_tex_stopped_in(
        name: str, markdown: str, line: int, tmp_path: Path) -> None:
    make_png(tmp_path / "img" / "dot.png")
    doc = md2tex.convert(markdown, trap_options(tmp_path, base_dir=tmp_path, strict=False),
                         path="post.md")
    result = md2tex.build_pdf(doc, tmp_path / "post.pdf")
    [rejected] = [d for d in result.diagnostics if d.code == "math-tex-rejected"]
    assert rejected.line == line, rejected.format()
    assert "Undefined control sequence \\texfails;" in rejected.message
    assert "\\texfails" in pdf_text(tmp_path / "post.pdf")  # its source, shown in red


def test_error_inside_amsmath_environment_points_into_it(tmp_path: Path) -> None:
    # TeX reads a whole align before typesetting it: the error surfaces at \end{align}
    md = "Intro.\n\n\\begin{align}\na &= \\texfails \\\\\nb &= c\n\\end{align}\n\nEnd.\n"
    with pytest.raises(md2tex.BuildError) as info:
        md2tex.build_pdf(md2tex.convert(md, trap_options(tmp_path), path="p.md"),
                         tmp_path / "p.pdf")
    assert info.value.diagnostics[0].line in range(3, 7)


def test_failed_build_keeps_the_earlier_output_and_leaves_no_temp_files(tmp_path: Path) -> None:
    out = tmp_path / "out" / "post.pdf"
    out.parent.mkdir()
    good = build(convert("Good version.\n"), out)
    before = good.read_bytes()
    assert before.startswith(b"%PDF")
    bad = md2tex.convert(f"Bad {UNDEFINED} version.\n", trap_options(tmp_path))
    with pytest.raises(md2tex.BuildError):
        md2tex.build_pdf(bad, out)
    assert out.read_bytes() == before
    assert sorted(p.name for p in out.parent.iterdir()) == ["post.pdf"]
    assert "Good version." in pdf_text(out)


def test_successful_build(tmp_path: Path) -> None:
    out = tmp_path / "sub dir" / "my post.pdf"
    out.parent.mkdir()
    result = md2tex.build_pdf(convert("# Title\n\nHello *world*.\n"), out)
    assert result.pdf == out and 1 <= result.runs <= 4 and result.seconds > 0
    assert "Hello world." in pdf_text(out)
    assert oct(out.stat().st_mode & 0o777) == "0o644"
    assert sorted(p.name for p in out.parent.iterdir()) == ["my post.pdf"]


def test_cross_references_are_resolved_by_reruns(tmp_path: Path) -> None:
    md = ("$$\n\\begin{equation}\nE = mc^2 \\label{eq:e}\n\\end{equation}\n$$\n\n"
          "As $\\eqref{eq:e}$ shows.\n")
    pdf = build(convert(md), tmp_path / "ref.pdf")
    text = " ".join(pdf_text(pdf).split())
    assert "As (1) shows." in text
    assert "??" not in text


def test_local_image_is_embedded(tmp_path: Path) -> None:
    make_png(tmp_path / "img" / "dot.png", 300, 200)
    doc = md2tex.convert("Pic:\n\n![dot](img/dot.png)\n", md2tex.Options(base_dir=tmp_path))
    pdf = build(doc, tmp_path / "out.pdf")
    assert pdf_image_count(pdf) == 1


def test_document_with_errors_is_not_built(tmp_path: Path) -> None:
    # (without --strict the formula would be shown as MathJax shows an error)
    doc = convert("Broken $\\frac{a}{b$ math.\n", strict=True)
    assert not doc.ok
    with pytest.raises(md2tex.InputError):
        md2tex.build_pdf(doc, tmp_path / "x.pdf")
    assert not (tmp_path / "x.pdf").exists()


def test_output_folder_missing(tmp_path: Path) -> None:
    with pytest.raises(md2tex.OutputError) as info:
        md2tex.build_pdf(convert("x\n"), tmp_path / "nope" / "x.pdf")
    assert info.value.exit_code == 5


def test_engine_missing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    empty = tmp_path / "bin"
    empty.mkdir()
    monkeypatch.setenv("PATH", str(empty))
    with pytest.raises(md2tex.EngineMissingError) as info:
        md2tex.build_pdf(convert("x\n"), tmp_path / "x.pdf")
    message = str(info.value)
    for pkg in ("texlive-latex-base", "texlive-latex-recommended", "texlive-latex-extra",
                "texlive-fonts-recommended", "lmodern"):
        assert pkg in message
    assert info.value.exit_code == 4
    assert not (tmp_path / "x.pdf").exists()


def test_looping_tex_is_killed_at_the_timeout(tmp_path: Path) -> None:
    loop = tmp_path / "loop.tex.j2"
    loop.write_text('((* extends "article.tex.j2" *))\n((* block body *))\n'
                    "\\def\\spin{\\spin}\\spin\n((* endblock *))\n", encoding="utf-8")
    doc = convert("x\n", template=loop, timeout=2.0)
    started = time.monotonic()
    with pytest.raises(md2tex.BuildError) as info:
        md2tex.build_pdf(doc, tmp_path / "x.pdf")
    assert time.monotonic() - started < 20
    assert info.value.diagnostics[0].code == "tex-timeout"
    assert not (tmp_path / "x.pdf").exists()


@pytest.mark.skipif(os.geteuid() == 0, reason="root can write anywhere")
def test_output_not_writable(tmp_path: Path) -> None:  # pragma: no cover - not run as root
    ro = tmp_path / "ro"
    ro.mkdir(mode=0o500)
    with pytest.raises(md2tex.OutputError):
        md2tex.build_pdf(convert("x\n"), ro / "x.pdf")


def test_build_leaves_no_work_directories(tmp_path: Path, monkeypatch: pytest.MonkeyPatch
                                          ) -> None:
    tmp = tmp_path / "tmp"
    tmp.mkdir()
    monkeypatch.setenv("TMPDIR", str(tmp))
    import tempfile

    monkeypatch.setattr(tempfile, "tempdir", None)
    build(convert("ok\n"), tmp_path / "ok.pdf")
    with pytest.raises(md2tex.BuildError):
        md2tex.build_pdf(md2tex.convert(f"bad {UNDEFINED}\n", trap_options(tmp_path)),
                         tmp_path / "bad.pdf")
    leftovers = [p for p in tmp.iterdir() if p.name.startswith("md2tex-")]
    assert leftovers == []
    assert shutil.which("pdflatex")


#: a log with both kinds of error line: ``-file-line-error``'s ``file:line:`` and a package's
#: ``!`` error, whose line only the ``l.NNN`` context gives
TWO_ERRORS_LOG = r"""This is pdfTeX, Version 3.141592653
./document.tex:12: Undefined control sequence.
l.12 $\frac{a}{b} \nosuch
                          {x}$
! LaTeX Error: Environment foo undefined.

See the LaTeX manual or LaTeX Companion for explanation.
Type  H <return>  for immediate help.
 ...

l.20 \begin{foo}

"""


def test_build_and_probe_read_errors_from_one_reader() -> None:
    from md2tex.tex import probe, texlog

    found = list(texlog.errors(TWO_ERRORS_LOG))
    assert [(e.line, e.message) for e in found] == [
        (12, "Undefined control sequence."), (20, "LaTeX Error: Environment foo undefined.")]
    assert found[0].undefined_name() == "\\nosuch" and found[1].undefined_name() is None
    assert texlog.first_error(TWO_ERRORS_LOG) == found[0]
    assert probe._message(found[0]) == "Undefined control sequence \\nosuch"
    assert not texlog.finished(TWO_ERRORS_LOG)
    assert texlog.finished(TWO_ERRORS_LOG + "Output written.\nTranscript written on x.log.\n")


#: TeX stopped inside an align: ``l.NNN`` is its ``\end``, the macro TeX was expanding is
#: the one the post wrote
ALIGN_LOG = r"""./document.tex:56: Undefined control sequence.
\texfails ->\undefinedmacro

l.56 \end{align*}

./document.tex:56:  ==> Fatal error occurred, no output PDF file produced!
"""


def test_the_name_the_post_wrote_is_read_from_the_expansion_stack() -> None:
    from md2tex.tex import texlog

    first = texlog.first_error(ALIGN_LOG)
    assert first is not None and first.line == 56
    assert first.stack == ("\\texfails ->\\undefinedmacro",)
    assert first.written_name() == "\\texfails"
    assert first.undefined_name() == "\\end"  # the last name TeX read, not the culprit
    found = texlog.first_error(TWO_ERRORS_LOG)
    assert found is not None and found.written_name() == "\\nosuch"


def test_keep_tex_keeps_the_tex_and_the_log_also_when_tex_fails(tmp_path: Path) -> None:
    out = tmp_path / "out"
    out.mkdir()
    doc = md2tex.convert(f"Intro.\n\nThen {UNDEFINED} here.\n",
                         trap_options(tmp_path, keep_tex=True), path="post.md")
    with pytest.raises(md2tex.BuildError) as info:
        md2tex.build_pdf(doc, out / "post.pdf")
    assert sorted(p.name for p in out.iterdir()) == ["post.log", "post.tex"]
    assert "\\texfails" in (out / "post.tex").read_text()
    assert "Undefined control sequence" in (out / "post.log").read_text()
    first = info.value.diagnostics[0]
    assert first.line == 3 and first.hint == (f"the LaTeX is kept in {out / 'post.tex'}, "
                                              f"TeX's log in {out / 'post.log'}")
    # built: kept too, and said in a note
    good = md2tex.convert("Fine $x$.\n", md2tex.Options(keep_tex=True), path="good.md")
    result = md2tex.build_pdf(good, out / "good.pdf")
    assert [d.code for d in result.diagnostics] == ["tex-kept"]
    assert (out / "good.tex").read_text() == good.tex
    assert "Output written on" in (out / "good.log").read_text()


def test_keep_tex_on_the_command_line_says_where(tmp_path: Path) -> None:
    from click.testing import CliRunner
    from helpers import TRAP_MACROS

    from md2tex.cli.commands import main

    post = tmp_path / "post.md"
    post.write_text(f"Intro.\n\nThen {UNDEFINED} here.\n")
    macros = tmp_path / "macros.tex"
    macros.write_text(TRAP_MACROS + "\n")
    trap = ["--template", str(trap_template(tmp_path)), "--macros", str(macros), "--strict"]
    result = CliRunner().invoke(main, [str(post), "-o", str(tmp_path / "post.pdf"),
                                       "--keep-tex", *trap])
    assert result.exit_code == 3
    assert f"{post}:3: error: TeX: Undefined control sequence" in result.stderr
    assert f"hint: the LaTeX is kept in {tmp_path / 'post.tex'}, TeX's log in " \
           f"{tmp_path / 'post.log'}" in result.stderr
    assert not (tmp_path / "post.pdf").exists()
    result = CliRunner().invoke(main, ["batch", str(tmp_path), "-o", str(tmp_path / "out"),
                                       "--keep-tex", *trap])
    assert result.exit_code == 1
    failed = result.stderr[result.stderr.index("FAILED"):].splitlines()
    assert failed[1] == (f"  --keep-tex: the LaTeX is kept in {tmp_path / 'out' / 'post.tex'}"
                         f", TeX's log in {tmp_path / 'out' / 'post.log'}")
    assert (tmp_path / "out" / "post.log").is_file()


def test_the_log_reader_finds_every_error_of_a_run_that_goes_on(tmp_path: Path) -> None:
    """A run without -halt-on-error logs every error; each is read with its line and the
    name the document wrote (the build's runs halt at the first: see passes)."""
    import subprocess

    from md2tex.tex import texlog

    (tmp_path / "document.tex").write_text(
        "\\documentclass{article}\n\\newcommand{\\texfails}{\\undefinedmacro}\n"
        "\\begin{document}\nOne \\nosuchone.\n\nTwo $\\texfails$.\n\nThree \\nosuchtwo.\n"
        "\\end{document}\n", encoding="utf-8")
    subprocess.run(["pdflatex", "-interaction=nonstopmode", "-file-line-error",
                    "-no-shell-escape", "document.tex"], cwd=tmp_path, capture_output=True,
                   stdin=subprocess.DEVNULL, timeout=120, check=False)
    log_text = (tmp_path / "document.log").read_text(encoding="utf-8", errors="replace")
    found = [(e.line, e.written_name()) for e in texlog.errors(log_text)]
    assert found == [(4, "\\nosuchone"), (6, "\\texfails"), (8, "\\nosuchtwo")]


def test_strict_reports_every_formula_tex_rejects_and_writes_nothing(tmp_path: Path) -> None:
    # --strict refuses the post, but names every formula TeX rejects, each at its line
    markdown = (f"One {UNDEFINED}.\n\nTwo\n\n$$\nb + \\texfails\n$$\n\n"
                f"Three {UNDEFINED} and more.\n")
    doc = md2tex.convert(markdown, trap_options(tmp_path), path="post.md")
    with pytest.raises(md2tex.BuildError) as info:
        md2tex.build_pdf(doc, tmp_path / "post.pdf")
    found = [(d.severity.value, d.line) for d in info.value.diagnostics]
    assert found == [("error", 1), ("error", 6), ("error", 9)]
    assert all("texfails" in d.message or "Undefined control sequence" in d.message
               for d in info.value.diagnostics)
    assert not (tmp_path / "post.pdf").exists()
