"""After the TeX run: refuse a PDF that can act on the reader's machine.

A post must not be able to smuggle JavaScript, launch actions, embedded files, links to other
files, or links with a scheme other than http/https/mailto into the PDF. The check reads
the raw bytes and every Flate-compressed stream (object streams included), with PDF name
escapes (``/J#61vaScript``) decoded, so compression does not hide anything. Embedded font
programs and image data are binary that no reader parses as PDF syntax: they are not
decompressed or scanned (they were ~90% of the work).
"""

from __future__ import annotations

import re
import zlib
from collections.abc import Iterator
from dataclasses import dataclass

from .escape import ALLOWED_SCHEMES

#: names whose mere presence makes a PDF active
FORBIDDEN_NAMES = ("JavaScript", "JS", "Launch", "EmbeddedFile", "EmbeddedFiles", "GoToR",
                   "GoToE", "SubmitForm", "ImportData", "RichMedia", "Rendition", "Sound",
                   "Movie", "AA", "XFA")
_HEX_ESCAPE = re.compile(rb"#([0-9A-Fa-f]{2})")
_STREAM = re.compile(rb"stream\r?\n")
_ENDSTREAM = b"endstream"
#: the dictionary of a font program (``/FontFile``: ``/Length1``; ``/FontFile3``: a font
#: subtype) or of an image; never of an object stream
_BINARY = re.compile(rb"/Length1\b|/Subtype\s*/(?:Type1C|CIDFontType0C|OpenType|Image)\b")
_OBJSTM = re.compile(rb"/Type\s*/ObjStm\b")
MAX_STREAM_OUT = 64 * 1024 * 1024
MAX_STREAMS = 100_000


@dataclass(frozen=True)
class Finding:
    what: str
    detail: str

    def __str__(self) -> str:
        return f"{self.what}: {self.detail}" if self.detail else self.what


def _inflate(data: bytes) -> bytes | None:
    d = zlib.decompressobj()
    try:
        out = d.decompress(data, MAX_STREAM_OUT)
    except zlib.error:
        return None
    return out


def _split(pdf: bytes, binary: bool = True) -> tuple[bytes, list[tuple[bytes, bytes]]]:
    """The file with stream bodies cut out, and each stream as (its dictionary, its body
    inflated when it is Flate-compressed, raw otherwise); without font programs and image
    data unless ``binary``."""
    outside: list[bytes] = []
    streams: list[tuple[bytes, bytes]] = []
    pos = 0
    while len(streams) < MAX_STREAMS:
        m = _STREAM.search(pdf, pos)
        if m is None:
            break
        end = pdf.find(_ENDSTREAM, m.end())
        if end < 0:
            break
        before = pdf[pos:m.start()]
        outside.append(before)
        pos = end + len(_ENDSTREAM)
        dictionary = before[-400:]
        header = dictionary[dictionary.rfind(b" obj"):]
        if not binary and _BINARY.search(header) and not _OBJSTM.search(header):
            continue
        body = pdf[m.end():end]
        inflated = _inflate(body)
        streams.append((dictionary, body if inflated is None else inflated))
    outside.append(pdf[pos:])
    return b"\n".join(outside), streams


def chunks(pdf: bytes) -> Iterator[bytes]:
    """The file's dictionaries and objects (stream bodies cut out), then each stream body,
    decompressed when it is Flate-compressed, raw otherwise."""
    outside, streams = _split(pdf)
    yield outside
    for _dict, body in streams:
        yield body


#: a literal string (one level of nested parentheses) or a name
_TOKEN = re.compile(rb"\((?:\\.|[^\\()]|\((?:\\.|[^\\()])*\))*\)|/([^\s/<>\[\]()%{}]+)", re.S)


def _names(chunk: bytes) -> Iterator[tuple[str, int]]:
    """Names outside string literals (text like "(/JavaScript)" on a page is no action)."""
    for m in _TOKEN.finditer(chunk):
        raw = m.group(1)
        if raw is None:
            continue
        if b"#" in raw:
            raw = _HEX_ESCAPE.sub(lambda h: bytes([int(h.group(1), 16)]), raw)
        yield raw.decode("latin-1"), m.end()


def _pdf_string(chunk: bytes, pos: int) -> str | None:
    """The literal ``(..)`` or hex ``<..>`` string starting at ``pos`` (after spaces)."""
    while pos < len(chunk) and chunk[pos:pos + 1] in b" \t\r\n":
        pos += 1
    if chunk[pos:pos + 1] == b"(":
        out = bytearray()
        depth = 0
        i = pos
        while i < len(chunk):
            c = chunk[i]
            if c == 0x5C and i + 1 < len(chunk):  # backslash escape
                nxt = chunk[i + 1]
                octal = re.match(rb"[0-7]{1,3}", chunk[i + 1:i + 4])
                if octal:
                    out.append(int(octal.group(0), 8) & 0xFF)
                    i += 1 + len(octal.group(0))
                    continue
                out.append({0x6E: 10, 0x72: 13, 0x74: 9, 0x62: 8, 0x66: 12}.get(nxt, nxt))
                i += 2
                continue
            if c == 0x28:
                depth += 1
                if depth == 1:
                    i += 1
                    continue
            elif c == 0x29:
                depth -= 1
                if depth == 0:
                    break
            out.append(c)
            i += 1
        return _decode_text(bytes(out))
    if chunk[pos:pos + 1] == b"<" and chunk[pos:pos + 2] != b"<<":
        end = chunk.find(b">", pos)
        hexdigits = re.sub(rb"\s", b"", chunk[pos + 1:end if end > 0 else len(chunk)])
        if len(hexdigits) % 2:
            hexdigits += b"0"
        try:
            return _decode_text(bytes.fromhex(hexdigits.decode("ascii")))
        except ValueError:
            return ""
    return None


def _decode_text(data: bytes) -> str:
    if data.startswith(b"\xfe\xff"):
        return data[2:].decode("utf-16-be", errors="replace")
    return data.decode("latin-1")


def _scheme_ok(uri: str) -> bool:
    m = re.match(r"\s*([A-Za-z][A-Za-z0-9+.\-]*):", uri)
    return m is not None and m.group(1).lower() in ALLOWED_SCHEMES


_OBJ = re.compile(rb"(?<![0-9])(\d+)\s+\d+\s+obj\b")
_OBJSTM_FIRST = re.compile(rb"/Type\s*/ObjStm\b[^>]*?/First\s+(\d+)|"
                           rb"/First\s+(\d+)[^>]*?/Type\s*/ObjStm\b", re.S)
_GOTO = re.compile(rb"^\s*(?:\[|<<\s*/S\s*/GoTo\b)")


def _objects(outside: bytes, streams: list[tuple[bytes, bytes]]) -> dict[int, bytes]:
    """Object number -> its text, from plain objects and from object streams."""
    table: dict[int, bytes] = {}
    starts = list(_OBJ.finditer(outside))
    for i, m in enumerate(starts):
        stop = starts[i + 1].start() if i + 1 < len(starts) else len(outside)
        table[int(m.group(1))] = outside[m.end():stop]
    for dictionary, body in streams:
        last = dictionary.rfind(b"<<")
        head = _OBJSTM_FIRST.search(dictionary, max(last - 200, 0))
        if head is None:
            continue
        first = int(head.group(1) or head.group(2))
        nums = [int(x) for x in re.findall(rb"\d+", body[:first])]
        pairs = list(zip(nums[::2], nums[1::2], strict=False))
        for k, (num, off) in enumerate(pairs):
            stop = pairs[k + 1][1] if k + 1 < len(pairs) else len(body) - first
            table.setdefault(num, body[first + off:first + stop])
    return table


def inspect(pdf: bytes) -> list[Finding]:
    """Everything active found in ``pdf`` (empty list: the PDF is passive)."""
    found: list[Finding] = []
    seen: set[tuple[str, str]] = set()

    def add(what: str, detail: str = "") -> None:
        if (what, detail) not in seen:
            seen.add((what, detail))
            found.append(Finding(what, detail))

    outside, streams = _split(pdf, binary=False)
    parts = [outside, *(body for _d, body in streams)]
    open_actions: list[bytes] = []
    for chunk in parts:
        for name, end in _names(chunk):
            if name in FORBIDDEN_NAMES:
                add(f"/{name}")
            elif name == "OpenAction":
                open_actions.append(chunk[end:end + 200])
            elif name == "URI":
                uri = _pdf_string(chunk, end)
                if uri is not None and not _scheme_ok(uri):
                    add("/URI", f"disallowed link {uri[:80]!r}")
    if open_actions:
        table = _objects(outside, streams)
        for rest in open_actions:
            # opening at a page (a destination or a GoTo action) is harmless; anything else
            # runs when the reader opens the file
            ref = re.match(rb"\s*(\d+)\s+\d+\s+R", rest)
            target = table.get(int(ref.group(1)), b"") if ref else rest
            if not _GOTO.match(target):
                add("/OpenAction", "the PDF does something when it is opened")
    return found
