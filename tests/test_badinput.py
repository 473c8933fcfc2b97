"""Bad input and faults: a clear diagnostic or a PDF, bounded time, never a traceback; no
partial output, no temp dir left, an earlier good output kept."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest
from click.testing import CliRunner
from helpers import cmdline, looping_template, processes_mentioning

import md2tex
from md2tex.cli.commands import main

needs_tex = pytest.mark.skipif(shutil.which("pdflatex") is None, reason="needs pdflatex")

ALIAS_BOMB = "---\na: &a [x,x,x,x,x,x,x,x,x]\n" + "".join(
    f"{n}: &{n} [{', '.join([f'*{p}'] * 9)}]\n" for p, n in zip("abcdefg", "bcdefgh", strict=True)
) + "---\nbody\n"

CASES: dict[str, bytes] = {
    "empty": b"",
    "whitespace": b"  \n\t\n   \n",
    "binary": bytes(range(256)) * 8,
    "invalid-utf8": b"fine\nnot \xff\xfe fine\n",
    "nested-lists": "".join("  " * i + "- item\n" for i in range(1000)).encode(),
    "nested-lists-4": "".join("    " * i + "* x\n" for i in range(1000)).encode(),
    "nested-quotes": (">" * 1000 + " deep\n").encode(),
    "nested-braces": ("$$" + "{" * 10000 + "x" + "}" * 10000 + "$$\n").encode(),
    "nested-braces-inline": ("$" + "{" * 3000 + "x" + "}" * 3000 + "$\n").encode(),
    "unclosed-fence": b"text\n\n```python\nprint(1)\n",
    "dollars-at-eof": b"text\n\n$$\n",
    "dollars-at-eof-inline": b"text $$x",
    "front-matter-list": b"---\n- a\n- b\n---\nbody\n",
    "front-matter-scalar": b"---\njust text\n---\nbody\n",
    "front-matter-bad-yaml": b"---\ntitle: [unclosed\n---\nbody\n",
    "front-matter-unclosed": b"---\ntitle: x\nbody\n",
    "alias-bomb": ALIAS_BOMB.encode(),
    "huge": b"word " * 5_000_001,
    "control-chars": b"a\x00b\x01c\x1bd\x7fe\x0cf\n",
    "lone-surrogate-escape": b"x \\ud800 y",
    "deep-emphasis": ("*" * 5000 + "x" + "*" * 5000).encode(),
    "many-brackets": ("[" * 5000 + "x" + "]" * 5000).encode(),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_bad_input_gives_a_document_or_a_diagnostic(name: str) -> None:
    started = time.monotonic()
    try:
        text = md2tex.pipeline.decode(CASES[name], name)
        doc = md2tex.convert(text, md2tex.Options(), name)
    except md2tex.InputError as exc:
        assert exc.diagnostics, "an InputError must say why"
    else:
        assert isinstance(doc.tex, str)
    assert time.monotonic() - started < 30


@needs_tex
def test_bad_inputs_through_the_cli(tmp_path: Path) -> None:
    """Each case through the command line: exit 0 with a PDF, or an error message; never a
    traceback. The cases that give a document go into one TeX run each (small ones)."""
    runner = CliRunner()
    for name in ("empty", "whitespace", "binary", "invalid-utf8", "nested-lists",
                 "nested-quotes", "nested-braces", "unclosed-fence", "dollars-at-eof",
                 "front-matter-list", "alias-bomb", "huge", "control-chars"):
        src = tmp_path / f"{name}.md"
        src.write_bytes(CASES[name])
        out = tmp_path / f"{name}.pdf"
        started = time.monotonic()
        result = runner.invoke(main, [str(src), "-o", str(out), "--timeout", "20"])
        assert time.monotonic() - started < 60, name
        assert "Traceback" not in result.output, name
        assert result.exception is None or isinstance(result.exception, SystemExit), \
            (name, result.exception)
        if result.exit_code == 0:
            assert out.read_bytes().startswith(b"%PDF"), name
        else:
            assert result.exit_code in (1, 3), (name, result.output)
            assert "error" in result.output, name
            assert not out.exists(), name


@needs_tex
def test_loop_is_killed_and_cleaned_up(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    builds = tmp_path / "builds"
    builds.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(builds))
    out = tmp_path / "loop.pdf"
    out.write_bytes(b"%PDF earlier good output")
    doc = md2tex.convert("A post.\n", md2tex.Options(timeout=3,
                                                      template=looping_template(tmp_path)))
    started = time.monotonic()
    with pytest.raises(md2tex.BuildError) as info:
        md2tex.build_pdf(doc, out)
    assert time.monotonic() - started < 3 + 5
    assert info.value.diagnostics[0].code == "tex-timeout"
    assert out.read_bytes() == b"%PDF earlier good output"
    assert list(builds.iterdir()) == []
    assert processes_mentioning(builds) == []


@needs_tex
def test_tex_error_keeps_earlier_output(tmp_path: Path) -> None:
    out = tmp_path / "out" / "post.pdf"
    out.parent.mkdir()
    out.write_bytes(b"%PDF good")
    # a TeX error outside any formula (a formula TeX rejects is shown as an error instead)
    template = tmp_path / "t.tex.j2"
    template.write_text('((* extends "article.tex.j2" *))\n'
                        "((* block front *))\\mdnosuchcommand((* endblock *))\n")
    doc = md2tex.convert("$x$\n", md2tex.Options(equation_numbers="none", template=template))
    assert doc.ok
    with pytest.raises(md2tex.BuildError):
        md2tex.build_pdf(doc, out)
    assert out.read_bytes() == b"%PDF good"
    assert [p.name for p in out.parent.iterdir()] == ["post.pdf"]


def test_output_dir_missing_or_not_writable(tmp_path: Path) -> None:
    src = tmp_path / "a.md"
    src.write_text("hello\n")
    runner = CliRunner()
    result = runner.invoke(main, [str(src), "-o", str(tmp_path / "nope" / "a.pdf")])
    assert result.exit_code == 5
    assert "does not exist" in result.output
    result = runner.invoke(main, [str(src), "-o", str(tmp_path / "nope" / "a.tex")])
    assert result.exit_code == 5 and "Traceback" not in result.output
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0o500)
    try:
        if os.access(locked, os.W_OK):
            pytest.skip("running as root: permissions do not stop writes")
        result = runner.invoke(main, [str(src), "-o", str(locked / "a.pdf")])
        assert result.exit_code == 5
    finally:
        locked.chmod(0o700)


def test_internal_error_is_one_line(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    src = tmp_path / "a.md"
    src.write_text("hello\n")

    def boom(*_a: object, **_k: object) -> None:
        raise RuntimeError("something\nbroke")

    monkeypatch.setattr("md2tex.cli.commands.convert_file", boom)
    monkeypatch.delenv("MD2TEX_DEBUG", raising=False)
    result = CliRunner().invoke(main, [str(src), "-o", str(tmp_path / "a.tex")])
    assert result.exit_code == 70
    assert "internal error: RuntimeError: something broke" in result.output
    assert "Traceback" not in result.output


@needs_tex
def test_ctrl_c_leaves_nothing_behind(tmp_path: Path) -> None:
    """SIGINT while TeX runs: exit 130, no output file, no temp dir, no TeX left. (Waits
    for the TeX command itself, not the sandbox probe, whose scratch dir is also named
    md2tex-*; an interrupt during the probe joins it so its dir goes too.)"""
    builds = tmp_path / "builds"
    builds.mkdir()
    src = tmp_path / "loop.md"
    src.write_text("A post.\n")
    out = tmp_path / "loop.pdf"
    env = {**os.environ, "TMPDIR": str(builds)}
    proc = subprocess.Popen([sys.executable, "-m", "md2tex", str(src), "-o", str(out),
                             "--template", str(looping_template(tmp_path)),
                             "--timeout", "30"], env=env, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline and not any(
            b"-interaction=nonstopmode" in cmdline(pid) for pid in processes_mentioning(builds)):
        time.sleep(0.1)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=15)
    assert proc.returncode == 130, err
    assert b"interrupted" in err and b"Traceback" not in err
    assert not out.exists()
    time.sleep(0.2)
    assert list(builds.iterdir()) == []
    assert processes_mentioning(builds) == []
