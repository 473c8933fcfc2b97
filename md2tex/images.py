"""Where an image lives and what name the .tex gives it; the build copies it as bytes.

PNG, JPEG and PDF are included as they are. SVG is converted to PDF with ``rsvg-convert``
(Debian: librsvg2-bin) and a GIF's first frame to PNG (pure Python); both conversions are
cached by content hash in the user cache directory, so converting a post stays cheap and the
build only copies files. Without a converter the image becomes a placeholder with a warning.
"""

from __future__ import annotations

import hashlib
import logging
import os
import re
import shutil
import struct
import subprocess
import tempfile
import urllib.parse
import zlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from .memo import user_cache_dir

log = logging.getLogger(__name__)

#: what the engine can include, by the file's first bytes
_MAGIC = {b"\x89PNG": ".png", b"\xff\xd8\xff": ".jpg", b"%PDF": ".pdf",
          b"GIF87a": ".gif", b"GIF89a": ".gif"}
#: formats that are converted before TeX sees them
CONVERTED = {".svg": ".pdf", ".gif": ".png"}
CONVERT_TIMEOUT = 30.0
MAX_GIF_PIXELS = 25_000_000
_CLEAN_NAME = re.compile(r"[A-Za-z0-9_][A-Za-z0-9._/-]*")
MAX_IMAGE_BYTES = 50 * 1024 * 1024


@dataclass
class Found:
    #: the name to use in ``\\includegraphics``, or None for a placeholder
    name: str | None
    diagnostic: tuple[str, str] | None = None


@dataclass
class ImageResolver:
    """Resolves image URLs against the post's folder and the site's resource path."""

    base_dir: Path | None
    resource_path: Sequence[Path] = ()
    #: name in the .tex -> absolute path of the file to copy into the build directory
    resources: dict[str, str] = field(default_factory=dict)

    def resolve(self, src: str) -> Found:
        parsed = urllib.parse.urlsplit(src)
        if parsed.scheme in ("http", "https", "ftp") or src.startswith("//"):
            return Found(None, ("image-remote", f"remote image {src!r} is not downloaded; "
                                "a placeholder is shown"))
        if parsed.scheme and parsed.scheme != "file":
            return Found(None, ("image-scheme", f"image {src[:60]!r} is not a file; "
                                "a placeholder is shown"))
        rel = urllib.parse.unquote(parsed.path)
        path = self._find(rel)
        if path is None:
            return Found(None, ("image-missing", f"image {src!r} not found; a placeholder is "
                                "shown"))
        kind = _kind(path)
        if kind is None:
            return Found(None, ("image-format", f"image {src!r} is not PNG, JPEG, PDF, SVG or "
                                "GIF; a placeholder is shown"))
        if kind in CONVERTED:
            converted, problem = convert_image(path, kind)
            if converted is None:
                return Found(None, ("image-convert", f"image {src!r} could not be converted "
                                    f"({problem}); a placeholder is shown"))
            rel = rel.rsplit(".", 1)[0] + CONVERTED[kind] if "." in rel else rel + CONVERTED[kind]
            return Found(self._name_for(rel, converted, CONVERTED[kind]))
        return Found(self._name_for(rel, path, kind))

    def _find(self, rel: str) -> Path | None:
        candidates: list[Path] = []
        if rel.startswith("/"):
            candidates += [Path(d) / rel.lstrip("/") for d in self.resource_path]
            if self.base_dir is not None:
                candidates += [p / rel.lstrip("/") for p in [self.base_dir, *self.base_dir.parents]]
        else:
            if self.base_dir is not None:
                candidates.append(self.base_dir / rel)
            candidates += [Path(d) / rel for d in self.resource_path]
        for cand in candidates:
            try:
                if cand.is_file():
                    return cand.resolve()
            except OSError:
                continue
        return None

    def _name_for(self, rel: str, path: Path, kind: str) -> str:
        for name, existing in self.resources.items():
            if existing == str(path):
                return name
        rel = rel.lstrip("/")
        clean = (_CLEAN_NAME.fullmatch(rel) and ".." not in rel.split("/")
                 and rel.lower().endswith(kind if kind != ".jpg" else (".jpg", ".jpeg")))
        name = rel if clean else f"md2tex-images/image{len(self.resources) + 1}{kind}"
        self.resources[name] = str(path)
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


def cache_dir() -> Path:
    """Where converted images are kept (``$XDG_CACHE_HOME/md2tex/images``)."""
    return user_cache_dir("images")


def convert_image(path: Path, kind: str) -> tuple[Path | None, str]:
    """``path`` as a file TeX can include (cached by content); (None, why) if impossible."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        return None, f"cannot read: {exc.strerror or exc}"
    digest = hashlib.sha256(kind.encode() + data).hexdigest()[:32]
    target_ext = CONVERTED[kind]
    for folder in (cache_dir(), Path(tempfile.gettempdir()) / f"md2tex-images-{os.getuid()}"):
        target = folder / f"{digest}{target_ext}"
        if target.is_file():
            return target, ""
        try:
            folder.mkdir(parents=True, exist_ok=True, mode=0o700)
        except OSError:
            continue
        result: bytes | None
        if kind == ".gif":
            try:
                result = gif_first_frame_png(data)
            except (ValueError, IndexError, struct.error) as exc:
                return None, f"unreadable GIF: {exc}"
        else:
            result, problem = _svg_to_pdf(path)
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


def _svg_to_pdf(path: Path) -> tuple[bytes | None, str]:
    exe = shutil.which("rsvg-convert")
    if exe is None:
        return None, "rsvg-convert is not installed; apt-get install librsvg2-bin"
    try:
        proc = subprocess.run([exe, "-f", "pdf", str(path)], stdin=subprocess.DEVNULL,
                              capture_output=True, timeout=CONVERT_TIMEOUT, check=False,
                              env={"PATH": "/usr/bin:/bin", "LANG": "C.UTF-8"})
    except (OSError, subprocess.TimeoutExpired) as exc:
        return None, f"rsvg-convert failed: {exc}"
    if proc.returncode != 0 or not proc.stdout.startswith(b"%PDF"):
        message = proc.stderr.decode("utf-8", "replace").strip().splitlines()
        return None, "rsvg-convert: " + (message[0][:120] if message else "failed")
    return proc.stdout, ""


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
        rows = [indices[i * fw : (i + 1) * fw] for i in range(fh)]
        unlaced: list[bytes] = [b""] * fh
        for src_row, dst in enumerate(order):
            unlaced[dst] = rows[src_row]
        indices = b"".join(unlaced)
    colours = []
    for i in range(256):
        rgb = palette[3 * i : 3 * i + 3] if 3 * i + 3 <= len(palette) else b"\0\0\0"
        colours.append(rgb + (b"\0" if i == transparent else b"\xff"))
    blank = b"\xff\xff\xff\x00"
    raw = bytearray()
    for y in range(height):
        raw.append(0)
        if top <= y < top + fh:
            row = indices[(y - top) * fw : (y - top + 1) * fw]
            raw += blank * left + b"".join(colours[i] for i in row) \
                + blank * (fw - len(row)) + blank * (width - left - fw)
        else:
            raw += blank * width
    return _png(width, height, bytes(raw))


def _lzw_decode(stream: bytes, min_code: int, limit: int) -> bytes:
    clear, end = 1 << min_code, (1 << min_code) + 1
    table: list[bytes] = [bytes([i]) for i in range(clear)] + [b"", b""]
    size = min_code + 1
    out = bytearray()
    prev: bytes | None = None
    bits = int.from_bytes(stream, "little")
    total = len(stream) * 8
    pos = 0
    while pos + size <= total and len(out) < limit:
        code = (bits >> pos) & ((1 << size) - 1)
        pos += size
        if code == clear:
            table = table[: clear + 2]
            size = min_code + 1
            prev = None
            continue
        if code == end:
            break
        if code < len(table):
            entry = table[code]
            if prev is not None:
                table.append(prev + entry[:1])
        elif prev is not None and code == len(table):
            entry = prev + prev[:1]
            table.append(entry)
        else:
            raise ValueError("corrupt LZW data")
        out += entry
        prev = entry
        if len(table) == (1 << size) and size < 12:
            size += 1
    out += b"\0" * (limit - len(out))
    return bytes(out[:limit])


def _png(width: int, height: int, raw: bytes) -> bytes:
    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(
            ">I", zlib.crc32(kind + body) & 0xFFFFFFFF)

    header = struct.pack(">IIBBBBB", width, height, 8, 6, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header)
            + chunk(b"IDAT", zlib.compress(raw, 6)) + chunk(b"IEND", b""))
