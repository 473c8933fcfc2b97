"""Precompiled preamble formats: split, dump, verify, use, fall back. Real TeX, no mocks."""

from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
import tempfile
import time
from dataclasses import replace
from pathlib import Path

import pytest
from batch_posts import GOOD, HAVE_PDFLATEX

import md2tex
from md2tex.tex import build, passes
from md2tex.tex import formats as fmtcache

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
        # TeX loads the cached file where it is, by absolute path: nothing in its work dir
        assert use is not None and use.args == (f"-fmt={formats[0]}",)
        assert not list(Path(tmp).glob("*.fmt"))
    recorded = json.loads(formats[0].with_suffix(".sha256").read_text())
    assert recorded["sha256"] == _sha256(formats[0])
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
                passes.run_until_settled(broken, work, 1e12, use.args if use else ())
            errors.append([(d.line, d.message) for d in info.value.diagnostics])
    assert errors[0] == errors[1]
    assert errors[0][0][0] == 10  # the Markdown line of "Plain text follows."


@needs_tex
@needs_poppler
def test_broken_format_falls_back_silently_and_is_disabled(format_cache: Path,
                                                           tmp_path: Path) -> None:
    """A format with its recorded hash that TeX cannot load (a TeX Live change under it,
    say): the post builds without it and the format is never used again."""
    doc = md2tex.convert(GOOD)
    md2tex.build_pdf(doc, tmp_path / "a.pdf")
    (fmt,) = format_cache.glob("*.fmt")
    fmt.write_bytes(b"not a format")
    fmtcache._record_hash(fmt, _sha256(fmt))
    result = md2tex.build_pdf(doc, tmp_path / "b.pdf")
    assert result.pdf.read_bytes().startswith(b"%PDF")
    assert (format_cache / f"{fmt.stem}.bad").exists()
    with tempfile.TemporaryDirectory() as tmp:
        assert fmtcache.use_format(doc, Path(tmp)) is None


@needs_tex
@needs_poppler
@pytest.mark.parametrize("tamper", ["truncate", "same-size"])
def test_tampered_format_is_detected_and_rebuilt(format_cache: Path, tmp_path: Path,
                                                 tamper: str) -> None:
    doc = md2tex.convert(GOOD)
    md2tex.build_pdf(doc, tmp_path / "a.pdf")
    (fmt,) = format_cache.glob("*.fmt")
    time.sleep(0.05)  # past the file system's timestamp granularity
    if tamper == "truncate":
        fmt.write_bytes(b"pwned\n")
    else:
        data = bytearray(fmt.read_bytes())
        data[len(data) // 2] ^= 0xFF
        fmt.write_bytes(bytes(data))
    tampered = _sha256(fmt)
    with tempfile.TemporaryDirectory() as tmp:
        assert fmtcache.use_format(doc, Path(tmp)) is None  # refused by its hash
    assert not fmt.exists()  # removed ...
    md2tex.build_pdf(doc, tmp_path / "b.pdf")  # ... and made again by the next build
    # (a new dump, verified and hashed afresh: its bytes may differ from the first one's,
    # whose banner holds the minute it was dumped)
    assert fmt.exists() and _sha256(fmt) != tampered and fmtcache.verified(fmt)
    assert not (format_cache / f"{fmt.stem}.bad").exists()
    with tempfile.TemporaryDirectory() as tmp:
        assert fmtcache.use_format(doc, Path(tmp)) is not None


def _openout_post(name: str) -> str:
    """A post whose math (a \\newcommand body: reaches TeX unvalidated) writes the file
    ``name`` in TeX's current directory."""
    return GOOD + ("\nAnd $\\newcommand{\\pwn}{\\immediate\\openout5=" + name
                   + "\\immediate\\write5{pwned}\\immediate\\closeout5}\\pwn x$.\n")


def _attack(format_cache: Path) -> tuple[md2tex.Document, str]:
    """The openout post aimed at its own format's file name."""
    probe = md2tex.convert(_openout_post("placeholder.fmt"))
    plan = fmtcache._applicable(probe)
    assert plan is not None
    name = plan[1]
    doc = md2tex.convert(_openout_post(f"{name}.fmt"))
    again = fmtcache._applicable(doc)
    assert doc.ok and again is not None and again[1] == name  # the macro is not in the format
    return doc, name


def _isolations() -> list[str]:
    from md2tex.tex import sandbox

    modes = ["none"]
    if shutil.which("pdflatex") and sandbox.choose(shutil.which("pdflatex") or "") == "bwrap":
        modes.append("bwrap")
    return modes


def _uses_format(doc: md2tex.Document, name: str) -> bool:
    """Build ``doc`` in a scratch dir as ``build_pdf`` does; did TeX load format ``name``?"""
    with tempfile.TemporaryDirectory() as tmp:
        _runs, log_text = build.compile_document(doc, Path(tmp), 60)
    return f"format={name}" in log_text.split("\n", 1)[0]


@needs_tex
@needs_poppler
@pytest.mark.parametrize("isolation", _isolations())
def test_post_cannot_overwrite_the_cached_format(format_cache: Path, tmp_path: Path,
                                                 monkeypatch: pytest.MonkeyPatch,
                                                 isolation: str) -> None:
    monkeypatch.setenv("MD2TEX_ISOLATION", isolation)
    attack, name = _attack(format_cache)
    md2tex.build_pdf(md2tex.convert(GOOD), tmp_path / "good.pdf")  # makes the format
    fmt = format_cache / f"{name}.fmt"
    before = _sha256(fmt)
    assert _uses_format(attack, name)  # the attack ran with the format and wrote its name
    md2tex.build_pdf(attack, tmp_path / "attack.pdf")
    assert _sha256(fmt) == before and fmt.stat().st_size > 1 << 20
    assert not (format_cache / f"{name}.bad").exists()
    assert _uses_format(md2tex.convert(GOOD), name)  # the next post still uses it


@needs_tex
@needs_poppler
@pytest.mark.parametrize("isolation", _isolations())
def test_post_cannot_plant_a_format_in_a_fresh_cache(format_cache: Path, tmp_path: Path,
                                                     monkeypatch: pytest.MonkeyPatch,
                                                     isolation: str) -> None:
    """The post that creates the format also runs its check build: what it writes under the
    format's name stays in that build's work dir; the installed format is the dumped one."""
    monkeypatch.setenv("MD2TEX_ISOLATION", isolation)
    attack, name = _attack(format_cache)
    md2tex.build_pdf(attack, tmp_path / "attack.pdf")
    fmt = format_cache / f"{name}.fmt"
    assert fmt.read_bytes()[:4] == b"W2TX" and fmt.stat().st_size > 1 << 20
    assert fmtcache.verified(fmt)
    assert not (format_cache / f"{name}.bad").exists()
    good = md2tex.build_pdf(md2tex.convert(GOOD), tmp_path / "good.pdf")
    assert good.pdf.read_bytes().startswith(b"%PDF")
    assert _uses_format(md2tex.convert(GOOD), name)


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@needs_tex
def test_the_installation_is_asked_once_and_again_when_it_changes(format_cache: Path,
                                                                  tmp_path: Path) -> None:
    fmtcache._tex_version.cache_clear()
    asked = fmtcache.tex_version("pdflatex")
    assert asked is not None and asked.startswith("pdfTeX")
    answers = format_cache / "tex-installation.json"
    known = json.loads(answers.read_text())
    # a later run takes the remembered answer (no helper process): a planted one shows it;
    # the base format's identity is still looked at on every run
    base = tmp_path / "pdflatex.fmt"
    base.write_bytes(b"x")
    known["pdflatex"].update(version="pdfTeX remembered", base_format=str(base))
    answers.write_text(json.dumps(known))
    fmtcache._tex_version.cache_clear()
    first = fmtcache.tex_version("pdflatex")
    assert first is not None and first.startswith(f"pdfTeX remembered|{base}:1:")
    base.write_bytes(b"xy")
    fmtcache._tex_version.cache_clear()
    assert fmtcache.tex_version("pdflatex") != first
    # another engine binary or TeX configuration: TeX is asked again
    known["pdflatex"]["installation"][2] = [0, 0, 0, 0, 0]
    answers.write_text(json.dumps(known))
    fmtcache._tex_version.cache_clear()
    assert fmtcache.tex_version("pdflatex") == asked
    assert json.loads(answers.read_text())["pdflatex"]["version"] != "pdfTeX remembered"
    fmtcache._tex_version.cache_clear()
