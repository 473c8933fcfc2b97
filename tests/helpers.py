"""Shared test utilities: run md2tex for real, compile real PDFs, read them back.

Nothing here mocks TeX: PDFs are made by the installed TeX Live and read with poppler's
``pdftotext``/``pdfinfo``. Tests that need TeX or the shared corpus skip with a reason when
it is absent.
"""

from __future__ import annotations

import os
import re
import shutil
import struct
import subprocess
import sys
import zlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

import md2tex

ROOT = Path(__file__).resolve().parents[1]
TESTS = ROOT / "tests"
CASES = TESTS / "cases"
SAMPLES = ROOT / "samples"
CORPUS = ROOT.parent / "shared" / "corpus"
SEED = CORPUS / "seed-post.md"

HAVE_PDFLATEX = shutil.which("pdflatex") is not None
HAVE_POPPLER = shutil.which("pdftotext") is not None and shutil.which("pdfinfo") is not None

needs_tex = pytest.mark.skipif(not (HAVE_PDFLATEX and HAVE_POPPLER),
                               reason="needs pdflatex (TeX Live) and poppler-utils")
needs_corpus = pytest.mark.skipif(not SEED.is_file(),
                                  reason=f"shared corpus not present at {CORPUS}")


def compiles(tex: str) -> bool:
    """Whether pdflatex typesets ``tex`` without an error (a fresh directory each time)."""
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        Path(tmp, "a.tex").write_text(tex, encoding="utf-8")
        proc = subprocess.run(["pdflatex", "-interaction=batchmode", "-halt-on-error",
                               "-no-shell-escape", "a.tex"], cwd=tmp, capture_output=True,
                              stdin=subprocess.DEVNULL, timeout=120)
        return proc.returncode == 0


def needs_engine(engine: str) -> pytest.MarkDecorator:
    return pytest.mark.skipif(shutil.which(engine) is None or not HAVE_POPPLER,
                              reason=f"needs {engine} and poppler-utils")


# --------------------------------------------------------------------------- conversion

def body_of(tex: str) -> str:
    """The part of a LaTeX document between ``\\begin{document}`` and ``\\end{document}``."""
    start = tex.index("\\begin{document}") + len("\\begin{document}")
    end = tex.rindex("\\end{document}")
    return tex[start:end].strip("\n") + "\n"


def preamble_of(tex: str) -> str:
    return tex[: tex.index("\\begin{document}")]


def convert(text: str, **options: Any) -> md2tex.Document:
    """``md2tex.convert`` with keyword options; the path is ``post.md``."""
    path = options.pop("path", "post.md")
    return md2tex.convert(text, md2tex.Options(**options), path=path)


def body(text: str, **options: Any) -> str:
    """The LaTeX body md2tex makes of ``text``, without the ``%L`` line markers."""
    return strip_markers(body_of(convert(text, **options).tex))


def strip_markers(tex: str) -> str:
    tex = re.sub(r"^%L\d+\n", "", tex, flags=re.M)
    return re.sub(r" ?(?<!\\)%L\d+$", "", tex, flags=re.M)


def codes(doc: md2tex.Document) -> list[str]:
    """The diagnostic codes of a document, in order."""
    return [d.code for d in doc.diagnostics]


# ---------------------------------------------------------------------------- images

def make_png(path: Path, width: int = 40, height: int = 30,
             rgb: tuple[int, int, int] = (30, 90, 160)) -> Path:
    """Write a small solid-colour PNG (standard library only)."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return (struct.pack(">I", len(data)) + kind + data
                + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF))

    row = b"\x00" + bytes(rgb) * width
    raw = zlib.compress(row * height)
    png = (b"\x89PNG\r\n\x1a\n"
           + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0))
           + chunk(b"IDAT", raw) + chunk(b"IEND", b""))
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(png)
    return path


# ------------------------------------------------------------------------ golden cases

GOLDEN_ENV = "MD2TEX_UPDATE_GOLDEN"


def case_names() -> list[str]:
    return sorted(p.stem for p in CASES.glob("*.md"))


def prepare_case_dir(directory: Path) -> Path:
    """A folder holding what the cases refer to (``images/square.png``)."""
    make_png(directory / "images" / "square.png")
    return directory


def convert_case(name: str, directory: Path) -> md2tex.Document:
    """Convert ``tests/cases/NAME.md`` as if it lived in ``directory`` (for its images)."""
    text = (CASES / f"{name}.md").read_text(encoding="utf-8")
    return md2tex.convert(text, md2tex.Options(base_dir=directory), path=f"{name}.md")


# ------------------------------------------------------------------- TeX-only failures

#: A macro md2tex's checks accept (it is declared as a site macro) that fails only in TeX:
#: the trap template redefines it to an undefined command. Use ``$\\texfails$`` in a post.
#: The build shows such a formula as MathJax shows an error; under ``--strict`` (which
#: ``trap_options`` sets) the TeX error fails the build at the formula's Markdown line.
TRAP = "$\\texfails$"
TRAP_MACROS = "\\newcommand{\\texfails}{}"
TRAP_TEMPLATE = ('((* extends "article.tex.j2" *))\n((* block preamble *))\n((( super() )))\n'
                 "\\renewcommand{\\texfails}{\\undefinedmacro}\n((* endblock *))\n")


def trap_template(directory: Path) -> Path:
    path = directory / "trap.tex.j2"
    path.write_text(TRAP_TEMPLATE, encoding="utf-8")
    return path


def trap_options(directory: Path, **options: Any) -> md2tex.Options:
    """Options under which ``$\\texfails$`` passes md2tex's checks and fails in TeX (strict:
    a TeX error in a formula fails the build instead of showing the formula as an error)."""
    return md2tex.Options(**{"template": trap_template(directory), "macros": TRAP_MACROS,
                             "strict": True, **options})


# ----------------------------------------------------------------------- running things

def md2tex_cmd() -> list[str]:
    return [sys.executable, "-m", "md2tex"]


def run_md2tex(args: Sequence[str | os.PathLike[str]], cwd: Path | None = None,
               input: str | bytes | None = None, env: Mapping[str, str] | None = None,
               timeout: float = 120) -> subprocess.CompletedProcess[str]:
    """Run the real CLI in a child process (``python -m md2tex``), capturing text output."""
    data = input.decode("utf-8", "replace") if isinstance(input, bytes) else input
    full_env = {**os.environ, **(env or {})}
    full_env.setdefault("PYTHONPATH", str(ROOT))
    return subprocess.run([*md2tex_cmd(), *map(str, args)], cwd=cwd, input=data,
                          capture_output=True, text=True, timeout=timeout, env=full_env,
                          stdin=None if data is not None else subprocess.DEVNULL)


def looping_template(directory: Path) -> Path:
    """A template whose TeX run never ends: it spins at ``\\begin{document}``, after the
    preamble (and so after a dumped format). A looping formula such as ``\\def\\x{\\x}\\x``
    cannot do it: the math checker refuses that before TeX runs."""
    template = directory / "loop.tex.j2"
    template.write_text('((* extends "article.tex.j2" *))\n'
                        "((* block preamble *))((( super() )))\n"
                        "\\def\\mdspin{\\mdspin}\\AtBeginDocument{\\mdspin}\n"
                        "((* endblock *))\n", encoding="utf-8")
    return template


def cmdline(pid: int | str) -> bytes:
    """A process's command line, NUL-separated (empty once the process has gone)."""
    try:
        return Path("/proc", str(pid), "cmdline").read_bytes()
    except OSError:
        return b""


def processes_mentioning(text: str | Path) -> list[int]:
    """The processes whose command line contains ``text`` (e.g. a test's private temp dir)."""
    needle = str(text).encode()
    return [int(p.name) for p in Path("/proc").iterdir()
            if p.name.isdigit() and needle in cmdline(p.name)]


def env_without_tex() -> dict[str, str]:
    """An environment whose PATH holds only the Python interpreter's folder (no TeX)."""
    env = dict(os.environ)
    bindir = str(Path(sys.executable).parent)
    assert shutil.which("pdflatex", path=bindir) is None, "TeX lives beside Python?"
    env["PATH"] = bindir
    return env


# -------------------------------------------------------------------------- reading PDFs

def pdf_text(pdf: Path, layout: bool = False) -> str:
    """What a reader sees: ``pdftotext`` output (UTF-8)."""
    args = ["pdftotext", "-enc", "UTF-8"]
    if layout:
        args.append("-layout")
    out = subprocess.run([*args, str(pdf), "-"], capture_output=True, check=True,
                         timeout=60)
    return out.stdout.decode("utf-8")


def squash(text: str) -> str:
    """Whitespace folded to single spaces (line breaks and page breaks included)."""
    return " ".join(text.split())


def pdf_info(pdf: Path) -> dict[str, str]:
    out = subprocess.run(["pdfinfo", "-enc", "UTF-8", str(pdf)], capture_output=True,
                         check=True, timeout=60).stdout.decode("utf-8")
    info: dict[str, str] = {}
    for line in out.splitlines():
        key, sep, value = line.partition(":")
        if sep:
            info[key.strip()] = value.strip()
    return info


def pdf_urls(pdf: Path) -> list[str]:
    """The link targets (URI annotations) in a PDF, via ``pdfinfo -url``."""
    out = subprocess.run(["pdfinfo", "-url", str(pdf)], capture_output=True, check=True,
                         timeout=60).stdout.decode("utf-8", "replace")
    urls = []
    for line in out.splitlines()[1:]:
        parts = line.split(None, 2)
        if len(parts) == 3:
            urls.append(parts[2].strip())
    return urls


def pdf_image_count(pdf: Path) -> int:
    out = subprocess.run(["pdfimages", "-list", str(pdf)], capture_output=True, check=True,
                         timeout=60).stdout.decode("utf-8", "replace")
    return max(0, len(out.splitlines()) - 2)


@dataclass(frozen=True)
class Word:
    page: int
    text: str
    x_min: float
    y_min: float
    x_max: float
    y_max: float

    @property
    def height(self) -> float:
        return self.y_max - self.y_min


@dataclass(frozen=True)
class PageBox:
    number: int
    width: float
    height: float


def pdf_words(pdf: Path) -> tuple[list[PageBox], list[Word]]:
    """Every word with its bounding box (``pdftotext -bbox``), and the page sizes."""
    html = subprocess.run(["pdftotext", "-bbox", "-enc", "UTF-8", str(pdf), "-"],
                          capture_output=True, check=True, timeout=60).stdout.decode("utf-8")
    pages: list[PageBox] = []
    words: list[Word] = []
    page_re = re.compile(r'<page width="([\d.]+)" height="([\d.]+)">')
    word_re = re.compile(r'<word xMin="([\d.]+)" yMin="([\d.]+)" xMax="([\d.]+)" '
                         r'yMax="([\d.]+)">(.*?)</word>')
    for line in html.splitlines():
        pm = page_re.search(line)
        if pm:
            pages.append(PageBox(len(pages) + 1, float(pm.group(1)), float(pm.group(2))))
            continue
        wm = word_re.search(line)
        if wm and pages:
            x0, y0, x1, y1 = (float(wm.group(i)) for i in range(1, 5))
            text = (wm.group(5).replace("&lt;", "<").replace("&gt;", ">")
                    .replace("&quot;", '"').replace("&amp;", "&"))
            words.append(Word(len(pages), text, x0, y0, x1, y1))
    return pages, words


def assert_within_margins(pdf: Path, margin_pt: float = 2.5 / 2.54 * 72,
                          slack_pt: float = 6.0) -> None:
    """No word runs into the right margin or off the page (default geometry: 2.5 cm)."""
    pages, words = pdf_words(pdf)
    assert pages, "no pages in the PDF"
    for w in words:
        limit = pages[w.page - 1].width - margin_pt + slack_pt
        assert w.x_max <= limit, (
            f"page {w.page}: {w.text!r} ends at x={w.x_max:.1f}pt, beyond the text block "
            f"(right edge {limit - slack_pt:.1f}pt)")


def fonts(pdf: Path) -> list[str]:
    """Names of the fonts a PDF uses (``pdffonts``); every one must be embedded."""
    out = subprocess.run(["pdffonts", str(pdf)], capture_output=True, check=True,
                         timeout=60).stdout.decode("utf-8", "replace")
    names = []
    for line in out.splitlines()[2:]:
        if line.strip():
            name = line.split()[0]
            emb = re.search(r"\s(yes|no)\s+(yes|no)\s+(yes|no)\s+\d+\s+\d+\s*$", line)
            assert emb and emb.group(1) == "yes", f"font not embedded: {line}"
            names.append(name)
    return names


def build(doc: md2tex.Document, pdf: Path) -> Path:
    """Typeset with the real engine; fail the test with md2tex's diagnostics if TeX fails."""
    try:
        md2tex.build_pdf(doc, pdf)
    except md2tex.Md2TexError as exc:  # pragma: no cover - shown only when a test fails
        pytest.fail(f"build of {doc.path} failed:\n{exc}")
    return pdf


def lines_of(text: str) -> list[str]:
    return [line.strip() for line in text.splitlines() if line.strip()]


def png_pixels(png: bytes) -> tuple[int, int, bytes]:
    """A PNG's width, height and inflated image data (filter bytes included)."""
    width, height = struct.unpack(">II", png[16:24])
    pos, idat = 8, b""
    while pos < len(png):
        (length,) = struct.unpack(">I", png[pos : pos + 4])
        if png[pos + 4 : pos + 8] == b"IDAT":
            idat += png[pos + 8 : pos + 8 + length]
        pos += 12 + length
    return width, height, zlib.decompress(idat)
