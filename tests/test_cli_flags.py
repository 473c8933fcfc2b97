"""The command line as a pandoc user expects it: one configuration for every command (found
by walking up from the post, or ``--config``), output paths, pandoc's flags and what md2tex
says about the ones it does not have.

Each test drives the real ``md2tex`` command (click's runner in-process, or a child process
where the process boundary matters) on Markdown written here; PDFs are typeset by TeX Live
and read back with poppler."""

from __future__ import annotations

import re
import shutil
import signal
import subprocess
import time
from collections.abc import Sequence
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner, Result
from helpers import (
    ROOT,
    SAMPLES,
    body_of,
    fonts,
    make_png,
    md2tex_cmd,
    needs_engine,
    needs_tex,
    pdf_info,
    pdf_text,
    preamble_of,
    run_md2tex,
    squash,
)

from md2tex.cli.commands import PANDOC_ONLY, main
from md2tex.site.config import RULES, discover, parse_config

POST = """---
title: Flag post
---

Costs $x$ here.

```python
print("hi")
```
"""


def invoke(args: Sequence[object], input: str | None = None) -> Result:
    return CliRunner().invoke(main, [str(a) for a in args], input=input)


@pytest.fixture()
def site(tmp_path: Path) -> Path:
    """A Jekyll site in a git checkout: _config.yml and md2tex.yaml at its root, a post in
    _posts/."""
    (tmp_path / ".git").mkdir()
    root = tmp_path / "blog"
    (root / "_posts").mkdir(parents=True)
    (root / "_config.yml").write_text("title: Blog\nurl: https://blog.example\n")
    (root / "md2tex.yaml").write_text("dollar_math: false\nvariables: {papersize: a5paper}\n")
    (root / "_posts" / "2024-01-02-p.md").write_text(POST, encoding="utf-8")
    return root


def _post(site: Path) -> Path:
    return site / "_posts" / "2024-01-02-p.md"


def _reads_config(tex: str) -> bool:
    """The site's md2tex.yaml was applied: a5 paper, and single $ is a dollar sign."""
    return "a5paper" in tex.split("\n", 1)[0] and "Costs \\$x\\$ here." in tex


# ------------------------------------------------------------------ config discovery


def test_discover_walks_up_to_the_site_root_and_stops_at_git(site: Path) -> None:
    assert discover(_post(site)) == site.resolve()
    assert discover(site / "_posts") == site.resolve()
    lone = site.parent / "notes" / "deep"
    lone.mkdir(parents=True)
    assert discover(lone) is None  # the checkout's .git comes before any config
    (site.parent / "md2tex.yaml").write_text("strict: true\n")
    assert discover(lone) == site.parent.resolve()


def test_convert_reads_the_sites_config_found_above_the_post(site: Path) -> None:
    result = invoke([_post(site), "-o", "-"])
    assert result.exit_code == 0, result.output
    assert _reads_config(result.stdout)
    assert "https://blog.example" not in result.stdout  # (the post names no site.url)


def test_a_git_folder_ends_the_search(site: Path, tmp_path: Path) -> None:
    outer = tmp_path / "outer"
    (outer / "repo" / ".git").mkdir(parents=True)
    (outer / "md2tex.yaml").write_text("dollar_math: false\n")
    post = outer / "repo" / "p.md"
    post.write_text(POST, encoding="utf-8")
    result = invoke([post, "-o", "-"])
    assert result.exit_code == 0, result.output
    assert "Costs $x$ here." in result.stdout  # the config beyond .git was not read


def test_check_reads_each_posts_site_config(site: Path, tmp_path: Path) -> None:
    (site / "md2tex.yaml").write_text("strict: true\n")
    other = tmp_path / "other"
    other.mkdir()
    (other / "_config.yml").write_text("title: Other\n")
    (other / "p.md").write_text("Fine $x$.\n\n```foolang\nx\n```\n", encoding="utf-8")
    bad = _post(site)
    bad.write_text("Fine.\n\n```foolang\nx\n```\n", encoding="utf-8")
    result = invoke(["check", bad, other / "p.md"])
    assert result.exit_code == 1, result.output
    # strict only in the first site: its warning is an error, the other post's is not
    assert re.search(r"2024-01-02-p\.md:3:(\d+:)? error: .*\[code-language\]", result.stdout)
    assert re.search(r"other/p\.md:3:(\d+:)? warning: .*\[code-language\]", result.stdout)


def test_batch_finds_the_config_of_the_site_a_subfolder_belongs_to(site: Path) -> None:
    out = site.parent / "out"
    result = invoke(["batch", site / "_posts", "-o", out, "--to", "tex"])
    assert result.exit_code == 0, result.output
    assert _reads_config((out / "2024-01-02-p.tex").read_text(encoding="utf-8"))


@pytest.mark.parametrize("given", [False, True])
def test_watch_reads_the_sites_config_or_the_given_one(site: Path, given: bool) -> None:
    out = site.parent / "w.tex"
    config = site.parent / "given.yaml"
    config.write_text("dollar_math: false\nvariables: {papersize: b5paper}\n")
    args = ["--config", str(config)] if given else []
    proc = subprocess.Popen([*md2tex_cmd(), "watch", str(_post(site)), "-o", str(out), *args],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            stdin=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 60
        while not out.is_file() and time.monotonic() < deadline:
            time.sleep(0.05)
        assert out.is_file(), "watch wrote nothing"
        tex = out.read_text(encoding="utf-8")
        assert "Costs \\$x\\$ here." in tex  # both configs turn single $ off
        assert ("b5paper" if given else "a5paper") in tex.split("\n", 1)[0]
    finally:
        proc.send_signal(signal.SIGINT)
        proc.communicate(timeout=30)


@pytest.mark.parametrize("command", ["check", "batch"])
def test_config_flag_on_check_and_batch(site: Path, tmp_path: Path, command: str) -> None:
    given = tmp_path / "given.yaml"
    given.write_text("strict: true\n")
    _post(site).write_text("Fine.\n\n```foolang\nx\n```\n", encoding="utf-8")
    args: list[object] = (["check", _post(site)] if command == "check" else
                          ["batch", site, "-o", tmp_path / "out", "--to", "tex"])
    assert invoke(args).exit_code == 0  # the unknown language is a warning
    strict = invoke([*args, "--config", given])
    assert strict.exit_code == 1, strict.output  # and an error under the given config
    assert "code-language" in strict.output


@pytest.mark.parametrize("command", ["convert", "check", "batch", "watch"])
def test_every_command_takes_config(command: str) -> None:
    result = invoke([command, "--help"])
    assert result.exit_code == 0 and "--config" in result.stdout


def test_config_flag_is_trusted_and_a_found_config_is_input(site: Path, tmp_path: Path
                                                           ) -> None:
    raw = "variables: {geometry: 'margin=1in\\relax'}\n"
    (site / "md2tex.yaml").write_text(raw)
    found = invoke([_post(site), "-o", "-"])
    assert found.exit_code == 2
    assert "md2tex.yaml: variables" in found.output and "plain option list" in found.output
    given = tmp_path / "trusted.yaml"
    given.write_text(raw)
    trusted = invoke([_post(site), "-o", "-", "--config", given])
    assert trusted.exit_code == 0, trusted.output
    assert "\\usepackage[margin=1in\\relax]{geometry}" in trusted.stdout
    assert "a5paper" not in trusted.stdout  # --config replaces the found md2tex.yaml


def test_a_found_config_cannot_weaken_safe(site: Path) -> None:
    (site / "mine.tex.j2").write_text('((* extends "article.tex.j2" *))\n')
    (site / "md2tex.yaml").write_text("safe: false\ntemplate: mine.tex.j2\n")
    result = invoke([_post(site), "-o", "-", "--safe"])
    assert result.exit_code == 2
    assert "template" in result.output and "--safe" in result.output


# ----------------------------------------------------------------- the sample config


def test_sample_config_documents_every_key_and_reads_cleanly() -> None:
    path = SAMPLES / "md2tex.yaml"
    text = path.read_text(encoding="utf-8")
    documented = set(re.findall(r"^#? ?([a-z_]+):", text, re.M))
    assert set(RULES) <= documented, \
        f"document these keys in samples/md2tex.yaml: {sorted(set(RULES) - documented)}"
    options, batch, warnings = parse_config(yaml.safe_load(text), path)
    assert warnings == []
    assert options["engine"] == "pdflatex" and batch["to"] == "pdf"


def test_readme_batch_example_works_as_written(tmp_path: Path) -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    match = re.search(r"^(md2tex batch samples .*--config samples/md2tex\.yaml)", readme, re.M)
    assert match, "README shows the batch example with the sample config"
    command = match.group(1).split("#")[0].split()
    shutil.copytree(SAMPLES, tmp_path / "samples")
    proc = run_md2tex(command[1:], cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert (tmp_path / "report.json").is_file()
    posts = sorted(p.stem for p in SAMPLES.glob("*.md"))
    outputs = sorted(p.stem for p in (tmp_path / "out").iterdir())
    assert outputs == posts


# ---------------------------------------------------------------------- output paths


@needs_tex
def test_output_folder_writes_folder_slash_post_pdf(site: Path, tmp_path: Path) -> None:
    made = tmp_path / "made"
    result = invoke([_post(site), "-o", f"{made}/"])
    assert result.exit_code == 0, result.output
    assert "Costs $x$ here." in pdf_text(made / "2024-01-02-p.pdf")
    existing = tmp_path / "existing"
    existing.mkdir()
    tex = invoke([_post(site), "-o", existing, "--body-only", "-o", existing / "b.tex"])
    assert tex.exit_code == 0
    assert (existing / "b.tex").is_file()


@needs_tex
def test_several_inputs_into_a_folder(site: Path, tmp_path: Path) -> None:
    second = tmp_path / "second.md"
    second.write_text("Second post.\n", encoding="utf-8")
    out = tmp_path / "many"
    out.mkdir()
    result = invoke([_post(site), second, "-o", out])
    assert result.exit_code == 0, result.output
    assert "Costs $x$ here." in pdf_text(out / "2024-01-02-p.pdf")
    assert "Second post." in pdf_text(out / "second.pdf")
    refused = invoke([_post(site), second, "-o", tmp_path / "one.pdf"])
    assert refused.exit_code == 2 and "2 inputs need -o FOLDER/" in refused.output


@pytest.mark.parametrize(("args", "message"), [
    (["{post}", "-o", "x.html"], "md2tex writes .pdf or .tex"),
    (["{post}", "-o", "x.docx"], "md2tex writes .pdf or .tex"),
    (["{folder}"], "use md2tex batch"),
    (["-"], "reading standard input needs -o"),
    (["{post}", "--citeproc"], "citations come from the post's bibliography"),
    (["{post}", "--bibliography=refs.bib"], "citations come from the post's bibliography"),
    (["{post}", "-t", "html"], "-o's extension"),
    (["{post}", "--mathjax"], "math_engine"),
    (["{post}", "--lua-filter", "f.lua"], "runs no filters"),
])
def test_usage_errors_name_the_md2tex_way(site: Path, args: list[str], message: str) -> None:
    filled = [a.format(post=_post(site), folder=site / "_posts") for a in args]
    result = invoke(filled, input="text\n")
    assert result.exit_code == 2, result.output
    assert message in result.output
    assert not (Path.cwd() / "stdin.pdf").exists()


def test_every_pandoc_only_flag_has_an_answer() -> None:
    assert all(way and not way.endswith(".") for way in PANDOC_ONLY.values())
    own = {opt for command in main.commands.values() for p in command.params
           for opt in (*p.opts, *p.secondary_opts)}
    assert not own & set(PANDOC_ONLY), "a flag md2tex has is not pandoc-only"


def test_body_only_tex_is_the_posts_body(site: Path) -> None:
    whole = invoke([_post(site), "-s", "-o", "-"])
    body = invoke([_post(site), "--body-only", "-o", "-"])
    assert whole.exit_code == body.exit_code == 0
    assert whole.stdout.startswith("\\documentclass")
    assert "\\documentclass" not in body.stdout and "\\maketitle" not in body.stdout
    assert body.stdout.strip() and body.stdout in body_of(whole.stdout)


def test_template_command_prints_the_default_template() -> None:
    result = invoke(["template"])
    assert result.exit_code == 0
    assert result.stdout == (ROOT / "templates" / "article.tex.j2").read_text(encoding="utf-8")


# ------------------------------------------------------------------------ pandoc's flags

HEADINGS = """---
title: Headed
author: Front Author
date: 2024-03-01
---

# Alpha

First part.

## Beta

Second part.

| key | value |
|-----|-------|
| one | 1 |
| two | 2 |

```python
def f(x):
    return x  # note
```
"""


@pytest.fixture()
def headed(tmp_path: Path) -> Path:
    path = tmp_path / "headed.md"
    path.write_text(HEADINGS, encoding="utf-8")
    return path


@needs_tex
@pytest.mark.parametrize(("depth", "betas"), [("1", 1), ("2", 2)])
def test_toc_with_depth_and_numbered_sections(headed: Path, depth: str, betas: int) -> None:
    out = headed.with_suffix(".pdf")
    result = invoke([headed, "-o", out, "--toc", "--toc-depth", depth, "-N"])
    assert result.exit_code == 0, result.output
    text = squash(pdf_text(out))
    assert "Contents 1 Alpha" in text
    assert text.count("Beta") == betas  # the contents list Beta only at depth 2
    assert "1.1 Beta Second part." in text  # numbered in the body


def test_variables_in_pandocs_three_spellings(headed: Path) -> None:
    result = invoke([headed, "-o", "-", "-V", "geometry:margin=1in", "-V", "numbersections",
                     "-V", "papersize=a5paper"])
    assert result.exit_code == 0, result.output
    preamble = preamble_of(result.stdout)
    assert "\\usepackage[margin=1in]{geometry}" in preamble
    assert "\\setcounter{secnumdepth}{3}" in preamble and "a5paper" in preamble


def test_numbersections_false_wins_over_n(headed: Path) -> None:
    numbered = invoke([headed, "-o", "-", "-N"]).stdout
    plain = invoke([headed, "-o", "-", "-N", "-V", "numbersections=false"]).stdout
    assert "\\setcounter{secnumdepth}{3}" in numbered
    assert "\\setcounter{secnumdepth}{0}" in plain
    assert "\\tableofcontents" not in numbered


@needs_tex
def test_metadata_flags_override_the_front_matter(headed: Path, tmp_path: Path) -> None:
    meta = tmp_path / "meta.yaml"
    meta.write_text("author: File Author\nsubtitle: From the file\ntitle: File Title\n")
    out = tmp_path / "m.pdf"
    result = invoke([headed, "-o", out, "--metadata-file", meta, "-M", "title=Flag Title",
                     "--metadata", "date=1 May 2025"])
    assert result.exit_code == 0, result.output
    text = squash(pdf_text(out))
    assert "Flag Title From the file File Author 1 May 2025" in text  # -M over the file
    assert "Headed" not in text and "Front Author" not in text
    assert pdf_info(out)["Title"] == "Flag Title"
    bad = invoke([headed, "-o", "-", "-M", "=no key"])
    assert bad.exit_code == 2 and "KEY=VALUE" in bad.output


def test_resource_path_finds_images_in_named_folders(tmp_path: Path) -> None:
    make_png(tmp_path / "assets" / "shots" / "pic.png")
    post = tmp_path / "posts" / "p.md"
    post.parent.mkdir()
    post.write_text("![a picture](pic.png)\n", encoding="utf-8")
    missing = invoke([post, "-o", "-"])
    assert "[image-missing]" in missing.output
    found = invoke([post, "-o", "-", "--resource-path",
                    f"{tmp_path / 'nowhere'}:{tmp_path / 'assets' / 'shots'}"])
    assert found.exit_code == 0, found.output
    assert "[image-missing]" not in found.output
    assert "\\mdincludegraphics" in found.stdout


@needs_tex
def test_include_in_header_and_safe_refuses_it(headed: Path, tmp_path: Path) -> None:
    header = tmp_path / "header.tex"
    header.write_text("\\AtBeginDocument{\\noindent HEADERMARK\\par}\n")
    out = tmp_path / "h.pdf"
    result = invoke([headed, "-o", out, "-H", header])
    assert result.exit_code == 0, result.output
    assert squash(pdf_text(out)).startswith("HEADERMARK")
    refused = invoke([headed, "-o", tmp_path / "s.tex", "-H", header, "--safe"])
    assert refused.exit_code == 1
    assert "[unsafe-header]" in refused.output and not (tmp_path / "s.tex").exists()


def test_a_found_config_may_not_name_a_header_under_safe(site: Path) -> None:
    (site / "h.tex").write_text("\\relax\n")
    (site / "md2tex.yaml").write_text("include_in_header: h.tex\n")
    assert invoke([_post(site), "-o", "-"]).exit_code == 0
    refused = invoke([_post(site), "-o", "-", "--safe"])
    assert refused.exit_code == 2 and "include_in_header" in refused.output


def _style_macros(tex: str) -> str:
    return "\n".join(line for line in preamble_of(tex).splitlines() if "PY@tok@" in line)


def test_highlight_style_changes_the_colours_and_no_highlight_drops_them(headed: Path
                                                                         ) -> None:
    default = invoke([headed, "-o", "-"]).stdout
    monokai = invoke([headed, "-o", "-", "--highlight-style", "monokai"]).stdout
    assert _style_macros(default) and _style_macros(monokai)
    assert _style_macros(default) != _style_macros(monokai)
    assert body_of(default) == body_of(monokai)  # the code's markup names kinds, not colours
    plain = invoke([headed, "-o", "-", "--no-highlight"]).stdout
    assert "\\def\\PY#1#2{#2}" in preamble_of(plain)
    unknown = invoke([headed, "-o", "-", "--highlight-style", "neon"])
    assert unknown.exit_code == 2
    assert "'neon' is not a Pygments style; some are: " in unknown.output


@needs_tex
def test_no_highlight_pdf_shows_the_code_in_black(headed: Path, tmp_path: Path) -> None:
    out = tmp_path / "plain.pdf"
    result = invoke([headed, "-o", out, "--no-highlight"])
    assert result.exit_code == 0, result.output
    assert "def f(x): return x # note" in squash(pdf_text(out))


def test_pdf_engine_is_engine(headed: Path) -> None:
    tex = invoke([headed, "-o", "-", "--pdf-engine", "xelatex"]).stdout
    assert "\\usepackage{fontspec}" in tex
    assert invoke([headed, "-o", "-", "--pdf-engine", "troff"]).exit_code == 2


# ------------------------------------------------------------------ template variables


def test_template_variables_reach_the_preamble(headed: Path) -> None:
    result = invoke([headed, "-o", "-", "-V", "documentclass=report", "-V",
                     "classoption=landscape", "-V", "fontsize=12pt", "-V", "linestretch=1.5",
                     "-V", "lang=en-GB", "-V", "colorlinks=false"])
    assert result.exit_code == 0, result.output
    preamble = preamble_of(result.stdout)
    assert preamble.startswith("\\documentclass[12pt,a4paper,landscape]{report}")
    assert "\\setstretch{1.5}" in preamble
    assert "\\usepackage[british]{babel}" in preamble and "pdflang={en-GB}" in preamble
    assert "colorlinks=false" in preamble


@pytest.mark.parametrize(("variable", "message"), [
    ("fontsize=13pt", "the standard classes have 10pt, 11pt, 12pt"),
    ("linestretch=double", "expected a number"),
    ("colorlinks=maybe", "expected true or false"),
])
def test_bad_template_variables_are_usage_errors(headed: Path, variable: str,
                                                 message: str) -> None:
    result = invoke([headed, "-o", "-", "-V", variable])
    assert result.exit_code == 2 and message in result.output


def test_unknown_variable_warns_naming_the_known_ones(headed: Path, tmp_path: Path) -> None:
    result = invoke([headed, "-o", "-", "-V", "mainfnt=Foo"])
    assert result.exit_code == 0
    assert "-V mainfnt: not a variable of md2tex's template (it reads documentclass, " \
        "classoption" in result.output
    own = tmp_path / "own.tex.j2"
    own.write_text('((* extends "article.tex.j2" *))\n')
    quiet = invoke([headed, "-o", "-", "-V", "mainfnt=Foo", "--template", own])
    assert "not a variable" not in quiet.output  # a template of one's own may read any
    pdflatex = invoke([headed, "-o", "-", "-V", "mainfont=DejaVu Serif"])
    assert "mainfont: fonts need --engine xelatex or lualatex" in pdflatex.output


@needs_tex
def test_twocolumn_with_a_table_builds(headed: Path, tmp_path: Path) -> None:
    out = tmp_path / "two.pdf"
    result = invoke([headed, "-o", out, "-V", "classoption=twocolumn"])
    assert result.exit_code == 0, result.output  # longtable alone stops TeX in two columns
    words = pdf_text(out).split()
    assert all(word in words for word in ("key", "value", "one", "two", "Second"))
    assert pdf_info(out)["Pages"] == "1"


@needs_engine("xelatex")
def test_fonts_by_name_and_a_missing_one_is_named(headed: Path, tmp_path: Path) -> None:
    if shutil.which("fc-list") is None or "DejaVu Sans Mono" not in subprocess.run(
            ["fc-list", ":", "family"], capture_output=True, text=True).stdout:
        pytest.skip("needs the DejaVu fonts")
    out = tmp_path / "f.pdf"
    result = invoke([headed, "-o", out, "--engine", "xelatex", "-V", "mainfont=DejaVu Sans",
                     "-V", "monofont=DejaVu Sans Mono"])
    assert result.exit_code == 0, result.output
    used = fonts(out)
    assert any(name.endswith("+DejaVuSans") for name in used)
    assert any("DejaVuSansMono" in name for name in used)
    missing = invoke([headed, "-o", tmp_path / "m.pdf", "--engine", "xelatex", "-V",
                      "mainfont=No Such Font"])
    assert missing.exit_code == 3
    assert "-V mainfont: no font 'No Such Font'" in missing.output


@needs_engine("xelatex")
def test_a_missing_cjk_font_is_named(tmp_path: Path) -> None:
    post = tmp_path / "cjk.md"
    post.write_text("---\ntitle: 笔记\n---\n\n你好世界。\n", encoding="utf-8")
    missing = invoke([post, "-o", tmp_path / "c.pdf", "-V", "CJKmainfont=No Such CJK"])
    assert missing.exit_code == 3
    assert "-V CJKmainfont: no font 'No Such CJK'" in missing.output


@needs_tex
def test_a_folder_output_is_never_written_through_a_link(site: Path, tmp_path: Path) -> None:
    out = tmp_path / "pdfs"
    out.mkdir()
    victim = tmp_path / "victim.txt"
    victim.write_text("keep me")
    (out / "2024-01-02-p.pdf").symlink_to(victim)
    result = invoke([_post(site), "-o", out])
    assert victim.read_text() == "keep me"
    assert result.exit_code == 5 and "is a symbolic link" in result.output


@needs_tex
def test_template_variables_build(headed: Path, tmp_path: Path) -> None:
    out = tmp_path / "v.pdf"
    result = invoke([headed, "-o", out, "-V", "documentclass=report", "-V", "lang=en-GB",
                     "-V", "linestretch=1.5", "-V", "colorlinks=false", "-V", "fontsize=12pt"])
    assert result.exit_code == 0, result.output
    assert "First part." in pdf_text(out)
    assert pdf_info(out)["Page size"].startswith("595.276 x 841.89")  # a4paper kept
