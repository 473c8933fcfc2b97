"""``md2tex check``: compiler-style output, JSON, exit codes, --strict, --macros."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner

from md2tex.cli import main

POST = "# T\n\nSome math: $x^a^b$ and $\\mathbb{1}$.\n\n$$\\text{a_b}$$\n"


def run(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(main, list(args))
    return result.exit_code, result.output


def test_text_format(tmp_path: Path) -> None:
    p = tmp_path / "post.md"
    p.write_text(POST)
    code, out = run("check", str(p))
    assert code == 1
    assert f"{p}:3:16: error: double superscript" in out
    assert "     3 | Some math: $x^a^b$" in out
    assert "       |                ^" in out
    assert "[math-double-script]" in out
    assert "warning: \\mathbb{1}" in out
    assert "note: '_' inside \\text{} became \\_" in out


def test_json_format_and_clean_file(tmp_path: Path) -> None:
    p = tmp_path / "post.md"
    p.write_text(POST)
    code, out = run("check", "--format", "json", str(p))
    data = json.loads(out[out.index("["):])
    assert code == 1
    first = data[0]
    assert set(first) >= {"path", "line", "column", "severity", "code", "message", "fix"}
    assert (first["line"], first["column"], first["severity"]) == (3, 16, "error")
    ok = tmp_path / "ok.md"
    ok.write_text("$$\\mathbb{1}$$\n")
    assert run("check", str(ok))[0] == 0
    assert run("check", "--strict", str(ok))[0] == 1


def test_macros_file(tmp_path: Path) -> None:
    p = tmp_path / "post.md"
    p.write_text("$$\\RR^n$$\n")
    m = tmp_path / "macros.json"
    m.write_text(json.dumps({"\\RR": "\\mathbb{R}"}))
    code, out = run("check", str(p))
    assert code == 1 and "undefined control sequence \\RR" in out
    assert run("check", "--macros", str(m), str(p))[0] == 0
    bad = tmp_path / "bad.tex"
    bad.write_text("\\newcommand{\\end}{x}")
    assert run("check", "--macros", str(bad), str(p))[0] == 2


def test_convert_reports_same_diagnostics(tmp_path: Path) -> None:
    p = tmp_path / "post.md"
    p.write_text(POST)
    code, out = run(str(p), "-o", str(tmp_path / "post.tex"))
    assert code == 1
    assert f"{p}:3:16: error: double superscript" in out
