"""Unit tests of the defence layers: PDF post-check, --safe whitelist, options, sandbox."""

from __future__ import annotations

import re
import shutil
import zlib
from pathlib import Path

import pytest

import md2tex
from md2tex.escape import escape_url
from md2tex.math import safe
from md2tex.options import Options
from md2tex.tex import pdfcheck, sandbox


# ----------------------------------------------------------------------------- pdfcheck
def _obj_stream(pdf: bytes) -> bytes:
    """The same objects inside a compressed object stream (``/Type /ObjStm``)."""
    objs = re.findall(rb"(\d+) 0 obj(.*?)endobj", pdf, re.S) or [(b"9", pdf)]
    header, body = b"", b""
    for num, text in objs:
        header += num + b" " + str(len(body)).encode() + b" "
        body += text + b"\n"
    data = zlib.compress(header + body)
    return (b"%PDF-1.5\n1 0 obj << /Type /ObjStm /N " + str(len(objs)).encode() + b" /First "
            + str(len(header)).encode() + b" /Length " + str(len(data)).encode()
            + b" /Filter /FlateDecode >>\nstream\n" + data + b"\nendstream\nendobj\n")


@pytest.mark.parametrize("pdf, what", [
    (b"1 0 obj << /S /JavaScript /JS (app.alert(1)) >> endobj", "/JavaScript"),
    (b"1 0 obj << /S /J#61vaScript >> endobj", "/JavaScript"),
    (b"1 0 obj << /A << /S /Launch /F (calc) >> >> endobj", "/Launch"),
    (b"1 0 obj << /EmbeddedFiles 2 0 R >> endobj", "/EmbeddedFiles"),
    (b"1 0 obj << /A << /S /URI /URI (javascript:alert(1)) >> >> endobj", "/URI"),
    (b"1 0 obj << /A << /S /URI /URI <66696c653a2f2f2f> >> >> endobj", "/URI"),
    (b"1 0 obj << /OpenAction << /S /URI /URI (http://x.y) >> >> endobj", "/OpenAction"),
    (b"1 0 obj << /OpenAction 2 0 R >> endobj 2 0 obj << /S /Named /N /Print >> endobj",
     "/OpenAction"),
])
def test_pdfcheck_finds_active_content(pdf: bytes, what: str) -> None:
    assert what in [f.what for f in pdfcheck.inspect(pdf)]
    # compression does not hide it
    assert what in [f.what for f in pdfcheck.inspect(_obj_stream(pdf))]


@pytest.mark.parametrize("pdf", [
    b"1 0 obj << /OpenAction [3 0 R /Fit] >> endobj",
    b"1 0 obj << /OpenAction 2 0 R >> endobj 2 0 obj << /S /GoTo /D [3 0 R /Fit] >> endobj",
    b"1 0 obj << /A << /S /URI /URI (https://example.org/a\\(b\\)) >> >> endobj",
    b"BT /F1 10 Tf [(/JavaScript and /Launch are words)] TJ ET",
])
def test_pdfcheck_passes_passive_pdf(pdf: bytes) -> None:
    assert pdfcheck.inspect(pdf) == []
    assert pdfcheck.inspect(_obj_stream(pdf)) == []


# ----------------------------------------------------------------------------- --safe
def _safe(formula: str, macros: safe.SafeMacros | None = None) -> str:
    return safe.check_math(formula, macros or safe.SafeMacros())


@pytest.mark.parametrize("formula", [
    r"\frac{a}{b} + \sqrt[3]{x_i^2}",
    r"\left( \sum_{k=1}^{n} k \right) \le \int_0^1 f(x)\,dx",
    r"\begin{aligned} a &= b \\ c &\ne d \end{aligned}",
    r"f(n) = \begin{cases} 1 & \text{if $n$ is even} \\ 0 & \text{else} \end{cases}",
    r"\mathbb{R}^n \times \mathcal{O}(n \log n)",
])
def test_safe_keeps_ordinary_math(formula: str) -> None:
    out = _safe(formula)
    assert out
    doc = md2tex.convert(f"$${formula}$$\n", Options(safe=True))
    assert doc.ok, doc.errors


@pytest.mark.parametrize("formula", [
    r"\input{/etc/passwd}", r"\text{\input{x}}", r"\csname input\endcsname",
    r"\catcode`\|=0", r"^^5cinput", r"\string~", r"\def\x{\x}\x", r"\edef\x{}",
    r"\pdfobj{}", r"\pdfstrcmp{a}{b}", r"\directlua{os.exit()}", r"\special{x}",
    r"\write18{ls}", r"\immediate", r"\makeatletter\@tempa", r"\end{document}",
    r"x $ y", r"\text{$\input{x}$}", r"\begin{filecontents}{x}\end{filecontents}",
    r"\href{javascript:x}{y}", r"\expandafter\x", r"\unknownmacro", r"#1",
    r"\newcommand{\input}{x}", r"\newcommand{\x}{\input}\x{y}",
])
def test_safe_rejects(formula: str) -> None:
    with pytest.raises(safe.Unsafe):
        _safe(formula)


def test_safe_expands_user_macros() -> None:
    macros = safe.SafeMacros()
    assert _safe(r"\newcommand{\R}{\mathbb{R}}", macros) == ""
    assert "mathbb" in _safe(r"x \in \R^n", macros)
    _safe(r"\newcommand{\norm}[1]{\left\| #1 \right\|}", macros)
    assert r"\right" in _safe(r"\norm{x}", macros)
    _safe(r"\DeclareMathOperator*{\argmax}{arg\,max}", macros)
    assert r"\operatorname *{arg" in _safe(r"\argmax_x f", macros)


def test_safe_bounds_recursive_macros() -> None:
    macros = safe.SafeMacros()
    _safe(r"\newcommand{\x}{a}", macros)
    _safe(r"\renewcommand{\x}{\x\x}", macros)
    with pytest.raises(safe.Unsafe, match="expands too much"):
        _safe(r"\x", macros)


def test_safe_site_macros_are_expanded_not_emitted() -> None:
    opts = Options(safe=True, macros=r"\newcommand{\R}{\mathbb{R}}")
    doc = md2tex.convert("$x \\in \\R$\n", opts)
    assert doc.ok
    assert r"\newcommand{\R}" not in doc.tex
    with pytest.raises(md2tex.InputError):
        md2tex.convert("x\n", Options(safe=True, macros=r"\input{/etc/passwd}"))


def test_safe_raw_html_is_text() -> None:
    doc = md2tex.convert("a <span>b</span>\n", Options(safe=True))
    assert r"\textless{}span\textgreater{}" in doc.tex


def test_safe_images_only_from_allowed_dirs(tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    post = tmp_path / "post"
    outside.mkdir()
    post.mkdir()
    png = b"\x89PNG\r\n\x1a\n" + b"\0" * 32
    (outside / "secret.png").write_bytes(png)
    (post / "ok.png").write_bytes(png)
    (post / "link.png").symlink_to(outside / "secret.png")
    opts = Options(safe=True, base_dir=post)
    doc = md2tex.convert("![a](link.png)\n\n![b](ok.png)\n\n![c](../outside/secret.png)\n", opts)
    assert list(doc.resources.values()) == [str((post / "ok.png").resolve())]
    assert sum(d.code == "image-outside" for d in doc.diagnostics) == 2


# ----------------------------------------------------------------------------- prose, URLs
def test_front_matter_cannot_change_security_options() -> None:
    text = ("---\nmd2tex:\n  safe: false\n  template: /etc/passwd\n  macros: '\\input{x}'\n"
            "  timeout: 99999\n  base_dir: /\n  dollar_math: false\n---\nx\n")
    doc = md2tex.convert(text, Options(safe=True))
    assert doc.options.safe and doc.options.template is None and doc.options.macros == ""
    assert doc.options.timeout == 60 and doc.options.base_dir is None
    assert doc.options.dollar_math is False


@pytest.mark.parametrize("link", ["javascript:alert(1)", "run:calc", "file:///etc/passwd",
                                  "/relative/page/", "other.pdf", "data:text/html,x"])
def test_only_web_links_become_links(link: str) -> None:
    doc = md2tex.convert(f"[text]({link})\n")
    assert r"\href" not in doc.tex.split(r"\begin{document}")[1]


def test_urls_are_percent_encoded() -> None:
    out = escape_url("http://a.b/}\\input{x}{%zz#f ~\x00")
    for bad in ("}", "{", "\\input", "\x00", " "):
        assert bad not in out.replace(r"\%", "").replace(r"\#", "").replace(r"\~{}", "")


def test_control_characters_are_stripped() -> None:
    doc = md2tex.convert("a\x00b\x1bc\x07d\x7f\n")
    assert not any(ch in doc.tex for ch in "\x00\x1b\x07\x7f")


# ----------------------------------------------------------------------------- sandbox
@pytest.mark.skipif(shutil.which("pdflatex") is None, reason="needs pdflatex")
def test_isolation_is_reported(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    exe = shutil.which("pdflatex") or ""
    expected = sandbox.choose(exe)
    assert expected in ("bwrap", "none")
    doc = md2tex.convert("hello\n")
    result = md2tex.build_pdf(doc, tmp_path / "a.pdf")
    assert result.isolation == expected
    monkeypatch.setenv("MD2TEX_ISOLATION", "none")
    assert md2tex.build_pdf(doc, tmp_path / "b.pdf").isolation == "none"


@pytest.mark.skipif(shutil.which("bwrap") is None, reason="needs bubblewrap")
def test_sandbox_hides_home_and_tmp(tmp_path: Path) -> None:
    import subprocess

    if sandbox.choose("/usr/bin/true") != "bwrap":
        pytest.skip("bubblewrap does not work here")
    work = tmp_path / "work"
    work.mkdir()
    (tmp_path / "secret").write_text("x")
    cmd = sandbox.wrap(["/bin/sh", "-c", f"cat {tmp_path}/secret; touch /usr/x; "
                        "touch ok; ls /root /home 2>/dev/null | wc -l"], work, "/usr/bin/true",
                       "bwrap")
    done = subprocess.run(cmd, capture_output=True, text=True, check=False, timeout=20)
    assert (work / "ok").exists()
    assert done.stdout.strip() == "0"
    assert "Read-only" in done.stderr or "Permission" in done.stderr


def test_pdfcheck_skips_font_programs_but_never_object_streams() -> None:
    """A name inside an embedded font program is binary no reader parses (not a finding);
    the same bytes in a stream that says it is an object stream are still read."""
    import zlib

    action = zlib.compress(b"<< /S /JavaScript /JS (app.alert(1)) >>")

    def pdf(dictionary: bytes) -> bytes:
        return (b"%PDF-1.5\n1 0 obj\n<< /Type /Catalog >>\nendobj\n2 0 obj\n" + dictionary
                + b"\nstream\n" + action + b"\nendstream\nendobj\ntrailer\n<< /Root 1 0 R >>\n")

    font = pdf(b"<< /Length1 100 /Length2 200 /Length3 0 /Filter /FlateDecode >>")
    assert pdfcheck.inspect(font) == []
    assert any(b"JavaScript" in chunk for chunk in pdfcheck.chunks(font))  # still all bytes
    sneaky = pdf(b"<< /Type /ObjStm /N 1 /First 4 /Length1 9 /Filter /FlateDecode >>")
    assert "/JavaScript" in [f.what for f in pdfcheck.inspect(sneaky)]
    content = pdf(b"<< /Filter /FlateDecode >>")
    assert "/JavaScript" in [f.what for f in pdfcheck.inspect(content)]
