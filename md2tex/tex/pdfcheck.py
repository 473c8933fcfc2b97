"""After the TeX run: refuse a PDF that can act on the reader's machine.

A post must not be able to smuggle JavaScript, launch actions, embedded files, links to other
files, or links with a scheme other than http/https/mailto into the PDF. Raw TeX can write
arbitrary bytes into objects and streams, so the check reads PDF syntax as a PDF reader does:
the PDF white-space set and delimiters end names, ``#xx`` escapes are decoded, strings
(literal with nesting and escapes, hex) and comments are tokens, a stream exists only after a
dictionary, indirect references are followed, and every action of a chain (``/Next``) is
judged. Where readers may disagree (two definitions of one object, a stream whose
``/Length`` and ``endstream`` disagree, an object definition hidden in a string or stream),
every reading is judged or the PDF is refused.

Object streams and other Flate streams are inflated piece by piece under one budget
proportional to the input; embedded font programs, image data, cross-reference and XMP
streams are binary no reader parses as PDF objects, and are skipped.
"""

from __future__ import annotations

import itertools
import re
import zlib
from collections.abc import Callable, Iterator
from typing import NamedTuple, TypeAlias

from md2tex.escape import ALLOWED_SCHEMES

#: names whose mere presence makes a PDF active (scripts, launching, attached files, links
#: to other files, forms that send data, media and 3D players with their own scripting,
#: encryption that would hide the rest from this check)
FORBIDDEN_NAMES = frozenset({
    "JavaScript", "JS", "Launch", "EmbeddedFile", "EmbeddedFiles", "EF", "AF",
    "FileAttachment", "GoToR", "GoToE", "GoToDp", "SubmitForm", "ImportData", "RichMedia",
    "Rendition", "Sound", "Movie", "Screen", "AA", "XFA", "GoTo3DView", "Encrypt"})
#: name prefixes with the same effect: ``/3D``, ``/3DD``, ``/3DA``...; ``/RichMediaContent``...
FORBIDDEN_PREFIXES = ("3D", "RichMedia")
#: every action type of ISO 32000-2 (a dictionary whose ``/S`` is one of these is an action)
ACTION_TYPES = frozenset({
    "GoTo", "GoToR", "GoToE", "GoToDp", "Launch", "Thread", "URI", "Sound", "Movie", "Hide",
    "Named", "SubmitForm", "ResetForm", "ImportData", "JavaScript", "SetOCGState",
    "Rendition", "Trans", "GoTo3DView", "RichMediaExecute"})
#: what md2tex's own PDFs contain: internal links, web links, page navigation
ALLOWED_ACTIONS = frozenset({"GoTo", "URI", "Named"})
ALLOWED_NAMED = frozenset({"NextPage", "PrevPage", "FirstPage", "LastPage"})

#: inflated bytes allowed for the whole check: a fixed floor plus a multiple of the input
INFLATE_FLOOR = 32 * 1024 * 1024
INFLATE_RATIO = 16
#: one stream is inflated at most this much for :func:`chunks`
MAX_STREAM_OUT = 32 * 1024 * 1024
#: values kept from objects and dictionaries (bounds the memory of the object table)
MAX_NODES = 2_000_000
#: definitions of one object number (readers take one; all are judged, up to this many)
MAX_DEFINITIONS = 16
#: findings reported (the first ones say enough)
MAX_FINDINGS = 50
_PIECE = 1024 * 1024
_IN_STEP = 16 * 1024
_MAX_REF_DEPTH = 32
_MAX_CHAIN = 1000

_WS = b"\x00\t\n\x0c\r "
_REGULAR = rb"[^\x00\t\n\x0c\r ()<>\[\]{}/%]"
#: a token's kind is the number of its group (``Match.lastindex``); the alternatives start
#: with different characters (a word never starts with a delimiter), so the commonest come
#: first: the regular expression engine tries them in order
_WORD, _NAME, _PUNCT, _STRING, _NESTED, _HEX, _COMMENT, _STRAY = range(1, 9)
_TOKEN = re.compile(
    rb"[\x00\t\n\x0c\r ]*(?:"
    rb"(" + _REGULAR + rb"+)"                        # _WORD: a number or keyword
    rb"|/(" + _REGULAR + rb"*)"                      # _NAME
    rb"|(<<|>>|\[|\]|\{|\})"                         # _PUNCT
    rb"|(\((?:[^()\\]|\\.)*\))"                      # _STRING: literal, without nesting
    rb"|(\()"                                        # _NESTED: literal string with nesting
    rb"|<([^>]*)>?"                                  # _HEX: hex string
    rb"|(%[^\r\n]*)"                                 # _COMMENT
    rb"|([)>])"                                      # _STRAY: a delimiter out of place
    rb")", re.S)
_INT = re.compile(rb"[+-]?\d+")
_REAL = re.compile(rb"[+-]?(?:\d+\.\d*|\.\d+)")
_HEX_ESCAPE = re.compile(rb"#([0-9A-Fa-f]{2})")
_STRING_SPECIAL = re.compile(rb"[()\\]")
_NOT_HEX = re.compile(rb"[^0-9A-Fa-f]")
_ESCAPES = {ord("n"): 10, ord("r"): 13, ord("t"): 9, ord("b"): 8, ord("f"): 12}
#: the keyword ``obj`` (where an object definition may end, looked at backwards)
_OBJ_KEYWORD = re.compile(rb"obj(?!" + _REGULAR + rb")")
_ENDSTREAM = b"endstream"
#: what could be a forbidden name: one of them spelled out, a prefix, or a ``#``
#: escape inside a name (one that starts before the searched piece counts too: a ``#`` of a
#: string, as in code listings, is no candidate)
_CANDIDATE = re.compile(
    rb"/(?:" + b"|".join(re.escape(n.encode()) for n in sorted(FORBIDDEN_NAMES, key=len,
                                                                 reverse=True))
    + rb")(?!" + _REGULAR + rb")|/(?:3D|RichMedia)|/" + _REGULAR + rb"*#")
#: the same for a name whose ``/`` lies before the piece searched (``match`` at its start)
_LEADING_ESCAPE = re.compile(_REGULAR + rb"*#")
_NAME_TAIL = 64


class Finding(NamedTuple):
    what: str
    detail: str

    def __str__(self) -> str:
        return f"{self.what}: {self.detail}" if self.detail else self.what


class Name(str):
    """A PDF name (``/Type``), ``#xx`` escapes decoded; a ``str`` so it compares with text."""

    __slots__ = ()


class Keyword(str):
    """A bare word that is no number, boolean or null (``obj``, ``R``, an operator)."""

    __slots__ = ()


class Ref(NamedTuple):
    num: int
    gen: int


class Multi(list["Value"]):
    """One dictionary key given several values: readers differ in which they take."""


Value: TypeAlias = (bool | int | float | bytes | Name | Keyword | Ref | list["Value"]
                    | dict[str, "Value"] | None)


class _Unchecked(Exception):
    """A limit of the check was reached: the PDF cannot be judged, so it is refused."""


class _Budget:
    """Inflated bytes and kept values, shared by every stream and object of one PDF."""

    def __init__(self, pdf_size: int) -> None:
        self.inflate_left = INFLATE_FLOOR + INFLATE_RATIO * pdf_size
        self.nodes_left = MAX_NODES

    def inflated(self, n: int) -> None:
        self.inflate_left -= n
        if self.inflate_left < 0:
            raise _Unchecked("its compressed streams inflate to more than "
                             f"{(INFLATE_FLOOR // 2**20)} MiB + {INFLATE_RATIO} times "
                             "its size")

    def node(self, n: int = 1) -> None:
        self.nodes_left -= n
        if self.nodes_left < 0:
            raise _Unchecked(f"more than {MAX_NODES} values in its objects")


def _decode_name(raw: bytes) -> Name:
    if b"#" in raw:
        raw = _HEX_ESCAPE.sub(lambda h: bytes([int(h.group(1), 16)]), raw)
    return Name(raw.decode("latin-1"))


def _name_forbidden(name: str) -> bool:
    return name in FORBIDDEN_NAMES or name.startswith(FORBIDDEN_PREFIXES)


def _literal(body: bytes) -> bytes:
    """The bytes of a literal string's inside (escapes and line ends as PDF reads them)."""
    if b"\\" not in body and b"\r" not in body:
        return body
    out = bytearray()
    i, n = 0, len(body)
    while i < n:
        c = body[i]
        if c == 0x5C and i + 1 < n:
            nxt = body[i + 1]
            if 0x30 <= nxt <= 0x37:
                j = i + 1
                while j < n and j < i + 4 and 0x30 <= body[j] <= 0x37:
                    j += 1
                out.append(int(body[i + 1:j], 8) & 0xFF)
                i = j
                continue
            if nxt == 0x0D:  # backslash + line end: the string goes on
                i += 3 if body[i + 2:i + 3] == b"\n" else 2
                continue
            if nxt == 0x0A:
                i += 2
                continue
            out.append(_ESCAPES.get(nxt, nxt))
            i += 2
            continue
        if c == 0x5C:
            i += 1
            continue
        if c == 0x0D:  # CR and CR LF in a string read as LF
            out.append(0x0A)
            i += 2 if body[i + 1:i + 2] == b"\n" else 1
            continue
        out.append(c)
        i += 1
    return bytes(out)


def _string_end(buf: bytes, start: int, end: int) -> int:
    """Where the literal string opened at ``start`` closes (after its ``)``), or ``end``."""
    depth = 0
    pos = start
    while True:
        m = _STRING_SPECIAL.search(buf, pos, end)
        if m is None:
            return end
        c = buf[m.start()]
        if c == 0x5C:
            pos = m.start() + 2
            if pos >= end:
                return end
            continue
        depth += 1 if c == 0x28 else -1
        pos = m.end()
        if depth == 0:
            return pos


class _Parser:
    """Tokens and values of PDF syntax, without recursion (nesting depth is the input's).

    ``on_name`` hears each distinct name once (a forbidden name is found wherever it
    stands); :meth:`values` yields the values outside any container with their start.
    """

    def __init__(self, buf: bytes, budget: _Budget, on_name: Callable[[Name], None]) -> None:
        self.buf = buf
        self.budget = budget
        self.on_name = on_name
        self.pos = 0
        self.names: dict[bytes, Name] = {}

    def values(self, pos: int, end: int,
               on_keyword: Callable[[Keyword, int, int], int] | None = None,
               single: bool = False) -> Iterator[tuple[int, Value]]:
        """Top-level values with their start offsets (``N G R`` read as one reference);
        with ``single`` only the first. ``obj``, ``endobj`` and ``stream`` go to
        ``on_keyword`` (which returns where to go on) and end every open container."""
        values = self._values(pos, end, on_keyword, stop_at_keyword=single)
        return itertools.islice(values, 1) if single else values

    def _values(self, pos: int, end: int,
                on_keyword: Callable[[Keyword, int, int], int] | None,
                stop_at_keyword: bool) -> Iterator[tuple[int, Value]]:
        pending: list[tuple[int, Value]] = []  # integers that may start a reference
        self.pos = pos
        for start, value in self._raw(end, structure=on_keyword is not None):
            if isinstance(value, Keyword):
                if value == "R" and len(pending) >= 2:
                    num, gen = pending[-2][1], pending[-1][1]
                    assert isinstance(num, int) and isinstance(gen, int)
                    first = pending[-2][0]
                    del pending[-2:]
                    yield from pending
                    pending.clear()
                    yield first, Ref(num, gen)
                    continue
                yield from pending
                pending.clear()
                if on_keyword is not None and value in ("obj", "endobj", "stream"):
                    self.pos = on_keyword(value, start, self.pos)
                elif stop_at_keyword:
                    return
                continue
            if _is_int(value):
                pending.append((start, value))
                if len(pending) > 2:
                    yield pending.pop(0)
                continue
            yield from pending
            pending.clear()
            yield start, value
        yield from pending

    def _raw(self, end: int, structure: bool) -> Iterator[tuple[int, Value]]:
        """Completed top-level values and top-level keywords from ``self.pos`` on; the
        consumer may move ``self.pos`` between two of them."""
        buf = self.buf
        names = self.names
        budget = self.budget
        match = _TOKEN.match
        # open containers: (start, items, is_dict)
        stack: list[tuple[int, list[Value], bool]] = []
        pos = self.pos
        while pos < end:
            m = match(buf, pos, end)
            if m is None:  # only white space is left
                break
            kind = m.lastindex
            pos = m.end()
            value: Value
            if kind == _NAME:
                raw = m.group(_NAME)
                known = names.get(raw)
                if known is None:  # each distinct name is decoded and judged once
                    known = names[raw] = _decode_name(raw)
                    self.on_name(known)
                value = known
            elif kind == _WORD:
                word = m.group(_WORD)
                if word.isdigit() or _INT.fullmatch(word):
                    value = int(word)
                elif _REAL.fullmatch(word):
                    value = 0.0
                elif word == b"true" or word == b"false":
                    value = word == b"true"
                elif word == b"null":
                    value = None
                elif stack and word == b"R":
                    items = stack[-1][1]
                    if len(items) >= 2 and _is_int(items[-1]) and _is_int(items[-2]):
                        gen = items.pop()
                        num = items.pop()
                        assert isinstance(num, int) and isinstance(gen, int)
                        items.append(Ref(num, gen))
                    continue
                elif stack and not (structure and word in (b"obj", b"endobj", b"stream")):
                    continue  # an operator or a stray word inside a container
                else:
                    # a structure keyword ends every open container (readers give up on
                    # them there, and nothing may hide behind one left open)
                    while stack:
                        begin, items, is_dict = stack.pop()
                        closed = self._dict(items) if is_dict else self._array(items)
                        if stack:
                            stack[-1][1].append(closed)
                        else:
                            self.pos = pos
                            yield begin, closed
                    self.pos = pos
                    yield m.start(_WORD), Keyword(word.decode("latin-1"))
                    pos = self.pos
                    continue
            elif kind == _PUNCT:
                punct = m.group(_PUNCT)
                if punct == b"<<" or punct == b"[":
                    stack.append((m.start(_PUNCT), [], punct == b"<<"))
                    continue
                if punct == b"{" or punct == b"}":
                    continue
                if not stack or stack[-1][2] != (punct == b">>"):
                    continue  # a stray closer: readers skip it
                begin, items, is_dict = stack.pop()
                value = self._dict(items) if is_dict else self._array(items)
                if not stack:
                    self.pos = pos
                    yield begin, value
                    pos = self.pos
                    continue
            elif kind == _STRING:
                value = _literal(m.group(_STRING)[1:-1])
            elif kind == _NESTED:
                start = m.start(_NESTED)
                pos = _string_end(buf, start, end)
                close = pos - 1 if buf[pos - 1:pos] == b")" else pos
                value = _literal(buf[start + 1:close])
            elif kind == _HEX:
                digits = _NOT_HEX.sub(b"", m.group(_HEX))
                value = bytes.fromhex((digits + b"0" * (len(digits) % 2)).decode("ascii"))
            else:  # a comment or a stray delimiter
                continue
            if stack:
                budget.nodes_left -= 1
                if budget.nodes_left < 0:
                    budget.node(0)
                stack[-1][1].append(value)
                continue
            self.pos = pos
            yield m.start(kind or 0), value
            pos = self.pos
        self.pos = pos
        while stack:  # containers still open at the end
            begin, items, is_dict = stack.pop()
            closed = self._dict(items) if is_dict else self._array(items)
            if stack:
                stack[-1][1].append(closed)
            else:
                yield begin, closed

    def _dict(self, items: list[Value]) -> dict[str, Value]:
        out: dict[str, Value] = {}
        key: Name | None = None
        for item in items:
            if key is None:
                if isinstance(item, Name):
                    key = item
                continue  # a value without a key: readers skip it
            if key in out:
                old = out[key]
                if isinstance(old, Multi):
                    old.append(item)
                else:
                    out[key] = Multi([old, item])
            else:
                out[key] = item
            key = None
        return out

    def _array(self, items: list[Value]) -> list[Value]:
        if len(items) <= 16:
            return items
        # long arrays (widths, name trees, kids) keep only what can lead to an action
        return [x for x in items if isinstance(x, (Ref, dict, list, Name))]


def _is_int(value: Value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


class _NameScanner:
    """Names of a stream's content (strings and comments skipped), fed in pieces."""

    _NEXT = re.compile(rb"[(/%<)>]")
    _NAME_BODY = re.compile(_REGULAR + rb"*")
    _EOL = re.compile(rb"[\r\n]")

    def __init__(self, on_name: Callable[[Name], None]) -> None:
        self.on_name = on_name
        self.depth = 0          # inside a literal string, its nesting
        self.escape = False     # a backslash ended the last piece inside a string
        self.state = ""         # "comment", "hex", "name" when a piece ended inside one
        self.name = b""         # the name read so far (at most its first 300 bytes)
        self.angle = False      # the last piece ended with "<"

    def feed(self, data: bytes) -> None:
        pos, n = 0, len(data)
        if self.angle:
            self.angle = False
            if data[:1] == b"<":
                pos = 1
            else:
                self.state = "hex"
        while pos < n:
            if self.escape:
                self.escape = False
                pos += 1
                continue
            if self.depth:
                m = _STRING_SPECIAL.search(data, pos)
                if m is None:
                    return
                c = data[m.start()]
                pos = m.end()
                if c == 0x5C:
                    if pos >= n:
                        self.escape = True
                        return
                    pos += 1
                else:
                    self.depth += 1 if c == 0x28 else -1
                continue
            if self.state == "comment":
                m = self._EOL.search(data, pos)
                if m is None:
                    return
                self.state = ""
                pos = m.end()
                continue
            if self.state == "hex":
                stop = data.find(b">", pos)
                if stop < 0:
                    return
                self.state = ""
                pos = stop + 1
                continue
            if self.state == "name":
                m = self._NAME_BODY.match(data, pos)
                assert m is not None
                if len(self.name) < 300:
                    self.name += data[pos:min(m.end(), pos + 300)]
                pos = m.end()
                if pos >= n:
                    return
                self._emit()
                continue
            m = self._NEXT.search(data, pos)
            if m is None:
                return
            c = data[m.start()]
            pos = m.end()
            if c == 0x28:
                self.depth = 1
            elif c == 0x2F:
                self.state = "name"
                self.name = b""
            elif c == 0x25:
                self.state = "comment"
            elif c == 0x3C:
                if pos >= n:
                    self.angle = True
                elif data[pos] == 0x3C:
                    pos += 1
                else:
                    self.state = "hex"

    def close(self) -> None:
        if self.state == "name":
            self._emit()
        self.state = ""

    def _emit(self) -> None:
        self.state = ""
        self.on_name(_decode_name(self.name))
        self.name = b""


class _Stream(NamedTuple):
    dictionary: dict[str, Value]
    start: int
    end: int


def _pieces(data: bytes, budget: _Budget | None, limit: int | None = None) -> Iterator[bytes]:
    """``data`` inflated piece by piece (``max_length``), each piece charged to ``budget``,
    up to ``limit`` bytes. Damaged data ends the stream where the damage is, as readers
    decoding incrementally show it: after a zlib error the input is fed again, byte by byte
    from the step that failed, and what it still gives is kept."""
    emitted = 0
    bad_at: int | None = None
    while True:
        d = zlib.decompressobj()
        produced = 0
        pos = step = 0
        try:
            while pos < len(data) and not d.eof:
                step = 1 if bad_at is not None and pos >= bad_at else _IN_STEP
                piece = d.decompress(data[pos:pos + step], _PIECE)
                pos += step
                while True:
                    new = piece[max(0, emitted - produced):]
                    produced += len(piece)
                    if limit is not None:
                        new = new[:max(0, limit - emitted)]
                    if new:
                        if budget is not None:
                            budget.inflated(len(new))
                        emitted += len(new)
                        yield new
                    if limit is not None and emitted >= limit:
                        return
                    if not d.unconsumed_tail:
                        break
                    piece = d.decompress(d.unconsumed_tail, _PIECE)
            return
        except zlib.error:
            if bad_at is not None:
                return
            bad_at = pos


class _Check:
    """One PDF's inspection: a pass over the file, then the object graph judged."""

    def __init__(self, pdf: bytes) -> None:
        self.pdf = pdf
        self.budget = _Budget(len(pdf))
        self.found: list[Finding] = []
        self.seen: set[tuple[str, str]] = set()
        #: object number -> every definition found (readers may pick any of them)
        self.objects: dict[int, list[Value]] = {}
        #: values to judge: object values, stream dictionaries, trailers
        self.values: list[Value] = []
        self.streams: list[_Stream] = []
        self.object_starts: set[int] = set()
        #: what each object number resolves to, once the table is complete
        self.memo: dict[int, list[Value]] | None = None

    # ------------------------------------------------------------------ findings
    def add(self, what: str, detail: str = "") -> None:
        if (what, detail) not in self.seen and len(self.found) < MAX_FINDINGS:
            self.seen.add((what, detail))
            self.found.append(Finding(what, detail))

    def name(self, name: Name) -> None:
        if _name_forbidden(name):
            self.add(f"/{name}")

    # ------------------------------------------------------------------ the file
    def run(self) -> list[Finding]:
        try:
            self._top_level()
            self._hidden_objects()
            for stream in self.streams:
                self._stream(stream)
            self._judge()
        except _Unchecked as exc:
            self.add("unchecked content", str(exc))
        return self.found

    def _top_level(self) -> None:
        """Objects and streams of the file as a reader with its cross-reference table sees
        them; a stream's body is skipped (kept for later) by its ``/Length`` when that is
        direct or already known and ends at ``endstream``, else at the first ``endstream``."""
        pdf = self.pdf
        parser = _Parser(pdf, self.budget, self.name)
        recent: list[tuple[int, Value]] = []
        current: list[int | None] = [None]  # the object being defined

        def keyword(word: Keyword, start: int, pos: int) -> int:
            if word == "obj":
                if len(recent) >= 2 and _is_int(recent[-1][1]) and _is_int(recent[-2][1]):
                    num = recent[-2][1]
                    assert isinstance(num, int)
                    current[0] = num
                    self.object_starts.add(recent[-2][0])
                recent.clear()
                return pos
            if word == "endobj":
                current[0] = None
                recent.clear()
                return pos
            if word == "stream" and recent and isinstance(recent[-1][1], dict):
                dictionary = recent[-1][1]
                recent.clear()
                return self._skip_stream(dictionary, pos)
            return pos

        for start, value in parser.values(0, len(pdf), keyword):
            recent.append((start, value))
            del recent[:-3]
            if isinstance(value, (dict, list)):
                self.values.append(value)
            num = current[0]
            if num is not None:
                self._define(num, value)
                current[0] = None  # one value per definition; more are not the object
                if len(self.objects) > MAX_NODES // 4:
                    raise _Unchecked(f"more than {MAX_NODES // 4} objects")

    def _skip_stream(self, dictionary: dict[str, Value], pos: int) -> int:
        pdf = self.pdf
        if pdf[pos:pos + 2] == b"\r\n":
            pos += 2
        elif pdf[pos:pos + 1] in (b"\n", b"\r"):
            pos += 1
        length = next((v for v in self.resolve(dictionary.get("Length")) if _is_int(v)), None)
        first_end = pdf.find(_ENDSTREAM, pos)
        if first_end < 0:
            first_end = len(pdf)
        if isinstance(length, int) and 0 <= length <= len(pdf) - pos:
            after = pos + length
            while after < len(pdf) and pdf[after] in _WS:
                after += 1
            if pdf.startswith(_ENDSTREAM, after):
                self.streams.append(_Stream(dictionary, pos, pos + length))
                if first_end < pos + length:
                    # a reader that looks for "endstream" reads the rest as objects
                    self._scan_raw(first_end + len(_ENDSTREAM), pos + length)
                return after + len(_ENDSTREAM)
        body_end = first_end
        while body_end > pos and pdf[body_end - 1] in b"\r\n":
            body_end -= 1
        self.streams.append(_Stream(dictionary, pos, body_end))
        return first_end + len(_ENDSTREAM)

    def _scan_raw(self, start: int, end: int) -> None:
        body = self.pdf[start:end]
        self._scan(lambda: iter((body,)))

    def _hidden_objects(self) -> None:
        """An ``N G obj`` at a line start that is no object of this reading: a reader
        rebuilding the cross-reference table would take it for one."""
        pdf = self.pdf
        for m in _OBJ_KEYWORD.finditer(pdf):
            found = _definition_before(pdf, m.start())
            if found is not None and found[0] not in self.object_starts:
                start, text = found
                self.add("hidden object", f"'{text} obj' inside a string, comment or stream "
                         f"at byte {start}")

    # ------------------------------------------------------------------ streams
    def _names_of(self, dictionary: dict[str, Value], key: str) -> list[str]:
        out: list[str] = []
        for v in self.resolve(dictionary.get(key)):
            if isinstance(v, Name):
                out.append(v)
            elif isinstance(v, list):
                out.extend(x for x in v if isinstance(x, Name))
        return out

    def _stream(self, stream: _Stream) -> None:
        d = stream.dictionary
        types = self._names_of(d, "Type")
        body = self.pdf[stream.start:stream.end]
        if "ObjStm" in types or ("N" in d and "First" in d):
            self._object_stream(d, body)
            return
        subtypes = self._names_of(d, "Subtype")
        if ("Image" in subtypes or "XRef" in types or "Metadata" in types
                or any(k in d for k in ("Length1", "Length2", "Length3"))
                or any(s in ("Type1C", "CIDFontType0C", "OpenType") for s in subtypes)):
            return  # binary: image data, font programs, the xref table, XMP
        if self._names_of(d, "Filter")[:1] in (["FlateDecode"], ["Fl"]):
            self._scan(lambda: _pieces(body, self.budget))
        else:
            self._scan(lambda: iter((body,)))

    def _scan(self, pieces: Callable[[], Iterator[bytes]]) -> None:
        """Names in a stream's content. Most streams have nothing that could be a forbidden
        name: a search finds that; only a stream with a candidate is read token by token
        (inflated again), so a name inside a string is told from one outside."""
        tail = b""
        for piece in pieces():
            window = tail + piece
            if _CANDIDATE.search(window) or _LEADING_ESCAPE.match(window):
                break
            tail = piece[-_NAME_TAIL:]
        else:
            return
        scanner = _NameScanner(self.name)
        for piece in pieces():
            scanner.feed(piece)
        scanner.close()

    def _object_stream(self, d: dict[str, Value], body: bytes) -> None:
        filters = self._names_of(d, "Filter")
        parms = [v for v in self.resolve(d.get("DecodeParms")) if v is not None]
        if filters in (["FlateDecode"], ["Fl"]) and not parms:
            data = b"".join(_pieces(body, self.budget))
        elif not filters and "Filter" not in d:
            data = body
        else:
            self.add("unchecked content", "an object stream with filters this check does not read")
            return
        self._scan(lambda: iter((data,)))
        first = next((v for v in self.resolve(d.get("First")) if _is_int(v)), None)
        count = next((v for v in self.resolve(d.get("N")) if _is_int(v)), None)
        if not isinstance(first, int) or not isinstance(count, int) or first < 0:
            return
        header = _INT.findall(data, 0, first)[:2 * max(count, 0)]
        pairs = [(int(header[i]), int(header[i + 1])) for i in range(0, len(header) - 1, 2)]
        parser = _Parser(data, self.budget, lambda name: None)  # names: scanned above
        work = 0
        for k, (num, off) in enumerate(pairs):
            start = first + off
            stop = pairs[k + 1][1] + first if k + 1 < len(pairs) else len(data)
            if stop <= start:
                stop = len(data)
            if start >= len(data):
                continue
            work += stop - start
            if work > 4 * len(data) + 4096:
                raise _Unchecked("an object stream whose offsets overlap")
            for _pos, value in parser.values(start, stop, single=True):
                self._define(num, value)
                if isinstance(value, (dict, list)):
                    self.values.append(value)

    # ------------------------------------------------------------------ the object graph
    def _define(self, num: int, value: Value) -> None:
        defs = self.objects.setdefault(num, [])
        if len(defs) >= MAX_DEFINITIONS:
            raise _Unchecked(f"object {num} is defined more than {MAX_DEFINITIONS} times")
        defs.append(value)

    def resolve(self, value: Value) -> list[Value]:
        """Every value ``value`` can stand for: references followed (every definition of
        the object), several values of one key each taken."""
        if isinstance(value, Ref) and self.memo is not None:
            known = self.memo.get(value.num)
            if known is None:
                known = self.memo[value.num] = self._resolve(value)
            return known
        return self._resolve(value)

    def _resolve(self, value: Value) -> list[Value]:
        out: list[Value] = []
        todo: list[tuple[Value, int]] = [(value, 0)]
        visited: set[int] = set()
        while todo:
            v, depth = todo.pop()
            if isinstance(v, Multi):
                todo.extend((x, depth) for x in v)
            elif isinstance(v, Ref):
                if depth < _MAX_REF_DEPTH and v.num not in visited:
                    visited.add(v.num)
                    todo.extend((x, depth + 1) for x in self.objects.get(v.num, ()))
            else:
                out.append(v)
        return out

    def _judge(self) -> None:
        """Every dictionary of every object: its links, actions and page-open action."""
        self.memo = {}  # the object table is complete: a reference always means the same
        todo: list[Value] = list(self.values)
        while todo:
            v = todo.pop()
            if isinstance(v, list):
                todo.extend(x for x in v if isinstance(x, (list, dict)))
                continue
            if not isinstance(v, dict):
                continue
            todo.extend(x for x in v.values() if isinstance(x, (list, dict)))
            self._action(v, reached=False)
            if "URI" in v:
                self._uri(v["URI"])
            if "OpenAction" in v:
                self._open_action(v["OpenAction"])
            for key in ("A", "Next"):
                if key in v:
                    for target in self._targets(v[key]):
                        self._action(target, reached=True)

    def _targets(self, value: Value) -> list[dict[str, Value]]:
        """The action dictionaries of an ``/A`` or ``/Next`` (a dictionary or an array)."""
        out: list[dict[str, Value]] = []
        for v in self.resolve(value):
            if isinstance(v, dict):
                out.append(v)
            elif isinstance(v, list):
                for x in v:
                    out.extend(t for t in self.resolve(x) if isinstance(t, dict))
        return out

    def _action(self, d: dict[str, Value], reached: bool) -> None:
        """Judge ``d`` when it is an action (its ``/S`` says so, or it is reached as one)."""
        if "S" not in d:
            return  # no action type: readers do nothing with it
        kinds = self.resolve(d.get("S"))
        is_action = reached or "Action" in self._names_of(d, "Type") or any(
            isinstance(k, Name) and k in ACTION_TYPES for k in kinds)
        if not is_action:
            return
        for kind in kinds:
            if not isinstance(kind, Name):
                self.add("/S", "an action of no valid type")
            elif kind not in ALLOWED_ACTIONS:
                if _name_forbidden(kind):
                    continue  # reported as a name
                self.add(f"/{kind}", "an action md2tex never makes")
            elif kind == "Named":
                for n in self.resolve(d.get("N")):
                    if not (isinstance(n, Name) and n in ALLOWED_NAMED):
                        self.add("/Named", f"the viewer command {n!s:.40}")
            elif kind == "URI":
                self._uri(d.get("URI"))

    def _uri(self, value: Value) -> None:
        for v in self.resolve(value):
            if isinstance(v, dict):  # the catalog's URI dictionary: its base URI
                for base in self.resolve(v.get("Base")):
                    if isinstance(base, bytes) and base and not _scheme_ok(base):
                        self.add("/URI", f"disallowed base {base[:80]!r}")
            elif isinstance(v, bytes) and not _scheme_ok(v):
                self.add("/URI", f"disallowed link {v[:80].decode('latin-1')!r}")

    def _open_action(self, value: Value) -> None:
        """Opening at a page (a destination or a chain of GoTo actions) is harmless;
        anything else runs when the reader opens the file."""
        todo = [(v, 0) for v in self.resolve(value)]
        seen: set[int] = set()
        while todo:
            v, depth = todo.pop()
            if id(v) in seen or depth > _MAX_CHAIN:
                continue
            seen.add(id(v))
            if isinstance(v, list) and depth == 0:
                continue  # a destination
            if not isinstance(v, dict):
                self.add("/OpenAction", "the PDF does something when it is opened")
                continue
            kinds = self.resolve(v.get("S"))
            if not kinds or any(k != "GoTo" or not isinstance(k, Name) for k in kinds):
                self.add("/OpenAction", "the PDF does something when it is opened")
            if "Next" in v:
                for nxt in self.resolve(v["Next"]):
                    items = nxt if isinstance(nxt, list) else [nxt]
                    for item in items:
                        todo.extend((t, depth + 1) for t in self.resolve(item))


def _definition_before(pdf: bytes, end: int) -> tuple[int, str] | None:
    """Where ``N G`` starts when the bytes before ``end`` are a line start, a number, white
    space, a number and white space; else None (read backwards, no copy of the file)."""
    def skip(pos: int, chars: bytes) -> int:
        while pos > 0 and pdf[pos - 1] in chars:
            pos -= 1
        return pos

    gen_end = skip(end, _WS)
    gen_start = skip(gen_end, b"0123456789")
    num_end = skip(gen_start, _WS)
    num_start = skip(num_end, b"0123456789")
    if gen_end == end or gen_start == gen_end or num_end == gen_start or num_start == num_end:
        return None
    line = skip(num_start, b"\x00\t\x0c ")
    if line == 0 or pdf[line - 1] not in b"\r\n":
        return None
    text = pdf[num_start:num_end] + b" " + pdf[gen_start:gen_end]
    return num_start, text.decode("ascii")


def _scheme_ok(uri: bytes) -> bool:
    """A URI's scheme (its raw bytes: readers pass them on as they are) is allowed."""
    m = re.match(rb"[ \t\r\n\x0c]*([A-Za-z][A-Za-z0-9+.\-]*):", uri)
    return m is not None and m.group(1).decode("ascii").lower() in ALLOWED_SCHEMES


def inspect(pdf: bytes) -> list[Finding]:
    """Everything active found in ``pdf`` (empty list: the PDF is passive)."""
    return _Check(pdf).run()


def chunks(pdf: bytes) -> Iterator[bytes]:
    """The file's bytes outside stream bodies, then each stream body (every stream, fonts
    and images too), decompressed when it is Flate-compressed, raw otherwise: one at a
    time, each up to ``MAX_STREAM_OUT`` and all under the inflation budget."""
    check = _Check(pdf)
    try:
        check._top_level()
    except _Unchecked:
        yield pdf
        return
    pos = 0
    outside: list[bytes] = []
    for stream in check.streams:
        outside.append(pdf[pos:stream.start])
        pos = max(pos, stream.end)
    outside.append(pdf[pos:])
    yield b"\n".join(outside)
    for stream in check.streams:
        body = pdf[stream.start:stream.end]
        if check._names_of(stream.dictionary, "Filter")[:1] in (["FlateDecode"], ["Fl"]):
            try:
                yield b"".join(_pieces(body, check.budget, MAX_STREAM_OUT))
            except _Unchecked:
                return
        else:
            yield body
