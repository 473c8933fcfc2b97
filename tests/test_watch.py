"""``md2tex watch``: the real command in a child process rebuilds on each save, keeps the last
good PDF when a save has errors, follows new posts of a folder, and leaves no TeX behind."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from helpers import ROOT, md2tex_cmd, needs_tex, pdf_text, processes_mentioning, squash

import md2tex
from md2tex.tex import build, warmtex
from md2tex.tex import formats as fmtcache

pytestmark = needs_tex

POST = "---\ntitle: Watched\n---\n\nThe first version says {word} with $x^2 + {n}$.\n"


def _wait(condition: Callable[[], bool], seconds: float = 90.0) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.05)
    raise AssertionError("condition not met in time")


def _says(pdf: Path, word: str) -> bool:
    try:
        return pdf.is_file() and word in squash(pdf_text(pdf))
    except (subprocess.CalledProcessError, OSError):
        return False


@pytest.fixture
def watcher(tmp_path: Path) -> Iterator[Callable[..., subprocess.Popen[str]]]:
    started: list[subprocess.Popen[str]] = []

    def start(*args: str | Path) -> subprocess.Popen[str]:
        env = {**os.environ, "PYTHONPATH": str(ROOT), "XDG_CACHE_HOME": str(tmp_path / "cache")}
        proc = subprocess.Popen([*md2tex_cmd(), "watch", *map(str, args)], cwd=tmp_path,
                                env=env, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True)
        started.append(proc)
        return proc

    yield start
    for proc in started:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def _stop(proc: subprocess.Popen[str]) -> str:
    proc.send_signal(signal.SIGINT)
    _out, err = proc.communicate(timeout=30)
    return err


def test_rebuilds_on_each_save_and_keeps_the_last_good_pdf(
        tmp_path: Path, watcher: Callable[..., subprocess.Popen[str]]) -> None:
    post = tmp_path / "post.md"
    pdf = tmp_path / "out.pdf"
    post.write_text(POST.format(word="alpha", n=1), encoding="utf-8")
    proc = watcher(post, "-o", pdf)
    _wait(lambda: _says(pdf, "alpha"))

    for n, word in enumerate(("bravo", "charlie", "delta"), start=2):
        post.write_text(POST.format(word=word, n=n), encoding="utf-8")
        _wait(lambda word=word: _says(pdf, word))  # type: ignore[misc]

    good = pdf.read_bytes()
    post.write_text("---\ntitle: [unclosed\n---\n\nEcho.\n", encoding="utf-8")
    time.sleep(3)
    assert pdf.read_bytes() == good, "a save with errors replaced the last good PDF"
    post.write_text(POST.format(word="foxtrot", n=9), encoding="utf-8")
    _wait(lambda: _says(pdf, "foxtrot"))

    err = _stop(proc)
    assert proc.returncode == 0, err
    assert "post.md:" in err and "[front-matter]" in err and "not built" in err, err
    assert "Traceback" not in err
    assert not processes_mentioning("-fmt=md2tex-"), "a TeX process outlived watch"
    assert not [p for p in tmp_path.iterdir() if p.name.startswith((".", "out.pdf."))
                and p.name != ".cache"], "a temporary output file was left"


def test_a_folder_follows_new_posts(tmp_path: Path,
                                    watcher: Callable[..., subprocess.Popen[str]]) -> None:
    site = tmp_path / "site"
    site.mkdir()
    (site / "one.md").write_text(POST.format(word="golf", n=1), encoding="utf-8")
    out = tmp_path / "pdf"
    proc = watcher(site, "-o", out)
    _wait(lambda: _says(out / "one.pdf", "golf"))
    (site / "two.md").write_text(POST.format(word="hotel", n=2), encoding="utf-8")
    _wait(lambda: _says(out / "two.pdf", "hotel"))
    (site / "one.md").write_text(POST.format(word="india", n=3), encoding="utf-8")
    _wait(lambda: _says(out / "one.pdf", "india"))
    err = _stop(proc)
    assert proc.returncode == 0, err
    assert "Traceback" not in err


FONTS_POST = ("---\ntitle: Fonts\n---\n\n## A heading\n\nText with *italics*, `code` and "
              "$\\sum_{i=1}^n x_i^2$.\n\n> A quote with $\\mathbb{R}$.\n")


def test_warm_tex_loads_the_fonts_the_last_body_loaded(format_cache: Path,
                                                       tmp_path: Path) -> None:
    doc = md2tex.convert(FONTS_POST)
    normal = build.build_pdf(doc, tmp_path / "normal.pdf")  # makes the format
    assert fmtcache.planned_format(doc) is not None
    first = warmtex.start_for(doc, doc.options.timeout)
    assert first is not None and not first.fonts
    guessed = build.build_pdf(doc, tmp_path / "guessed.pdf", early=first)
    assert guessed.early
    # the body's own fonts were named in the log: the heading's, the scripts' math sizes
    assert "T1/lmr/bx/n/14.4" in first.fonts and "U/msb/m/n/10.95" in first.fonts
    assert any(f.startswith("OML/lmm/m/it/") and not f.endswith("/10.95")
               for f in first.fonts)
    second = warmtex.start_for(doc, doc.options.timeout, first.fonts)
    assert second is not None
    warmed = build.build_pdf(doc, tmp_path / "warmed.pdf", early=second)
    assert warmed.early and warmed.runs == 1
    # every font was loaded ahead: the body loaded none of its own
    assert set(second.fonts) <= set(first.fonts)
    text = pdf_text(normal.pdf)
    assert "A heading" in text and pdf_text(guessed.pdf) == text == pdf_text(warmed.pdf)
    assert fmtcache.same_pdf(normal.pdf, warmed.pdf)


def test_font_warm_up_takes_only_nfss_names() -> None:
    log = ("md2tex-font:\\T1/lmr/m/n/10.95\nmd2tex-font:\\OML/lmm/m/it/8\n"
           "md2tex-font:\\T1/lmr/m/n/10.95\nmd2tex-font:\\TU/CMUSerif(0)/m/n/10\n"
           "md2tex-font:}\\evil/a/b/c/1\nText md2tex-font:\\T1/x/m/n/9\n")
    fonts = warmtex.recorded_fonts(log)
    assert fonts == ("T1/lmr/m/n/10.95", "OML/lmm/m/it/8")
    code = warmtex.font_warm_up((*fonts, "T1/lmr/m/n/9}\\input{x}", "../../a/b/c/1"))
    assert code.count("\\selectfont") == 2 and "input" not in code and ".." not in code
    assert "\\ifcsname T@OML\\endcsname" in code


def test_a_save_wakes_the_loop_with_the_file_saved(tmp_path: Path) -> None:
    from md2tex.cli import watch

    saves = watch._Saves()
    if saves.fd < 0:
        pytest.skip("no inotify here: the loop polls")
    try:
        saves.follow(tmp_path)
        assert saves.wait(0.01) == set()
        (tmp_path / "post.md").write_text("Saved in place.\n", encoding="utf-8")
        assert saves.wait(5) == {tmp_path / "post.md"}
        (tmp_path / ".post.md.swp").write_text("An editor's new copy.\n", encoding="utf-8")
        saves.wait(5)
        os.replace(tmp_path / ".post.md.swp", tmp_path / "post.md")  # saved by renaming
        assert tmp_path / "post.md" in saves.wait(5)
    finally:
        saves.close()
