"""Writing outputs: atomic where a file is replaced, never through a link md2tex was not given.

Three rules, one per kind of output name:

- a name the user gave (``-o``, ``build_pdf(doc, path)``; ``follow=True``) is written
  *through* what is there: a symlink's target (a regular target is replaced atomically, the
  link stays), a FIFO, a terminal, ``/dev/null``, ``/dev/stdout`` (a plain write: a device or
  anything under ``/dev`` or ``/proc`` is never replaced); a folder is refused;
- a name md2tex derived (``post.md`` -> ``post.pdf``, the ``.tex`` of ``--keep-tex``;
  ``follow=False``) must be absent or a regular file: a symlink, folder, FIFO or device
  there is refused, since the post's folder may come from someone else;
- a batch output (``within=OUTDIR``): every folder below ``OUTDIR`` is created or opened
  without following symlinks (``O_NOFOLLOW`` on directory fds, one component at a time), the
  file is made and renamed inside that folder's fd, and a symlink, FIFO or folder in the
  way is refused. ``OUTDIR`` itself is the user's and may be a link.

Whatever is replaced is replaced in one rename of a fully written, fsynced temp file beside
it: on any failure the old file is intact and no partial file remains.
"""

from __future__ import annotations

import contextlib
import errno
import os
import stat
import tempfile
from pathlib import Path, PurePath

#: paths that are never a plain file to replace, whatever ``stat`` says (``/dev/stdout``
#: may lead to a regular file the shell opened: it is written, not replaced)
_STREAM_PREFIXES = ("/dev/", "/proc/")
_NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)
_DIRECTORY = getattr(os, "O_DIRECTORY", 0)
_CLOEXEC = getattr(os, "O_CLOEXEC", 0)


class OutputRefused(OSError):
    """md2tex will not write there (a link it was not given, a folder, a device to replace);
    ``strerror`` says why."""

    def __init__(self, path: str | Path, why: str, code: int = errno.EPERM) -> None:
        super().__init__(code, why, str(path))


def write_atomic(path: Path, data: bytes) -> None:
    """Replace ``path`` itself (a symlink there is replaced, not followed) with ``data`` in
    one rename; on any failure the old file is intact. For md2tex's own files (caches,
    reports); outputs go through ``write_output``."""
    path = Path(path)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".part", dir=path.parent or ".")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


def is_stream_name(path: str | Path) -> bool:
    """Is ``path`` a stream's name (``/dev/stdout``, ``/proc/self/fd/1``), never a file with
    siblings md2tex may add (``--keep-tex``'s .tex beside it)?"""
    return os.path.abspath(path).startswith(_STREAM_PREFIXES)


def check_output(path: str | Path, *, follow: bool = True,
                 within: str | Path | None = None) -> None:
    """Raise ``OSError`` (``OutputRefused`` for md2tex's own rules) if ``write_output`` with
    the same arguments is sure to fail; called before TeX runs. With ``within`` the missing
    folders below it are created (without following links)."""
    if within is not None:
        dir_fd, name = _open_parent(Path(within), _relative(path, within))
        try:
            _check_entry(dir_fd, name, path)
        finally:
            os.close(dir_fd)
        return
    kind, target = _target(Path(path), follow)
    if kind == "stream":
        return
    parent = target.parent if str(target.parent) else Path(".")
    if not parent.is_dir():
        raise OutputRefused(path, f"the folder {parent} does not exist", errno.ENOENT)
    if not os.access(parent, os.W_OK | os.X_OK):
        raise OutputRefused(path, f"the folder {parent} is not writable", errno.EACCES)


def write_output(path: str | Path, data: bytes, *, follow: bool = True,
                 within: str | Path | None = None) -> None:
    """Write an output file by the rules above (``follow``: the user gave this name;
    ``within``: a batch output folder, ``path`` lies below it)."""
    if within is not None:
        _write_within(Path(within), _relative(path, within), data, path)
        return
    kind, target = _target(Path(path), follow)
    if kind == "stream":
        _write_through(target, data)
    else:
        write_atomic(target, data)


def _target(path: Path, follow: bool) -> tuple[str, Path]:
    """("file", the path to replace atomically) or ("stream", the path to write into)."""
    try:
        found: os.stat_result | None = os.lstat(path)
    except FileNotFoundError:
        found = None
    if found is not None and stat.S_ISLNK(found.st_mode):
        if not follow:
            raise OutputRefused(path, "it is a symbolic link, and md2tex writes through a "
                                "link only when it is named with -o", errno.ELOOP)
        try:
            found = os.stat(path)
        except FileNotFoundError:  # a dangling link: its target is created
            return "file", Path(os.path.realpath(path))
    if found is None:
        return "file", path
    if stat.S_ISDIR(found.st_mode):
        raise OutputRefused(path, "it is a folder", errno.EISDIR)
    stream = os.path.abspath(path).startswith(_STREAM_PREFIXES) \
        or os.path.realpath(path).startswith(_STREAM_PREFIXES)
    if not stat.S_ISREG(found.st_mode) or stream:
        if not follow:
            raise OutputRefused(path, "it is not a regular file (a device, FIFO or socket)")
        return "stream", path
    return "file", Path(os.path.realpath(path)) if follow else path


def _write_through(path: Path, data: bytes) -> None:
    """A plain write into what is there (device, FIFO, terminal, ``/dev/stdout``): never
    created, never replaced; a regular file reached this way is truncated first."""
    fd = os.open(path, os.O_WRONLY | os.O_NOCTTY | _CLOEXEC)
    with os.fdopen(fd, "wb") as fh:
        if stat.S_ISREG(os.fstat(fd).st_mode):
            os.ftruncate(fd, 0)
        fh.write(data)


def _relative(path: str | Path, within: str | Path) -> PurePath:
    rel = PurePath(os.path.normpath(path)).relative_to(os.path.normpath(within))
    if not rel.parts or ".." in rel.parts:
        raise OutputRefused(path, f"it is not inside {within}")
    return rel


def _open_parent(root: Path, rel: PurePath) -> tuple[int, str]:
    """A directory fd of ``root / rel.parent`` reached one real folder at a time (created
    when missing, a symlink or non-folder on the way refused), and the file's name."""
    root.mkdir(parents=True, exist_ok=True)
    fd = os.open(root, os.O_RDONLY | _DIRECTORY | _CLOEXEC)
    try:
        where = root
        for part in rel.parts[:-1]:
            where = where / part
            with contextlib.suppress(FileExistsError):
                os.mkdir(part, 0o777, dir_fd=fd)
            try:
                child = os.open(part, os.O_RDONLY | _DIRECTORY | _NOFOLLOW | _CLOEXEC,
                                dir_fd=fd)
            except OSError as exc:
                if exc.errno in (errno.ELOOP, errno.ENOTDIR):
                    raise OutputRefused(where, f"{where} is a symbolic link or not a folder "
                                        "(batch outputs are written only into real folders "
                                        "below the output folder)", exc.errno) from None
                raise
            os.close(fd)
            fd = child
    except BaseException:
        os.close(fd)
        raise
    return fd, rel.parts[-1]


def _check_entry(dir_fd: int, name: str, path: str | Path) -> None:
    """What is at ``name`` in ``dir_fd`` may be replaced: nothing, or a regular file."""
    try:
        found = os.stat(name, dir_fd=dir_fd, follow_symlinks=False)
    except FileNotFoundError:
        return
    if stat.S_ISLNK(found.st_mode):
        raise OutputRefused(path, "it is a symbolic link; batch outputs never write "
                            "through links", errno.ELOOP)
    if stat.S_ISDIR(found.st_mode):
        raise OutputRefused(path, "it is a folder", errno.EISDIR)
    if not stat.S_ISREG(found.st_mode):
        raise OutputRefused(path, "it is not a regular file (a device, FIFO or socket)")


def _write_within(root: Path, rel: PurePath, data: bytes, path: str | Path) -> None:
    dir_fd, name = _open_parent(root, rel)
    tmp = f".{name}.{os.getpid()}.{os.urandom(4).hex()}.part"
    try:
        _check_entry(dir_fd, name, path)
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | _NOFOLLOW | _CLOEXEC, 0o644,
                     dir_fd=dir_fd)
        try:
            with os.fdopen(fd, "wb") as fh:
                fh.write(data)
                fh.flush()
                os.fsync(fh.fileno())
                os.fchmod(fh.fileno(), 0o644)
            os.replace(tmp, name, src_dir_fd=dir_fd, dst_dir_fd=dir_fd)
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(tmp, dir_fd=dir_fd)
            raise
    finally:
        os.close(dir_fd)
