"""``md2tex check``: compiler-style output, JSON, exit codes, --strict, --macros. A formula
with an error is a warning (the PDF shows it as MathJax shows an error); --strict refuses."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner
from helpers import ROOT

from md2tex.cli.commands import main

POST = "# T\n\nSome math: $x^a^b$ and $\\mathbb{2}$.\n\n$$\\text{a_b}$$\n"


def run(*args: str, stdin: str | None = None) -> tuple[int, str]:
    result = CliRunner().invoke(main, list(args), input=stdin)
    return result.exit_code, result.output


@pytest.fixture(autouse=True)
def _own_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))


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
    assert "note:" not in out  # notes only with -v, as convert shows them
    code, out = run("check", "-v", str(p))
    assert code == 0 and "note: '_' inside \\text{} became \\_" in out
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


#: one warning (line 3) and one error under --strict; a second kind of warning on line 5
TWO_WARNINGS = "# T\n\nSome math: $x^a^b$.\n\n$$\\mathbb{2}$$\n"


def test_folders_are_searched_for_posts(tmp_path: Path) -> None:
    site = tmp_path / "site"
    for name in ("a.md", "sub/b.markdown", "_site/c.md", "node_modules/x/d.md", "vendor/e.md",
                 ".git/f.md", ".jekyll-cache/g.md"):
        (site / name).parent.mkdir(parents=True, exist_ok=True)
        (site / name).write_text(TWO_WARNINGS)
    (site / "notes.txt").write_text(TWO_WARNINGS)
    code, out = run("check", "--select", "math-double-script", str(site))
    assert code == 0
    warned = [line.split(":")[0] for line in out.splitlines() if ": warning:" in line]
    assert warned == [str(site / "a.md"), str(site / "sub" / "b.markdown")]
    assert "2 files checked: 0 errors, 2 warnings" in out
    # a name that does not exist is a usage error; a folder without posts is clean
    assert run("check", str(site / "nope.md"))[0] == 2
    code, out = run("check", str(site / "_site"))
    assert code == 0 and "no posts (*.md, *.markdown) to check" not in out
    (tmp_path / "empty").mkdir()
    code, out = run("check", str(tmp_path / "empty"))
    assert code == 0 and "no posts (*.md, *.markdown) to check" in out


def test_standard_input_with_a_name(tmp_path: Path) -> None:
    code, out = run("check", "-", "--stdin-filename", "_posts/x.md", stdin=TWO_WARNINGS)
    assert code == 0 and "_posts/x.md:3:16: warning: double superscript" in out
    assert "     3 | Some math: $x^a^b$." in out
    code, out = run("check", "-", stdin=TWO_WARNINGS)
    assert "<stdin>:3:16: warning:" in out


def test_ignore_and_select(tmp_path: Path) -> None:
    p = tmp_path / "post.md"
    p.write_text(TWO_WARNINGS)
    code, out = run("check", "--strict", str(p))
    assert code == 1 and "[math-double-script]" in out and "[math-mathbb]" in out
    code, out = run("check", "--strict", "--ignore", "math-double-script", str(p))
    assert code == 1 and "[math-double-script]" not in out and "[math-mathbb]" in out
    # repeatable and comma lists: everything ignored, nothing left to fail
    code, out = run("check", "--strict", "--ignore", "math-double-script,math-mathbb",
                    str(p))
    assert code == 0 and "0 errors, 0 warnings" in out
    code, out = run("check", "--strict", "--ignore", "math-mathbb", "--ignore",
                    "math-double-script", str(p))
    assert code == 0
    code, out = run("check", "--select", "math-mathbb", str(p))
    assert "[math-mathbb]" in out and "[math-double-script]" not in out
    code, out = run("check", "--ignore", "math-nosuch", str(p))
    assert code == 2 and "unknown diagnostic code math-nosuch" in out


def test_ignore_and_select_from_the_site_config(tmp_path: Path) -> None:
    site = tmp_path / "site"
    (site / "_posts").mkdir(parents=True)
    post = site / "_posts" / "p.md"
    post.write_text(TWO_WARNINGS)
    (site / "md2tex.yaml").write_text("ignore: [math-double-script]\n")
    code, out = run("check", "--strict", str(post))
    assert code == 1 and "[math-double-script]" not in out and "[math-mathbb]" in out
    (site / "md2tex.yaml").write_text("ignore: math-double-script, math-mathbb\n")
    assert run("check", "--strict", str(post))[0] == 0
    # the command line adds to what the config ignores; its --select replaces the config's
    (site / "md2tex.yaml").write_text("select: [math-double-script]\n")
    code, out = run("check", str(post))
    assert "[math-double-script]" in out and "[math-mathbb]" not in out
    code, out = run("check", "--select", "math-mathbb", str(post))
    assert "[math-double-script]" not in out and "[math-mathbb]" in out
    (site / "md2tex.yaml").write_text("ignore: [math-nosuch]\n")
    code, out = run("check", str(post))
    assert code == 2 and "math-nosuch" in out


def test_github_annotations(tmp_path: Path) -> None:
    p = tmp_path / "post.md"
    p.write_text(TWO_WARNINGS)
    code, out = run("check", "--format", "github", str(p))
    assert code == 0
    lines = out.splitlines()
    assert lines[0].startswith(f"::warning file={p},line=3,col=16,title=math-double-script::"
                               "double superscript")
    assert "%0Ahint: group it" in lines[0]  # one line: newlines escaped as the runner expects
    assert any(line.startswith(f"::warning file={p},line=5,") for line in lines)
    code, out = run("check", "--format", "github", "--strict", str(p))
    assert code == 1 and out.startswith(f"::error file={p},line=3,col=16,")


def test_sarif(tmp_path: Path) -> None:
    p = tmp_path / "post.md"
    p.write_text(TWO_WARNINGS)
    code, out = run("check", "--format", "sarif", str(p))
    log = json.loads(out[out.index("{"):out.rindex("}") + 1])
    assert code == 0 and log["version"] == "2.1.0"
    [the_run] = log["runs"]
    rules = [r["id"] for r in the_run["tool"]["driver"]["rules"]]
    first = the_run["results"][0]
    assert rules[first["ruleIndex"]] == first["ruleId"] == "math-double-script"
    assert first["level"] == "warning"
    assert first["locations"][0]["physicalLocation"]["region"] == {"startLine": 3,
                                                                   "startColumn": 16}


def test_pre_commit_hook_runs_the_installed_command(tmp_path: Path) -> None:
    """The hook pre-commit installs: its entry with the staged Markdown files appended."""
    [hook] = yaml.safe_load((ROOT / ".pre-commit-hooks.yaml").read_text())
    assert (hook["id"], hook["language"], hook["types"]) == ("md2tex-check", "python",
                                                             ["markdown"])
    entry = hook["entry"].split()
    if shutil.which(entry[0]) is None:
        pytest.skip("md2tex is not installed as a command")
    good, bad = tmp_path / "good.md", tmp_path / "bad.md"
    good.write_text("# Fine\n\n$x^2$\n")
    bad.write_text("---\ntitle: [unclosed\n---\n\nText.\n")
    env = {"XDG_CACHE_HOME": str(tmp_path / "xdg"), "PATH": os.environ["PATH"]}
    done = subprocess.run([*entry, str(good)], capture_output=True, text=True, env=env,
                          check=False, timeout=120)
    assert done.returncode == 0, done.stderr
    done = subprocess.run([*entry, str(good), str(bad)], capture_output=True, text=True,
                          env=env, check=False, timeout=120)
    assert done.returncode == 1 and f"{bad}:3:1: error: invalid YAML" in done.stdout
