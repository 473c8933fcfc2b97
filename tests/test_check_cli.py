"""``md2tex check``: compiler-style output, JSON, exit codes, --strict, --macros. A formula
with an error is a warning (the PDF shows it as MathJax shows an error); --strict refuses."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner

from md2tex.cli.commands import main

POST = "# T\n\nSome math: $x^a^b$ and $\\mathbb{2}$.\n\n$$\\text{a_b}$$\n"


def run(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(main, list(args))
    return result.exit_code, result.output


def test_text_format(tmp_path: Path) -> None:
    p = tmp_path / "post.md"
    p.write_text(POST)
    code, out = run("check", str(p))
    assert code == 0
    assert f"{p}:3:16: warning: double superscript" in out
    assert "shown in red as MathJax shows a formula with an error" in out
    assert "     3 | Some math: $x^a^b$" in out
    assert "       |                ^" in out
    assert "[math-double-script]" in out
    assert "warning: \\mathbb{2}" in out
    assert "note: '_' inside \\text{} became \\_" in out
    code, out = run("check", "--strict", str(p))
    assert code == 1
    assert f"{p}:3:16: error: double superscript" in out


def test_json_format_and_clean_file(tmp_path: Path) -> None:
    p = tmp_path / "post.md"
    p.write_text(POST)
    code, out = run("check", "--format", "json", "--strict", str(p))
    data = json.loads(out[out.index("["):])
    assert code == 1
    first = data[0]
    assert set(first) >= {"path", "line", "column", "severity", "code", "message", "fix"}
    assert (first["line"], first["column"], first["severity"]) == (3, 16, "error")
    code, out = run("check", "--format", "json", str(p))
    assert code == 0 and json.loads(out[out.index("["):])[0]["severity"] == "warning"
    ok = tmp_path / "ok.md"
    ok.write_text("$$\\mathbb{2}$$\n")
    assert run("check", str(ok))[0] == 0
    assert run("check", "--strict", str(ok))[0] == 1


def test_macros_file(tmp_path: Path) -> None:
    p = tmp_path / "post.md"
    p.write_text("$$\\RR^n$$\n")
    m = tmp_path / "macros.json"
    m.write_text(json.dumps({"\\RR": "\\mathbb{R}"}))
    code, out = run("check", str(p))
    assert code == 0 and "warning: undefined control sequence \\RR" in out
    assert run("check", "--strict", str(p))[0] == 1
    code, out = run("check", "--macros", str(m), str(p))
    assert code == 0 and "warning:" not in out
    # a bad definition is a warning at its file and line; the macro stays undefined
    bad = tmp_path / "bad.tex"
    bad.write_text("% macros\n\\newcommand{\\end}{x}")
    code, out = run("check", "--macros", str(bad), str(p))
    assert code == 0 and f"{bad}:2: warning:" in out
    assert run("check", "--strict", "--macros", str(bad), str(p))[0] == 1
    # a file that cannot be read at all is a usage error
    unreadable = tmp_path / "latin1.tex"
    unreadable.write_bytes(b"\\newcommand{\\x}{\xe9}")
    assert run("check", "--macros", str(unreadable), str(p))[0] == 2


def test_convert_reports_same_diagnostics(tmp_path: Path) -> None:
    p = tmp_path / "post.md"
    p.write_text(POST)
    code, out = run(str(p), "-o", str(tmp_path / "post.tex"))
    assert code == 0
    assert f"{p}:3:16: warning: double superscript" in out
    code, out = run(str(p), "-o", str(tmp_path / "strict.tex"), "--strict")
    assert code == 1
    assert f"{p}:3:16: error: double superscript" in out
