"""Files a post names stay inside its site; image helpers run like TeX (issue 10: items 6, 8
and the rsvg-convert / GIF parts of 10).

Every attack is a real post converted with and without ``--safe``, with a canary PNG outside
the site: the canary must never become a resource of the document (what the build copies),
and the post gets a placeholder and a warning at the image's Markdown line.
"""

from __future__ import annotations

import os
import random
import shutil
import signal
import struct
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest
from helpers import (
    HAVE_PDFLATEX,
    HAVE_POPPLER,
    body_of,
    cmdline,
    make_png,
    png_pixels,
    processes_mentioning,
)

import md2tex
from md2tex.latex import images
from md2tex.latex.images import ImageResolver, _lzw_decode, gif_first_frame_png, resolve_inside
from md2tex.tex import sandbox
from md2tex.tex.svg import svg_to_pdf

HAVE_RSVG = shutil.which("rsvg-convert") is not None
needs_rsvg = pytest.mark.skipif(not HAVE_RSVG, reason="needs rsvg-convert (librsvg2-bin)")
ISOLATIONS = ["none", *(["bwrap"] if sandbox.choose("/usr/bin/true") == "bwrap" else [])]
#: the post's first lines; the image under test is on line IMAGE_LINE
HEAD = "---\ntitle: Attack\n---\n\nSome text.\n\n"
IMAGE_LINE = 7


@pytest.fixture(autouse=True)
def private_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))


@pytest.fixture
def site(tmp_path: Path) -> Path:
    """``tmp/site`` (a Jekyll site: ``_config.yml``, ``_posts/``, ``assets/ok.png``), a canary
    ``tmp/secret.png`` outside it, symlinks in it that point out (and one that stays in)."""
    root = tmp_path / "site"
    (root / "_posts").mkdir(parents=True)
    (root / "_config.yml").write_text("title: x\n")
    make_png(root / "assets" / "ok.png", rgb=(0, 200, 0))
    make_png(tmp_path / "secret.png", rgb=(255, 0, 0))
    (root / "_posts" / "link.png").symlink_to(tmp_path / "secret.png")
    (root / "assets" / "outside").symlink_to(tmp_path)
    (root / "_posts" / "inside.png").symlink_to(root / "assets" / "ok.png")
    return root


def secret(site: Path) -> Path:
    return site.parent / "secret.png"


def convert_post(site: Path, line: str, safe: bool) -> md2tex.Document:
    post = site / "_posts" / "2024-01-01-attack.md"
    post.write_text(HEAD + line + "\n\nMore text.\n", encoding="utf-8")
    return md2tex.convert_file(post, md2tex.Options(safe=safe))


def assert_refused(doc: md2tex.Document, site: Path, html_as_text: bool = False) -> None:
    """The canary is no resource; a placeholder and an image warning at ``IMAGE_LINE``
    (``html_as_text``: ``--safe`` prints raw HTML as text: no image at all)."""
    canary = secret(site)
    data = canary.read_bytes()
    for source in doc.resources.values():
        real = Path(source).resolve()
        assert real != canary.resolve()
        assert real.read_bytes() != data
    if html_as_text:
        assert "\\mdincludegraphics" not in body_of(doc.tex)
        assert {d.line for d in doc.diagnostics} <= {IMAGE_LINE}
        return
    assert "\\mdimageplaceholder{" in body_of(doc.tex)
    warned = [d for d in doc.diagnostics if d.code.startswith("image-")]
    assert warned, doc.diagnostics
    assert all(d.line == IMAGE_LINE for d in warned), warned
    assert {d.code for d in warned} <= {"image-outside", "image-missing"}


def attacks(tmp: str) -> dict[str, str]:
    """Markdown lines that name the canary ``TMP/secret.png`` (``tmp``: its folder)."""
    return {
        "dotdot": "![x](../../secret.png)",
        "dotdot-root": "![x](/../secret.png)",
        "dotdot-deep": "![x](/assets/../../secret.png)",
        "absolute": f"![x]({tmp}/secret.png)",
        "file-url": f"![x](file://{tmp}/secret.png)",
        "file-url-host": f"![x](file://localhost{tmp}/secret.png)",
        "encoded": "![x](%2e%2e/%2e%2e/secret.png)",
        "encoded-slash": "![x](..%2F..%2Fsecret.png)",
        "double-encoded": "![x](%252e%252e%252f%252e%252e%252fsecret.png)",
        "symlink-file": "![x](link.png)",
        "symlink-dir": "![x](/assets/outside/secret.png)",
        "html-dotdot": '<img src="../../secret.png" alt="x">',
        "html-absolute": f'<img src="{tmp}/secret.png">',
        "html-file-url": f'<img src="file://{tmp}/secret.png">',
        "html-encoded": '<img src="%2e%2e/%2e%2e/secret.png">',
        "html-symlink": '<img src="link.png">',
        "inline-html": f'Text <img src="file://{tmp}/secret.png"> inline.',
        "figure-include": '{% include figure.html path="../../secret.png" caption="c" %}',
        "figure-include-abs": f'{{% include figure.html path="{tmp}/secret.png" caption="c" %}}',
    }


ATTACK_NAMES = sorted(attacks("/t"))


@pytest.mark.parametrize("safe", [False, True], ids=["default", "safe"])
@pytest.mark.parametrize("name", ATTACK_NAMES)
def test_image_attack_is_refused(site: Path, name: str, safe: bool) -> None:
    line = attacks(str(site.parent))[name]
    doc = convert_post(site, line, safe)
    assert_refused(doc, site, html_as_text=safe and "<img" in line)


@pytest.mark.parametrize("safe", [False, True], ids=["default", "safe"])
def test_site_root_paths_are_found(site: Path, safe: bool) -> None:
    """Jekyll's ``/assets/x.png`` is the site root's, from a post in ``_posts/``; a symlink
    that stays inside the site is followed."""
    doc = convert_post(site, "![ok](/assets/ok.png) ![in](inside.png)", safe)
    sources = {Path(s) for s in doc.resources.values()}
    assert sources == {(site / "assets" / "ok.png").resolve()}
    assert "\\mdimageplaceholder{" not in body_of(doc.tex)
    assert not [d for d in doc.diagnostics if d.code.startswith("image-")]


@pytest.mark.parametrize("safe", [False, True], ids=["default", "safe"])
def test_lone_post_root_is_its_folder(tmp_path: Path, safe: bool) -> None:
    folder = tmp_path / "notes"
    make_png(folder / "images" / "a.png")
    make_png(tmp_path / "images" / "b.png")  # beside the folder: not the post's
    post = folder / "post.md"
    post.write_text(HEAD + "![a](/images/a.png)\n\n![b](../images/b.png)\n\n"
                    "![b](/images/b.png)\n")
    doc = md2tex.convert_file(post, md2tex.Options(safe=safe))
    assert {Path(s) for s in doc.resources.values()} == {(folder / "images" / "a.png").resolve()}
    assert [d.line for d in doc.diagnostics if d.code == "image-outside"] == [9]
    # "/" is never looked up in the folders above the post's
    assert [d.line for d in doc.diagnostics if d.code == "image-missing"] == [11]


@pytest.mark.parametrize("safe", [False, True], ids=["default", "safe"])
def test_resource_path_is_trusted_but_closed(site: Path, tmp_path: Path, safe: bool) -> None:
    """A folder from the command line (``Options.resource_path``) is searched for ``/x``
    and ``x``; a symlink in it that leads elsewhere is refused like one in the site."""
    shared = tmp_path / "shared"
    make_png(shared / "logo.png", rgb=(0, 0, 200))
    (shared / "leak.png").symlink_to(secret(site))
    post = site / "_posts" / "2024-01-01-shared.md"
    post.write_text(HEAD + "![x](leak.png)\n\n![a](/logo.png) ![b](logo.png)\n")
    doc = md2tex.convert_file(post, md2tex.Options(safe=safe, resource_path=(shared,)))
    assert {Path(s) for s in doc.resources.values()} == {(shared / "logo.png").resolve()}
    assert [(d.code, d.line) for d in doc.diagnostics] == [("image-outside", IMAGE_LINE)]


def test_cli_refuses_and_warns(site: Path, tmp_path: Path) -> None:
    post = site / "_posts" / "2024-01-01-cli.md"
    post.write_text(HEAD + f"![x](file://{tmp_path}/secret.png)\n\n![ok](/assets/ok.png)\n")
    out = tmp_path / "out.tex"
    done = subprocess.run([sys.executable, "-m", "md2tex", str(post), "-o", str(out)],
                          capture_output=True, text=True, timeout=120, check=False,
                          env={**os.environ, "XDG_CACHE_HOME": str(tmp_path / "cache")})
    assert done.returncode == 0, done.stderr
    assert f"{post.name}:{IMAGE_LINE}" in done.stderr and "image-outside" in done.stderr
    tex = out.read_text()
    assert "\\mdimageplaceholder{" in body_of(tex) and "\\mdincludegraphics{assets/ok.png}" in tex


@pytest.mark.skipif(not (HAVE_PDFLATEX and HAVE_POPPLER), reason="needs pdflatex and poppler")
def test_pdf_holds_no_canary(site: Path, tmp_path: Path) -> None:
    """End to end: the symlink attack and a good image; the PDF holds one image, the good
    one (green), never the canary (red)."""
    doc = convert_post(site, "![x](link.png) ![ok](/assets/ok.png)", False)
    out = tmp_path / "a.pdf"
    md2tex.build_pdf(doc, out)
    listing = subprocess.run(["pdfimages", "-list", str(out)], capture_output=True,
                             text=True, check=True).stdout.strip().splitlines()[2:]
    assert len(listing) == 1


def test_resolve_inside(tmp_path: Path) -> None:
    root = tmp_path / "root"
    make_png(root / "a" / "b.png")
    make_png(tmp_path / "out.png")
    (root / "a" / "up").symlink_to(tmp_path)
    (root / "dir").mkdir()
    found = (root / "a" / "b.png").resolve()
    assert resolve_inside([root], "a/b.png") == found
    assert resolve_inside([root], "/a/./b.png") == found
    assert resolve_inside([root / "a"], "b.png", within=[root]) == found
    for name in ("../out.png", "a/../../out.png", "a/up/out.png", "", "dir", "/",
                 "a\\b.png", "a/b.png\0", "a%2fb.png", str(tmp_path / "out.png")):
        assert resolve_inside([root], name) is None, name
    assert resolve_inside([root], "a/up/out.png", within=[tmp_path]) is not None


# --------------------------------------------------------------------------- SVG
def svg_with(href: str, width: int = 40) -> bytes:
    return (f'<svg xmlns="http://www.w3.org/2000/svg" '
            f'xmlns:xlink="http://www.w3.org/1999/xlink" width="{width}" height="{width}">'
            f'<image width="{width}" height="{width}" xlink:href="{href}"/></svg>').encode()


def pdf_images(pdf: Path) -> list[str]:
    listing = subprocess.run(["pdfimages", "-list", str(pdf)], capture_output=True,
                             text=True, check=True).stdout
    return listing.strip().splitlines()[2:]


@needs_rsvg
def test_svg_cache_keyed_on_referenced_files(tmp_path: Path) -> None:
    """Two posts, the same SVG bytes, different neighbour files: two results."""
    results = []
    for colour in ((255, 0, 0), (0, 0, 255)):
        folder = tmp_path / f"post-{colour[0]}"
        make_png(folder / "neighbour.png", rgb=colour)
        (folder / "pic.svg").write_bytes(svg_with("neighbour.png"))
        resolver = ImageResolver(folder, svg_to_pdf=svg_to_pdf)
        found = resolver.resolve("pic.svg")
        assert found.name is not None
        results.append(Path(resolver.resources[found.name]))
    assert results[0] != results[1]
    assert results[0].read_bytes() != results[1].read_bytes()
    inputs = images.svg_inputs(tmp_path / "post-0" / "pic.svg",
                               svg_with("neighbour.png"))
    assert sorted(inputs) == [images.SVG_NAME, "neighbour.png"]


@needs_rsvg
@pytest.mark.skipif(not HAVE_POPPLER, reason="needs poppler-utils")
def test_svg_reads_nothing_outside_its_folder(tmp_path: Path) -> None:
    """rsvg-convert sees only a private copy: ``../``, absolute and ``file:`` references to
    the canary draw nothing; a file below the SVG's folder is drawn."""
    make_png(tmp_path / "secret.png", rgb=(255, 0, 0))
    site = tmp_path / "site"
    make_png(site / "sub" / "ok.png")
    (site / "link.png").symlink_to(tmp_path / "secret.png")
    for href, drawn in (("../secret.png", 0), (str(tmp_path / "secret.png"), 0),
                        (f"file://{tmp_path}/secret.png", 0), ("link.png", 0),
                        ("sub/ok.png", 1)):
        (site / "pic.svg").write_bytes(svg_with(href))
        resolver = ImageResolver(site, svg_to_pdf=svg_to_pdf)
        found = resolver.resolve("pic.svg")
        assert found.name is not None, (href, found.diagnostic)
        assert len(pdf_images(Path(resolver.resources[found.name]))) == drawn, href


BOMBS = {
    # a blur over a huge canvas: CPU and memory until a limit stops it
    "blur": ('<svg xmlns="http://www.w3.org/2000/svg" width="6000" height="6000">'
             '<filter id="f"><feGaussianBlur stdDeviation="300"/><feMorphology radius="200"/>'
             '</filter><rect width="6000" height="6000" fill="red" filter="url(#f)"/></svg>'),
    # a billion rectangles through nested <use>
    "laughs": ('<svg xmlns="http://www.w3.org/2000/svg" '
               'xmlns:xlink="http://www.w3.org/1999/xlink" width="100" height="100"><defs>'
               '<rect id="a0" width="1" height="1"/>'
               + "".join(f'<g id="a{i}">' + f'<use xlink:href="#a{i - 1}"/>' * 10 + "</g>"
                         for i in range(1, 10))
               + '</defs><use xlink:href="#a9"/></svg>'),
    # a surface far beyond the address-space limit
    "huge": ('<svg xmlns="http://www.w3.org/2000/svg" width="60000" height="60000">'
             '<filter id="f"><feFlood flood-color="red"/></filter>'
             '<rect width="60000" height="60000" filter="url(#f)"/></svg>'),
}


def helper_processes(under: Path) -> list[int]:
    """rsvg-convert (or its bwrap/prlimit wrapper) processes working in ``under``."""
    return [p for p in processes_mentioning(under) if b"rsvg-convert" in cmdline(p)]


@needs_rsvg
@pytest.mark.parametrize("isolation", ISOLATIONS)
@pytest.mark.parametrize("bomb", sorted(BOMBS))
def test_svg_bomb_is_stopped(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, bomb: str,
                             isolation: str) -> None:
    monkeypatch.setenv("MD2TEX_ISOLATION", isolation)
    monkeypatch.setattr(images, "CONVERT_TIMEOUT", 4.0)
    work = tmp_path / "tmp"
    work.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(work))
    (tmp_path / "bomb.svg").write_text(BOMBS[bomb])
    started = time.monotonic()
    found = ImageResolver(tmp_path, svg_to_pdf=svg_to_pdf).resolve("bomb.svg")
    elapsed = time.monotonic() - started
    assert elapsed < 4.0 + 8.0
    if found.name is None:
        assert found.diagnostic is not None and found.diagnostic[0] == "image-convert"
    assert helper_processes(work) == []
    assert not sandbox.LIVE
    assert [p.name for p in work.iterdir()] == []


@needs_rsvg
def test_cancel_all_stops_rsvg(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Ctrl-C in a threaded batch: ``process.cancel_all`` kills a worker's rsvg-convert too,
    and the worker stops with KeyboardInterrupt."""
    import threading

    from md2tex.tex import process

    work = tmp_path / "tmp"
    work.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(work))
    (tmp_path / "bomb.svg").write_text(BOMBS["blur"])
    outcome: list[BaseException | images.Found] = []

    def worker() -> None:
        try:
            outcome.append(ImageResolver(tmp_path, svg_to_pdf=svg_to_pdf).resolve("bomb.svg"))
        except BaseException as exc:
            outcome.append(exc)

    thread = threading.Thread(target=worker)
    thread.start()
    try:
        assert _wait_for_helper(work), "rsvg-convert never started"
        process.cancel_all()
        thread.join(15)
        assert not thread.is_alive()
        assert len(outcome) == 1 and isinstance(outcome[0], KeyboardInterrupt)
        assert _gone(work)
        with pytest.raises(KeyboardInterrupt):  # no new helper while cancelled
            ImageResolver(tmp_path, svg_to_pdf=svg_to_pdf).resolve("bomb.svg")
    finally:
        process.reset_cancel()
        thread.join(15)


def test_budget_is_shared_by_a_posts_images(tmp_path: Path) -> None:
    resolver = ImageResolver(tmp_path, budget=0.0, svg_to_pdf=svg_to_pdf)
    (tmp_path / "a.svg").write_bytes(svg_with("x.png"))
    found = resolver.resolve("a.svg")
    assert found.name is None and found.diagnostic is not None
    assert "used up" in found.diagnostic[1]


def _comm(pid: int) -> str:
    try:
        return Path("/proc", str(pid), "comm").read_text().strip()
    except OSError:
        return ""


def _wait_for_helper(work: Path, seconds: float = 30) -> bool:
    """Until rsvg-convert itself runs (not yet its prlimit/setpriv/bwrap wrappers)."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if any(_comm(p) == "rsvg-convert" for p in helper_processes(work)):
            return True
        time.sleep(0.05)
    return False


def _gone(work: Path, seconds: float = 5) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if not helper_processes(work):
            return True
        time.sleep(0.05)
    return False


@needs_rsvg
@pytest.mark.parametrize("isolation", ISOLATIONS)
@pytest.mark.parametrize("how", ["SIGINT", "SIGTERM", "SIGKILL"])
def test_killing_md2tex_kills_rsvg(tmp_path: Path, how: str, isolation: str) -> None:
    """md2tex interrupted (Ctrl-C), terminated or killed outright while rsvg-convert works:
    no rsvg-convert survives it."""
    work = tmp_path / "tmp"
    work.mkdir()
    post = tmp_path / "post.md"
    (tmp_path / "bomb.svg").write_text(BOMBS["blur"])
    post.write_text(HEAD + "![bomb](bomb.svg)\n")
    env = {**os.environ, "TMPDIR": str(work), "MD2TEX_ISOLATION": isolation,
           "XDG_CACHE_HOME": str(tmp_path / "cache")}
    proc = subprocess.Popen([sys.executable, "-m", "md2tex", str(post), "-o",
                             str(tmp_path / "out.tex")], env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        assert _wait_for_helper(work), "rsvg-convert never started"
        proc.send_signal(getattr(signal, how))
        proc.communicate(timeout=30)
        assert _gone(work), [cmdline(p) for p in helper_processes(work)]
        if how == "SIGINT":
            assert proc.returncode == 130
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


# --------------------------------------------------------------------------- GIF
def lzw_encode(pixels: bytes, min_code: int) -> bytes:
    """A plain GIF LZW encoder (dictionary of strings), the reference for the decoder."""
    clear, end = 1 << min_code, (1 << min_code) + 1

    def fresh() -> tuple[dict[bytes, int], int, int]:
        return {bytes([i]): i for i in range(clear)}, end + 1, min_code + 1

    table, next_code, size = fresh()
    codes = [(clear, size)]
    w = b""
    for c in pixels:
        wc = w + bytes([c])
        if wc in table:
            w = wc
            continue
        codes.append((table[w], size))
        if next_code < 4096:
            table[wc] = next_code
            next_code += 1
            if next_code > 1 << size and size < 12:
                size += 1
        else:
            codes.append((clear, size))
            table, next_code, size = fresh()
        w = bytes([c])
    if w:
        codes.append((table[w], size))
    codes.append((end, size))
    acc = nbits = 0
    out = bytearray()
    for code, width in codes:
        acc |= code << nbits
        nbits += width
        while nbits >= 8:
            out.append(acc & 255)
            acc >>= 8
            nbits -= 8
    if nbits:
        out.append(acc & 255)
    return bytes(out)


def make_gif(width: int, height: int, pixels: bytes, palette: bytes,
             interlace: bool = False, min_code: int = 8) -> bytes:
    bits = max(1, (len(palette) // 3 - 1).bit_length())
    palette = palette + bytes(3 * (1 << bits) - len(palette))
    if interlace:
        order = [r for start, step in ((0, 8), (4, 8), (2, 4), (1, 2))
                 for r in range(start, height, step)]
        pixels = b"".join(pixels[r * width : (r + 1) * width] for r in order)
    data = lzw_encode(pixels, min_code)
    blocks = b"".join(bytes([len(data[i : i + 255])]) + data[i : i + 255]
                      for i in range(0, len(data), 255))
    return (b"GIF89a" + struct.pack("<HHBBB", width, height, 0x80 | (bits - 1), 0, 0)
            + palette + b"\x2c" + struct.pack("<HHHHB", 0, 0, width, height,
                                              0x40 if interlace else 0)
            + bytes([min_code]) + blocks + b"\0;")


def png_rgba(png: bytes) -> bytes:
    width, height, raw = png_pixels(png)
    stride = 1 + 4 * width
    assert all(raw[y * stride] == 0 for y in range(height))
    return b"".join(raw[y * stride + 1 : (y + 1) * stride] for y in range(height))


def test_lzw_matches_reference_encoder() -> None:
    rng = random.Random(7)
    for _ in range(150):
        min_code = rng.randint(2, 8)
        colours = rng.randint(1, 1 << min_code)
        n = rng.randint(1, 12000)
        shape = rng.random()
        if shape < 0.3:
            pixels = bytes(rng.randrange(colours) for _ in range(n))
        elif shape < 0.5:
            pixels = bytes([rng.randrange(colours)]) * n
        else:
            run = rng.randint(1, 40)
            pixels = bytes((i // run) % colours for i in range(n))
        assert _lzw_decode(lzw_encode(pixels, min_code), min_code, n) == pixels


@pytest.mark.parametrize("interlace", [False, True])
def test_gif_pixels_match(interlace: bool) -> None:
    rng = random.Random(3)
    width, height = 37, 23
    palette = bytes(rng.randrange(256) for _ in range(3 * 16))
    pixels = bytes(rng.randrange(16) for _ in range(width * height))
    rgba = png_rgba(gif_first_frame_png(make_gif(width, height, pixels, palette, interlace)))
    expected = b"".join(palette[3 * i : 3 * i + 3] + b"\xff" for i in pixels)
    assert rgba == expected


def test_lzw_output_is_bounded() -> None:
    """A stream that expands a lot stops at the frame's size; a short one is padded."""
    pixels = bytes(100_000)
    stream = lzw_encode(pixels, 2)
    assert _lzw_decode(stream, 2, 1000) == bytes(1000)
    assert _lzw_decode(stream, 2, 200_000) == bytes(200_000)
    with pytest.raises(ValueError):
        _lzw_decode(stream, 0, 10)


def test_crafted_large_gif_decodes() -> None:
    """About 600 KB of incompressible LZW codes (quadratic in the old decoder)."""
    rng = random.Random(2)
    width, height = 800, 600
    pixels = rng.randbytes(width * height)
    grey = bytes(v for i in range(256) for v in (i, i, i))
    data = make_gif(width, height, pixels, grey)
    assert len(data) > 600_000
    rgba = png_rgba(gif_first_frame_png(data))
    assert rgba[: 4 * 1000] == b"".join(bytes([i, i, i, 255]) for i in pixels[:1000])
