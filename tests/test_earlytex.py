"""Early TeX (``md2tex.tex.earlytex``): the single-post CLI starts TeX with the format of the post's
last build while Python converts. Real TeX runs through the real CLI, no mocks, no timing:
the second build uses the early process (``-v`` says so), its PDF is the normal one, a wrong
guess and every way out leave no process and no work dir behind."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import time
from pathlib import Path

import pytest
from helpers import (
    TRAP,
    TRAP_MACROS,
    cmdline,
    looping_template,
    md2tex_cmd,
    needs_tex,
    pdf_info,
    pdf_text,
    processes_mentioning,
    run_md2tex,
    trap_template,
)

from md2tex.tex import formats as fmtcache

pytestmark = needs_tex

EARLY = "TeX started early"
POST = "---\ntitle: Early\n---\n\nA formula $x^2 + y^2$ here.\n\nSecond paragraph.\n"


@pytest.fixture()
def env(tmp_path: Path) -> dict[str, str]:
    """A private format cache and a private TMPDIR (to find stray work dirs)."""
    builds = tmp_path / "builds"
    builds.mkdir()
    return {"XDG_CACHE_HOME": str(tmp_path / "xdg"), "TMPDIR": str(builds),
            "MD2TEX_EARLY_TEX": "1"}


def _nothing_left(tmp_path: Path) -> None:
    builds = tmp_path / "builds"
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline and (list(builds.iterdir()) or processes_mentioning(builds)):
        time.sleep(0.05)
    assert list(builds.iterdir()) == []
    assert processes_mentioning(builds) == []


def _build(tmp_path: Path, env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return run_md2tex(["post.md", "-o", "post.pdf", *args], cwd=tmp_path, env=env)


def test_second_build_starts_tex_early_and_matches_a_normal_build(
        tmp_path: Path, env: dict[str, str]) -> None:
    (tmp_path / "post.md").write_text(POST, encoding="utf-8")
    first = _build(tmp_path, env, "-v")
    assert first.returncode == 0, first.stderr
    assert EARLY not in first.stderr  # nothing recorded yet: a normal build
    records = json.loads((tmp_path / "xdg" / "md2tex" / "formats" / "last-formats.json")
                         .read_text(encoding="utf-8"))
    (entry,) = records.values()
    assert entry["engine"] == "pdflatex" and (
        tmp_path / "xdg" / "md2tex" / "formats" / f"{entry['format']}.fmt").is_file()
    second = _build(tmp_path, env, "-v")
    assert second.returncode == 0, second.stderr
    assert EARLY in second.stderr
    early_pdf = tmp_path / "early.pdf"
    (tmp_path / "post.pdf").rename(early_pdf)
    text = pdf_text(early_pdf)
    assert "A formula" in text and "Second paragraph." in text
    normal = _build(tmp_path, {**env, "MD2TEX_EARLY_TEX": "0"}, "-v")
    assert normal.returncode == 0, normal.stderr
    assert EARLY not in normal.stderr  # turned off
    assert fmtcache.same_pdf(early_pdf, tmp_path / "post.pdf")
    isolation = [re.findall(r"isolation: (\w+)", run.stderr) for run in (second, normal)]
    assert isolation[0] == isolation[1] and isolation[0][0] in ("bwrap", "none")
    _nothing_left(tmp_path)


def test_wrong_guess_builds_normally_and_leaves_nothing(tmp_path: Path,
                                                         env: dict[str, str]) -> None:
    post = tmp_path / "post.md"
    post.write_text(POST, encoding="utf-8")
    assert _build(tmp_path, env).returncode == 0
    # a code block brings the highlighting packages: another preamble, another format
    post.write_text(POST + "\n```python\nprint('changed')\n```\n", encoding="utf-8")
    second = _build(tmp_path, env, "-vv")
    assert second.returncode == 0, second.stderr
    assert "early TeX: started" in second.stderr  # the guess was made...
    assert EARLY not in second.stderr  # ...and not used
    assert "print('changed')" in pdf_text(tmp_path / "post.pdf")
    _nothing_left(tmp_path)
    third = _build(tmp_path, env, "-v")  # the new format was recorded
    assert third.returncode == 0 and EARLY in third.stderr, third.stderr
    _nothing_left(tmp_path)


def test_tex_error_through_the_early_path_is_at_the_markdown_line(
        tmp_path: Path, env: dict[str, str]) -> None:
    post = tmp_path / "post.md"
    macros = tmp_path / "macros.tex"
    macros.write_text(TRAP_MACROS + "\n", encoding="utf-8")
    args = ("--template", str(trap_template(tmp_path)), "--macros", str(macros),
            "--strict")  # a TeX error in a formula fails the build only under --strict
    text = "---\ntitle: T\n---\n\nFine.\n\n- a\n- b with {} here\n\nEnd.\n"
    post.write_text(text.format("$x$"), encoding="utf-8")
    assert _build(tmp_path, env, *args).returncode == 0
    post.write_text(text.format(TRAP), encoding="utf-8")
    early = _build(tmp_path, env, *args, "-vv")
    assert early.returncode == 3, early.stderr
    assert "early TeX: first pass by the process" in early.stderr
    normal = _build(tmp_path, {**env, "MD2TEX_EARLY_TEX": "0"}, *args)
    assert normal.returncode == 3, normal.stderr

    def errors(stderr: str) -> list[str]:
        return [line for line in stderr.splitlines() if not line.startswith("md2tex: ")]

    assert errors(early.stderr) == errors(normal.stderr)
    assert errors(early.stderr)[0].startswith(
        "post.md:8: error: TeX: Undefined control sequence"), early.stderr
    _nothing_left(tmp_path)


def test_conversion_error_kills_the_early_process(tmp_path: Path,
                                                   env: dict[str, str]) -> None:
    post = tmp_path / "post.md"
    post.write_text(POST, encoding="utf-8")
    assert _build(tmp_path, env).returncode == 0
    post.write_text(POST + "\n$$\\frac{a}$$\n", encoding="utf-8")  # refused under --strict
    proc = _build(tmp_path, env, "-vv", "--strict")
    assert proc.returncode == 1, proc.stderr
    assert "early TeX: started" in proc.stderr
    _nothing_left(tmp_path)


def test_ctrl_c_with_an_early_process_leaves_nothing(tmp_path: Path,
                                                     env: dict[str, str]) -> None:
    """SIGINT once the early TeX process exists (while Python converts, or once it loops in
    the looping template's body): exit 130, no output, no work dir, no TeX left."""
    loop = looping_template(tmp_path)
    post = tmp_path / "post.md"
    post.write_text(POST, encoding="utf-8")
    assert _build(tmp_path, env).returncode == 0
    (tmp_path / "post.pdf").unlink()
    builds = tmp_path / "builds"
    proc = subprocess.Popen([*md2tex_cmd(), "post.md", "-o", "post.pdf", "--template",
                             str(loop), "--timeout", "30"], cwd=tmp_path,
                            env={**os.environ, "PYTHONPATH": str(Path(__file__).parents[1]),
                                 **env}, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline and not any(
            re.search(rb"-interaction=(errorstopmode|scrollmode)", cmdline(pid))
            for pid in processes_mentioning(builds)):
        time.sleep(0.02)
    assert processes_mentioning(builds), "no early TeX process appeared"
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=20)
    # 130 from md2tex's handler; rarely (an interrupt in the first ~0.1 s of an early-start
    # build, under ``python -m``) the interpreter ends itself by SIGINT after that handler ran
    # (a shell reports 130 for both); see the report of the change
    assert proc.returncode in (130, -signal.SIGINT), err
    assert b"interrupted" in err and b"Traceback" not in err
    assert not (tmp_path / "post.pdf").exists()
    _nothing_left(tmp_path)


def test_stdin_and_tex_output_never_start_tex_early(tmp_path: Path,
                                                    env: dict[str, str]) -> None:
    (tmp_path / "post.md").write_text(POST, encoding="utf-8")
    assert _build(tmp_path, env).returncode == 0
    tex = run_md2tex(["post.md", "-o", "post.tex", "-vv"], cwd=tmp_path, env=env)
    assert tex.returncode == 0 and "early TeX" not in tex.stderr
    piped = run_md2tex(["-", "-o", "stdin.pdf", "-v"], cwd=tmp_path, env=env, input=POST)
    assert piped.returncode == 0 and EARLY not in piped.stderr, piped.stderr
    _nothing_left(tmp_path)


def test_a_damaged_record_is_ignored(tmp_path: Path, env: dict[str, str]) -> None:
    (tmp_path / "post.md").write_text(POST, encoding="utf-8")
    assert _build(tmp_path, env).returncode == 0
    record = tmp_path / "xdg" / "md2tex" / "formats" / "last-formats.json"
    key = str((tmp_path / "post.md").resolve())
    for damaged in ("{not json", json.dumps({key: {"engine": "pdflatex",
                                                   "format": "../../etc/passwd"}}),
                    json.dumps({key: {"engine": "sh", "format": "md2tex-" + "0" * 24}})):
        record.write_text(damaged, encoding="utf-8")
        proc = _build(tmp_path, env, "-v")
        assert proc.returncode == 0 and EARLY not in proc.stderr, proc.stderr
        _nothing_left(tmp_path)
    assert EARLY in _build(tmp_path, env, "-v").stderr  # rewritten by the last build


RICH = """---
title: Warm fonts
description: A post that uses every font the warm-up loads.
---

{toc}Some *italic*, **bold** and `inline code`, a footnote[^1] and math $a^2 + b_i$.

## A section

$$\\int_0^1 x\\,dx = \\frac{{1}}{{2}}$$

### A subsection

```python
def f(x):
    return x ** 2  # squared
```

[^1]: The footnote text.
"""


def _pages(pdf: Path, out: Path) -> list[bytes]:
    out.parent.mkdir(exist_ok=True)
    subprocess.run(["pdftoppm", "-r", "60", "-png", str(pdf), str(out)], check=True)
    return [page.read_bytes() for page in sorted(out.parent.glob(out.name + "*.png"))]


@pytest.mark.parametrize("toc", [False, True])
def test_predocument_and_warm_up_give_the_same_pages(tmp_path: Path, env: dict[str, str],
                                                     toc: bool) -> None:
    """The early process ran the recorded predocument and the font warm-up before it got
    the body; the pages are pixel for pixel those of a normal build (with a table of
    contents, the second pass gets the whole body file back)."""
    (tmp_path / "post.md").write_text(RICH.format(toc="* TOC\n{:toc}\n\n" if toc else ""),
                                      encoding="utf-8")
    assert _build(tmp_path, env).returncode == 0
    formats = tmp_path / "xdg" / "md2tex" / "formats"
    (entry,) = json.loads((formats / "last-formats.json").read_text(encoding="utf-8")).values()
    assert set(entry["warm_up"]) >= {"math", "italic", "bold", "tt", "code", "footnote",
                                     "title", "abstract", "section", "subsection"}
    predocument = formats / f"predocument-{entry['predocument']}.tex"
    assert predocument.read_text(encoding="utf-8").rstrip().endswith("\\begin{document}")
    early = _build(tmp_path, env, "-vv")
    assert early.returncode == 0, early.stderr
    assert "and its predocument" in early.stderr and EARLY in early.stderr
    assert ("2 TeX runs" in early.stderr) == toc
    (tmp_path / "post.pdf").rename(tmp_path / "early.pdf")
    normal = _build(tmp_path, {**env, "MD2TEX_EARLY_TEX": "0"}, "-v")
    assert normal.returncode == 0 and EARLY not in normal.stderr, normal.stderr
    early_pages = _pages(tmp_path / "early.pdf", tmp_path / "pages" / "early")
    assert early_pages and early_pages == _pages(tmp_path / "post.pdf",
                                                 tmp_path / "pages" / "normal")
    text = pdf_text(tmp_path / "early.pdf")
    assert "The footnote text." in text and "squared" in text
    if toc:
        assert text.count("A subsection") == 2  # in the contents and as the heading
    _nothing_left(tmp_path)


def test_a_changed_predocument_is_not_used(tmp_path: Path, env: dict[str, str]) -> None:
    """A macro in the front matter changes the lines before ``\\begin{document}`` (not the
    format): the early process ran the old ones, so it is not used; the PDF has the new
    title; the next build uses the new predocument, and the old one's file is removed."""
    post = tmp_path / "post.md"
    post.write_text(POST, encoding="utf-8")
    assert _build(tmp_path, env).returncode == 0
    formats = tmp_path / "xdg" / "md2tex" / "formats"
    old = sorted(formats.glob("predocument-*.tex"))
    assert len(old) == 1
    macro = "title: Renamed\nmacros:\n  RR: '\\mathbb{R}'"
    post.write_text(POST.replace("title: Early", macro), encoding="utf-8")
    second = _build(tmp_path, env, "-vv")
    assert second.returncode == 0, second.stderr
    assert "and its predocument" in second.stderr
    assert "the post's predocument changed" in second.stderr and EARLY not in second.stderr
    assert pdf_info(tmp_path / "post.pdf")["Title"] == "Renamed"
    assert "Renamed" in pdf_text(tmp_path / "post.pdf")
    _nothing_left(tmp_path)
    new = sorted(formats.glob("predocument-*.tex"))
    assert len(new) == 1 and new != old
    third = _build(tmp_path, env, "-v")
    assert third.returncode == 0 and EARLY in third.stderr, third.stderr
    _nothing_left(tmp_path)


def test_a_new_post_starts_with_the_format_of_its_folder(tmp_path: Path,
                                                         env: dict[str, str]) -> None:
    """A post never built before: TeX starts early with the format and predocument of the
    latest build in the same folder (its title and metadata come after them)."""
    (tmp_path / "post.md").write_text(POST, encoding="utf-8")
    assert _build(tmp_path, env).returncode == 0
    (tmp_path / "second.md").write_text(POST.replace("title: Early", "title: Second"),
                                        encoding="utf-8")
    proc = run_md2tex(["second.md", "-o", "second.pdf", "-vv"], cwd=tmp_path, env=env)
    assert proc.returncode == 0, proc.stderr
    started = [line for line in proc.stderr.splitlines() if "early TeX: started" in line]
    assert len(started) == 1 and "and its predocument" in started[0]
    assert EARLY in proc.stderr
    assert pdf_info(tmp_path / "second.pdf")["Title"] == "Second"
    assert "Second" in pdf_text(tmp_path / "second.pdf")
    _nothing_left(tmp_path)


@pytest.mark.parametrize(("args", "expected"), [
    (["post.md", "-o", "post.pdf"], "post.md"),
    (["post.md"], "post.md"),
    (["convert", "-v", "post.md", "--output=out.PDF"], "post.md"),
    (["post.md", "-o", "post.tex"], None),
    (["post.md", "-o", "-"], None),
    (["batch", "posts", "-o", "out"], None),
    (["check", "post.md"], None),
    (["post.md", "--help"], None),
    (["missing.md", "-o", "x.pdf"], None),
    (["post.md", "other.md"], None),
])
def test_the_console_script_recognises_a_single_post_pdf_build(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, args: list[str],
        expected: str | None) -> None:
    from md2tex.cli.launch import single_pdf_source

    monkeypatch.chdir(tmp_path)
    for name in ("post.md", "other.md"):
        (tmp_path / name).write_text(POST, encoding="utf-8")
    found = single_pdf_source(args)
    assert (str(found) if found else None) == expected


def test_the_console_script_starts_tex_before_the_cli_and_the_cli_reports_it(
        tmp_path: Path, env: dict[str, str]) -> None:
    """``python -m md2tex`` goes through ``launch``: the early process it starts is the one
    the build uses, and ``-vv`` still says so (logging is set up after it started)."""
    (tmp_path / "post.md").write_text(POST, encoding="utf-8")
    assert _build(tmp_path, env).returncode == 0
    proc = _build(tmp_path, env, "-vv")
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr.count("early TeX: started") == 1 and EARLY in proc.stderr
    _nothing_left(tmp_path)
