"""A post's remote image (``![x](https://...)``), downloaded as pandoc does, once.

Only when the caller allows it (``ImageResolver.download``: a cache folder is given and
neither ``offline`` nor ``--safe`` is set; the CLI does, a library ``convert()`` without a
``Memo`` never touches the network). Only ``http``/``https`` URLs; at most
``MAX_REDIRECTS`` redirects, each to ``http``/``https`` and never to a loopback, private,
link-local or otherwise special address (the post may name such a host itself, as a web
page may; a public server cannot send md2tex there). The whole download has a deadline
(``TIMEOUT``) and a size limit (``MAX_BYTES``, also when the server announces no length),
and the bytes must be an image md2tex takes from a local file: PNG, JPEG, PDF, GIF or SVG by
their magic bytes, whatever the server's ``Content-Type`` says. A good download is kept in
the cache folder, in a folder named by the SHA-256 of its URL (written atomically; a later
build reads it there and never asks the server again); a failed one is not kept, so the next
build tries again.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import tempfile
import time
import urllib.parse
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

from md2tex.version import __version__

if TYPE_CHECKING:
    import urllib.request
    from http.client import HTTPMessage

#: seconds for the whole download (connecting, redirects and every byte)
TIMEOUT = 10.0
MAX_BYTES = 20 * 1024 * 1024
MAX_REDIRECTS = 5
SCHEMES = ("http", "https")
#: the file types md2tex takes, by their first bytes (SVG: text, see ``image_kind``)
MAGIC = {b"\x89PNG\r\n\x1a\n": ".png", b"\xff\xd8\xff": ".jpg", b"%PDF-": ".pdf",
         b"GIF87a": ".gif", b"GIF89a": ".gif"}
_CHUNK = 64 * 1024


@dataclass(frozen=True)
class Fetched:
    """A download's outcome: the cached file, or the reason there is none (``problem``) and
    whether the bytes came but were no image (``wrong_type``)."""

    path: Path | None
    problem: str = ""
    wrong_type: bool = False


def image_kind(head: bytes) -> str | None:
    """The extension of an image from its first bytes (at least 4 KB for SVG), or None."""
    for magic, ext in MAGIC.items():
        if head.startswith(magic):
            return ext
    text = head.lstrip(b"\xef\xbb\xbf \t\r\n")
    if text.startswith((b"<?xml", b"<svg", b"<!--", b"<!DOCTYPE svg")) and b"<svg" in head:
        return ".svg"
    return None


def cached(folder: Path, url: str) -> Path | None:
    """The file kept for ``url`` in ``folder`` by an earlier download, if any."""
    own = folder / _stem(url)
    for ext in dict.fromkeys(MAGIC.values()) | {".svg": None}:
        path = own / f"image{ext}"
        if path.is_file():
            return path
    return None


def fetch(url: str, folder: Path, *, timeout: float | None = None,
          max_bytes: int | None = None) -> Fetched:
    """``url``'s image in ``folder`` (a private cache folder): the kept copy, else
    downloaded now within the limits above (``TIMEOUT``, ``MAX_BYTES`` unless given).
    Never raises for the network's sake."""
    timeout = TIMEOUT if timeout is None else timeout
    max_bytes = MAX_BYTES if max_bytes is None else max_bytes
    parts = urllib.parse.urlsplit(url)
    scheme = parts.scheme.lower()
    if scheme not in SCHEMES:
        return Fetched(None, f"only http and https images are downloaded, not {scheme}:")
    known = cached(folder, url)
    if known is not None:
        return Fetched(known)
    # the network modules (ssl among them) are imported only when a download happens
    from urllib.error import HTTPError, URLError

    deadline = time.monotonic() + timeout
    try:
        data = _download(url, deadline, max_bytes, _opener(parts.hostname or "").open)
    except _Refused as exc:
        return Fetched(None, str(exc))
    except HTTPError as exc:
        return Fetched(None, f"the server answered {exc.code} {exc.reason}")
    except (URLError, OSError, ValueError) as exc:
        reason = getattr(exc, "reason", exc)
        if isinstance(reason, TimeoutError):
            return Fetched(None, f"no answer within {timeout:g} seconds")
        return Fetched(None, f"download failed: {reason}")
    ext = image_kind(data[:4096])
    if ext is None:
        return Fetched(None, "the download is not a PNG, JPEG, PDF, GIF or SVG image",
                       wrong_type=True)
    return Fetched(_keep(folder, url, ext, data))


class _Refused(Exception):
    """A download stopped by one of the limits (the message says which)."""


def _stem(url: str) -> str:
    return hashlib.sha256(url.encode("utf-8", "surrogatepass")).hexdigest()[:32]


def _download(url: str, deadline: float, max_bytes: int, open_url: Callable[..., Any]) -> bytes:
    import urllib.request

    left = deadline - time.monotonic()
    request = urllib.request.Request(url, headers={"User-Agent": f"md2tex/{__version__}",
                                                   "Accept": "image/*,application/pdf"})
    with open_url(request, timeout=max(0.1, left)) as response:
        length = _announced(response.headers)
        if length is not None and length > max_bytes:
            raise _Refused(f"the image is larger than {max_bytes // 2**20} MB")
        return _read(response, deadline, max_bytes)


def _announced(headers: HTTPMessage) -> int | None:
    try:
        return int(headers.get("Content-Length", ""))
    except ValueError:
        return None


def _read(response: IO[bytes], deadline: float, max_bytes: int) -> bytes:
    chunks: list[bytes] = []
    size = 0
    read = getattr(response, "read1", response.read)  # what has come, not a full chunk
    while True:
        if time.monotonic() > deadline:
            raise _Refused("the download took too long")
        chunk = read(_CHUNK)
        if not chunk:
            return b"".join(chunks)
        size += len(chunk)
        if size > max_bytes:
            raise _Refused(f"the image is larger than {max_bytes // 2**20} MB")
        chunks.append(chunk)


def _keep(folder: Path, url: str, ext: str, data: bytes) -> Path | None:
    """Write the download into the cache atomically, in a folder of its own (an SVG's
    references reach no other download); None if the folder cannot hold it."""
    own = folder / _stem(url)
    target = own / f"image{ext}"
    tmp = None
    try:
        own.mkdir(mode=0o700, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=".remote-", suffix=".part", dir=own)
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        os.replace(tmp, target)
        tmp = None
    except OSError:
        return None
    finally:
        if tmp is not None:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
    return target


def _redirect_target(newurl: str, named_host: str) -> None:
    """Refuse a redirect elsewhere than http/https, or to a special address on a host the
    post did not name itself."""
    target = urllib.parse.urlsplit(newurl)
    if target.scheme.lower() not in SCHEMES:
        raise _Refused(f"a redirect to {target.scheme}: is not followed")
    host = (target.hostname or "").lower()
    if host != named_host.lower() and _special_host(host):
        raise _Refused(f"a redirect to the local or private address {target.hostname} "
                       "is not followed")


def _special_host(host: str) -> bool:
    """Does ``host`` name (or resolve to) an address that is not a public one?"""
    import ipaddress
    import socket

    try:
        infos = socket.getaddrinfo(host, None)
    except (OSError, UnicodeError):
        return False  # the request itself will fail
    for info in infos:
        try:
            address = ipaddress.ip_address(str(info[4][0]).split("%", 1)[0])
        except ValueError:
            continue
        if not address.is_global:
            return True
    return False


def _opener(named_host: str) -> urllib.request.OpenerDirector:
    """urllib with the redirect rules above: at most ``MAX_REDIRECTS``, each checked."""
    import urllib.request

    class Redirects(urllib.request.HTTPRedirectHandler):
        max_redirections = MAX_REDIRECTS

        def redirect_request(self, req: urllib.request.Request, fp: IO[bytes], code: int,
                             msg: str, headers: HTTPMessage, newurl: str
                             ) -> urllib.request.Request | None:
            _redirect_target(newurl, named_host)
            return super().redirect_request(req, fp, code, msg, headers, newurl)

    return urllib.request.build_opener(Redirects())
