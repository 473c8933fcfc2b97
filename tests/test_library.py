"""The library other publishing tools embed: md2tex's public API as an integrator uses it."""

from __future__ import annotations

import dataclasses
import inspect
import json
from pathlib import Path
from typing import Any

import pytest
from helpers import codes, make_png, needs_tex, pdf_image_count, pdf_text, preamble_of

import md2tex

FORMULA_POST = """---
title: Reals
---

The set $\\R$ and the norm $\\norm{x}$.
"""


def _undefined(doc: md2tex.Document) -> list[str]:
    return [d.message for d in doc.diagnostics if d.code == "math-undefined"]


# ----------------------------------------------------------------------------- macros

@pytest.mark.parametrize("mapping", [
    {"\\R": "\\mathbb{R}", "\\norm": "\\left\\lVert #1 \\right\\rVert"},  # KaTeX's form
    {"R": "\\mathbb{R}", "norm": ["\\left\\lVert #1 \\right\\rVert", 1]},  # MathJax's form
])
def test_macros_from_a_mapping(mapping: dict[str, object]) -> None:
    doc = md2tex.convert(FORMULA_POST, md2tex.Options(macros=mapping), path="post.md")
    assert _undefined(doc) == [] and doc.ok, doc.diagnostics
    preamble = preamble_of(doc.tex)
    assert "\\mathbb{R}" in preamble and "\\rVert" in preamble


def test_macros_without_them_are_undefined() -> None:
    doc = md2tex.convert(FORMULA_POST, md2tex.Options(), path="post.md")
    assert any("\\R;" in m for m in _undefined(doc))
    assert "\\mathbb{R}" not in preamble_of(doc.tex)


@pytest.mark.parametrize(("name", "text"), [
    ("macros.tex", "\\newcommand{\\R}{\\mathbb{R}}\n\\newcommand{\\norm}[1]{\\lVert #1\\rVert}\n"),
    ("macros.yaml", "macros:\n  \\R: \\mathbb{R}\n  \\norm: [\"\\\\lVert #1\\\\rVert\", 1]\n"),
    ("macros.json", json.dumps({"\\R": "\\mathbb{R}", "\\norm": "\\lVert #1\\rVert"})),
])
def test_macros_from_a_file_path_or_its_name(tmp_path: Path, name: str, text: str) -> None:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    for given in (path, str(path)):
        doc = md2tex.convert(FORMULA_POST, md2tex.Options(macros=given), path="post.md")
        assert _undefined(doc) == [] and doc.ok, (given, doc.diagnostics)
        assert "\\mathbb{R}" in preamble_of(doc.tex)


def test_the_file_is_read_when_the_options_are_made(tmp_path: Path) -> None:
    """The options carry the file's text (a worker elsewhere needs no copy of the file)."""
    path = tmp_path / "macros.tex"
    path.write_text("\\newcommand{\\R}{\\mathbb{R}}\n", encoding="utf-8")
    opts = md2tex.Options(macros=path)
    path.unlink()
    doc = md2tex.convert("$\\R$", opts)
    assert _undefined(doc) == [] and "\\mathbb{R}" in preamble_of(doc.tex)
    assert dataclasses.replace(opts, strict=True).macros == opts.macros


def test_a_bad_definition_in_a_mapping_file_is_a_warning_naming_the_file(
        tmp_path: Path) -> None:
    path = tmp_path / "site-macros.yaml"
    path.write_text("\\R: \\mathbb{R}\n\\bad: \\frac{1}{\n", encoding="utf-8")
    doc = md2tex.convert(FORMULA_POST, md2tex.Options(macros=path), path="post.md")
    bad = [d for d in doc.diagnostics if d.code == "macro-definition"]
    assert len(bad) == 1 and "\\bad" in bad[0].message and bad[0].path.endswith(path.name)
    assert "\\mathbb{R}" in preamble_of(doc.tex)


def test_a_file_name_that_names_no_file_is_refused_not_taken_as_latex(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match=r"Options\.macros: cannot read the macro file"):
        md2tex.Options(macros=str(tmp_path / "missing.tex"))
    with pytest.raises(ValueError, match=r"Options\.macros"):
        md2tex.Options(macros=tmp_path / "missing.yaml")


@pytest.mark.parametrize("value", [3, ["\\R"], {"\\R": object()}])
def test_macros_of_another_kind_are_a_value_error(value: object) -> None:
    with pytest.raises(ValueError, match=r"Options\.macros: .* expected LaTeX definitions"):
        md2tex.Options(macros=value)  # type: ignore[arg-type]


def test_macros_from_a_mapping_under_safe_are_expanded() -> None:
    """``--safe`` gives TeX no definitions: a mapping's macros are expanded in the formula."""
    doc = md2tex.convert("Reals $\\R$.\n", md2tex.Options(safe=True, macros={"\\R": "\\mathbb{R}"}))
    assert doc.ok and _undefined(doc) == []
    assert "$\\mathbb {R}$" in doc.tex and "\\mathbb{R}" not in preamble_of(doc.tex)


def test_latex_text_stays_latex() -> None:
    text = "\\newcommand{\\R}{\\mathbb{R}}"
    assert md2tex.Options(macros=text).macros == text
    assert md2tex.Options(macros="").macros == ""


# ------------------------------------------------------------- where files are found

IMAGE_POST = "# Figure\n\n![A square](img/square.png)\n"


def test_convert_with_the_posts_path_finds_its_images(tmp_path: Path) -> None:
    make_png(tmp_path / "site" / "img" / "square.png")
    post = tmp_path / "site" / "post.md"
    post.write_text(IMAGE_POST, encoding="utf-8")
    by_path = md2tex.convert(IMAGE_POST, path=str(post))
    assert "image-missing" not in codes(by_path)
    assert by_path.resources == md2tex.convert_file(post).resources != {}
    by_dir = md2tex.convert(IMAGE_POST, path="post.md", base_dir=tmp_path / "site")
    assert by_dir.resources == by_path.resources
    assert "image-missing" in codes(md2tex.convert(IMAGE_POST, path="post.md"))


def _site(root: Path) -> Path:
    (root / "_posts").mkdir(parents=True)
    (root / "_config.yml").write_text("title: A site\nkramdown:\n  math_engine: katex\n",
                                      encoding="utf-8")
    (root / "macros.tex").write_text("\\newcommand{\\R}{\\mathbb{R}}\n", encoding="utf-8")
    (root / "md2tex.yaml").write_text("dollar_math: false\nmacros: macros.tex\n"
                                      "variables: {papersize: a5paper}\n", encoding="utf-8")
    post = root / "_posts" / "2024-01-01-reals.md"
    post.write_text("---\ntitle: Reals\n---\n\n$$\\R$$\n", encoding="utf-8")
    return post


def test_load_config_is_what_the_batch_uses(tmp_path: Path) -> None:
    from md2tex.site.config import load_site_config

    post = _site(tmp_path / "site")
    opts = md2tex.load_config(tmp_path / "site")
    assert opts == load_site_config(tmp_path / "site").apply()
    assert opts.dollar_math is False and opts.math_engine == "katex"
    assert opts.site["title"] == "A site" and opts.variables["papersize"] == "a5paper"
    assert opts.site_root == (tmp_path / "site").resolve()
    assert md2tex.load_config(post) == opts  # from one of its posts
    doc = md2tex.convert_file(post, opts)
    assert _undefined(doc) == [] and "\\mathbb{R}" in preamble_of(doc.tex)


def test_load_config_of_a_config_file_trusts_it(tmp_path: Path) -> None:
    config = tmp_path / "elsewhere.yaml"
    config.write_text("timeout: 900\nengine: xelatex\n", encoding="utf-8")
    opts = md2tex.load_config(config)
    assert opts.timeout == 900 and opts.engine == "xelatex"
    # the same key in a config found in the site is capped (it comes with the posts)
    (tmp_path / "site").mkdir()
    (tmp_path / "site" / "md2tex.yaml").write_text("timeout: 900\n", encoding="utf-8")
    assert md2tex.load_config(tmp_path / "site").timeout == 300


def test_load_config_refuses_what_a_found_config_may_not_do(tmp_path: Path) -> None:
    (tmp_path / "site").mkdir()
    (tmp_path / "site" / "md2tex.yaml").write_text("macros: /etc/passwd\n", encoding="utf-8")
    with pytest.raises(md2tex.InputError, match="outside the site root"):
        md2tex.load_config(tmp_path / "site")


# --------------------------------------------------------------------------- building

@needs_tex
def test_build_pdf_without_a_target_returns_the_pdf(tmp_path: Path) -> None:
    doc = md2tex.convert("# Bytes\n\nA formula $a^2+b^2$ in a PDF held in memory.\n")
    pdf = md2tex.build_pdf(doc)
    assert isinstance(pdf, bytes) and pdf.startswith(b"%PDF")
    (tmp_path / "mem.pdf").write_bytes(pdf)
    assert "held in memory" in pdf_text(tmp_path / "mem.pdf")
    result = md2tex.build_pdf(doc, tmp_path / "file.pdf")
    assert result.pdf == tmp_path / "file.pdf"
    assert "held in memory" in pdf_text(result.pdf)


@needs_tex
def test_build_pdf_of_a_post_with_an_image(tmp_path: Path) -> None:
    make_png(tmp_path / "img" / "square.png")
    post = tmp_path / "post.md"
    post.write_text(IMAGE_POST, encoding="utf-8")
    pdf = md2tex.build_pdf(md2tex.convert(post.read_text(), path=str(post)))
    (tmp_path / "out.pdf").write_bytes(pdf)
    assert pdf_image_count(tmp_path / "out.pdf") == 1


@needs_tex
def test_a_build_error_carries_the_latex_and_the_log(tmp_path: Path) -> None:
    template = tmp_path / "broken.tex.j2"
    template.write_text('((* extends "article.tex.j2" *))\n((* block preamble *))'
                        "((( super() )))\n\\nosuchcommandanywhere\n((* endblock *))\n",
                        encoding="utf-8")
    doc = md2tex.convert("Some text.\n", md2tex.Options(template=template))
    with pytest.raises(md2tex.BuildError) as caught:
        md2tex.build_pdf(doc)
    exc = caught.value
    assert exc.tex == doc.tex and "\\nosuchcommandanywhere" in exc.tex
    assert "nosuchcommandanywhere" in exc.log_tail and len(exc.log_tail) <= len(exc.log)
    assert exc.diagnostics and all(d.severity is md2tex.Severity.ERROR
                                   for d in exc.diagnostics)


# ----------------------------------------------------------------------- public names

def test_severity_prints_as_a_compiler_does() -> None:
    assert [str(s) for s in md2tex.Severity] == ["error", "warning", "note"]
    assert f"{md2tex.Severity.WARNING}" == "warning" and md2tex.Severity("note").value == "note"
    assert md2tex.Severity.ERROR == "error"


def test_every_public_name_resolves() -> None:
    for name in md2tex.__all__:
        assert getattr(md2tex, name) is not None, name
    from md2tex.site.batch import BatchInterrupted

    assert md2tex.BatchInterrupted is BatchInterrupted
    assert issubclass(md2tex.BatchInterrupted, KeyboardInterrupt)


def test_internal_fields_are_not_in_the_public_signature() -> None:
    public = inspect.signature(md2tex.Options).parameters
    assert "cli_keys" not in public and "posts" not in public
    assert {"engine", "macros", "base_dir", "site_root"} <= set(public)
    opts = md2tex.Options()
    assert "cli_keys" not in repr(opts) and "posts" not in repr(opts)
    # md2tex still sets them, by keyword only
    fixed = dataclasses.replace(opts, cli_keys=frozenset({"engine"}))
    assert fixed.with_front_matter({"engine": "xelatex"}).engine == "pdflatex"
    init = inspect.signature(md2tex.Options.__init__).parameters
    assert init["cli_keys"].kind is init["posts"].kind is inspect.Parameter.KEYWORD_ONLY


# ------------------------------------------------------------------- extension points

def test_an_html_element_handler() -> None:
    @md2tex.register_html_element("x-library-aside")
    def aside(html: Any, el: Any) -> str:
        return "\\begin{quote}\\textsc{Aside:} " + html.inlines(el.children).strip() \
            + "\\end{quote}"

    doc = md2tex.convert("Before.\n\n<x-library-aside>\na side remark\n</x-library-aside>\n\n"
                         "After.\n")
    assert "\\begin{quote}\\textsc{Aside:} a side remark\\end{quote}" in doc.tex
    assert doc.ok and "html" not in " ".join(codes(doc)), doc.diagnostics


def test_a_liquid_tag_and_include_handler() -> None:
    from md2tex.markdown.includes import Made

    @md2tex.register_tag("librarytag")
    def tag(call: Any, notes: Any) -> Made:
        return Made(f"**{call.args[0]}** from a tag")

    @md2tex.register_include("library-box.html")
    def box(call: Any, notes: Any) -> Made:
        return Made(f"A box saying *{call.param('text')}*", own_block=True)

    doc = md2tex.convert("Text {% librarytag 'hello' %} here.\n\n"
                         '{% include library-box.html text="inside" %}\n')
    assert "\\textbf{hello} from a tag" in doc.tex
    assert "A box saying \\emph{inside}" in doc.tex
    assert not [d for d in doc.diagnostics if d.code.startswith("liquid")], doc.diagnostics
