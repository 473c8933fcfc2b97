"""The PDF post-check against crafted PDFs: each known bypass, a fuzz of PDF syntax, memory.

Every attack is a complete PDF (cross-reference table and all) that poppler reads; where a
poppler tool can show the payload (``pdfinfo -js``, ``pdfinfo -url``, ``pdfdetach -list``), the
test asserts it does, so a refusal cannot come from a file no reader would act on. Actions
poppler's tools do not report in place (page-open actions, ``/Next`` chains) are shown to be
read by poppler through a twin: the same action where ``pdfinfo`` does report it. For launch
actions and 3D/RichMedia/screen annotations, which no poppler tool lists, the test asserts
that poppler reads the file without a syntax error.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import textwrap
import zlib
from collections.abc import Callable
from pathlib import Path

import pytest
from helpers import HAVE_POPPLER, needs_tex
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import md2tex
from md2tex.tex import pdfcheck

WHITE = b"\x00\t\n\x0c\r "
needs_poppler = pytest.mark.skipif(not (HAVE_POPPLER and shutil.which("pdfdetach")),
                                   reason="needs poppler-utils")


# ----------------------------------------------------------------------------- building PDFs
def make_pdf(objects: dict[int, bytes], catalog: bytes = b"", page: bytes = b"",
             between: bytes = b"") -> bytes:
    """A one-page PDF with a correct cross-reference table. ``objects`` adds or replaces
    objects (1 catalog, 2 pages, 3 page); ``catalog``/``page`` are extra entries of those;
    ``between`` is written after object 3, outside any object."""
    objs = dict(objects)
    objs.setdefault(1, b"<< /Type /Catalog /Pages 2 0 R " + catalog + b" >>")
    objs.setdefault(2, b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>")
    objs.setdefault(3, b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 200 200] " + page
                    + b" >>")
    out = bytearray(b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n")
    offsets: dict[int, int] = {}
    for num in sorted(objs):
        offsets[num] = len(out)
        out += b"%d 0 obj\n" % num + objs[num] + b"\nendobj\n"
        if num == 3:
            out += between
    size = max(objs) + 1
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % size
    for num in range(1, size):
        out += b"%010d 00000 n \n" % offsets[num] if num in offsets else \
            b"0000000000 65535 f \n"
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (size, xref)
    return bytes(out)


def stream(dictionary: bytes, data: bytes, compress: bool = True) -> bytes:
    """An indirect stream object's text."""
    if compress:
        data = zlib.compress(data)
        dictionary += b" /Filter /FlateDecode"
    return (b"<< " + dictionary + b" /Length %d >>\nstream\n" % len(data) + data
            + b"\nendstream")


def object_stream(objects: dict[int, bytes]) -> bytes:
    """The text of a compressed object stream holding ``objects``."""
    header, body = b"", b""
    for num, text in objects.items():
        header += b"%d %d " % (num, len(body))
        body += text + b"\n"
    return stream(b"/Type /ObjStm /N %d /First %d" % (len(objects), len(header)),
                  header + body)


def link(action: bytes) -> bytes:
    """Page entries: one link annotation whose ``/A`` is ``action``."""
    return (b"/Annots [<< /Type /Annot /Subtype /Link /Rect [0 0 100 100] /A " + action
            + b" >>]")


def what(pdf: bytes) -> list[str]:
    return [f.what for f in pdfcheck.inspect(pdf)]


# ----------------------------------------------------------------------------- poppler
def poppler(pdf: bytes, tmp_path: Path, *command: str) -> str:
    """Output of a poppler tool on ``pdf``; syntax errors are a test error (the attack PDF
    must be one poppler reads as written)."""
    path = tmp_path / "attack.pdf"
    path.write_bytes(pdf)
    done = subprocess.run([*command, str(path)], capture_output=True, text=True,
                          timeout=60, check=False)
    assert done.returncode == 0, done.stderr
    assert "Syntax Error" not in done.stderr, done.stderr
    return done.stdout


def js_of(pdf: bytes, tmp_path: Path) -> str:
    return poppler(pdf, tmp_path, "pdfinfo", "-js")


def urls_of(pdf: bytes, tmp_path: Path) -> str:
    return poppler(pdf, tmp_path, "pdfinfo", "-url")


def files_of(pdf: bytes, tmp_path: Path) -> str:
    return poppler(pdf, tmp_path, "pdfdetach", "-list")


# ----------------------------------------------------------------------------- the bypasses
JS_ACTION = b"<< /S\0/JavaScript\0/JS\0(app.alert\\(1\\)) >>"

#: name -> (PDF, poppler tool, what poppler must show, what md2tex must report)
ATTACKS: dict[str, tuple[bytes, Callable[[bytes, Path], str], str, str]] = {
    "nul-javascript-name-tree": (
        make_pdf({5: JS_ACTION}, catalog=b"/Names << /JavaScript\0<< /Names [(x) 5 0 R] >> >>"),
        js_of, "app.alert(1)", "/JavaScript"),
    "nul-aa-page-open": (
        make_pdf({5: JS_ACTION}, page=b"/AA\0<< /O 5 0 R >>"),
        js_of, "app.alert(1)", "/AA"),
    "nul-js-in-link": (
        make_pdf({}, page=link(JS_ACTION)), js_of, "app.alert(1)", "/JS"),
    "nul-uri": (
        make_pdf({}, page=link(b"<< /S\0/URI\0/URI\0(file:///etc/passwd) >>")),
        urls_of, "file:///etc/passwd", "/URI"),
    "nul-embedded-file": (
        make_pdf({5: b"<< /Type /Filespec /F (a.txt) /EF\0<< /F 6 0 R >> >>",
                  6: stream(b"/Type /EmbeddedFile\0", b"secret", compress=False)},
                 catalog=b"/Names << /EmbeddedFiles\0<< /Names [(a.txt) 5 0 R] >> >>"),
        files_of, "a.txt", "/EmbeddedFiles"),
    "embedded-file-without-type": (
        make_pdf({5: b"<<\0/Type\0/Filespec\0/F\0(a.txt)\0/EF\0<<\0/F\0 6 0 R\0>>\0>>",
                  6: stream(b"", b"secret")},
                 catalog=b"/Names\0<<\0/EmbeddedFiles\0<<\0/Names\0[(a.txt)\0 5 0 R]>>>>"),
        files_of, "a.txt", "/EF"),
    "uri-indirect-string": (
        make_pdf({12: b"(file:///etc/passwd)"}, page=link(b"<< /S /URI /URI 12 0 R >>")),
        urls_of, "file:///etc/passwd", "/URI"),
    "uri-hex-indirect": (
        make_pdf({12: b"<66696c653a2f2f2f6574632f706173737764>"},
                 page=link(b"<< /S /URI /URI 12 0 R >>")),
        urls_of, "file:///etc/passwd", "/URI"),
    "uri-type-indirect": (
        make_pdf({7: b"/URI", 12: b"(javascript:alert\\(1\\))"},
                 page=link(b"<< /S 7 0 R /URI 12 0 R >>")),
        urls_of, "javascript:alert(1)", "/URI"),
    "uri-name-escaped": (
        make_pdf({}, page=link(b"<< /S /U#52I /U#52I (file:///etc/passwd) >>")),
        urls_of, "file:///etc/passwd", "/URI"),
    "uri-no-scheme": (
        make_pdf({}, page=link(b"<< /S /URI /URI (../../secret.pdf) >>")),
        urls_of, "../../secret.pdf", "/URI"),
    "uri-control-char-scheme": (
        make_pdf({}, page=link(b"<< /S /URI /URI (java\\tscript:alert\\(1\\)) >>")),
        urls_of, "script:alert(1)", "/URI"),
    # a string holding "stream": a scanner that looks for the keyword anywhere takes what
    # follows, up to an "endstream" in another string, for a stream body (here an image's,
    # skipped) and misses the JavaScript objects in between
    "fake-stream-in-string": (
        make_pdf({4: b"<< /Subtype /Image /Note (stream\n) >>",
                  5: JS_ACTION, 20: b"<< /JavaScript\0<< /Names [(x) 5 0 R] >> >>",
                  21: b"<< /Note (endstream) >>"}, catalog=b"/Names 20 0 R"),
        js_of, "app.alert(1)", "/JavaScript"),
}


@needs_poppler
@pytest.mark.parametrize("name", sorted(ATTACKS))
def test_attack_is_refused(name: str, tmp_path: Path) -> None:
    pdf, tool, shown, reported = ATTACKS[name]
    assert shown in tool(pdf, tmp_path), f"{name}: poppler does not see the payload"
    assert reported in what(pdf), pdfcheck.inspect(pdf)


def _open_action_pdf(chain_end: bytes, array: bool = False) -> bytes:
    """An ``/OpenAction`` that is "open at page 1" (GoTo) whose ``/Next`` runs
    ``chain_end`` (an action dictionary), one indirect object further."""
    nxt = b"[6 0 R]" if array else b"6 0 R"
    return make_pdf({5: b"<< /S /GoTo /D [3 0 R /Fit] /Next " + nxt + b" >>",
                     6: b"<< /S /GoTo /D [3 0 R /Fit] /Next 7 0 R >>", 7: chain_end},
                    catalog=b"/OpenAction 5 0 R")


@needs_poppler
@pytest.mark.parametrize("array", [False, True], ids=["dict", "array"])
@pytest.mark.parametrize("action, shown, tool", [
    (b"<< /S /URI /URI (https://evil.example/) >>", "https://evil.example/", urls_of),
    (b"<< /S /Named /N /Print >>", "", urls_of),
    (JS_ACTION, "app.alert(1)", js_of),
])
def test_open_action_next_chain_is_refused(action: bytes, shown: str,
                                           tool: Callable[[bytes, Path], str], array: bool,
                                           tmp_path: Path) -> None:
    """Opening at a page is allowed; an action later in its ``/Next`` chain is not, even a
    web link (it runs unasked). poppler's tools do not list page-open actions: the twin, the
    same action as a link, shows poppler reads it."""
    pdf = _open_action_pdf(action, array)
    poppler(pdf, tmp_path, "pdfinfo")  # a file poppler reads without a syntax error
    assert shown in tool(make_pdf({7: action}, page=link(b"7 0 R")), tmp_path)
    assert "/OpenAction" in what(pdf)
    assert what(_open_action_pdf(b"<< /S /GoTo /D [3 0 R /XYZ 0 0 0] >>", array)) == []


@needs_poppler
def test_link_next_chain_is_judged(tmp_path: Path) -> None:
    """Every action of a link's chain is judged: a web link followed by a file link."""
    bad = b"<< /S /URI /URI (file:///etc/passwd) >>"
    pdf = make_pdf({6: b"<< /S /URI /URI (https://example.org/) /Next [7 0 R] >>", 7: bad},
                   page=link(b"6 0 R"))
    assert "https://example.org/" in urls_of(pdf, tmp_path)
    assert "file:///etc/passwd" in urls_of(make_pdf({7: bad}, page=link(b"7 0 R")), tmp_path)
    assert "/URI" in what(pdf)
    good = make_pdf({6: b"<< /S /URI /URI (https://example.org/) /Next 7 0 R >>",
                     7: b"<< /S /URI /URI (mailto:me@example.org) >>"}, page=link(b"6 0 R"))
    assert what(good) == []


@needs_poppler
def test_object_inside_a_string_does_not_replace_the_real_one(tmp_path: Path) -> None:
    """``5 0 obj`` written inside a string of another object is no definition: the real
    object 5 (a print command run on opening) is judged."""
    pdf = make_pdf({5: b"<< /S /Named /N /Print >>",
                    6: b"<< /Note (x\n5 0 obj << /S /GoTo /D [3 0 R /Fit] >> endobj\n) >>"},
                   catalog=b"/OpenAction 5 0 R")
    poppler(pdf, tmp_path, "pdfinfo")
    found = what(pdf)
    assert "/OpenAction" in found
    assert "hidden object" in found  # a reader rebuilding the xref would see a second 5


@needs_poppler
@pytest.mark.parametrize("entry, reported", [
    (b"/Subtype /3D /3DD 9 0 R", "/3DD"),
    (b"/Subtype /RichMedia /RichMediaContent << /Assets << >> >>", "/RichMediaContent"),
    (b"/Subtype /Screen /AA << >>", "/Screen"),
])
def test_players_with_their_own_scripting_are_refused(entry: bytes, reported: str,
                                                       tmp_path: Path) -> None:
    """3D, RichMedia and screen annotations run scripts of their own."""
    annot = b"/Annots [<< /Type /Annot " + entry + b" /Rect [0 0 50 50] >>]"
    pdf = make_pdf({9: stream(b"/Type /3D /Subtype /U3D", b"U3D")}, page=annot)
    poppler(pdf, tmp_path, "pdfinfo")
    assert reported in what(pdf)


@needs_poppler
def test_launch_with_nul_is_refused(tmp_path: Path) -> None:
    pdf = make_pdf({}, page=link(b"<< /S /Launch\0/F (calc.exe) >>"))
    poppler(pdf, tmp_path, "pdfinfo")
    assert "/Launch" in what(pdf)


def test_names_in_a_string_or_comment_are_text() -> None:
    """Strings (nested parentheses, escapes, hex) and comments are not syntax."""
    for text in (b"(a (nested /JavaScript) b \\) /Launch)", b"<2f4a53>", b"% /AA\n",
                 b"(\\\\) (/EmbeddedFile)"):
        pdf = make_pdf({5: b"<< /Note " + text + b" >>"})
        assert what(pdf) == [], text


def test_a_stream_keyword_without_a_dictionary_is_no_stream() -> None:
    pdf = make_pdf({5: b"[ 1 2 ] stream\n", 6: JS_ACTION, 7: b"(endstream)"},
                   catalog=b"/Names << /JavaScript 8 0 R >>")
    assert "/JavaScript" in what(pdf)


def test_wrong_length_reads_to_endstream() -> None:
    """A ``/Length`` that does not end at ``endstream`` is not trusted."""
    data = b"q Q"
    body = b"<< /Length 999999 >>\nstream\n" + data + b"\nendstream"
    pdf = make_pdf({5: body, 6: JS_ACTION})
    assert "/JavaScript" in what(pdf)


def test_endstream_inside_a_stream_is_read_both_ways() -> None:
    """A body with ``endstream`` inside: a reader that ends it there reads what follows."""
    data = b"0 g\nendstream\nendobj\n% /AA\n/AA << >>\n"
    pdf = make_pdf({5: stream(b"/Subtype /Image", data, compress=False)})
    assert "/AA" in what(pdf)


def test_encrypted_pdf_is_refused() -> None:
    pdf = make_pdf({}).replace(b"/Root 1 0 R", b"/Root 1 0 R /Encrypt << /Filter /Standard >>")
    assert "/Encrypt" in what(pdf)


def test_object_streams_hide_nothing() -> None:
    """Objects in a compressed object stream are read like any: indirect URIs, chains."""
    objs = [(12, b"(file:///etc/passwd)"), (13, b"<< /S /URI /URI 12 0 R >>")]
    header = b" ".join(b"%d %d" % (n, sum(len(t) + 1 for _n, t in objs[:i]))
                       for i, (n, _t) in enumerate(objs)) + b" "
    body = b"".join(t + b"\n" for _n, t in objs)
    objstm = stream(b"/Type /ObjStm /N 2 /First %d" % len(header), header + body)
    assert objstm == object_stream(dict(objs))
    assert "/URI" in what(make_pdf({20: objstm}, page=link(b"13 0 R")))
    # the bad URI action is judged even when nothing links to it
    assert "/URI" in what(make_pdf({20: objstm}))


# ----------------------------------------------------------------------------- fuzz
DANGEROUS_NAMES = sorted(pdfcheck.FORBIDDEN_NAMES | {"3DD", "3DA", "RichMediaExecute"})
BAD_URIS = [b"file:///etc/passwd", b"javascript:alert(1)", b"data:text/html,x",
            b"../secret.pdf", b"java\tscript:x", b"\x00https://x.y", b"smb://host/share",
            b"\xfe\xff\x00h\x00t\x00t\x00p\x00s\x00:"]
GOOD_URIS = [b"https://example.org/a(b)", b"http://x.y", b"mailto:me@example.org",
             b"HTTPS://EXAMPLE.ORG", b" https://example.org/"]


def _escape_name(name: bytes, escaped: int) -> bytes:
    """``name`` with its character ``escaped`` (if in range) written as ``#xx``."""
    if 0 <= escaped < len(name):
        return name[:escaped] + b"#%02X" % name[escaped] + name[escaped + 1:]
    return name


def _literal(data: bytes) -> bytes:
    return b"(" + data.replace(b"\\", b"\\\\").replace(b"(", b"\\(").replace(b")", b"\\)") \
        + b")"


def _chain(depth: int, last: bytes, first_num: int = 40) -> tuple[dict[int, bytes], bytes]:
    """Objects making ``depth`` indirections to ``last``; the reference to the first."""
    if depth == 0:
        return {}, last
    objs = {first_num + i: b"%d 0 R" % (first_num + i + 1) for i in range(depth - 1)}
    objs[first_num + depth - 1] = last
    return objs, b"%d 0 R" % first_num


white = st.binary(min_size=1, max_size=3).map(
    lambda b: bytes(WHITE[x % len(WHITE)] for x in b))
#: white space or nothing (where a delimiter follows anyway)
gap = st.binary(min_size=0, max_size=2).map(lambda b: bytes(WHITE[x % len(WHITE)] for x in b))


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(name=st.sampled_from(DANGEROUS_NAMES), sep=gap, sep2=white, escaped=st.integers(-3, 12),
       as_key=st.booleans(), depth=st.integers(0, 4), packed=st.booleans())
def test_fuzz_forbidden_names_behind_any_white_space(name: str, sep: bytes, sep2: bytes,
                                                     escaped: int, as_key: bool, depth: int,
                                                     packed: bool) -> None:
    """A forbidden name ends at any PDF white-space byte or a delimiter and may be
    ``#xx``-escaped; it is found as a key or a value, in an object reached through
    references or not, in a compressed object stream or not."""
    raw = b"/" + _escape_name(name.encode(), escaped)
    inner = (raw + sep + b"(x)" if as_key else b"/S" + sep + raw + sep2) + b"/Rect[0 0 1 1]"
    objs, ref = _chain(depth, b"<<" + sep + inner + b">>")
    if packed and objs:
        objs = {99: object_stream(objs)}
    pdf = make_pdf(objs, page=b"/Annots [" + ref + b"]")
    assert f"/{name}" in what(pdf), pdf


@settings(max_examples=300, deadline=None)
@given(uri=st.sampled_from(BAD_URIS + GOOD_URIS), hexed=st.booleans(), depth=st.integers(0, 5),
       s_depth=st.integers(0, 2), sep=white, position=st.integers(0, 4),
       as_array=st.booleans(), open_action=st.booleans(), packed=st.booleans())
def test_fuzz_links_through_references_and_chains(uri: bytes, hexed: bool, depth: int,
                                                  s_depth: int, sep: bytes, position: int,
                                                  as_array: bool, open_action: bool,
                                                  packed: bool) -> None:
    """A URI action at any place of a ``/Next`` chain (dictionary or array, direct or
    indirect), its string and its type behind references: a link is refused exactly when
    its scheme is not http/https/mailto; a page-open action is refused when it is a URI."""
    string = b"<" + uri.hex().encode() + b">" if hexed else _literal(uri)
    objs, uri_ref = _chain(depth, string, 40)
    s_objs, s_ref = _chain(s_depth, b"/URI", 60)
    objs.update(s_objs)
    action = b"<<" + sep + b"/S" + sep + s_ref + sep + b"/URI" + sep + uri_ref + sep + b">>"
    # the chain: ``position`` GoTo actions (each its own object), then the URI action
    objs[80 + position] = action
    for k in range(position - 1, -1, -1):
        nxt = b"%d 0 R" % (80 + k + 1)
        objs[80 + k] = (b"<< /S /GoTo /D [3 0 R /Fit] /Next " + (b"[" + nxt + b"]" if as_array
                                                                 else nxt) + b" >>")
    if packed:  # every object of the chain in one compressed object stream
        objs = {99: object_stream(objs)}
    if open_action:
        pdf = make_pdf(objs, catalog=b"/OpenAction 80 0 R")
    else:
        pdf = make_pdf(objs, page=link(b"80 0 R"))
    found = what(pdf)
    if uri in BAD_URIS:
        assert "/URI" in found, pdf
    if open_action:
        assert "/OpenAction" in found, pdf
    elif uri in GOOD_URIS:
        assert found == [], pdf


@settings(max_examples=100, deadline=None)
@given(sep=white, depth=st.integers(0, 4), position=st.integers(0, 3),
       fit=st.sampled_from([b"/Fit", b"/XYZ 0 0 0", b"/FitH 10"]))
def test_fuzz_open_at_page_is_accepted(sep: bytes, depth: int, position: int,
                                       fit: bytes) -> None:
    """What md2tex's PDFs do: open at a page, through a GoTo chain and references."""
    objs: dict[int, bytes] = {}
    for k in range(position, -1, -1):
        nxt = b"/Next %d 0 R" % (80 + k + 1) if k < position else b""
        objs[80 + k] = (b"<<" + sep + b"/S" + sep + b"/GoTo" + sep + b"/D" + sep + b"[3 0 R "
                        + fit + b"]" + sep + nxt + b">>")
    chain, ref = _chain(depth, b"80 0 R", 40)
    objs.update(chain)
    assert what(make_pdf(objs, catalog=b"/OpenAction" + sep + ref)) == []


@pytest.fixture(scope="module")
def md2tex_pdf(tmp_path_factory: pytest.TempPathFactory) -> bytes:
    """A real md2tex PDF with web links, mail links, internal links, outlines."""
    out = tmp_path_factory.mktemp("real") / "post.pdf"
    doc = md2tex.convert(textwrap.dedent("""\
        ---
        title: "/JavaScript and /JS: a post about them"
        ---
        {:toc}

        # One /Launch

        A [link](https://example.org/a(b)), <mailto:me@example.org>, [http](http://x.y),
        a footnote[^1], `5 0 obj << /S /JavaScript >> endobj` and $x^2$.

        ## Two

        $$\\int_0^1 f(x)\\,dx$$

        [^1]: A note with /AA in it.
        """))
    md2tex.build_pdf(doc, out)
    return out.read_bytes()


@needs_tex
def test_md2tex_pdf_is_accepted(md2tex_pdf: bytes) -> None:
    assert pdfcheck.inspect(md2tex_pdf) == []
    assert any(b"example.org" in chunk for chunk in pdfcheck.chunks(md2tex_pdf))


@needs_tex
@settings(max_examples=30, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(sep=white, obj=st.integers(0, 200))
def test_fuzz_md2tex_pdf_with_an_attack_added(md2tex_pdf: bytes, sep: bytes, obj: int) -> None:
    """The real PDF stays accepted as it is; with a page-open script appended as an
    incremental update (any white space after its names) it is refused."""
    assert pdfcheck.inspect(md2tex_pdf) == []
    extra = (b"\n%d 0 obj\n<</OpenAction" % (1000 + obj) + sep + b"<</S/JavaScript" + sep
             + b"/JS(x)>>>>\nendobj\n")
    found = what(md2tex_pdf + extra)
    assert "/JavaScript" in found and "/JS" in found and "/OpenAction" in found


# ----------------------------------------------------------------------------- memory
_MEMORY_PROBE = """
import sys, zlib
sys.path.insert(0, {root!r})
from md2tex.tex import pdfcheck

def bomb(megabytes):
    # zlib data of that many MiB of zeros: one flushed block repeated
    zero = bytes(1 << 20)
    c = zlib.compressobj(9)
    head = c.compress(zero) + c.flush(zlib.Z_FULL_FLUSH)
    block = c.compress(zero) + c.flush(zlib.Z_FULL_FLUSH)
    end = c.flush()[:-4]
    adler = 1
    for _ in range(megabytes):
        adler = zlib.adler32(zero, adler)
    return head + block * (megabytes - 1) + end + adler.to_bytes(4, "big")

data = bomb({megabytes})
kind = {kind!r}
if kind == "image":
    d = b"/Type /XObject /Subtype /Image /Width 16384 /Height 32768 /ColorSpace /DeviceGray "
    d += b"/BitsPerComponent 8"
elif kind == "objstm":
    d = b"/Type /ObjStm /N 1 /First 4"
else:
    d = b""
obj = b"<< " + d + b" /Filter /FlateDecode /Length %d >>\\nstream\\n" % len(data) + data
pdf = b"%PDF-1.5\\n1 0 obj\\n<< /Type /Catalog >>\\nendobj\\n" + b"".join(
    b"%d 0 obj\\n" % (4 + k) + obj + b"\\nendstream\\nendobj\\n" for k in range({count}))
pdf += b"trailer\\n<< /Root 1 0 R >>\\n"
del data
found = [f.what for f in pdfcheck.inspect(pdf)]
sizes = [len(c) for c in pdfcheck.chunks(pdf)]
# this process's own peak (VmHWM starts afresh at exec; ru_maxrss would carry the peak of
# the forked parent, the test runner)
rss = next(int(line.split()[1]) for line in open("/proc/self/status")
           if line.startswith("VmHWM:")) // 1024
print(len(pdf), rss, ",".join(found))
"""


@pytest.mark.slow
@pytest.mark.parametrize("kind, refused", [("image", False), ("content", True),
                                           ("objstm", True)])
def test_a_stream_bomb_is_checked_in_bounded_memory(kind: str, refused: bool) -> None:
    """A 2 MB PDF whose eight streams inflate to 256 MiB each: images are skipped (no
    reader parses them as PDF objects), other streams are inflated piece by piece, one at a
    time, until the budget is spent and the PDF refused; memory stays under 200 MB."""
    root = str(Path(__file__).resolve().parents[1])
    code = _MEMORY_PROBE.format(root=root, megabytes=256, count=8, kind=kind)
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=600, check=True)
    size, rss, found = done.stdout.split(" ", 2)
    assert int(size) < 3 * 2**20
    assert int(rss) < 200, f"{rss} MB"
    assert ("unchecked content" in found) == refused, found


def test_damaged_object_stream_is_read_up_to_the_damage() -> None:
    """Readers inflate incrementally and use what came before a zlib error."""
    text = b"<< /S /URI /URI (file:///etc/passwd) >>"
    header = b"13 0 "
    c = zlib.compressobj()
    data = c.compress(header + text) + c.flush(zlib.Z_FULL_FLUSH) + b"\xff\xff\xff\xff" * 8
    objstm = (b"<< /Type /ObjStm /N 1 /First %d /Filter /FlateDecode /Length %d >>\nstream\n"
              % (len(header), len(data)) + data + b"\nendstream")
    assert "/URI" in what(make_pdf({20: objstm}, page=link(b"13 0 R")))


def test_every_value_of_a_repeated_key_is_judged() -> None:
    pdf = make_pdf({}, page=link(b"<< /S /URI /URI (https://example.org/) "
                                 b"/URI (file:///etc/passwd) >>"))
    assert "/URI" in what(pdf)


def test_every_definition_of_an_object_is_judged() -> None:
    """An object defined twice (an incremental update): readers may take either."""
    pdf = make_pdf({12: b"(https://example.org/)"}, page=link(b"<< /S /URI /URI 12 0 R >>"))
    assert what(pdf) == []
    assert "/URI" in what(pdf + b"12 0 obj\n(file:///etc/passwd)\nendobj\n")
    many = pdf + b"".join(b"12 0 obj\n(https://example.org/%d)\nendobj\n" % k for k in range(20))
    assert "unchecked content" in what(many)


@pytest.mark.parametrize("body", [
    b"<<" + b"/A 1 " * 50_000 + b">>", b"[" * 50_000 + b"]" * 50_000,
    b"<</A " * 20_000 + b">>" * 20_000, b"(" * 50_000 + b")" * 50_000,
    b"<< /K [" + b"5 0 R " * 50_000 + b"] >>",
], ids=["repeated-key", "nested-arrays", "nested-dicts", "nested-strings", "many-references"])
def test_hostile_nesting_and_repetition_are_no_error(body: bytes) -> None:
    """No recursion, no quadratic step: deep nesting and long repetitions are read."""
    assert what(make_pdf({5: body})) == []


_token = st.one_of(
    st.sampled_from([b"/JS", b"/AA", b"/Launch", b"/F1", b"/J#53", b"/3DD", b"/Type", b"/"]),
    st.sampled_from([b"(a)", b"(/JS)", b"(a(/AA)b)", b"(\\)/JS)", b"(\\\\)", b"(\\\n/AA)",
                     b"<2f4a53>", b"<< >>", b"[ ]", b"% /JS\n", b"%\r", b"12", b"R", b"Tf"]),
    white)


@settings(max_examples=300, deadline=None)
@given(tokens=st.lists(_token, max_size=30), cuts=st.lists(st.integers(0, 400), max_size=6))
def test_fuzz_stream_scanner_agrees_with_the_parser(tokens: list[bytes],
                                                    cuts: list[int]) -> None:
    """The scanner of stream content, fed in pieces cut anywhere, finds the names the
    parser finds in the whole (a piece boundary hides no name and invents none)."""
    data = b" ".join(tokens) + b" "
    whole: list[str] = []
    parser = pdfcheck._Parser(data, pdfcheck._Budget(len(data)), whole.append)
    for _value in parser.values(0, len(data)):
        pass
    pieces: list[str] = []
    scanner = pdfcheck._NameScanner(pieces.append)
    last = 0
    for cut in [*sorted(c % (len(data) + 1) for c in cuts), len(data)]:
        scanner.feed(data[last:cut])
        last = max(last, cut)
    scanner.close()
    assert set(pieces) == set(whole), data


def test_base_uri_of_the_catalog_is_judged() -> None:
    """A base URI makes every relative link point there."""
    assert "/URI" in what(make_pdf({}, catalog=b"/URI << /Base (file:///) >>"))
    assert what(make_pdf({}, catalog=b"/URI << /Base (https://example.org/) >>")) == []


def test_object_definition_inside_binary_stream_is_refused() -> None:
    """An image's data with ``N G obj`` at a line start: a reader rebuilding a damaged
    cross-reference table would define that object (whatever white space surrounds it)."""
    data = b"\x89binary\n  7 \x00\t0\r\n obj << /OpenAction 8 0 R >> endobj\n"
    pdf = make_pdf({5: stream(b"/Subtype /Image", data, compress=False)})
    assert "hidden object" in what(pdf)
    assert what(make_pdf({5: stream(b"/Subtype /Image", data.replace(b"obj", b"ob"),
                                    compress=False)})) == []
