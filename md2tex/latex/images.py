"""Where an image lives and what name the .tex gives it; the build copies it as bytes.

Every file a post names is looked up with ``resolve_inside``: inside the site root (or, for a
lone post, the post's folder) and the trusted resource path, never outside them, whatever the
spelling (``..``, an absolute path, ``file:``, percent-encoding, a symlink that leads out).
In Jekyll a path starting with ``/`` is relative to the site root, not the filesystem.

PNG, JPEG and PDF are included as they are. SVG is converted to PDF with ``rsvg-convert``
(Debian: librsvg2-bin) and a GIF's first frame to PNG (pure Python, linear); the build only
copies files, so a result is a file: kept by content in the ``images`` folder of the
``Memo`` the caller gives (converting a post again stays cheap), or without one in a private
temporary folder of this process, removed when it exits (a library ``convert`` leaves no
cache behind). ``rsvg-convert`` runs like TeX (``sandbox.run_helper``: bwrap, limits, its
own process group) on a private copy of the SVG and the files below its folder that it
references; it cannot read anything else, so the cache key (the bytes of all those files)
covers everything the conversion read. Without a converter the image becomes a placeholder
with a warning.
"""

from __future__ import annotations

import atexit
import hashlib
import html
import logging
import os
import posixpath
import re
import shutil
import stat
import struct
import tempfile
import threading
import time
import urllib.parse
import zlib
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import NamedTuple

from md2tex.memo import Memo, user_cache_dir

log = logging.getLogger(__name__)

#: what the engine can include, by the file's first bytes
_MAGIC = {b"\x89PNG": ".png", b"\xff\xd8\xff": ".jpg", b"%PDF": ".pdf",
          b"GIF87a": ".gif", b"GIF89a": ".gif"}
#: formats that are converted before TeX sees them
CONVERTED = {".svg": ".pdf", ".gif": ".png"}
#: turns an SVG (the entry named by its second argument) and the files it references
#: (``svg_inputs``) into PDF bytes within a time limit: (PDF, "") or (None, why). Running a
#: converter is a process, so the TeX room provides it (``md2tex.tex.svg.svg_to_pdf``) and
#: the pipeline hands it in.
SvgConverter = Callable[[dict[str, bytes], str, float], tuple[bytes | None, str]]
#: wall-clock (and CPU) seconds for one rsvg-convert run
CONVERT_TIMEOUT = 20.0
#: seconds of conversion one post may spend on all its images together
CONVERT_BUDGET = 60.0
MAX_GIF_PIXELS = 25_000_000
_CLEAN_NAME = re.compile(r"[A-Za-z0-9_][A-Za-z0-9._/-]*")
MAX_IMAGE_BYTES = 50 * 1024 * 1024
#: files an SVG may bring along (its references, theirs...) and their total size
MAX_SVG_FILES = 64
#: folders whose parent is a Jekyll site root
_POST_FOLDERS = ("_posts", "_drafts")
#: a percent escape of ".", "/" or "\\" left after decoding once: a double-encoded escape
_ENCODED_ESCAPE = re.compile(r"%(?:2e|2f|5c)", re.I)
#: references in SVG (and CSS inside it): href / xlink:href values, url(...), @import
_SVG_REF = re.compile(
    rb"""href\s*=\s*(?:"([^"]*)"|'([^']*)')"""
    rb"""|url\(\s*(?:"([^"]*)"|'([^']*)'|([^)'"\s]*))\s*\)"""
    rb"""|@import\s+(?:"([^"]*)"|'([^']*)')""")


class Found(NamedTuple):
    #: the name to use in ``\\includegraphics``, or None for a placeholder
    name: str | None
    diagnostic: tuple[str, str] | None = None


# --------------------------------------------------------------------------- paths
def resolve_inside(roots: Sequence[Path], name: str, *,
                   within: Sequence[Path] | None = None) -> Path | None:
    """The regular file ``name`` (a path as a post writes it, ``/``-separated, already
    URL-decoded) names under the first of ``roots`` that has it, or None.

    A leading ``/`` means the root's top (Jekyll's site-root paths), never the filesystem's.
    Refused outright: ``..`` segments, NUL, backslashes and percent escapes of ``.``/``/``
    that survived decoding. The file's real path (every symlink followed) must lie inside
    one of ``within`` (default: ``roots``), so a symlink may point around the site but
    never out of it. Returns that real path, which is what callers should read or copy.
    For images, bibliographies, includes: every file a post names goes through here."""
    found, _why = _locate(roots, name, roots if within is None else within)
    return found


def _locate(roots: Sequence[Path], name: str,
            within: Sequence[Path]) -> tuple[Path | None, str]:
    """``resolve_inside`` with the reason for a None: ``"outside"`` (the name or a symlink
    leads out of the allowed folders) or ``"missing"``."""
    if not name or "\0" in name or "\\" in name or _ENCODED_ESCAPE.search(name):
        return None, "outside" if name else "missing"
    parts = [p for p in name.split("/") if p not in ("", ".")]
    if ".." in parts:
        return None, "outside"
    if not parts:
        return None, "missing"
    allowed = [r for r in (_real(w) for w in within) if r is not None]
    why = "missing"
    for root in roots:
        candidate = os.path.join(root, *parts)
        real = os.path.realpath(candidate)
        try:
            info = os.stat(real)
        except (OSError, ValueError):
            continue
        if not stat.S_ISREG(info.st_mode):
            continue
        if not any(_is_within(real, r) for r in allowed):
            why = "outside"
            continue
        return Path(real), ""
    return None, why


def _real(path: Path) -> str | None:
    try:
        return os.path.realpath(path, strict=True)
    except (OSError, ValueError):
        return None


def _is_within(real: str, root: str) -> bool:
    return real == root or real.startswith(root.rstrip("/") + "/")


def site_root_for(post_dir: Path) -> Path:
    """The folder a post's ``/...`` paths start from when the caller did not say
    (``Options.site_root``): the parent of the ``_posts``/``_drafts`` folder the post is in
    (a Jekyll site's layout), else the post's own folder. Never a folder found by looking
    for markers further up: that could make the user's home a "site"."""
    for folder in (post_dir, *post_dir.parents):
        if folder.name in _POST_FOLDERS:
            return folder.parent
    return post_dir


@dataclass
class ImageResolver:
    """Resolves image URLs: relative ones against the post's folder, ``/...`` against the
    site root, both also against the trusted resource path; nothing outside those folders."""

    base_dir: Path | None
    resource_path: Sequence[Path] = ()
    #: name in the .tex -> absolute path of the file to copy into the build directory
    resources: dict[str, str] = field(default_factory=dict)
    #: where ``/...`` paths start (None: ``site_root_for(base_dir)``)
    site_root: Path | None = None
    #: name in the .tex -> the post's file it came from (for a converted image, the SVG/GIF)
    origins: dict[str, str] = field(default_factory=dict)
    #: conversion seconds left for this post (``CONVERT_BUDGET``)
    budget: float = CONVERT_BUDGET
    #: the SVG converter (None: SVGs are a placeholder with a warning)
    svg_to_pdf: SvgConverter | None = None
    #: where converted images are kept (None: a temporary folder of this process)
    memo: Memo | None = None
    #: download remote images into the memo's ``remote`` folder (``remote.py``); without a
    #: memo nothing is downloaded (a library ``convert()`` stays off the network)
    download: bool = False

    def __post_init__(self) -> None:
        if self.site_root is None and self.base_dir is not None:
            self.site_root = site_root_for(self.base_dir)

    @property
    def allowed(self) -> list[Path]:
        """Every folder a post's file may come from: post folder, site root, resource path."""
        return [d for d in (self.base_dir, self.site_root, *self.resource_path) if d is not None]

    def resolve(self, src: str) -> Found:
        src = src.strip()
        parsed = urllib.parse.urlsplit(src)
        scheme = parsed.scheme.lower()
        if scheme in ("http", "https", "ftp") or src.startswith("//"):
            return self._remote("https:" + src if src.startswith("//") else src)
        if scheme == "file":
            return Found(None, ("image-outside", f"image {src[:60]!r} is a file: URL; images "
                                "come only from the site's folder; a placeholder is shown"))
        if scheme:
            return Found(None, ("image-scheme", f"image {src[:60]!r} is not a file; "
                                "a placeholder is shown"))
        rel = urllib.parse.unquote(parsed.path)
        path, why = self.find(rel)
        if path is None:
            if why == "outside":
                return Found(None, ("image-outside", f"image {src[:60]!r} is outside the "
                                    "site's folder and the resource path; a placeholder is "
                                    "shown"))
            return Found(None, ("image-missing", f"image {src!r} not found; a placeholder is "
                                "shown"))
        return self._include(src, rel, path)

    def _remote(self, url: str) -> Found:
        """A remote image: downloaded (or taken from the cache) when allowed, then included
        as a local file; else, or when the download fails, a placeholder and why."""
        folder = self.memo.private("remote") if self.download and self.memo else None
        if folder is None:
            return Found(None, ("image-remote", f"remote image {url[:200]!r} is not "
                                "downloaded (--offline, --safe, or a library call without a "
                                "cache); a placeholder is shown"))
        from md2tex.latex import remote  # only a post with a remote image needs it

        got = remote.fetch(url, folder)
        if got.path is None:
            code = "image-format" if got.wrong_type else "image-remote"
            return Found(None, (code, f"remote image {url[:200]!r} not downloaded: "
                                f"{got.problem}; a placeholder is shown"))
        name = f"md2tex-remote/{got.path.parent.name}{got.path.suffix}"
        return self._include(url[:200], name, got.path)

    def _include(self, src: str, rel: str, path: Path) -> Found:
        """The image file ``path`` (real, checked) as the .tex will name it, converted if it
        is SVG or GIF."""
        kind = _kind(path)
        if kind is None:
            return Found(None, ("image-format", f"image {src!r} is not PNG, JPEG, PDF, SVG or "
                                "GIF; a placeholder is shown"))
        if kind in CONVERTED:
            started = time.monotonic()
            converted, problem = convert_image(path, kind, self.svg_to_pdf, timeout=min(
                CONVERT_TIMEOUT, self.budget), memo=self.memo)
            self.budget -= time.monotonic() - started
            if converted is None:
                return Found(None, ("image-convert", f"image {src!r} could not be converted "
                                    f"({problem}); a placeholder is shown"))
            rel = rel.rsplit(".", 1)[0] + CONVERTED[kind] if "." in rel else rel + CONVERTED[kind]
            return Found(self._name_for(rel, converted, CONVERTED[kind], path))
        return Found(self._name_for(rel, path, kind, path))

    def find(self, rel: str) -> tuple[Path | None, str]:
        """(real path, "") of the file ``rel`` names, or (None, "outside"/"missing")."""
        first = self.site_root if rel.startswith("/") else self.base_dir
        roots = [d for d in (first, *self.resource_path) if d is not None]
        return _locate(roots, rel, self.allowed)

    def _name_for(self, rel: str, path: Path, kind: str, origin: Path) -> str:
        for name, existing in self.resources.items():
            if existing == str(path):
                return name
        rel = rel.lstrip("/")
        clean = (_CLEAN_NAME.fullmatch(rel) and ".." not in rel.split("/")
                 and rel.lower().endswith(kind if kind != ".jpg" else (".jpg", ".jpeg")))
        name = rel if clean else f"md2tex-images/image{len(self.resources) + 1}{kind}"
        self.resources[name] = str(path)
        self.origins[name] = str(origin)
        return name


def _kind(path: Path) -> str | None:
    try:
        if path.stat().st_size > MAX_IMAGE_BYTES:
            return None
        with path.open("rb") as fh:
            head = fh.read(8)
    except OSError:
        return None
    for magic, ext in _MAGIC.items():
        if head.startswith(magic):
            return ext
    if path.suffix.lower() in (".svg", ".svgz") or head.lstrip().startswith((b"<?xml", b"<svg")):
        try:
            with path.open("rb") as fh:
                start = fh.read(4096)
        except OSError:
            return None
        if b"<svg" in start or path.suffix.lower() == ".svgz":
            return ".svg"
    return None


# --------------------------------------------------------------------------- conversion cache
def cache_dir() -> Path:
    """Where the CLI keeps converted images (``$XDG_CACHE_HOME/md2tex/images``)."""
    return user_cache_dir("images")


def _cache_folders(memo: Memo | None) -> Iterable[Path]:
    """With a memo: its ``images`` folder, else a folder in the temporary directory; either
    only if it is this user's, a real folder and writable by nobody else (a converted image
    becomes part of a PDF: a folder others can write would let them choose it). Without
    one: this process's own temporary folder."""
    if memo is None:
        scratch = _scratch_folder()
        if scratch is not None:
            yield scratch
        return
    folder = memo.private("images")
    if folder is not None:
        yield folder
    spare = Path(tempfile.gettempdir()) / f"md2tex-images-{os.getuid()}"
    try:
        spare.mkdir(mode=0o700, exist_ok=True)
        info = os.lstat(spare)
    except OSError:
        return
    if stat.S_ISDIR(info.st_mode) and info.st_uid == os.getuid() and not info.st_mode & 0o077:
        yield spare


_SCRATCH: list[Path] = []
_SCRATCH_LOCK = threading.Lock()


def _scratch_folder() -> Path | None:
    """A private folder (``mkdtemp``: 0700) for the images this process converts without a
    memo, made on first use and removed when the process exits: the Document names files in
    it, which the build copies."""
    with _SCRATCH_LOCK:
        if _SCRATCH and _SCRATCH[-1].is_dir():
            return _SCRATCH[-1]
        try:
            folder = Path(tempfile.mkdtemp(prefix="md2tex-images-"))
        except OSError:
            return None
        if not _SCRATCH:
            atexit.register(_remove_scratch)
        _SCRATCH.append(folder)
        return folder


def _remove_scratch() -> None:
    for folder in _SCRATCH:
        shutil.rmtree(folder, ignore_errors=True)


def convert_image(path: Path, kind: str, svg_to_pdf: SvgConverter | None = None,
                  timeout: float = CONVERT_TIMEOUT,
                  memo: Memo | None = None) -> tuple[Path | None, str]:
    """``path`` as a file TeX can include (named by the content of everything the
    conversion reads, kept in ``memo`` if given: ``_cache_folders``); (None, why) if
    impossible. ``timeout`` bounds rsvg-convert."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        return None, f"cannot read: {exc.strerror or exc}"
    if kind == ".svg":
        inputs = svg_inputs(path, data)
        digest = hashlib.sha256(b"svg-sandboxed\0")
        for rel, content in sorted(inputs.items()):
            digest.update(rel.encode("utf-8", "surrogateescape") + b"\0"
                          + hashlib.sha256(content).digest())
    else:
        digest = hashlib.sha256(kind.encode() + data)
    key = digest.hexdigest()[:32]
    target_ext = CONVERTED[kind]
    result: bytes | None = None
    for folder in _cache_folders(memo):
        target = folder / f"{key}{target_ext}"
        if target.is_file():
            return target, ""
        if result is None:
            if kind == ".gif":
                try:
                    result = gif_first_frame_png(data)
                except (ValueError, IndexError, struct.error) as exc:
                    return None, f"unreadable GIF: {exc}"
            else:
                if svg_to_pdf is None:
                    return None, "no SVG converter was given"
                if timeout <= 0:
                    return None, "the post's time for converting images is used up"
                result, problem = svg_to_pdf(inputs, SVG_NAME, timeout)
                if result is None:
                    return None, problem
        try:
            fd, tmp = tempfile.mkstemp(dir=folder, suffix=target_ext)
            with os.fdopen(fd, "wb") as fh:
                fh.write(result)
            os.replace(tmp, target)
        except OSError:
            continue
        return target, ""
    return None, "no writable cache directory"


#: the SVG's own name inside the private conversion folder
SVG_NAME = "input.svg"


def svg_inputs(path: Path, data: bytes) -> dict[str, bytes]:
    """Everything ``rsvg-convert`` may read for this SVG: the SVG itself (as ``SVG_NAME``)
    and the files it references (``href``, ``xlink:href``, CSS ``url()`` and ``@import``,
    also inside referenced SVG/CSS files) that lie in the SVG's folder or below it, the
    only places librsvg loads from; by path relative to that folder. Capped in number and
    size; what is not here does not exist for the conversion."""
    folder = path.parent
    inputs = {SVG_NAME: data}
    queue: list[tuple[str, bytes]] = [("", data)]
    total = len(data)
    while queue:
        where, content = queue.pop()
        for ref in _svg_refs(content):
            rel = posixpath.normpath(posixpath.join(posixpath.dirname(where), ref))
            if rel in inputs or rel.startswith(("..", "/")) or rel == ".":
                continue
            if len(inputs) >= MAX_SVG_FILES:
                return inputs
            found = resolve_inside([folder], rel)
            if found is None:
                continue
            try:
                size = found.stat().st_size
                if total + size > MAX_IMAGE_BYTES:
                    continue
                ref_data = found.read_bytes()
            except OSError:
                continue
            total += len(ref_data)
            inputs[rel] = ref_data
            if rel.lower().endswith((".svg", ".css")):
                queue.append((rel, ref_data))
    return inputs


def _svg_refs(content: bytes) -> list[str]:
    """Relative file references in an SVG or CSS text (fragments, ``data:`` and other
    URLs, and absolute paths left out: librsvg would not load the latter two anyway)."""
    refs: list[str] = []
    for m in _SVG_REF.finditer(content):
        raw = next((g for g in m.groups() if g is not None), b"")
        value = html.unescape(raw.decode("utf-8", "replace")).strip()
        value = value.split("#", 1)[0].split("?", 1)[0]
        if not value or urllib.parse.urlsplit(value).scheme or value.startswith("/"):
            continue
        refs.append(urllib.parse.unquote(value))
    return refs


# --------------------------------------------------------------------------- GIF
def gif_first_frame_png(data: bytes) -> bytes:
    """Decode the first frame of a GIF (LZW) and encode it as an RGBA PNG."""
    if data[:6] not in (b"GIF87a", b"GIF89a"):
        raise ValueError("not a GIF")
    width, height, flags, _background = struct.unpack("<HHBB", data[6:12])
    pos = 13
    palette = b""
    if flags & 0x80:
        size = 3 << ((flags & 7) + 1)
        palette = data[pos : pos + size]
        pos += size
    transparent: int | None = None
    while True:
        block = data[pos]
        pos += 1
        if block == 0x21:  # extension
            label = data[pos]
            pos += 1
            if label == 0xF9 and data[pos] >= 4 and data[pos + 1] & 1:
                transparent = data[pos + 4]
            while data[pos]:
                pos += data[pos] + 1
            pos += 1
        elif block == 0x2C:  # image descriptor
            break
        elif block == 0x3B:
            raise ValueError("no image in GIF")
        else:
            raise ValueError(f"unexpected block 0x{block:02x}")
    left, top, fw, fh, iflags = struct.unpack("<HHHHB", data[pos : pos + 9])
    pos += 9
    if iflags & 0x80:
        size = 3 << ((iflags & 7) + 1)
        palette = data[pos : pos + size]
        pos += size
    if not palette:
        palette = bytes(range(256)) * 3
    width, height = max(width, left + fw), max(height, top + fh)
    if width * height > MAX_GIF_PIXELS or not width or not height:
        raise ValueError("GIF too large or empty")
    min_code = data[pos]
    pos += 1
    stream = bytearray()
    while data[pos]:
        stream += data[pos + 1 : pos + 1 + data[pos]]
        pos += data[pos] + 1
    indices = _lzw_decode(bytes(stream), min_code, fw * fh)
    if iflags & 0x40:  # interlaced rows: 0,8,16.. 4,12.. 2,6.. 1,3..
        order = [r for start, step in ((0, 8), (4, 8), (2, 4), (1, 2))
                 for r in range(start, fh, step)]
        unlaced = bytearray(len(indices))
        for src_row, dst in enumerate(order):
            unlaced[dst * fw : (dst + 1) * fw] = indices[src_row * fw : (src_row + 1) * fw]
        indices = bytes(unlaced)
    # one translation table per RGBA channel: the frame is coloured at C speed, row by row
    channels = []
    for c in range(4):
        table = bytearray(256)
        for i in range(256):
            if c == 3:
                table[i] = 0 if i == transparent else 255
            elif 3 * i + 3 <= len(palette):
                table[i] = palette[3 * i + c]
        channels.append(bytes(table))
    blank = b"\xff\xff\xff\x00"
    empty_row = b"\0" + blank * width
    packer = zlib.compressobj(6)
    parts: list[bytes] = []
    row = bytearray(4 * fw)
    for y in range(height):
        if top <= y < top + fh:
            line = indices[(y - top) * fw : (y - top + 1) * fw]
            for c in range(4):
                row[c::4] = line.translate(channels[c])
            parts.append(packer.compress(b"\0" + blank * left + row
                                         + blank * (width - left - fw)))
        else:
            parts.append(packer.compress(empty_row))
    parts.append(packer.flush())
    return _png(width, height, b"".join(parts))


def _lzw_decode(stream: bytes, min_code: int, limit: int) -> bytes:
    """GIF's variable-width LZW, linear in the output and never longer than ``limit``
    (missing pixels are 0). Every string in the table is the previous string plus one
    character, and it already stands in the output: right where the previous code's string
    was written, one character longer. So the table keeps (start, length) in the output and
    a code costs one slice copy, instead of building (and walking) a string per entry."""
    if not 1 <= min_code <= 11:
        raise ValueError(f"bad LZW code size {min_code}")
    if limit <= 0:
        return b""
    clear = 1 << min_code
    end = clear + 1
    starts = [0] * 4096
    lengths = [0] * 4096
    next_code = clear + 2
    size = min_code + 1
    mask = (1 << size) - 1
    out = bytearray()
    prev_start = -1
    prev_len = 0
    buf = nbits = i = 0
    n = len(stream)
    while len(out) < limit:
        while nbits < size and i < n:
            buf |= stream[i] << nbits
            i += 1
            nbits += 8
        if nbits < size:
            break
        code = buf & mask
        buf >>= size
        nbits -= size
        if code == clear:
            next_code = clear + 2
            size = min_code + 1
            mask = (1 << size) - 1
            prev_start = -1
            continue
        if code == end:
            break
        here = len(out)
        if code < clear:
            out.append(code)
        elif code < next_code:
            start = starts[code]
            out += out[start : start + lengths[code]]
        elif code == next_code and prev_start >= 0:
            out += out[prev_start : prev_start + prev_len]
            out.append(out[prev_start])
        else:
            raise ValueError("corrupt LZW data")
        if prev_start >= 0 and next_code < 4096:
            starts[next_code] = prev_start
            lengths[next_code] = prev_len + 1
            next_code += 1
            if next_code == 1 << size and size < 12:
                size += 1
                mask = (1 << size) - 1
        prev_start, prev_len = here, len(out) - here
    if len(out) < limit:
        out += bytes(limit - len(out))
    return bytes(out[:limit])


def _png(width: int, height: int, compressed: bytes) -> bytes:
    """An RGBA PNG around ``compressed`` (the zlib stream of its filtered rows)."""
    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(
            ">I", zlib.crc32(kind + body) & 0xFFFFFFFF)

    header = struct.pack(">IIBBBBB", width, height, 8, 6, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header)
            + chunk(b"IDAT", compressed) + chunk(b"IEND", b""))
