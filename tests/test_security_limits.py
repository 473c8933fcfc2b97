"""Resource limits hold against small hostile posts (issue 10, item 10 and "Robustness").

Each attack is generated here at the size the red team used and run through the real CLI (or
the library) in a child process with a generous timeout: the outcome must be clean, a
document or a diagnostic, never a crash (exit 70), a traceback, memory exhaustion or a run
that does not end. Nothing here measures speed beyond that guard.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap
from collections.abc import Sequence
from pathlib import Path

import pytest
from helpers import ROOT, needs_tex, pdf_info, pdf_text, run_md2tex, squash

import md2tex
from md2tex.diagnostics import InputError
from md2tex.markdown.liquid import LiquidContext, render_liquid

#: the guard: a run that needs longer than this is a failure (the attacks took minutes)
GUARD = 90


def run_post(tmp_path: Path, text: str, out: str = "post.tex",
             args: Sequence[str] = ()) -> subprocess.CompletedProcess[str]:
    src = tmp_path / "post.md"
    src.write_text(text, encoding="utf-8")
    return run_md2tex([src, "-o", tmp_path / out, *args], cwd=tmp_path, timeout=GUARD,
                      env={"MD2TEX_MEMO": "0"})


def assert_clean(proc: subprocess.CompletedProcess[str]) -> None:
    """A finished run: a result or diagnostics, no crash and no traceback."""
    assert proc.returncode in (0, 1), (proc.returncode, proc.stderr[-2000:])
    assert "Traceback" not in proc.stderr
    assert "internal error" not in proc.stderr


def run_python(code: str) -> str:
    """``code`` in a fresh interpreter (the guard applies); its standard output."""
    proc = subprocess.run([sys.executable, "-c", textwrap.dedent(code)], capture_output=True,
                          text=True, timeout=GUARD, cwd=ROOT,
                          env={"PYTHONPATH": str(ROOT), "MD2TEX_MEMO": "0",
                               "PATH": "/usr/bin:/bin"})
    assert proc.returncode == 0, proc.stderr[-2000:]
    return proc.stdout


# ----------------------------------------------------------------------------- Liquid

def test_capture_doubling_is_an_error_not_memory(tmp_path: Path) -> None:
    post = ("{% capture a %}x{% endcapture %}\n"
            + "{% capture a %}{{ a }}{{ a }}{% endcapture %}\n" * 40 + "{{ a }}\n")
    proc = run_post(tmp_path, post)
    assert_clean(proc)
    assert proc.returncode == 1
    assert "[liquid-limit]" in proc.stderr
    # the error names the line of the doubling that went past the budget, not line 1
    line = int(proc.stderr.split("post.md:")[1].split(":")[0])
    assert 10 < line < 42


def test_assign_doubling_is_an_error_not_memory(tmp_path: Path) -> None:
    post = "{% assign a = 'x' %}\n" + "{% assign a = a | append: a %}\n" * 40 + "{{ a }}\n"
    proc = run_post(tmp_path, post)
    assert_clean(proc)
    assert proc.returncode == 1 and "[liquid-limit]" in proc.stderr


def test_liquid_nesting_is_bounded(tmp_path: Path) -> None:
    proc = run_post(tmp_path, "{% if true %}" * 5000 + "x\n")
    assert_clean(proc)
    assert "[liquid-limit]" in proc.stderr


def test_many_liquid_tags_are_scanned_once(tmp_path: Path) -> None:
    post = "{% assign v = 'ok' %} " * 45_000 + "\n\n{{ v }}\n"
    proc = run_post(tmp_path, post)
    assert_clean(proc)
    assert proc.returncode == 0
    assert "ok" in (tmp_path / "post.tex").read_text(encoding="utf-8")


def test_many_unsupported_and_unclosed_tags(tmp_path: Path) -> None:
    # every one warns (line numbers counted forward) or searches for its end tag
    post = ("{% foo %} " * 20_000 + "\n" + "{% raw %} " * 20_000 + "\n"
            + "{% include toc.html %} " * 20_000 + "\n")
    proc = run_post(tmp_path, post)
    assert_clean(proc)
    assert proc.returncode == 0


def test_long_runs_inside_tags_and_outputs(tmp_path: Path) -> None:
    spaces = " " * 200_000
    post = (f"{{% if a{spaces}== b %}}x{{% endif %}}\n\n{{{{ site.url{spaces}x}}}}\n\n"
            f"{{% when a{spaces}b %}}\n\n{{% include f.html {'k' * 200_000} %}}\n\n"
            f"{{{{ '{'<' * 200_000}' | strip_html }}}}\n")
    proc = run_post(tmp_path, post)
    assert_clean(proc)


def test_liquid_outputs_still_read_as_before() -> None:
    ctx = LiquidContext(site={"url": "https://e.org"}, page={"title": "T"})
    out = render_liquid("{{- site.url -}} {{page.title}} {{ 'a' | upcase }} {{ nope }}\n"
                        "{% assign v = 'x' %}{{ nope }} {{ v }}{%- comment -%}c{% endcomment %}",
                        ctx)
    assert out.text == "https://e.org T A {{ nope }}\n{{ nope }} x"


# ------------------------------------------------------------------- Markdown and math

def test_inline_math_lines_are_counted_forward() -> None:
    out = run_python("""
        from md2tex.markdown.parse import parse_markdown
        tokens, _ = parse_markdown("$x$ " * 220_000 + "\\n" + "$y$ " * 3 + "$z$\\n")
        maths = [c for c in tokens[0]["children"] if c["type"] == "math"]
        print(len(maths), maths[-1]["attrs"]["line_offset"], maths[-1]["attrs"]["column"])
    """)
    assert out.split() == ["220004", "1", "13"]


def test_many_blocks_lines_are_counted_forward() -> None:
    out = run_python("""
        from md2tex.markdown.parse import parse_markdown
        tokens, _ = parse_markdown("x\\n\\n" * 200_000)
        print([t["line"] for t in tokens if t["type"] == "paragraph"][-1])
    """)
    assert out.split() == ["399999"]


def test_many_inline_formulas_end_cleanly(tmp_path: Path) -> None:
    # converted, or stopped by the conversion's time budget with a diagnostic
    proc = run_post(tmp_path, "$x$ " * 220_000 + "\n", args=["--timeout", "20"])
    assert_clean(proc)
    assert proc.returncode == 0 or "[time-budget]" in proc.stderr


@pytest.mark.parametrize("post", [
    "${a$ " * 30_000 + "\n",  # each opener's braces never close
    "$${ " * 30_000 + "\n",
    "$${\n\n" * 30_000,  # display math blocks, searched in the whole post
    "\\\\( " * 30_000 + "\n",
    "\\begin{equation}\n\n" * 30_000,
], ids=["dollar-brace", "dollars-brace", "block-dollars", "paren", "environment"])
def test_many_unclosed_math_openers(tmp_path: Path, post: str) -> None:
    proc = run_post(tmp_path, post)
    assert_clean(proc)
    assert "[time-budget]" not in proc.stderr


def test_math_ends_found_as_a_read_finds_them(monkeypatch: pytest.MonkeyPatch) -> None:
    """The searches through a _Structure (long texts) give the reading searches' answers."""
    import random

    from md2tex.markdown import delimiters as ms

    atoms = ["$", "$$", "{", "}", "\\", "\\\\", "(", ")", "[", "]", "x", " ", "\n", "1",
             "\\begin{equation}", "\\end{equation}"]
    rng = random.Random(10)
    for _ in range(400):
        src = "".join(rng.choice(atoms) for _ in range(rng.randint(1, 60)))
        for start in range(len(src) + 1):
            for closer in ("$$", "\\\\)", "\\)", "\\]"):
                monkeypatch.setattr(ms, "SCAN_LIMIT", 10**9)
                read = ms.find_closer(src, start, closer)
                monkeypatch.setattr(ms, "SCAN_LIMIT", 0)
                assert ms.find_closer(src, start, closer) == read, (src, start, closer)
            for pandoc in (True, False):
                monkeypatch.setattr(ms, "SCAN_LIMIT", 10**9)
                read = ms._single_dollar_close(src, start, pandoc)
                monkeypatch.setattr(ms, "SCAN_LIMIT", 0)
                assert ms._single_dollar_close(src, start, pandoc) == read, (src, start)
            monkeypatch.setattr(ms, "SCAN_LIMIT", 10**9)
            read_env = ms.find_environment_end(src, start, "equation")
            monkeypatch.setattr(ms, "SCAN_LIMIT", 0)
            assert ms.find_environment_end(src, start, "equation") == read_env, (src, start)


def test_long_digit_runs_in_dimensions(tmp_path: Path) -> None:
    digits = "1" * 19_000
    post = (f"$\\kern {digits}x$\n\n$\\rule{{{digits}}}{{1pt}}$\n\n$\\hspace{{{digits}}}$\n\n"
            f"$\\mkern{digits}.{digits}q$\n\n$\\xmathstrut{{{digits}x}}$\n")
    proc = run_post(tmp_path, post)
    assert_clean(proc)
    assert "[math-dimension]" in proc.stderr
    assert "[time-budget]" not in proc.stderr


def test_unclosed_html_comments(tmp_path: Path) -> None:
    post = "<div>\n" + "<!-- a " * 20_000 + "\n</div>\n\ntext " + "<!-- b " * 20_000 + "\n"
    proc = run_post(tmp_path, post)
    assert_clean(proc)
    assert proc.returncode == 0


def test_many_line_breaks_in_html(tmp_path: Path) -> None:
    proc = run_post(tmp_path, "<p>\n" + "a<br>\n" * 50_000 + "</p>\n\n<div>"
                    + "<br>" * 50_000 + "x</div>\n")
    assert_clean(proc)
    assert proc.returncode == 0
    assert "[time-budget]" not in proc.stderr


def test_very_wide_table(tmp_path: Path) -> None:
    cols = 8000
    post = "|" + "a|" * cols + "\n|" + "-|" * cols + "\n" + ("|" + "bb|" * cols + "\n") * 5
    proc = run_post(tmp_path, post)
    assert_clean(proc)
    assert "[time-budget]" not in proc.stderr


@pytest.mark.parametrize("post", [
    "[^a] " * 2000 + "\n\n[^a]: " + "word " * 20_000 + "\n",
    "[x][r] " * 2000 + "\n\n[r]: http://e.org/" + "a" * 50_000 + "\n",
], ids=["footnote", "reference-link"])
def test_references_cannot_multiply_the_output(tmp_path: Path, post: str) -> None:
    proc = run_post(tmp_path, post)
    assert_clean(proc)
    assert proc.returncode == 1 and "[output-budget]" in proc.stderr
    assert not (tmp_path / "post.tex").exists()


def test_many_inline_line_breaks(tmp_path: Path) -> None:
    proc = run_post(tmp_path, "a<br>" * 50_000 + "\n")
    assert_clean(proc)
    assert proc.returncode == 0


def test_html_table_colspans_cannot_multiply_rows(tmp_path: Path) -> None:
    post = ("<table><tr>" + "<td colspan=50>a</td>" * 20_000 + "</tr>"
            + "<tr><td>b</td></tr>" * 5000 + "</table>\n")
    proc = run_post(tmp_path, post)
    assert_clean(proc)
    assert "[html-table]" in proc.stderr


def test_time_budget_covers_the_whole_conversion(tmp_path: Path) -> None:
    proc = run_post(tmp_path, "x\n\n" * 400_000 + "$y$ " * 100_000 + "\n",
                    args=["--timeout", "2"])
    assert_clean(proc)
    assert proc.returncode == 1
    assert "[time-budget]" in proc.stderr
    assert not (tmp_path / "post.tex").exists()


def test_time_budget_in_the_library() -> None:
    with pytest.raises(InputError) as caught:
        md2tex.convert("a\n\nb\n", md2tex.Options(timeout=1e-9))
    assert [d.code for d in caught.value.diagnostics] == ["time-budget"]
    # outside convert() no deadline applies: the same stages run unlimited
    assert render_liquid("{{ site.x }}", LiquidContext(site={"x": "y"})).text == "y"
    assert md2tex.convert("a\n\nb\n").ok


def test_each_stage_keeps_to_the_budget_it_is_handed() -> None:
    """The deadline is an object ``convert`` hands to each stage (no hidden switch): a
    stage given a spent one stops with ``time-budget``, the same stage given none runs."""
    import time

    from md2tex.budget import Budget
    from md2tex.markdown.parse import parse_markdown

    spent = Budget(0, "post.md")
    time.sleep(0.01)
    with pytest.raises(InputError) as caught:
        render_liquid("{{ site.x }}", LiquidContext(site={"x": "y"}, budget=spent))
    assert [(d.code, d.path) for d in caught.value.diagnostics] == [("time-budget", "post.md")]
    with pytest.raises(InputError):
        parse_markdown("a\n\nb\n", budget=spent)
    assert parse_markdown("a\n\nb\n")[0]
    # two conversions do not share a budget: one over its time leaves the other alone
    with pytest.raises(InputError):
        md2tex.convert("a\n\nb\n", md2tex.Options(timeout=1e-9))
    assert md2tex.convert("a\n\nb\n", md2tex.Options(timeout=60)).ok
    capped = Budget(60, "post.md", input_size=0)
    capped.spend(capped.cap - 1)  # type: ignore[arg-type]
    with pytest.raises(InputError) as caught:
        capped.spend(2, 7)
    assert [(d.code, d.line) for d in caught.value.diagnostics] == [("output-budget", 7)]


# ------------------------------------------------------------------------ front matter

def test_yaml_aliases_of_long_strings(tmp_path: Path) -> None:
    big = "x" * 200_000
    post = (f"---\na: &a {big}\nb: &b [{', '.join(['*a'] * 100)}]\n"
            f"c: &c [{', '.join(['*b'] * 100)}]\ntags: *c\ndescription: *c\n---\nx\n")
    proc = run_post(tmp_path, post)
    assert_clean(proc)
    assert proc.returncode == 1
    assert "alias bomb" in proc.stderr


def test_yaml_nested_too_deep(tmp_path: Path) -> None:
    proc = run_post(tmp_path, "---\na: " + "[" * 5000 + "]" * 5000 + "\n---\nx\n")
    assert_clean(proc)
    assert proc.returncode == 1 and "[front-matter]" in proc.stderr


def test_ordinary_aliases_still_load() -> None:
    doc = md2tex.convert("---\ntitle: &t A title\nsubtitle: *t\ntags: [a, b]\n---\nx\n")
    assert doc.meta["subtitle"] == "A title"


# -------------------------------------------------------------------------- robustness

@needs_tex
def test_deeply_nested_divs_make_a_pdf(tmp_path: Path) -> None:
    proc = run_post(tmp_path, "<div>" * 3000 + "deep text" + "</div>" * 3000 + "\n\nafter\n",
                    out="post.pdf")
    assert_clean(proc)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "[html-depth]" in proc.stderr
    text = squash(pdf_text(tmp_path / "post.pdf"))
    assert "deep text" in text and "after" in text


@needs_tex
def test_probe_with_a_failing_preamble_is_reported(tmp_path: Path) -> None:
    # the hoisted definition breaks the probe's preamble: TeX prints no marker at all
    post = ("---\ntitle: t\n---\n\n$$\\newcommand{\\x}{\\begin{document}}\\x$$\n\n"
            "$$\\expandafter\\def\\csname foo\\endcsname{x}\\foo$$\n")
    src = tmp_path / "post.md"
    src.write_text(post, encoding="utf-8")
    check = run_md2tex(["check", src], cwd=tmp_path, timeout=GUARD)
    assert_clean(check)
    assert "preamble fails" in check.stdout + check.stderr
    proc = run_post(tmp_path, post, out="post.pdf")
    assert_clean(proc)


@needs_tex
def test_long_description_ending_in_a_brace(tmp_path: Path) -> None:
    description = "a" * 499 + "{" + "b" * 30
    post = f"---\ntitle: Braces\ndescription: '{description}'\n---\n\nBody.\n"
    proc = run_post(tmp_path, post, out="post.pdf")
    assert_clean(proc)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert pdf_info(tmp_path / "post.pdf")["Subject"] == description[:500]
