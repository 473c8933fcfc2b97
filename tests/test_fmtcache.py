"""Precompiled preamble formats: split, dump, verify, use, fall back. Real TeX, no mocks."""

from __future__ import annotations

import subprocess
import tempfile
from dataclasses import replace
from pathlib import Path

import pytest
from batch_posts import GOOD, HAVE_PDFLATEX

import md2tex
from md2tex import build, fmtcache

needs_tex = pytest.mark.skipif(not HAVE_PDFLATEX, reason="needs pdflatex (TeX Live)")
needs_poppler = pytest.mark.skipif(
    subprocess.run(["which", "pdftotext"], capture_output=True).returncode != 0,
    reason="needs poppler-utils (pdftotext, pdfinfo)")


def test_split_keeps_line_numbers() -> None:
    tex = ("\\documentclass{article}\n% a comment\n\\usepackage[T1]{fontenc}\n\n"
           "\\usepackage{amsmath}\n\\newcommand{\\x}{y}\n\\usepackage{late}\n"
           "\\begin{document}\nHi\n\\end{document}\n")
    split = fmtcache.split_tex(tex)
    assert split is not None and split.lines == 7
    assert split.prefix.endswith("\\newcommand{\\x}{y}\n\\usepackage{late}\n")
    assert split.body.count("\n") == tex.count("\n")
    assert split.body.split("\n")[7] == "\\begin{document}"
    assert split.body.startswith("\n" * 7)


def test_split_refuses_what_it_cannot_dump() -> None:
    assert fmtcache.split_tex("\\usepackage{a}\n\\begin{document}\n\\end{document}") is None
    assert fmtcache.split_tex("\\documentclass{article}\n") is None
    multi = "\\documentclass{article}\n\\usepackage[a,\nb]{x}\n\\begin{document}\n"
    split = fmtcache.split_tex(multi)
    assert split is not None and split.prefix == "\\documentclass{article}\n"
    group = "\\documentclass{article}\n{\\usepackage{x}\n}\n\\begin{document}\n"
    split = fmtcache.split_tex(group)
    assert split is not None and split.prefix == "\\documentclass{article}\n"


def test_not_for_other_engines(format_cache: Path) -> None:
    doc = md2tex.convert(GOOD, md2tex.Options(engine="lualatex"))
    with tempfile.TemporaryDirectory() as tmp:
        assert fmtcache.use_format(doc, Path(tmp)) is None
        assert not fmtcache.create_format(doc, Path(tmp), 30)


@needs_tex
@needs_poppler
def test_format_is_made_verified_used_and_identical(format_cache: Path, tmp_path: Path) -> None:
    doc = md2tex.convert(GOOD)
    first = md2tex.build_pdf(doc, tmp_path / "first.pdf")
    formats = list(format_cache.glob("*.fmt"))
    assert len(formats) == 1, "the first build dumps and verifies a format"
    assert not list(format_cache.glob("*.bad")) and not list(format_cache.glob("*.tmp"))
    assert first.runs == 1  # no references, no rerun
    # kept uncompressed (TeX loads it twice as fast): web2c's format header, not gzip's
    assert formats[0].read_bytes()[:4] == b"W2TX"

    with tempfile.TemporaryDirectory() as tmp:
        use = fmtcache.use_format(doc, Path(tmp))
        assert use is not None and use.args == (f"-fmt={formats[0].stem}",)
        assert (Path(tmp) / formats[0].name).is_file()  # copied in for openin_any=p
    md2tex.build_pdf(doc, tmp_path / "with.pdf")
    plain = replace(doc, options=replace(doc.options, format_cache=False))
    md2tex.build_pdf(plain, tmp_path / "without.pdf")
    assert fmtcache.same_pdf(tmp_path / "with.pdf", tmp_path / "without.pdf")
    info = subprocess.run(["pdfinfo", str(tmp_path / "with.pdf")], capture_output=True,
                          text=True).stdout
    assert "A small note on sums" in info and "Test Writer" in info  # hyperref metadata


@needs_tex
@needs_poppler
def test_tex_error_lines_are_the_same_with_a_format(format_cache: Path, tmp_path: Path) -> None:
    doc = md2tex.convert(GOOD)
    md2tex.build_pdf(doc, tmp_path / "a.pdf")  # makes the format
    broken = replace(doc, tex=doc.tex.replace("Plain text follows.",
                                              "Plain \\undefinedcs text follows."))
    errors = []
    for with_format in (True, False):
        with tempfile.TemporaryDirectory() as tmp:
            work = Path(tmp)
            (work / "document.tex").write_text(broken.tex)
            use = fmtcache.use_format(broken, work) if with_format else None
            assert (use is not None) is with_format
            with pytest.raises(md2tex.BuildError) as info:
                build._run_until_settled(broken, work, 1e12, use.args if use else ())
            errors.append([(d.line, d.message) for d in info.value.diagnostics])
    assert errors[0] == errors[1]
    assert errors[0][0][0] == 10  # the Markdown line of "Plain text follows."


@needs_tex
@needs_poppler
def test_broken_format_falls_back_silently_and_is_disabled(format_cache: Path,
                                                           tmp_path: Path) -> None:
    doc = md2tex.convert(GOOD)
    md2tex.build_pdf(doc, tmp_path / "a.pdf")
    (fmt,) = format_cache.glob("*.fmt")
    fmt.write_bytes(b"not a format")
    result = md2tex.build_pdf(doc, tmp_path / "b.pdf")
    assert result.pdf.read_bytes().startswith(b"%PDF")
    assert (format_cache / f"{fmt.stem}.bad").exists()
    with tempfile.TemporaryDirectory() as tmp:
        assert fmtcache.use_format(doc, Path(tmp)) is None
