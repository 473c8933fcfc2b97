"""render.py: tokens to LaTeX body text. Golden cases (``tests/cases/NAME.md`` → ``NAME.tex``,
reviewed by eye) pin whole bodies; the unit tests below pin one construct each.

Regenerate the golden files after an intended change with::

    MD2TEX_UPDATE_GOLDEN=1 python -m pytest tests/test_render.py -k golden

then read every changed ``tests/cases/*.tex`` (``git diff tests/cases``) before committing.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest
from helpers import (
    CASES,
    GOLDEN_ENV,
    body,
    body_of,
    case_names,
    codes,
    convert,
    convert_case,
    make_png,
)

# ------------------------------------------------------------------------------ golden


@pytest.mark.parametrize("name", case_names())
def test_golden_body(name: str, case_dir: Path) -> None:
    doc = convert_case(name, case_dir)
    got = body_of(doc.tex)
    golden = CASES / f"{name}.tex"
    if os.environ.get(GOLDEN_ENV) == "1":
        golden.write_text(got, encoding="utf-8")
        pytest.skip(f"rewrote {golden.name}; review it by eye")
    assert golden.is_file(), f"{golden} is missing; run with {GOLDEN_ENV}=1 and review it"
    assert got == golden.read_text(encoding="utf-8"), (
        f"{name}: LaTeX body differs from {golden.name} (if intended, regenerate with "
        f"{GOLDEN_ENV}=1 and review the diff)")


def test_every_case_has_a_golden_file() -> None:
    names = case_names()
    assert len(names) >= 10
    orphans = sorted(p.stem for p in CASES.glob("*.tex") if p.stem not in names)
    assert not orphans, f"golden .tex without a .md: {orphans}"


def test_golden_markers_name_real_source_lines() -> None:
    """Every ``%L<n>`` marker in a golden body points at a non-blank line of its post."""
    for name in case_names():
        md_lines = (CASES / f"{name}.md").read_text(encoding="utf-8").split("\n")
        tex = (CASES / f"{name}.tex").read_text(encoding="utf-8")
        for n in map(int, re.findall(r"%L(\d+)$", tex, re.M)):
            assert 1 <= n <= len(md_lines), (name, n)
            assert md_lines[n - 1].strip(), f"{name}: %L{n} points at a blank line"


# ----------------------------------------------------------------------------- headings


@pytest.mark.parametrize(("markdown", "expected"), [
    ("# A\n\n## B\n\n### C\n\n#### D\n\n##### E\n\n###### F\n",
     ["section", "subsection", "subsubsection", "paragraph", "subparagraph", "subparagraph"]),
    # the post's highest level maps to \section, whatever it is
    ("### A\n\n#### B\n\n##### C\n", ["section", "subsection", "subsubsection"]),
    ("#### First\n\n## Higher later\n\n##### Low\n", ["subsubsection", "section", "paragraph"]),
])
def test_heading_levels(markdown: str, expected: list[str]) -> None:
    got = re.findall(r"^\\(\w+)\{", body(markdown), re.M)
    assert got == expected


def test_heading_keeps_bookmark_text_plain() -> None:
    tex = body("## The $\\alpha$-trick & `x`\n")
    assert tex.startswith("\\section{\\texorpdfstring{")
    # the bookmark (second argument) is plain text: math as Unicode, no math shift, no \mdcode
    assert tex.endswith("{The \u03b1-trick \\& x}}\n")


def test_heading_inside_list_is_bold_block_not_section() -> None:
    tex = body("- item\n\n  ## Inner heading\n")
    assert "\\section" not in tex
    assert "\\par\\textbf{Inner heading}\\par" in tex


# ------------------------------------------------------------------------------- inline


def test_emphasis_strong_strike() -> None:
    doc = convert("*a* _b_ **c** __d__ ~~e~~\n")
    tex = body_of(doc.tex)
    assert "\\emph{a} \\emph{b} \\textbf{c} \\textbf{d} \\sout{e}" in tex
    assert "strike" in doc.features
    assert "\\usepackage[normalem]{ulem}" in doc.tex


def test_inline_code_is_escaped_texttt_never_verb() -> None:
    tex = body("Use `\\verb|x| {}%$#&~^_` now.\n")
    assert "\\verb" not in tex.replace("\\textbackslash{}verb", "")
    assert ("\\mdcode{\\textbackslash{}verb\\textbar{}x\\textbar{}\\mdcodespace{}\\{\\}\\%\\$"
            "\\#\\&\\textasciitilde{}\\textasciicircum{}\\_\\allowbreak{}}") in tex


def test_links_inline_reference_autolink() -> None:
    tex = body("[a](https://x.org/a_b#c) [b][r] <https://auto.org/p?q=1%2>\n\n"
               "[r]: https://ref.org/\n")
    assert "\\href{https://x.org/a_b\\#c}{a}" in tex
    assert "\\href{https://ref.org/}{b}" in tex
    assert "\\url{https://auto.org/p?q=1\\%252}" in tex


def test_link_with_unsafe_scheme_keeps_only_text() -> None:
    doc = convert("[click](javascript:alert(1)) here\n")
    tex = body_of(doc.tex)
    assert "\\href" not in tex and "javascript" not in tex
    assert "click here" in tex
    assert "link-scheme" in codes(doc)


def test_hard_breaks_and_soft_breaks() -> None:
    tex = body("one  \ntwo\\\nthree\nfour\n")
    assert tex.strip() == "one\\newline\ntwo\\newline\nthree\nfour"


def test_html_comment_dropped_silently_other_html_warned() -> None:
    doc = convert("<!--more-->\n\nText <!-- gone --> stays.\n\n<marquee>moving</marquee> on\n")
    tex = body_of(doc.tex)
    assert "more" not in tex and "gone" not in tex
    assert "Text  stays." in tex
    assert "moving" in tex and "marquee" not in tex and "textless" not in tex
    assert codes(doc) == ["raw-html"]
    assert doc.diagnostics[0].line == 5


def test_unknown_block_html_keeps_text_and_warns() -> None:
    doc = convert("Before.\n\n<custom-box class='x'>\nInside box\n</custom-box>\n\nAfter.\n")
    tex = body_of(doc.tex)
    assert "Inside box" in tex and "custom" not in tex
    assert [(d.code, d.line) for d in doc.warnings] == [("raw-html", 3)]


def test_script_html_leaves_no_text() -> None:
    doc = convert("<script>alert(1)</script>\n\nText.\n")
    assert "alert" not in doc.tex
    assert codes(doc) == ["raw-html"]


# ------------------------------------------------------------------------------- blocks


def test_fenced_tilde_and_indented_code_are_verbatim() -> None:
    doc = convert("```\na\n```\n\n~~~\nb\n~~~\n\n    c\n")
    tex = body_of(doc.tex)
    assert tex.count("\\begin{Verbatim}") == 3
    assert "code" in doc.features
    assert "\\usepackage{fvextra}" in doc.tex
    assert "\\def\\PYZsq{\\textquotesingle}" in doc.tex


def test_code_language_unknown_is_plain_text_with_warning() -> None:
    doc = convert("```foolang\nx := 1\n```\n")
    assert "x := 1" in body_of(doc.tex)
    assert codes(doc) == ["code-language"]


def test_code_info_string_variants() -> None:
    assert "\\PY{k}{def}" in body("```{.python}\ndef f(): pass\n```\n")
    assert "numbers=left" in body("```python linenos\nx = 1\n```\n")


def test_block_quote_nested() -> None:
    tex = body("> a\n>\n> > b\n")
    assert tex.strip() == "\\begin{quote}\na\n\n\\begin{quote}\nb\n\\end{quote}\n\\end{quote}"


def test_thematic_break() -> None:
    assert body("a\n\n***\n\nb\n").split() == ["a", "\\mdrule", "b"]


def test_lists_ordered_start_and_tasks() -> None:
    doc = convert("7. seven\n8. eight\n\n- [ ] todo\n- [x] done\n")
    tex = body_of(doc.tex)
    assert "\\begin{enumerate}[noitemsep,start=7]" in tex
    assert "\\item[$\\square$]{}" in tex and "\\item[$\\boxtimes$]{}" in tex
    assert "\\usepackage{enumitem}" in doc.tex


def test_deep_lists_raise_the_depth_limit() -> None:
    md = "".join("  " * i + f"- level {i}\n" for i in range(8))
    doc = convert(md)
    assert body_of(doc.tex).count("\\begin{itemize}") == 8
    assert "\\setlistdepth{20}" in doc.tex


def test_table_alignment_and_longtable() -> None:
    doc = convert("| a | b | c | d |\n|:--|:-:|--:|---|\n| 1 | 2 | 3 | 4 |\n")
    tex = body_of(doc.tex)
    assert "\\begin{longtable}[l]{@{}lcrl@{}}" in tex
    assert "\\textbf{a} & \\textbf{b} & \\textbf{c} & \\textbf{d} \\\\" in tex
    assert "1 & 2 & 3 & 4 \\\\" in tex
    assert "\\usepackage{longtable,booktabs,array}" in doc.tex


def test_wide_table_uses_wrapping_columns() -> None:
    long = "word " * 30
    tex = body(f"| a | b |\n|---|--:|\n| {long} | x |\n")
    assert "p{" in tex and "\\raggedleft" in tex


def test_markdown_and_html_tables_are_written_alike() -> None:
    """One table writer: the same table from Markdown and from HTML is the same LaTeX (but
    for the Markdown line markers)."""
    markdown = body("| a | b |\n|---|---|\n| 1 | 2 |\n")
    html = body("<table><tr><th>a</th><th>b</th></tr><tr><td>1</td><td>2</td></tr></table>\n")
    unmarked = "\n".join(line for line in markdown.splitlines() if not line.startswith("%L"))
    assert "\\begin{longtable}" in html and unmarked.strip() == html.strip()


def test_footnotes_become_footnote_macro() -> None:
    tex = body("Text[^a] and more[^b].\n\n[^a]: First *note*.\n[^b]: Second $x$.\n")
    assert "Text\\footnote{First \\emph{note}.} and more\\footnote{Second $x$.}." in tex


def test_warnings_inside_a_note_name_the_line_of_its_definition() -> None:
    # mistune parses notes after the body, from their text alone: a formula in a note was
    # reported at the note's reference (one-line notes) or at the last block's line
    doc = convert("Text[^a] and[^b].\n\nMore.\n\n[^a]: One $\\nosuchA$.\n[^b]:\n"
                  "    Para one.\n\n    Para two $\\nosuchB$.\n\nAfter $\\nosuchC$.\n")
    lines = sorted(d.line or 0 for d in doc.diagnostics if d.code == "math-undefined")
    assert lines == [5, 9, 11], [d.format() for d in doc.diagnostics]


def test_images_local_missing_remote(tmp_path: Path) -> None:
    make_png(tmp_path / "pics" / "dot.png")
    (tmp_path / "fake.png").write_text("not a png")
    md = ("![dot](pics/dot.png)\n\n![lost](nowhere.png)\n\n![far](https://x.org/p.png)\n\n"
          "![fake](fake.png)\n")
    doc = convert(md, base_dir=tmp_path)
    tex = body_of(doc.tex)
    assert "\\mdincludegraphics{pics/dot.png}" in tex
    assert doc.resources == {"pics/dot.png": str((tmp_path / "pics" / "dot.png").resolve())}
    assert "\\mdimageplaceholder{lost}{\\nolinkurl{nowhere.png}}" in tex
    assert "\\mdimageplaceholder{far}{\\nolinkurl{https://x.org/p.png}}" in tex
    assert "\\mdimageplaceholder{fake}" in tex
    assert codes(doc) == ["image-missing", "image-remote", "image-format"]
    assert [d.line for d in doc.diagnostics] == [3, 5, 7]
    assert doc.ok, "missing images are warnings, never errors"


def test_packages_only_for_used_features() -> None:
    plain = convert("Just a paragraph with $x$.\n").tex
    for pkg in ("fvextra", "longtable", "ulem", "graphicx", "enumitem"):
        assert pkg not in plain, pkg
    assert "\\PY@" not in plain


def test_every_block_gets_a_line_marker() -> None:
    md = "# H\n\npara\n\n- item\n\n> quote\n\n```\ncode\n```\n\n$$\nx\n$$\n"
    tex = body_of(convert(md).tex)
    assert re.findall(r"^%L(\d+)$", tex, re.M) == ["1", "3", "5", "7", "7", "9", "13"]
    assert "\\item{} %L5" in tex


# --------------------------------------------------------------------------------- math


@pytest.mark.parametrize("env", ["align", "align*", "gather", "gather*", "multline",
                                 "multline*", "flalign", "flalign*", "equation", "equation*"])
def test_amsmath_environment_is_emitted_raw_not_in_brackets(env: str) -> None:
    for md in (f"$$\n\\begin{{{env}}}\na = b\n\\end{{{env}}}\n$$\n",
               f"\\begin{{{env}}}\na = b\n\\end{{{env}}}\n"):
        tex = body(md).strip()
        assert "\\[" not in tex and "\\]" not in tex, tex
        base = env.rstrip("*")
        # MathJax numbers nothing by default: unnumbered unless the post uses \label/\eqref
        assert tex.startswith(f"\\begin{{{base}*}}") and tex.endswith(f"\\end{{{base}*}}"), tex


def test_labelled_equations_are_numbered() -> None:
    tex = body("$$\n\\begin{align}\na = b \\label{eq:a}\n\\end{align}\n$$\n\n"
               "See $\\eqref{eq:a}$.\n")
    assert "\\begin{align}" in tex and "\\label{eq:a}" in tex


def test_other_display_math_goes_in_brackets() -> None:
    tex = body("$$\n\\begin{matrix} a & b \\end{matrix}\n$$\n")
    assert tex.strip() == "\\[\n\\begin{matrix} a & b \\end{matrix}\n\\]"


def test_text_with_inner_dollars_in_cases() -> None:
    tex = body("$$\nf(n) = \\begin{cases} 1, & \\text{if $n$ is even} \\\\ 0, & "
               "\\text{if $n$ is odd} \\end{cases}\n$$\n")
    assert "\\text{if $n$ is even}" in tex and "\\text{if $n$ is odd}" in tex


def test_rlap_and_size_switch_in_math() -> None:
    doc = convert("$$\n\\rlap{x_i} + \\llap{y} + {\\LARGE K} + \\Large M\n$$\n")
    tex = body_of(doc.tex)
    assert "\\mathrlap{x_i}" in tex and "\\mathllap{y}" in tex
    assert "\\rlap" not in tex.replace("\\mathrlap", "")
    # (display style kept inside the box of a display formula)
    assert re.search(r"\\text\{\\LARGE\$\\displaystyle\s*K\$\}", tex), tex
    assert re.search(r"\\text\{\\Large\$\\displaystyle\s*M\s*\$\}", tex), tex
    assert "\\usepackage{mathtools}" in doc.tex
    assert {d.code for d in doc.diagnostics} <= {"mathjax-lap", "math-size-switch"}
    assert doc.ok


def test_display_math_continues_its_paragraph() -> None:
    # no blank line before the display: TeX adds no paragraph skip above it
    tex = body("We have\n\n$$\nx = 1\n$$\n\nand more.\n")
    assert "We have\n\\[" in tex
