"""The ``md2tex`` command: output kinds, options and exit codes (0 ok, 1 conversion error,
2 usage, 3 TeX error, 4 engine missing, 5 output not writable).

Quick checks call the click command in-process (``CliRunner``); everything that involves the
process boundary (stdin, PATH, exit status, TeX) runs ``python -m md2tex`` in a child process.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from helpers import (
    TRAP,
    TRAP_MACROS,
    body_of,
    env_without_tex,
    fonts,
    needs_engine,
    needs_tex,
    pdf_info,
    pdf_text,
    run_md2tex,
    trap_template,
)

import md2tex
from md2tex.cli.commands import main

POST = """---
title: CLI post
tags: [cli, test]
---

Hello *world* with $x^2$ and costs $5.

- item one
- item two
"""


@pytest.fixture()
def post(tmp_path: Path) -> Path:
    path = tmp_path / "post.md"
    path.write_text(POST, encoding="utf-8")
    return path


def invoke(args: list[str], input: str | None = None) -> Result:
    return CliRunner().invoke(main, [str(a) for a in args], input=input)


# ----------------------------------------------------------------------- quick, in-process


def test_tex_output(post: Path, tmp_path: Path) -> None:
    out = tmp_path / "post.tex"
    result = invoke([str(post), "-o", str(out)])
    assert result.exit_code == 0, result.output
    tex = out.read_text(encoding="utf-8")
    assert tex.startswith("\\documentclass") and tex.rstrip().endswith("\\end{document}")
    assert "Hello \\emph{world} with $x^2$ and costs \\$5." in tex
    assert sorted(p.name for p in tmp_path.iterdir()) == ["post.md", "post.tex"]


def test_dash_o_dash_writes_latex_to_stdout(post: Path) -> None:
    result = invoke([str(post), "-o", "-"])
    assert result.exit_code == 0
    assert result.stdout.startswith("\\documentclass")
    assert "\\title{CLI post}" in result.stdout


def test_version() -> None:
    result = invoke(["--version"])
    assert result.exit_code == 0
    assert result.output.strip() == f"md2tex, version {md2tex.__version__}"


@pytest.mark.parametrize("args", [
    ["--no-such-option", "post.md"],
    ["post.md", "--engine", "word"],
    ["post.md", "-V", "=novalue"],
    ["missing-file.md", "-o", "x.tex"],
    ["post.md", "--timeout", "soon"],
    ["post.md", "--timeout", "0"],
    ["post.md", "--timeout", "-5"],
    ["post.md", "--timeout", "inf"],
    ["post.md", "-V", "papersize=a4", "-o", "x.tex"],
])
def test_usage_errors_exit_2(args: list[str], post: Path, monkeypatch: pytest.MonkeyPatch
                             ) -> None:
    monkeypatch.chdir(post.parent)
    result = invoke(args)
    assert result.exit_code == 2, result.output
    assert "Usage:" in result.output or "Error" in result.output


def test_bad_timeout_names_the_flag_and_what_it_allows(post: Path) -> None:
    result = invoke([str(post), "--timeout", "-1", "-o", "-"])
    assert result.exit_code == 2
    assert "--timeout" in result.output and "expected a positive number" in result.output


@pytest.mark.parametrize("command", ["convert", "check", "batch", "watch"])
def test_every_flag_of_the_schema_is_on_its_commands(command: str) -> None:
    """The flags come from ``optionschema.SETTINGS``: each command has exactly its rows'."""
    from md2tex.optionschema import SETTINGS

    params = {p.name: p for p in main.commands[command].params}
    for s in SETTINGS:
        if s.flag and command in s.commands:
            assert s.param_name in params, s.name
            declared = {*params[s.param_name].opts, *params[s.param_name].secondary_opts}
            assert {d for f in s.flag for d in f.split("/")} <= declared
        elif s.flag:
            assert s.param_name not in params or s.name == "to", s.name


def test_engine_choices_and_default_come_from_the_engine_table() -> None:
    from md2tex import texengine

    result = invoke(["convert", "--help"])
    assert f"[{'|'.join(texengine.NAMES)}]" in result.output
    assert f"TeX engine (default {texengine.DEFAULT})." in result.output


def test_conversion_error_exit_1(tmp_path: Path) -> None:
    bad = tmp_path / "bad.md"
    bad.write_bytes(b"# Title\n\nline \xff\xfe here\n")
    result = invoke([str(bad), "-o", str(tmp_path / "bad.tex")])
    assert result.exit_code == 1
    assert f"{bad}:3:6: error: invalid UTF-8" in result.output
    assert not (tmp_path / "bad.tex").exists()
    lenient = invoke([str(bad), "--lenient", "-o", str(tmp_path / "bad.tex")])
    assert lenient.exit_code == 0, lenient.output
    assert (tmp_path / "bad.tex").exists()


def test_invalid_front_matter_exit_1(tmp_path: Path) -> None:
    bad = tmp_path / "fm.md"
    bad.write_text("---\ntitle: x\n  oops: y\n---\nBody\n", encoding="utf-8")
    result = invoke([str(bad), "-o", "-"])
    assert result.exit_code == 1
    assert re.search(rf"{re.escape(str(bad))}:3(:\d+)?: error: invalid YAML", result.output)


def test_broken_formula_is_shown_and_strict_exits_1(tmp_path: Path) -> None:
    src = tmp_path / "m.md"
    src.write_text("Intro\n\nSee $\\frac{a}{b$ here.\n", encoding="utf-8")
    result = invoke([str(src), "-o", str(tmp_path / "m.tex")])
    assert result.exit_code == 0
    assert f"{src}:3:" in result.output and "warning:" in result.output
    assert "\\mdbadmath{" in (tmp_path / "m.tex").read_text(encoding="utf-8")
    result = invoke([str(src), "-o", str(tmp_path / "strict.tex"), "--strict"])
    assert result.exit_code == 1
    assert f"{src}:3:" in result.output and "error:" in result.output
    assert not (tmp_path / "strict.tex").exists()


@pytest.mark.parametrize("target", ["nodir/x.tex", "post.md/x.tex", "nodir/x.pdf"])
def test_output_not_writable_exit_5(post: Path, target: str) -> None:
    result = invoke([str(post), "-o", str(post.parent / target)])
    assert result.exit_code == 5, result.output
    assert "cannot write" in result.output


def test_variables_and_template(post: Path, tmp_path: Path) -> None:
    tpl = tmp_path / "t.tex.j2"
    tpl.write_text('((* extends "article.tex.j2" *))((* block front *))MY-FRONT '
                   "((( var.who )))((* endblock *))", encoding="utf-8")
    result = invoke([str(post), "-o", "-", "--template", str(tpl), "-V", "who=World",
                     "-V", "papersize=letterpaper"])
    assert result.exit_code == 0, result.output
    assert "MY-FRONT World" in result.stdout
    assert "letterpaper" in result.stdout
    assert "\\maketitle" not in result.stdout


def test_dollar_math_flags_override_front_matter(tmp_path: Path) -> None:
    src = tmp_path / "d.md"
    src.write_text("---\ndollar_math: false\n---\nA $x$ b\n", encoding="utf-8")
    off = invoke([str(src), "-o", "-"]).stdout
    on = invoke([str(src), "-o", "-", "--dollar-math"]).stdout
    assert "A \\$x\\$ b" in body_of(off)
    assert "A $x$ b" in body_of(on)
    src.write_text("A $x$ b\n", encoding="utf-8")
    assert "A \\$x\\$ b" in body_of(invoke([str(src), "-o", "-", "--no-dollar-math"]).stdout)


def test_warnings_on_stderr_quiet_hides_them(tmp_path: Path) -> None:
    src = tmp_path / "w.md"
    src.write_text("Text\n\n![gone](missing.png)\n", encoding="utf-8")
    loud = invoke([str(src), "-o", str(tmp_path / "w.tex")])
    assert loud.exit_code == 0
    assert f"{src}:3: warning: image 'missing.png' not found" in loud.stderr
    quiet = invoke([str(src), "-q", "-o", str(tmp_path / "w.tex")])
    assert quiet.exit_code == 0 and quiet.stderr == ""


def test_strict_turns_warnings_into_errors(tmp_path: Path) -> None:
    src = tmp_path / "s.md"
    src.write_text("Text\n\n![gone](missing.png)\n", encoding="utf-8")
    result = invoke([str(src), "--strict", "-o", str(tmp_path / "s.tex")])
    assert result.exit_code == 1
    assert not (tmp_path / "s.tex").exists()


# -------------------------------------------------------------------- real child processes


def test_stdin_to_stdout() -> None:
    proc = run_md2tex(["-", "-o", "-"], input="# From stdin\n\nText $a_1$.\n")
    assert proc.returncode == 0, proc.stderr
    assert "\\section{From stdin}" in proc.stdout
    assert "Text $a_1$." in proc.stdout


def test_python_dash_m_and_console_script_agree(post: Path) -> None:
    proc = run_md2tex([post, "-o", "-"])
    assert proc.returncode == 0
    assert proc.stdout == invoke([str(post), "-o", "-"]).stdout


@needs_tex
def test_pdf_with_keep_tex_and_default_output_name(post: Path) -> None:
    proc = run_md2tex([post.name, "--keep-tex"], cwd=post.parent)
    assert proc.returncode == 0, proc.stderr
    pdf, tex = post.with_suffix(".pdf"), post.with_suffix(".tex")
    assert pdf.is_file() and tex.is_file()
    assert "Hello world with x2 and costs $5." in pdf_text(pdf)
    info = pdf_info(pdf)
    assert info["Title"] == "CLI post"
    assert info["Keywords"] == "cli, test"
    assert tex.read_text(encoding="utf-8").startswith("\\documentclass")


@needs_tex
def test_stdin_to_pdf(tmp_path: Path) -> None:
    out = tmp_path / "s.pdf"
    proc = run_md2tex(["-", "-o", out], input="From *stdin* to PDF.\n")
    assert proc.returncode == 0, proc.stderr
    assert "From stdin to PDF." in pdf_text(out)


@needs_tex
def test_tex_error_exit_3_reports_markdown_line(tmp_path: Path) -> None:
    src = tmp_path / "post.md"
    src.write_text(f"---\ntitle: T\n---\n\nFine.\n\n- a\n- b with {TRAP} here\n\nEnd.\n",
                   encoding="utf-8")
    macros = tmp_path / "macros.tex"
    macros.write_text(TRAP_MACROS + "\n", encoding="utf-8")
    out = tmp_path / "post.pdf"
    out.write_bytes(b"%PDF-earlier good file")
    proc = run_md2tex([src.name, "-o", out.name, "--template", trap_template(tmp_path),
                       "--macros", macros, "--strict"], cwd=tmp_path)  # (a formula's error)
    assert proc.returncode == 3, proc.stderr
    assert re.search(r"^post\.md:8: error: TeX: Undefined control sequence", proc.stderr, re.M), \
        proc.stderr
    assert out.read_bytes() == b"%PDF-earlier good file"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["macros.tex", "post.md", "post.pdf",
                                                          "trap.tex.j2"]


@needs_tex
def test_engine_missing_exit_4_but_tex_output_works(post: Path, tmp_path: Path) -> None:
    env = env_without_tex()
    proc = run_md2tex([post, "-o", tmp_path / "x.pdf"], env=env)
    assert proc.returncode == 4, proc.stderr
    for pkg in ("texlive-latex-base", "texlive-latex-recommended", "texlive-latex-extra",
                "texlive-fonts-recommended", "lmodern"):
        assert pkg in proc.stderr
    assert "apt-get install" in proc.stderr
    assert not (tmp_path / "x.pdf").exists()
    ok = run_md2tex([post, "-o", tmp_path / "x.tex"], env=env)
    assert ok.returncode == 0, ok.stderr
    assert (tmp_path / "x.tex").read_text(encoding="utf-8").startswith("\\documentclass")
    xe = run_md2tex([post, "--engine", "xelatex", "-o", tmp_path / "y.pdf"], env=env)
    assert xe.returncode == 4 and "texlive-xetex" in xe.stderr


UNICODE_POST = "---\ntitle: Ünïcode\n---\n\nGrüße, Łódź, Ångström → ≤ θ and $α + β$.\n"  # noqa: RUF001


@pytest.mark.slow
@pytest.mark.parametrize("engine", [
    pytest.param("xelatex", marks=needs_engine("xelatex")),
    pytest.param("lualatex", marks=needs_engine("lualatex")),
])
def test_other_engines(engine: str, tmp_path: Path) -> None:
    src = tmp_path / "u.md"
    src.write_text(UNICODE_POST, encoding="utf-8")
    out = tmp_path / "u.pdf"
    proc = run_md2tex([src, "--engine", engine, "-o", out])
    assert proc.returncode == 0, proc.stderr
    text = " ".join(pdf_text(out).split())
    assert "Grüße, Łódź, Ångström → ≤ θ and α + β." in text  # noqa: RUF001
    assert "Ünïcode" in text
    producer = pdf_info(out)["Producer"]
    assert ("xdvipdfmx" if engine == "xelatex" else "LuaTeX") in producer
    assert fonts(out), "no fonts embedded"
