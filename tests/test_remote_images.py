"""Remote images (``![x](http://...)``) against a real HTTP server on 127.0.0.1 that the test
starts: downloaded once into the user's cache and typeset, or a placeholder with a warning at
the Markdown line when the server fails, sends no image, too much or too slowly, and never a
request under ``--offline``, ``--safe`` or from a library call without a memo."""

from __future__ import annotations

import contextlib
import http.server
import shutil
import socketserver
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from helpers import make_png, needs_tex, pdf_image_count, run_md2tex

import md2tex
from md2tex.latex import remote
from md2tex.memo import Memo

PROXIES = ("http_proxy", "https_proxy", "all_proxy", "no_proxy")


class _Server(socketserver.ThreadingMixIn, http.server.HTTPServer):
    daemon_threads = True
    #: path -> (status, headers, body, seconds to wait before answering)
    routes: dict[str, tuple[int, dict[str, str], bytes, float]]
    requests: list[str]


class _Handler(http.server.BaseHTTPRequestHandler):
    server: _Server

    def do_GET(self) -> None:
        self.server.requests.append(self.path)
        status, headers, body, delay = self.server.routes.get(
            self.path, (404, {}, b"not here", 0.0))
        time.sleep(delay)
        self.send_response(status)
        for name, value in headers.items():
            self.send_header(name, value)
        if "Content-Length" not in headers and "X-No-Length" not in headers:
            self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        with contextlib.suppress(BrokenPipeError, ConnectionResetError):
            self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture
def server(monkeypatch: pytest.MonkeyPatch) -> Iterator[_Server]:
    for name in PROXIES:
        monkeypatch.delenv(name, raising=False)
        monkeypatch.delenv(name.upper(), raising=False)
    httpd = _Server(("127.0.0.1", 0), _Handler)
    httpd.routes, httpd.requests = {}, []
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield httpd
    httpd.shutdown()
    httpd.server_close()


def _url(server: _Server, path: str) -> str:
    return f"http://127.0.0.1:{server.server_address[1]}{path}"


def _png(tmp_path: Path) -> bytes:
    return make_png(tmp_path / "made.png", 60, 40, (200, 40, 40)).read_bytes()


def _post(tmp_path: Path, url: str) -> Path:
    post = tmp_path / "post.md"
    post.write_text(f"# Remote\n\nSome text.\n\n![a chart]({url})\n", encoding="utf-8")
    return post


def _convert(post: Path, cache: Path, **options: object) -> md2tex.Document:
    return md2tex.convert_file(post, md2tex.Options(**options),  # type: ignore[arg-type]
                               memo=Memo(cache))


def _warnings(doc: md2tex.Document) -> list[tuple[str, int | None, str]]:
    return [(d.code, d.line, d.message) for d in doc.diagnostics
            if d.code.startswith("image-")]


@needs_tex
def test_a_remote_png_is_downloaded_once_and_typeset(server: _Server, tmp_path: Path) -> None:
    server.routes["/chart.png"] = (200, {"Content-Type": "image/png"}, _png(tmp_path), 0.0)
    post = _post(tmp_path, _url(server, "/chart.png"))
    cache = tmp_path / "cache"
    doc = _convert(post, cache)
    assert _warnings(doc) == [] and doc.ok
    assert "\\includegraphics" in doc.tex and "mdimageplaceholder{" not in doc.tex
    (kept,) = (cache / "remote").glob("*/image.png")
    assert kept.read_bytes() == server.routes["/chart.png"][2]
    assert (cache / "remote").stat().st_mode & 0o777 == 0o700
    pdf = md2tex.build_pdf(doc, tmp_path / "post.pdf").pdf
    assert pdf_image_count(pdf) == 1
    # the cache answers the next build: the server is not asked again
    del server.routes["/chart.png"]
    again = _convert(post, cache)
    assert _warnings(again) == [] and server.requests == ["/chart.png"]


def test_a_failed_download_is_a_placeholder_and_a_warning_at_its_line(
        server: _Server, tmp_path: Path) -> None:
    server.routes["/page.png"] = (200, {"Content-Type": "image/png"},
                                  b"<!DOCTYPE html><html><body>moved</body></html>", 0.0)
    cases = {"/missing.png": ("image-remote", "404"),
             "/page.png": ("image-format", "not a PNG, JPEG, PDF, GIF or SVG")}
    for path, (code, words) in cases.items():
        doc = _convert(_post(tmp_path, _url(server, path)), tmp_path / "cache")
        ((found, line, message),) = _warnings(doc)
        assert (found, line) == (code, 5) and words in message, message
        assert "\\mdimageplaceholder{" in doc.tex and "\\includegraphics" not in doc.tex
    assert not list((tmp_path / "cache" / "remote").glob("*/image*"))  # failures not kept


def test_too_large_or_too_slow_downloads_are_stopped(server: _Server, tmp_path: Path,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    big = _png(tmp_path) + b"\0" * 5000
    server.routes["/big.png"] = (200, {}, big, 0.0)
    server.routes["/big-no-length.png"] = (200, {"X-No-Length": "1"}, big, 0.0)
    server.routes["/slow.png"] = (200, {}, _png(tmp_path), 3.0)
    monkeypatch.setattr(remote, "MAX_BYTES", 4000)
    monkeypatch.setattr(remote, "TIMEOUT", 0.5)
    for path, words in (("/big.png", "larger than"), ("/big-no-length.png", "larger than"),
                        ("/slow.png", "within 0.5 seconds")):
        doc = _convert(_post(tmp_path, _url(server, path)), tmp_path / "cache")
        ((code, line, message),) = _warnings(doc)
        assert (code, line) == ("image-remote", 5) and words in message, message


def test_redirects_stay_on_the_named_host_and_on_the_web(server: _Server,
                                                         tmp_path: Path) -> None:
    port = server.server_address[1]
    server.routes["/chart.png"] = (200, {}, _png(tmp_path), 0.0)
    server.routes["/old.png"] = (301, {"Location": "/chart.png"}, b"", 0.0)
    server.routes["/to-localhost.png"] = (
        302, {"Location": f"http://localhost:{port}/chart.png"}, b"", 0.0)
    server.routes["/to-file.png"] = (302, {"Location": "file:///etc/passwd"}, b"", 0.0)
    for n in range(8):  # a chain longer than md2tex follows
        server.routes[f"/hop{n}.png"] = (302, {"Location": f"/hop{n + 1}.png"}, b"", 0.0)
    cache = tmp_path / "cache"
    assert _warnings(_convert(_post(tmp_path, _url(server, "/old.png")), cache)) == []
    for path, words in (("/to-localhost.png", "local or private address"),
                        ("/to-file.png", "file:"), ("/hop0.png", "redirect")):
        ((code, _line, message),) = _warnings(_convert(_post(tmp_path, _url(server, path)),
                                                       cache))
        assert code == "image-remote" and words in message, message
    assert server.requests.count("/chart.png") == 1
    assert "/hop5.png" in server.requests and "/hop7.png" not in server.requests


def test_no_request_offline_under_safe_or_without_a_memo(server: _Server,
                                                         tmp_path: Path) -> None:
    server.routes["/chart.png"] = (200, {}, _png(tmp_path), 0.0)
    post = _post(tmp_path, _url(server, "/chart.png"))
    env = {"XDG_CACHE_HOME": str(tmp_path / "xdg"),
           **{name: "" for name in PROXIES}, **{name.upper(): "" for name in PROXIES}}
    for flag in ("--offline", "--safe"):
        out = run_md2tex([post, "-o", tmp_path / "post.tex", flag], env=env)
        assert out.returncode == 0, out.stderr
        assert "[image-remote]" in out.stderr and "not downloaded" in out.stderr
    config = tmp_path / "settings.yaml"
    config.write_text("offline: true\n", encoding="utf-8")
    out = run_md2tex([post, "-o", tmp_path / "post.tex", "--config", config], env=env)
    assert out.returncode == 0 and "[image-remote]" in out.stderr, out.stderr
    offline = md2tex.convert_file(post, md2tex.Options(offline=True), memo=Memo(tmp_path))
    library = md2tex.convert_file(post)  # no memo: a library call stays off the network
    for doc in (offline, library):
        assert [c for c, _l, _m in _warnings(doc)] == ["image-remote"]
    # md2tex check, a linter, stays off the network
    out = run_md2tex(["check", post], env=env)
    assert out.returncode == 0 and "[image-remote]" in out.stdout, out.stdout + out.stderr
    assert server.requests == []
    # the command line downloads when not told otherwise
    out = run_md2tex([post, "-o", tmp_path / "post.tex"], env=env)
    assert out.returncode == 0 and "image-remote" not in out.stderr, out.stderr
    assert server.requests == ["/chart.png"]


def test_only_images_md2tex_takes_locally_are_kept() -> None:
    heads: dict[bytes, str | None] = {
        b"\x89PNG\r\n\x1a\n....": ".png", b"\xff\xd8\xff\xe0": ".jpg", b"%PDF-1.5": ".pdf",
        b"GIF89a..": ".gif", b"<?xml version='1.0'?>\n<svg xmlns='x'/>": ".svg",
        b"<html><svg/></html>": None, b"MZ\x90\x00": None, b"": None}
    for head, kind in heads.items():
        assert remote.image_kind(head) == kind, head
    ftp = remote.fetch("ftp://example.invalid/x.png", Path("/nonexistent"))
    assert ftp.path is None and "only http and https" in ftp.problem


@pytest.mark.skipif(not shutil.which("rsvg-convert"), reason="needs rsvg-convert")
def test_a_remote_svg_is_converted_like_a_local_one(server: _Server, tmp_path: Path) -> None:
    svg = (b'<?xml version="1.0"?>\n<svg xmlns="http://www.w3.org/2000/svg" width="40" '
           b'height="20"><rect width="40" height="20" fill="#2a6"/>'
           b'<image href="../other/image.png" width="10" height="10"/></svg>\n')
    server.routes["/diagram"] = (200, {"Content-Type": "text/plain"}, svg, 0.0)
    doc = _convert(_post(tmp_path, _url(server, "/diagram")), tmp_path / "cache")
    assert _warnings(doc) == []
    (name,) = doc.resources
    assert name.startswith("md2tex-remote/") and name.endswith(".pdf")
    assert Path(doc.resources[name]).read_bytes().startswith(b"%PDF")
