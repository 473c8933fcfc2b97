"""Remembered results of pure steps whose library costs more to import than the step to run.

Rebuilding a post repeats the same front matter, code blocks and preamble, and parsing them
takes PyYAML, Pygments and Jinja: ~70 ms of imports in every fresh ``md2tex`` process for
about 1 ms of work. A ``Memo`` is a cache folder the caller hands to ``convert``: without
one a conversion reads and writes no cache (a library call stays pure); the CLI passes
``Memo.for_user()``, ``$XDG_CACHE_HOME/md2tex`` (or ``~/.cache/...``). In it, each result is
a JSON file in ``memo/KIND/``, named by the SHA-256 of everything it depends on: the step's
inputs, md2tex's version and the library's own source (``library_id``), so an upgrade is a
miss; ``images/`` keeps converted SVG and GIF images, ``jinja/`` the compiled template.
Only a folder that is this user's and writable by nobody else is used (what comes back
becomes LaTeX); anything unreadable or malformed is a miss; files are replaced atomically;
beyond ``MAX_FILES`` per kind the oldest are removed now and then. ``MD2TEX_MEMO=0`` turns
the remembered results of ``Memo.for_user()`` off. Values are JSON plus dates and times, and
a value that does not come back from JSON exactly as it was (types included) is not stored.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import json
import os
import random
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any, TypeVar, cast

from md2tex.version import __version__

ENV = "MD2TEX_MEMO"
#: bump when what is stored changes shape
SCHEMA = "1"
MAX_FILES = 4000
#: a put prunes its kind's folder with this probability (listing it costs a few ms)
_PRUNE_CHANCE = 0.02
_MAX_BYTES = 4 << 20
_DATE, _DATETIME = "\0date", "\0datetime"
T = TypeVar("T")


def user_cache_dir(name: str) -> Path:
    """md2tex's cache folder ``NAME``: ``$XDG_CACHE_HOME/md2tex/NAME`` (or ``~/.cache/...``)."""
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "md2tex" / name


def _private(directory: Path) -> Path | None:
    try:
        directory.mkdir(parents=True, exist_ok=True, mode=0o700)
        info = directory.stat()
    except OSError:
        return None
    if info.st_uid != os.getuid() or info.st_mode & 0o022:
        return None
    return directory


def turned_off(variable: str) -> bool:
    """Is the on-by-default switch ``variable`` (``MD2TEX_MEMO``, ``MD2TEX_EARLY_TEX``) set
    to 0, no, off or false?"""
    return os.environ.get(variable, "1").strip().lower() in ("0", "no", "off", "false")


@cache
def library_id(module: str) -> str | None:
    """Identifies an installed library (or one of md2tex's own modules) without importing
    it: the hash of its source file (a library's top-level one carries its version). None
    if it is not installed."""
    import importlib.util

    try:
        spec = importlib.util.find_spec(module)
        origin = spec.origin if spec is not None else None
        if origin is None:
            return None
        return hashlib.sha256(Path(origin).read_bytes()).hexdigest()[:16]
    except (ImportError, OSError, ValueError):
        return None


def name_for(library: str, module: str, *parts: str) -> str | None:
    """The name of what md2tex's ``module`` made with ``library`` from exactly ``parts``
    (both sources are part of it: a change to either is a miss); None if the library is not
    installed."""
    library_source = library_id(library)
    if library_source is None:
        return None
    return key(*parts, library_source, library_id(module) or "")


def key(*parts: str) -> str:
    """The name of a result that depends on exactly ``parts`` (and md2tex's version)."""
    digest = hashlib.sha256()
    for part in (SCHEMA, __version__, *parts):
        digest.update(part.encode("utf-8", "surrogatepass"))
        digest.update(b"\0\1")
    return digest.hexdigest()


@dataclass(frozen=True)
class Memo:
    """md2tex's cache folder (``memo/``, ``images/``, ``jinja/`` in it), handed explicitly to
    the steps that may use it. ``entries`` False: no remembered results (``MD2TEX_MEMO=0``),
    converted images and the compiled template are still kept."""

    folder: Path
    entries: bool = True

    @classmethod
    def for_user(cls) -> Memo:
        """The user's cache folder, what the CLI uses (``MD2TEX_MEMO=0``: no entries)."""
        return cls(user_cache_dir(""), entries=not turned_off(ENV))

    def private(self, name: str) -> Path | None:
        """The folder ``name`` in it, made if missing, but only if it is this user's and
        nobody else can write there (for caches whose content becomes code or LaTeX)."""
        return _private(self.folder / name)

    def recall(self, kind: str, name: str | None, make: Callable[[], T],
               accept: Callable[[Any], bool] = lambda value: value is not None) -> T:
        """The value remembered under ``name`` if ``accept`` takes it; else ``make()``'s,
        which is then remembered. ``name`` None (see ``name_for``): nothing is remembered."""
        if name is not None:
            value = self.get(kind, name)
            if accept(value):
                return cast(T, value)
        made = make()
        if name is not None:
            self.put(kind, name, made)
        return made

    def get(self, kind: str, name: str) -> Any | None:
        """The value stored under ``name``, or None."""
        root = self._root()
        if root is None:
            return None
        try:
            with (root / kind / f"{name}.json").open("rb") as fh:
                data = json.loads(fh.read(_MAX_BYTES + 1))
        except (OSError, ValueError):
            return None
        if not isinstance(data, dict) or data.get("key") != name or "value" not in data:
            return None
        try:
            return _decode(data["value"])
        except (TypeError, ValueError):
            return None

    def put(self, kind: str, name: str, value: Any) -> None:
        """Store ``value`` under ``name`` (silently not, if it cannot be stored exactly)."""
        root = self._root()
        if root is None:
            return
        try:
            encoded = _encode(value)
            if not _same(_decode(encoded), value):
                return
            data = json.dumps({"key": name, "value": encoded}, ensure_ascii=False,
                              allow_nan=False).encode("utf-8", "surrogatepass")
        except (TypeError, ValueError, UnicodeError):
            return
        if len(data) > _MAX_BYTES:
            return
        folder = root / kind
        tmp = None
        try:
            folder.mkdir(exist_ok=True, mode=0o700)
            fd, tmp = tempfile.mkstemp(prefix=".memo-", suffix=".part", dir=folder)
            with os.fdopen(fd, "wb") as fh:
                fh.write(data)
            os.replace(tmp, folder / f"{name}.json")
            tmp = None
            if random.random() < _PRUNE_CHANCE:
                _prune(folder)
        except OSError:
            pass
        finally:
            if tmp is not None:
                with contextlib.suppress(OSError):
                    os.unlink(tmp)

    def _root(self) -> Path | None:
        # checked on every use (two system calls): a folder that became writable by others
        # since the last entry is not trusted
        return self.private("memo") if self.entries else None


def _prune(folder: Path) -> None:
    entries = []
    for path in folder.glob("*.json"):
        with contextlib.suppress(OSError):
            entries.append((path.stat().st_mtime, path))
    entries.sort(reverse=True)
    for _mtime, path in entries[MAX_FILES:]:
        with contextlib.suppress(OSError):
            path.unlink()


def _encode(value: Any) -> Any:
    if isinstance(value, dt.datetime):
        return {_DATETIME: value.isoformat()}
    if isinstance(value, dt.date):
        return {_DATE: value.isoformat()}
    if isinstance(value, dict):
        if not all(isinstance(k, str) and k not in (_DATE, _DATETIME) for k in value):
            raise TypeError("keys must be text")
        return {k: _encode(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_encode(v) for v in value]
    if value is None or isinstance(value, (str, bool, int, float)):
        return value
    raise TypeError(f"cannot store a {type(value).__name__}")


def _decode(value: Any) -> Any:
    if isinstance(value, dict):
        if len(value) == 1 and _DATETIME in value:
            return dt.datetime.fromisoformat(value[_DATETIME])
        if len(value) == 1 and _DATE in value:
            return dt.date.fromisoformat(value[_DATE])
        return {k: _decode(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_decode(v) for v in value]
    return value


def _same(a: Any, b: Any) -> bool:
    """Equal, with the same types all the way down (``1 == 1.0 == True`` is not enough)."""
    if type(a) is not type(b):
        return False
    if isinstance(a, dict):
        return list(a) == list(b) and all(_same(a[k], b[k]) for k in a)
    if isinstance(a, list):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, dt.datetime) and a.utcoffset() != b.utcoffset():
        return False
    equal: bool = a == b
    return equal
