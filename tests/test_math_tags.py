"""``\\tag`` where MathJax shows it and LaTeX would refuse it: a whole-formula eqnarray with
tags becomes align (MathJax numbers eqnarray rows by their tags; amsmath allows ``\\tag``
only in its own environments). Checked on the formula and in a real PDF."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
from helpers import needs_tex, run_md2tex

from md2tex.math.check import prepare

EQNARRAY = r"""
\begin{eqnarray}
    a_n &=& \int_0^T f(x)\, dx \tag{1.3} \\
    b_n &=& \int_0^T g(x)\, dx \tag{1.4}
\end{eqnarray}
"""


@pytest.mark.parametrize("numbered", [True, False])
def test_eqnarray_with_tags_becomes_align(numbered: bool) -> None:
    res = prepare(EQNARRAY, display=True, numbered=numbered)
    env = "align" if numbered else "align*"
    assert res.environment == env
    assert f"\\begin{{{env}}}" in res.latex and "&=&" not in res.latex
    assert res.latex.count("&=") == 2
    assert [d.code for d in res.diagnostics] == ["math-eqnarray-tag"]


def test_eqnarray_without_tags_stays() -> None:
    res = prepare(EQNARRAY.replace(r"\tag{1.3}", "").replace(r"\tag{1.4}", ""),
                  display=True, numbered=True)
    assert res.environment == "eqnarray"
    assert not res.diagnostics


def test_tag_on_its_own_line_in_aligned_leaves_no_blank_line() -> None:
    # the tag moves after \end{aligned}; a blank line left behind would end the paragraph
    res = prepare("\\begin{aligned}\na &= b \\\\\nc &= d\n\\tag{7}\n\\end{aligned}",
                  display=True)
    assert [d.code for d in res.diagnostics] == ["math-tag-moved"]
    assert "\n\n" not in res.latex
    assert res.latex.endswith("\\end{aligned} \\tag{7}")


def built_text(markdown: str, tmp_path: Path) -> str:
    """The post built through the CLI, with no formula rejected by TeX, read back in
    content order (``pdftotext -raw``)."""
    post = tmp_path / "post.md"
    post.write_text(markdown, encoding="utf-8")
    pdf = tmp_path / "post.pdf"
    proc = run_md2tex([post, "-o", pdf])
    assert proc.returncode == 0, proc.stderr
    assert "math-tex-rejected" not in proc.stderr
    return subprocess.run(["pdftotext", "-raw", str(pdf), "-"], capture_output=True,
                          text=True, check=True).stdout


@needs_tex
def test_eqnarray_tags_in_the_pdf(tmp_path: Path) -> None:
    text = built_text(f"# Tags\n\nCoefficients:\n\n$$\n{EQNARRAY.strip()}\n$$\n\nAfter.\n",
                      tmp_path)
    assert "(1.3)" in text and "(1.4)" in text
    assert "\\tag" not in text and "eqnarray" not in text


def test_katex_line_break_keeps_the_tag_on_the_display() -> None:
    """KaTeX breaks display math at a top-level \\\\ and shows the \\tag on the whole
    display: the lines go in gathered, the tag after it (amsmath refuses it inside)."""
    res = prepare("x = 1 \\\\\n\\tag{25}\ny = 2", display=True, engine="katex")
    assert res.ok and "\n\n" not in res.latex
    assert res.latex == "\\begin{gathered}x = 1 \\\\\ny = 2\\end{gathered} \\tag{25}"
    assert [d.code for d in res.diagnostics] == ["katex-line-break", "math-tag-moved"]
    # two tags on one display: an error in KaTeX too ("Multiple \tag")
    assert not prepare("a \\\\ b \\tag{1} \\tag{2}", display=True, engine="katex").ok


@needs_tex
def test_katex_broken_display_with_tag_in_the_pdf(tmp_path: Path) -> None:
    text = built_text("---\nmath_engine: katex\n---\n\nBefore.\n\n$$\n\\text{upper} = 1 "
                      "\\\\\n\\text{lower} = 2 \\tag{25}\n$$\n\nAfter.\n", tmp_path)
    lines = [x.replace(" ", "") for x in text.splitlines()]
    assert "upper=1" in lines and any(x.startswith("lower=2") for x in lines)
    assert "(25)" in text and "\\" not in text
