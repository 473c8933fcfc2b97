"""Where links lead in the PDF: web and mail links do; relative ones only with a site URL."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

import md2tex

POST = ("See [about](/about/), [a post](2020/01/x.html), [files](ftp://x.org/f), "
        "[mail](mailto:a@b.org) and [the web](https://x.org/a_b?q=1&r=2#top).\n")


def _hrefs(tex: str) -> list[str]:
    return [line for line in tex.splitlines() if line.startswith("See ")]


def test_relative_links_are_text_without_a_site_url() -> None:
    doc = md2tex.convert(POST)
    line = _hrefs(doc.tex)[0]
    assert line.startswith("See about, a post, files, \\href{mailto:")
    assert "\\href{mailto:a@b.org}{mail}" in line
    assert "\\href{https://x.org/a_b?q=1&r=2\\#top}{the web}" in line
    assert [d.code for d in doc.warnings] == ["link-scheme"]


def test_relative_links_follow_the_site_url() -> None:
    site = {"url": "https://blog.example.org", "baseurl": "/notes"}
    line = _hrefs(md2tex.convert(POST, md2tex.Options(site=site)).tex)[0]
    # Jekyll: "/about/" is from the domain's root, "2020/..." from the site's base URL
    assert "\\href{https://blog.example.org/about/}{about}" in line
    assert "\\href{https://blog.example.org/notes/2020/01/x.html}{a post}" in line
    assert "ftp" not in line.replace("files", "")


@pytest.mark.skipif(shutil.which("pdflatex") is None or shutil.which("pdfinfo") is None,
                    reason="needs pdflatex and pdfinfo")
def test_pdf_links(tmp_path: Path) -> None:
    site = {"url": "https://blog.example.org"}
    out = tmp_path / "links.pdf"
    md2tex.build_pdf(md2tex.convert(POST, md2tex.Options(site=site)), out)
    urls = subprocess.run(["pdfinfo", "-url", str(out)], capture_output=True, text=True,
                          check=True).stdout
    assert "https://blog.example.org/about/" in urls
    assert "https://x.org/a_b?q=1&r=2#top" in urls
    assert "mailto:a@b.org" in urls
    assert "ftp://" not in urls


@pytest.mark.parametrize("site", [{}, {"markdown": "CommonMark"}])
def test_links_after_a_self_closing_anchor_are_links(site: dict[str, str]) -> None:
    # ``<a name="x" />`` marks a target; the links after it on the line are links
    md = ('<a name="pcg" />Procedural generation ([PCG](https://example.org/pcg)) and '
          '[more](https://example.org/more).\n')
    tex = md2tex.convert(md, md2tex.Options(site=site)).tex
    assert re.findall(r"\\href\{([^}]*)\}", tex) == ["https://example.org/pcg",
                                                   "https://example.org/more"]
    assert "](" not in tex
