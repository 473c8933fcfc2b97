"""``md2tex watch``: one warm process that rebuilds a post (or every post of a folder) on
each save.

The edit-and-rebuild loop is where a writer waits for md2tex, and most of a fresh process's
time goes to starting Python, importing the parser, Jinja and Pygments, and starting TeX with
the preamble's format. A process that stays up pays those once: the imports are loaded, the
formats are in the cache, and after each build ``warmtex`` starts the next TeX run with the
same format and predocument, so that a save only costs the conversion and the body's pages.

Changes are found by polling each post's ``stat`` (no dependency, works on every filesystem,
network mounts included); a change is built once the file has stopped changing for a few
milliseconds (``SETTLE``), so an editor's truncate-then-write is not built half-written (a
file still changing is looked at again on the next poll). On Linux the loop also sleeps on
inotify (``_Saves``): a file written and closed, or moved in, wakes it at once and is built
without the settling wait. Every output is
written atomically by the build; a post with errors leaves the previous PDF in place.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import select
import struct
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from md2tex.diagnostics import Md2TexError, OutputError
from md2tex.document import Document
from md2tex.options import Options

if TYPE_CHECKING:
    from md2tex.tex.warmtex import EarlyTex

#: (post, output) pairs to watch, asked again every ``RESCAN`` seconds (a folder gains posts)
Targets = Callable[[], Iterable[tuple[Path, Path]]]
RESCAN = 1.0
#: a changed file is built once it has not changed again for this long (an editor's
#: truncate-then-write is not built half-written)
SETTLE = 0.005
#: a file's identity and content stamp: a change of any part is a save
Stamp = tuple[int, int, int]


@dataclass
class Event:
    """One build the loop made: the post, its output, and what came of it."""

    source: Path
    output: Path
    document: Document | None = None
    error: Md2TexError | None = None
    seconds: float = 0.0


@dataclass
class _Watched:
    output: Path
    stamp: Stamp | None = None
    #: the TeX process started for this post's next build (``warmtex``)
    warm: EarlyTex | None = None
    pending: Stamp | None = field(default=None)


#: inotify: a file written and closed, a file moved into the folder; one event's header
_IN_CLOSE_WRITE, _IN_MOVED_TO = 0x08, 0x80
_EVENT = struct.Struct("iIII")


class _Saves:
    """The files just written and closed (or moved in) in the watched folders, from Linux's
    inotify through libc; without it (another system, the watch limit reached) ``wait``
    just sleeps and the polling finds every change."""

    def __init__(self) -> None:
        self.fd = -1
        self.folders: dict[int, Path] = {}
        self.followed: set[Path] = set()
        try:
            self._libc = ctypes.CDLL(None, use_errno=True)
            fd = self._libc.inotify_init1(os.O_NONBLOCK | os.O_CLOEXEC)
        except (OSError, AttributeError):
            return
        self.fd = fd if isinstance(fd, int) and fd >= 0 else -1

    def follow(self, folder: Path) -> None:
        if self.fd < 0 or folder in self.followed:
            return
        self.followed.add(folder)
        wd = self._libc.inotify_add_watch(self.fd, os.fsencode(folder),
                                          _IN_CLOSE_WRITE | _IN_MOVED_TO)
        if isinstance(wd, int) and wd >= 0:
            self.folders[wd] = folder

    def wait(self, timeout: float) -> set[Path]:
        """Sleep at most ``timeout`` seconds; the files saved meanwhile."""
        if self.fd < 0:
            time.sleep(timeout)
            return set()
        if not select.select([self.fd], [], [], timeout)[0]:
            return set()
        try:
            data = os.read(self.fd, 1 << 16)
        except OSError:
            return set()
        saved: set[Path] = set()
        pos = 0
        while pos + _EVENT.size <= len(data):
            wd, _mask, _cookie, length = _EVENT.unpack_from(data, pos)
            pos += _EVENT.size
            name = data[pos:pos + length].split(b"\0", 1)[0]
            pos += length
            if wd in self.folders and name:
                saved.add(self.folders[wd] / os.fsdecode(name))
        return saved

    def close(self) -> None:
        if self.fd >= 0:
            os.close(self.fd)
            self.fd = -1


def _stamp(path: Path) -> Stamp | None:
    try:
        st = os.stat(path)
    except OSError:
        return None
    return (st.st_mtime_ns, st.st_size, st.st_ino)


def build_once(source: Path, output: Path, options: Options, warm: EarlyTex | None = None
               ) -> tuple[Event, EarlyTex | None]:
    """Convert ``source`` and write ``output`` (.pdf, else LaTeX); returns the event and the
    TeX process started for the next build of the same post, if any."""
    from md2tex.memo import Memo
    from md2tex.pipeline import convert_file
    from md2tex.tex import warmtex
    from md2tex.tex.build import build_pdf
    from md2tex.tex.output import write_atomic

    started = time.monotonic()
    event = Event(source, output)
    next_warm = None
    try:
        output.parent.mkdir(parents=True, exist_ok=True)
        document = event.document = convert_file(source, options, memo=Memo.for_user())
        if document.ok:
            if output.suffix.lower() == ".pdf":
                early, warm = warm, None
                build_pdf(document, output, early=early)
                fonts = early.fonts if early is not None else ()
                next_warm = warmtex.start_for(document, options.timeout, fonts)
            else:
                write_atomic(output, document.tex.encode("utf-8"))
    except Md2TexError as exc:
        event.error = exc
    except OSError as exc:
        event.error = OutputError(f"{output}: cannot write: {exc.strerror or exc}")
    finally:
        if warm is not None:
            warm.discard()
    event.seconds = time.monotonic() - started
    return event, next_warm


def watch(targets: Targets, options: Options, on_event: Callable[[Event], None], *,
          interval: float = 0.01, stop: Callable[[], bool] = lambda: False) -> None:
    """Build every target now, then again after each save, until ``stop()`` is true or
    Ctrl-C (every waiting TeX process is ended on the way out)."""
    watched: dict[Path, _Watched] = {}
    next_scan = 0.0
    saves = _Saves()
    saved: set[Path] = set()
    try:
        while not stop():
            now = time.monotonic()
            if now >= next_scan:
                _rescan(targets, watched, saves)
                next_scan = now + RESCAN
            for source, state in watched.items():
                stamp = _stamp(source)
                if stamp is None or stamp == state.stamp:
                    state.pending = None
                    continue
                if stamp != state.pending and state.stamp is not None \
                        and source not in saved:
                    time.sleep(SETTLE)  # changed since the last look: still being written?
                    if _stamp(source) != stamp:
                        state.pending = stamp
                        continue
                state.stamp, state.pending = stamp, None
                event, state.warm = build_once(source, state.output, options, state.warm)
                on_event(event)
            saved = saves.wait(interval)
    finally:
        saves.close()
        for state in watched.values():
            if state.warm is not None:
                with contextlib.suppress(Exception):
                    state.warm.discard()


def _rescan(targets: Targets, watched: dict[Path, _Watched], saves: _Saves) -> None:
    current = dict(targets())
    for gone in set(watched) - set(current):
        state = watched.pop(gone)
        if state.warm is not None:
            state.warm.discard()
    for source, output in current.items():
        if source not in watched:
            watched[source] = _Watched(output)
            saves.follow(source.parent)
