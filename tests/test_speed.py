# ruff: noqa: RUF001 - these tests are about CJK text
"""What makes single posts and batches fast, checked for correctness (never for time): lazy
imports, the sandbox/version probes run ahead, xelatex formats, one TeX run where a rerun
changes nothing, a table of contents that settles, longest posts first. Real TeX, no mocks."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from helpers import HAVE_POPPLER, pdf_text

import md2tex
from md2tex.cli.commands import main
from md2tex.site import batch
from md2tex.tex import build, passes, process
from md2tex.tex import formats as fmtcache

HAVE_XELATEX = shutil.which("xelatex") is not None and shutil.which("pdflatex") is not None
needs_xetex = pytest.mark.skipif(not (HAVE_XELATEX and HAVE_POPPLER),
                                 reason="needs xelatex, pdflatex and poppler-utils")

CJK = ("---\ntitle: 格式测试\nauthor: 测试者\n---\n"
       "这是第一段中文，含有 **粗体文字** 与 English words。\n\n"
       "## 第二节\n\n公式 $x^2 + y^2 = z^2$ 也在这里。\n")
TOC = ("---\ntitle: Contents\n---\n* toc\n{:toc}\n\n"
       + "".join(f"## Section {i}\n\nText of section {i}.\n\n" for i in range(1, 6)))
HEAVY = ("jinja2", "mistune", "pygments", "pylatexenc", "yaml", "md2tex.pipeline",
         "md2tex.tex.build", "md2tex.math.check")


def test_cli_start_imports_nothing_heavy() -> None:
    code = ("import sys, md2tex.cli.commands\n"
            f"print(','.join(m for m in {HEAVY!r} if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout.strip()
    assert out == ""


def test_lazy_api_names_still_work() -> None:
    from md2tex import Document, build_pdf, convert, convert_file, convert_many

    assert callable(convert) and callable(convert_file) and callable(build_pdf)
    assert callable(convert_many) and isinstance(convert("x\n"), Document)
    with pytest.raises(AttributeError):
        md2tex.no_such_name  # noqa: B018


def test_help_and_check_after_lazy_imports(tmp_path: Path) -> None:
    runner = CliRunner()
    assert runner.invoke(main, ["--help"]).exit_code == 0
    assert "typeset a post" in runner.invoke(main, ["--help"]).output
    post = tmp_path / "p.md"
    post.write_text("A formula $x^2$.\n", encoding="utf-8")
    result = runner.invoke(main, ["check", str(post)])
    assert result.exit_code == 0, result.output
    tex = runner.invoke(main, [str(post), "-o", "-"])
    assert tex.exit_code == 0 and "\\begin{document}" in tex.output


def test_prewarm_never_raises() -> None:
    build.prewarm("no-such-engine-md2tex")  # the build itself reports a missing engine
    if shutil.which("pdflatex"):
        build.prewarm("pdflatex")
        assert fmtcache.tex_version("pdflatex")


def test_xelatex_split_keeps_font_set_up_in_the_body() -> None:
    doc = md2tex.convert(CJK)
    assert doc.engine == "xelatex"
    split = fmtcache.split_tex(doc.tex, "xelatex")
    assert split is not None
    assert "\\usepackage{xeCJK}" in split.prefix and "\\usepackage{fontspec}" in split.prefix
    assert "setCJKmainfont" not in split.prefix and "IfFontExistsTF" not in split.prefix
    whole, body = doc.tex.split("\n"), split.body.split("\n")
    assert len(whole) == len(body)  # TeX's line numbers are the document's
    for number, line in enumerate(whole):
        if "\\setCJKmainfont" in line or "\\IfFontExistsTF" in line:
            assert body[number] == line
        if line.startswith("\\usepackage"):
            assert body[number] == ""
    ini = fmtcache.ini_text("xelatex", split)
    assert ini.index("ec-lmr10") < ini.index("\\documentclass") < ini.index("\\dump")


@needs_xetex
def test_xelatex_format_is_made_used_and_keeps_the_text(format_cache: Path, tmp_path: Path) -> None:
    doc = md2tex.convert(CJK)
    first = md2tex.build_pdf(doc, tmp_path / "first.pdf")
    assert first.runs == 1  # default page labels: no rerun for /PageLabels
    (fmt,) = format_cache.glob("*.fmt")
    assert not list(format_cache.glob("*.bad"))
    with tempfile.TemporaryDirectory() as tmp:
        use = fmtcache.use_format(doc, Path(tmp))
        assert use is not None and use.name == fmt.stem
    second = md2tex.build_pdf(doc, tmp_path / "second.pdf")
    assert second.runs == 1
    text = pdf_text(second.pdf)
    for words in ("格式测试", "测试者", "这是第一段中文", "粗体文字", "第二节", "English words"):
        assert words in text
    fonts = subprocess.run(["pdffonts", str(second.pdf)], capture_output=True, text=True,
                           check=True).stdout
    # the CJK fonts were loaded at run time, after the format
    assert "Fandol" in fonts or "NotoSerifCJK" in fonts
    assert "ec-lm" not in fonts.lower() and "LMRoman" not in fonts  # no TFM twin leaked
    plain = replace(doc, options=replace(doc.options, format_cache=False))
    md2tex.build_pdf(plain, tmp_path / "plain.pdf")
    assert fmtcache.same_pdf(tmp_path / "plain.pdf", second.pdf)


@needs_xetex
def test_table_of_contents_settles(format_cache: Path, tmp_path: Path) -> None:
    result = md2tex.build_pdf(md2tex.convert(TOC), tmp_path / "toc.pdf")
    assert 2 <= result.runs <= 3  # the .toc is closed before its checksum: no endless rerun
    text = pdf_text(result.pdf)
    assert text.count("Section 5") >= 2  # in the contents and as the heading


def test_page_labels_rerun_only_when_labels_are_not_the_default(tmp_path: Path) -> None:
    warning = "Package hyperref Warning: Rerun to get /PageLabels entry.\n"
    aux = tmp_path / f"{process.TEX_NAME}.aux"
    aux.write_text("\\providecommand*\\HyPL@Entry[1]{}\n\\HyPL@Entry{0<</S/D>>}\n")
    assert not passes.needs_rerun(warning, tmp_path)
    assert passes.needs_rerun(warning + "LaTeX Warning: Label(s) may have changed.\n",
                             tmp_path)
    aux.write_text("\\HyPL@Entry{0<</S/r>>}\n\\HyPL@Entry{2<</S/D>>}\n")
    assert passes.needs_rerun(warning, tmp_path)
    aux.unlink()
    assert passes.needs_rerun(warning, tmp_path)


class _Recording(ThreadPoolExecutor):
    def __init__(self) -> None:
        super().__init__(max_workers=1)
        self.order: list[str] = []

    def submit(self, fn: Any, /, *args: Any, **kwargs: Any) -> Future[Any]:
        self.order.append(Path(args[0].source).name)
        return super().submit(fn, *args, **kwargs)


def test_longest_posts_start_first(tmp_path: Path) -> None:
    src = tmp_path / "posts"
    src.mkdir()
    (src / "a-short.md").write_text("Short.\n", encoding="utf-8")
    (src / "b-long.md").write_text("Long paragraph. " * 2000 + "\n", encoding="utf-8")
    (src / "c-cjk.md").write_text(CJK, encoding="utf-8")
    (src / "d-toc.md").write_text(TOC, encoding="utf-8")
    _root, posts = batch.find_posts(src)
    with _Recording() as pool:
        report = md2tex.convert_many(posts, tmp_path / "out", executor=pool, to="tex")
    assert pool.order == ["b-long.md", "d-toc.md", "c-cjk.md", "a-short.md"]
    assert [Path(r.path).name for r in report.results] == [p.name for p in posts]
    assert report.converted == 4


def test_common_characters_match_pylatexenc() -> None:
    from md2tex import escape

    for ch, latex in escape._COMMON_CHARS.items():
        assert escape._encoder().unicode_to_latex(ch) == latex, ch
        assert ch not in escape._EXTRA_CHARS


def test_an_english_post_does_not_import_pylatexenc() -> None:
    code = ("import sys, md2tex\n"
            "md2tex.convert('---\\ntitle: It\\'s\\n---\\n'\n"
            "               'Don\\'t -- \"quote\" --- caf\\u00e9.\\n')\n"
            "print('pylatexenc' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout.strip()
    assert out == "False"


def test_a_rebuild_imports_no_yaml_pylatexenc_or_network(tmp_path: Path) -> None:
    post = tmp_path / "post.md"
    post.write_text("---\ntitle: Again\n---\nA\u00a0non-breaking space and $x^2$.\n",
                    encoding="utf-8")
    code = ("import sys\nfrom md2tex.cli.commands import main\n"
            "try:\n    main([sys.argv[1], '-o', sys.argv[2], '-q'])\n"
            "except SystemExit as exc:\n    assert not exc.code, exc.code\n"
            "print(','.join(m for m in ('yaml', 'pylatexenc', 'ssl', 'urllib.request')\n"
            "               if m in sys.modules))")
    env = {**os.environ, "XDG_CACHE_HOME": str(tmp_path / "cache")}

    def imported() -> str:
        return subprocess.run([sys.executable, "-c", code, str(post), str(tmp_path / "p.tex")],
                              capture_output=True, text=True, check=True, env=env,
                              cwd=tmp_path).stdout.strip()

    assert imported() == "yaml"  # the front matter is read once, then remembered
    assert imported() == ""
    assert "A~non-breaking space" in (tmp_path / "p.tex").read_text(encoding="utf-8")


@pytest.mark.skipif(shutil.which("pdflatex") is None or not HAVE_POPPLER,
                    reason="needs pdflatex and poppler-utils")
def test_a_pdf_rebuild_imports_only_what_the_post_needs(tmp_path: Path) -> None:
    # a rebuild (user cache warm) of a post with math, code and a table: no citations
    # module without a citation, no Liquid engine without Liquid markup, no Jinja (the
    # remembered template skeleton), no Pygments (the remembered highlighting), no YAML (the
    # remembered front matter)
    post = tmp_path / "post.md"
    post.write_text("---\ntitle: Again\n---\nA formula $x^2$ and code:\n\n"
                    "```python\nprint(1)\n```\n\n| a | b |\n|---|---|\n| 1 | 2 |\n",
                    encoding="utf-8")
    lazy = ("md2tex.latex.citations", "md2tex.markdown.liquid", "md2tex.markdown.includes",
            "jinja2", "pygments", "yaml", "pylatexenc")
    code = ("import sys\nfrom md2tex.cli.commands import main\n"
            "try:\n    main([sys.argv[1], '-o', sys.argv[2], '-q'])\n"
            "except SystemExit as exc:\n    assert not exc.code, exc.code\n"
            f"print(','.join(m for m in {lazy!r} if m in sys.modules))")
    env = {**os.environ, "XDG_CACHE_HOME": str(tmp_path / "cache")}

    def imported(source: Path) -> str:
        return subprocess.run([sys.executable, "-c", code, str(source),
                               str(tmp_path / "p.pdf")], capture_output=True, text=True,
                              check=True, env=env, cwd=tmp_path).stdout.strip()

    assert imported(post) != ""  # the first build reads, highlights and renders
    assert imported(post) == ""
    assert "Again" in pdf_text(tmp_path / "p.pdf")
    cites = tmp_path / "cites.md"
    cites.write_text("See {% cite knuth84 %}.\n", encoding="utf-8")
    loaded = imported(cites).split(",")
    assert {"md2tex.latex.citations", "md2tex.markdown.liquid"} <= set(loaded)


def test_the_program_ends_without_teardown_but_with_its_output_and_status(
        tmp_path: Path) -> None:
    # run as a program (no arguments given to main), md2tex ends with os._exit after
    # flushing its streams and running atexit handlers: nothing written may be lost
    long = "".join(f"Paragraph {i} with $x_{{{i}}}$.\n\n" for i in range(3000))
    post = tmp_path / "long.md"
    post.write_text(long, encoding="utf-8")
    marker = tmp_path / "atexit-ran"
    code = ("import atexit, pathlib, sys\n"
            f"atexit.register(pathlib.Path({str(marker)!r}).touch)\n"
            "from md2tex.cli.commands import main\nmain()\n")
    env = {**os.environ, "XDG_CACHE_HOME": str(tmp_path / "cache")}

    def program(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-c", code, *args], capture_output=True,
                              text=True, env=env, cwd=tmp_path)

    out = program(str(post), "-o", "-")
    assert out.returncode == 0 and marker.exists()
    assert out.stdout.count("Paragraph ") == 3000 and out.stdout.rstrip().endswith(
        "\\end{document}")
    assert program("no-such.md", "-o", "x.tex").returncode == 2
    bad = tmp_path / "bad.md"
    bad.write_bytes(b"caf\xe9\n")
    failed = program(str(bad), "-o", "x.tex")
    assert failed.returncode == 1 and "bad.md" in failed.stderr


def test_compiled_template_is_cached_only_in_a_private_folder(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from md2tex.latex import jinjaenv as template
    from md2tex.memo import Memo

    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert template._bytecode_cache(None) is None  # a library call without a memo
    user = Memo.for_user()
    cache = template._bytecode_cache(user)
    assert cache is not None
    folder = tmp_path / "xdg" / "md2tex" / "jinja"
    env = template._environment([template._package_loader()])
    env.bytecode_cache = cache
    env.get_template(template.DEFAULT_TEMPLATE)
    assert len(list(folder.glob("*.cache"))) == 1
    assert folder.stat().st_mode & 0o777 == 0o700
    folder.chmod(0o777)  # anyone could plant code here: not used
    assert template._bytecode_cache(user) is None
    folder.chmod(0o700)
    for item in folder.iterdir():
        item.write_bytes(b"garbage")  # a damaged entry is recompiled, not an error
    fresh = template._environment([template._package_loader()])
    fresh.bytecode_cache = template._bytecode_cache(user)
    assert "\\begin{document}" in fresh.get_template(template.DEFAULT_TEMPLATE).render(
        body="x", features={}, var={}, pdf={}, math_packages=[], engine="pdflatex")


def test_a_hash_sign_sends_a_stream_to_the_name_scan_only_inside_a_name() -> None:
    from test_pdfcheck_attacks import make_pdf, stream, what

    from md2tex.tex import pdfcheck

    listing = b"BT /F1 9 Tf (#!/bin/sh) Tj [(#{x})] TJ ET\n" * 50
    scanned: list[bytes] = []
    check = pdfcheck._Check(b"")
    check.name = lambda name: scanned.append(name.encode())  # type: ignore[method-assign]
    check._scan(lambda: iter((listing,)))
    assert scanned == []  # a code listing's "#" is in strings: no token-by-token scan
    for content in (b"/Java#53cript", b"/J#61vaScript", b"/#4A#53",
                    b"/" + b"A" * 80 + b"#41 /#45mbeddedFile"):
        pdf = make_pdf({4: stream(b"", listing + content)}, page=b"/Contents 4 0 R")
        assert what(pdf), content
    # a name whose "/" is in one inflated piece and its escape in the next
    pieces = [listing + b"/Java", b"#53cript"]
    check = pdfcheck._Check(b"")
    check._scan(lambda: iter(pieces))
    assert [f.what for f in check.found] == ["/JavaScript"]
