"""Precompiled formats: load a preamble's packages once, not once per post.

The generated .tex is split after its last package-loading line: the prefix
(``\\documentclass``, ``\\usepackage`` and the template's definitions between them: the slow
part of a pass, 75-85% of it) is dumped, the rest (hyperref metadata, title...) is not. The
prefix is dumped with ``pdflatex -ini "&pdflatex" prefix.tex`` + ``\\dump`` into a format keyed
by the prefix's hash and the TeX Live version, and cached uncompressed (TeX loads it twice as
fast) in the user cache dir (``$XDG_CACHE_HOME/md2tex`` or ``~/.cache/md2tex``). The version
(the engine's ``--version`` line and the base format ``kpsewhich`` finds) is asked once per
TeX installation and remembered there; the base format's identity is read on every run. A post whose
prefix has a format is compiled with ``-fmt=NAME`` and a body file in which the prefix lines
are blank, so TeX's line numbers stay those of the full .tex and errors still map to Markdown
lines.

A new format is trusted only after it has typeset the post that created it to the same PDF
text and metadata as the normal build; otherwise a ``.bad`` marker stops further attempts.

TeX never gets a writable name for a format: it loads the cached file by its absolute path
(``-fmt=/abs/NAME.fmt``), which ``openout_any=p`` forbids it to write, and under bubblewrap
that file is bound read-only into the sandbox (``process.start_engine``). A post that
``\\openout``s the format's name writes a new file in its own work dir, never the cache. The
SHA-256 of a format is taken right after the dump, must be the same after the check build and
after the copy into the cache, and is kept in ``NAME.sha256`` with the file's identity
(inode, size, mtime, ctime); a format whose identity changed is hashed again before use, and
one whose hash differs is removed (the next normal build makes it again).
Everything here fails silently (logged at debug level): the normal build is always the
fallback. pdflatex and xelatex are supported (LuaTeX formats differ).

XeTeX cannot dump a format once an OpenType ("native") font has been loaded, and LaTeX loads
Latin Modern as soon as ``\\documentclass`` sets the font size. So an xelatex format holds the
package code only: its ini run borrows Latin Modern's TFM twins (``ec-lmr10`` for
``lmroman10-regular``: the same metrics) while the packages load, then restores the real font
shapes and forgets the fonts it loaded, so the document loads the OpenType fonts at run time.
Font set-up lines (``\\setmainfont``, ``\\IfFontExistsTF``, ``\\setCJKmainfont``...) stay in the
body file at their own line numbers; they run after the packages, when the body starts. A
preamble that still loads some other native font fails to dump and is marked ``.bad``.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
import re
import shutil
import subprocess
import tempfile
import threading
import time
from functools import lru_cache
from pathlib import Path
from stat import S_ISREG
from typing import NamedTuple

from md2tex import texengine
from md2tex.diagnostics import Md2TexError
from md2tex.document import Document
from md2tex.memo import user_cache_dir
from md2tex.tex import passes, private_dir, process
from md2tex.tex.output import write_atomic

log = logging.getLogger(__name__)

#: bump when the way formats are made changes
FORMAT_VERSION = "3"
#: the engines whose preamble formats md2tex dumps (``texengine``: LuaTeX formats differ)
ENGINES = tuple(e.name for e in texengine.ENGINES.values() if e.dumps_formats)
#: xelatex: font set-up statements, kept in the body (they load OpenType fonts)
_FONT_SETUP = re.compile(r"\\(?:IfFontExistsTF|setmainfont|setsansfont|setmonofont|setmathfont|"
                         r"newfontfamily|newfontface|defaultfontfeatures|setCJK\w*font|"
                         r"newCJKfontfamily|setCJKfamilyfont|xeCJKsetup)(?![A-Za-z])")
#: xelatex: Latin Modern shapes (TU encoding) and their TFM twins while the packages load
_TFM_TWINS = {
    "m/n": "<-5.5> ec-lmr5 <5.5-6.5> ec-lmr6 <6.5-7.5> ec-lmr7 <7.5-8.5> ec-lmr8 "
           "<8.5-9.5> ec-lmr9 <9.5-11> ec-lmr10 <11-15> ec-lmr12 <15-> ec-lmr17",
    "m/it": "<-7.5> ec-lmri7 <7.5-8.5> ec-lmri8 <8.5-9.5> ec-lmri9 <9.5-11> ec-lmri10 "
            "<11-> ec-lmri12",
    "bx/n": "<-5.5> ec-lmbx5 <5.5-6.5> ec-lmbx6 <6.5-7.5> ec-lmbx7 <7.5-8.5> ec-lmbx8 "
            "<8.5-9.5> ec-lmbx9 <9.5-11> ec-lmbx10 <11-> ec-lmbx12",
    "bx/it": "<-> ec-lmbxi10",
}
#: formats kept in the cache (least recently used are removed beyond either limit; a LaTeX
#: format is ~19 MB uncompressed, an XeTeX one ~25 MB)
MAX_FORMATS = 24
MAX_CACHE_BYTES = 600 << 20
_DUMPABLE = re.compile(r"\\(?:documentclass|usepackage|RequirePackage|PassOptionsToPackage)"
                       r"\b[^%]*$")
_VOLATILE_INFO = re.compile(r"^(?:CreationDate|ModDate|File size):.*$", re.M)


class Split(NamedTuple):
    """A .tex split for a dumped format: ``prefix`` goes into the format, ``body`` is the
    file compiled with it (same line count as the whole, prefix lines left blank)."""

    prefix: str
    body: str
    lines: int


class FormatUse(NamedTuple):
    name: str
    path: Path
    args: tuple[str, ...]
    #: the body file written for it (prefix lines blank)
    body: str


def cache_dir() -> Path:
    """Where formats live: ``$XDG_CACHE_HOME/md2tex/formats`` (or ``~/.cache/...``)."""
    return user_cache_dir("formats")


def split_tex(tex: str, engine: str = texengine.DEFAULT) -> Split | None:
    """Split after the last package-loading line of the preamble (template definitions
    between packages go into the format too; post-specific lines such as ``\\hypersetup``
    with the title come after the packages and stay out). Under xelatex, font set-up
    statements before that line stay in the body, in place. None if there is no
    ``\\documentclass`` or no safe place to split."""
    head, sep, _rest = tex.partition("\\begin{document}")
    if not sep:
        return None
    lines = tex.split("\n")
    preamble = head.count("\n")
    kept = _font_setup_lines(lines[:preamble]) if texengine.engine(engine).fonts_after_format \
        else set()
    cuts = [i for i, line in enumerate(lines[:preamble])
            if i not in kept and _DUMPABLE.match(line.strip())]
    if not any(lines[i].lstrip().startswith("\\documentclass") for i in cuts):
        return None
    for end in reversed([i + 1 for i in cuts]):
        dumped = [i for i in range(end) if i not in kept]
        prefix = "\n".join(lines[i] for i in dumped)
        line = lines[end - 1]
        if prefix.count("{") == prefix.count("}") and line.count("[") == line.count("]") \
                and any(lines[i].lstrip().startswith("\\documentclass") for i in dumped):
            body = ["" if i < end and i not in kept else text for i, text in enumerate(lines)]
            return Split(prefix + "\n", "\n".join(body), end)
    return None


def _font_setup_lines(preamble: list[str]) -> set[int]:
    """Indices of the lines of font set-up statements (a statement runs until its braces
    balance, e.g. a three-line ``\\IfFontExistsTF``)."""
    kept: set[int] = set()
    i = 0
    while i < len(preamble):
        if not _FONT_SETUP.match(preamble[i].lstrip()):
            i += 1
            continue
        depth = 0
        while i < len(preamble):
            depth += preamble[i].count("{") - preamble[i].count("}")
            kept.add(i)
            i += 1
            if depth <= 0:
                break
    return kept


def ini_text(engine: str, split: Split) -> str:
    """What the ini run reads: the prefix, wrapped for xelatex in the TFM-twin set-up."""
    if not texengine.engine(engine).fonts_after_format:
        return split.prefix + "\\dump\n"
    save = "\\expandafter\\let\\csname {0}\\expandafter\\endcsname\\csname {1}\\endcsname"
    begin = ["\\makeatletter"]
    end = ["\\makeatletter"]
    for shape, spec in _TFM_TWINS.items():
        series, form = shape.split("/")
        begin += [save.format(f"mdfmt@TU/lmr/{shape}", f"TU/lmr/{shape}"),
                  f"\\DeclareFontShape{{TU}}{{lmr}}{{{series}}}{{{form}}}{{{spec}}}{{}}"]
        end.append(save.format(f"TU/lmr/{shape}", f"mdfmt@TU/lmr/{shape}"))
    # remember every font NFSS loads, to forget them before the dump
    begin += ["\\global\\let\\mdfmt@loaded\\@empty",
              "\\let\\mdfmt@define@newfont\\define@newfont",
              "\\def\\define@newfont{\\mdfmt@define@newfont\\xdef\\mdfmt@loaded{\\unexpanded"
              "\\expandafter{\\mdfmt@loaded}\\noexpand\\mdfmt@forget\\expandafter\\noexpand"
              "\\font@name}}",
              "\\makeatother"]
    end += ["\\let\\define@newfont\\mdfmt@define@newfont",
            "\\def\\mdfmt@forget#1{\\global\\let#1\\relax}",
            "\\mdfmt@loaded",
            "\\makeatother",
            "\\dump"]
    return "\n".join(begin) + "\n" + split.prefix + "\n".join(end) + "\n"


_version_lock = threading.Lock()


def tex_version(engine: str) -> str | None:
    """The engine's version and its base format's identity: a TeX Live update changes it.
    Asked once per process and engine (a second caller waits for the first)."""
    with _version_lock:
        return _tex_version(engine)


#: the system's TeX configuration: what ``kpsewhich`` reads to find the base format
_TEXMF_CNF = ("/etc/texmf/web2c/texmf.cnf", "/usr/share/texlive/web2c/texmf.cnf",
              "/usr/share/texmf/web2c/texmf.cnf")


@lru_cache(maxsize=8)
def _tex_version(engine: str) -> str | None:
    exe = shutil.which(engine)
    if exe is None:
        return None
    asked = _remembered_answer(engine, exe)
    if asked is None:
        asked = _ask_tex(engine, exe)
        if asked is None:
            return None
        _remember_answer(engine, exe, asked)
    first, fmt = asked
    try:
        stat = os.stat(fmt) if fmt else None
    except OSError:
        return None
    ident = f"{fmt}:{stat.st_size}:{stat.st_mtime_ns}" if stat else "no-base-format"
    return f"{first}|{ident}"


def _ask_tex(engine: str, exe: str) -> tuple[str, str] | None:
    """The engine's version line and its base format's path, from the engine and kpsewhich."""
    env = {"PATH": os.pathsep.join([str(Path(exe).parent), "/usr/bin", "/bin"]),
           "HOME": tempfile.gettempdir(), "LANG": "C.UTF-8"}
    try:
        version = subprocess.run([exe, "--version"], capture_output=True, text=True,
                                 timeout=20, env=env, stdin=subprocess.DEVNULL).stdout
        row = texengine.ENGINES.get(engine)
        base_engine = row.program if row else engine
        fmt = subprocess.run(["kpsewhich", f"-engine={base_engine}", f"{engine}.fmt"],
                             capture_output=True, text=True, timeout=20, env=env,
                             stdin=subprocess.DEVNULL).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return None
    first = version.splitlines()[0] if version else ""
    return (first, fmt) if first else None


def _installation(engine: str, exe: str) -> list[object]:
    """What ``_ask_tex``'s answer depends on: the engine binary and the TeX configuration
    files (identities: any update of them changes it). The base format itself is looked at
    on every run (``_tex_version``)."""
    real = Path(exe).resolve()
    tree = real.parents[2] if len(real.parents) > 3 else real.parent  # TeX Live's own tree
    out: list[object] = [engine, str(real)]
    for path in (real, *map(Path, _TEXMF_CNF), tree / "texmf.cnf",
                 tree / "texmf-dist" / "web2c" / "texmf.cnf"):
        try:
            out.append(_identity(os.stat(path)))
        except OSError:
            out.append(None)
    return out


def _answers_file() -> Path:
    return cache_dir() / "tex-installation.json"


def _remembered_answer(engine: str, exe: str) -> tuple[str, str] | None:
    """``_ask_tex``'s answer from an earlier run, if the installation is unchanged (a
    rebuild then starts no helper process before TeX)."""
    try:
        entry = json.loads(_answers_file().read_bytes()).get(engine)
        if entry is None or entry["installation"] != _installation(engine, exe):
            return None
        first, fmt = entry["version"], entry["base_format"]
    except (OSError, ValueError, TypeError, KeyError, AttributeError):
        return None
    return (first, fmt) if isinstance(first, str) and isinstance(fmt, str) and first else None


def _remember_answer(engine: str, exe: str, answer: tuple[str, str]) -> None:
    try:
        known = json.loads(_answers_file().read_bytes())
        if not isinstance(known, dict):
            known = {}
    except (OSError, ValueError):
        known = {}
    known[engine] = {"installation": _installation(engine, exe), "version": answer[0],
                     "base_format": answer[1]}
    with contextlib.suppress(OSError):
        _answers_file().parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        write_atomic(_answers_file(), json.dumps(known).encode("utf-8"))


def format_name(engine: str, split: Split) -> str | None:
    version = tex_version(engine)
    if version is None:
        return None
    digest = hashlib.sha256("\0".join([FORMAT_VERSION, engine, version,
                                       ini_text(engine, split)])
                            .encode("utf-8")).hexdigest()
    return f"md2tex-{digest[:24]}"


def _applicable(document: Document) -> tuple[Split, str] | None:
    if not getattr(document.options, "format_cache", True) or document.engine not in ENGINES:
        return None
    return _plan(document.engine, document.tex)


@lru_cache(maxsize=8)
def _plan(engine: str, tex: str) -> tuple[Split, str] | None:
    """The split and format name of a document (~1 ms; a single build asks up to three
    times: the early TeX check, the build, the record for the next build)."""
    split = split_tex(tex, engine)
    if split is None:
        return None
    name = format_name(engine, split)
    return (split, name) if name else None


#: a format path TeX takes on its command line as it is (spaces and TeX specials are fine)
_TEX_SAFE_PATH = re.compile(r'/[^\x00-\x1f\x7f"\\]+\.fmt')


def fmt_args(fmt: Path) -> tuple[str, ...]:
    """TeX's arguments to load ``fmt`` from where it is: an absolute path outside the work
    dir, which TeX may read (``-fmt`` is not subject to ``openin_any``) but not write
    (``openout_any=p``); ``process.start_engine`` binds it read-only under bubblewrap."""
    return (f"-fmt={fmt}",)


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        while chunk := fh.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def _identity(stat: os.stat_result) -> list[int]:
    """What changes whenever a file's bytes do (a write sets mtime and ctime; ctime cannot
    be set back by a user)."""
    return [stat.st_dev, stat.st_ino, stat.st_size, stat.st_mtime_ns, stat.st_ctime_ns]


def _hash_file(fmt: Path) -> Path:
    return fmt.with_suffix(".sha256")


def _record_hash(fmt: Path, digest: str) -> None:
    """Keep ``fmt``'s SHA-256 with its identity beside it (atomically)."""
    data = {"sha256": digest, "identity": _identity(os.lstat(fmt))}
    write_atomic(_hash_file(fmt), json.dumps(data).encode("utf-8"))


def verified(fmt: Path) -> bool:
    """Is ``fmt`` a regular file whose SHA-256 is the one recorded when it was dumped? The
    hash is computed again only when the file's identity is not the recorded one."""
    try:
        stat = os.lstat(fmt)
        data = json.loads(_hash_file(fmt).read_bytes())
        digest, identity = data["sha256"], data["identity"]
    except (OSError, ValueError, TypeError, KeyError):
        return False
    if not S_ISREG(stat.st_mode) or not isinstance(digest, str):
        return False
    if identity == _identity(stat):
        return True
    try:
        same = sha256_file(fmt) == digest
    except OSError:
        return False
    if same:  # the same bytes in another file (a restored backup, a copied cache)
        with contextlib.suppress(OSError):
            _record_hash(fmt, digest)
    return same


def _forget(fmt: Path) -> None:
    for path in (fmt, _hash_file(fmt)):
        with contextlib.suppress(OSError):
            path.unlink()


def usable(engine: str, name: str) -> Path | None:
    """The cached format ``name`` if it exists, is not marked bad and has its recorded hash
    (one whose hash differs is removed: the next normal build makes it again)."""
    directory = cache_dir()
    fmt = directory / f"{name}.fmt"
    if engine not in ENGINES or not fmt.is_file() or (directory / f"{name}.bad").exists() \
            or not _TEX_SAFE_PATH.fullmatch(str(fmt)):
        return None
    if not verified(fmt):
        if _hash_file(fmt).exists():
            log.warning("format %s differs from the one md2tex made: removed", fmt)
            _forget(fmt)
        return None
    return fmt


def planned_format(document: Document) -> tuple[str, str] | None:
    """The name of the trusted format ``use_format`` would use for ``document`` and the body
    file it would write, if any."""
    found = _applicable(document)
    if found is None or usable(document.engine, found[1]) is None:
        return None
    return found[1], found[0].body


def predocument(body: str) -> tuple[str, str] | None:
    """Split a format's body file after its ``\\begin{document}`` line: (the lines up to and
    including it, the body with those lines blank, so TeX's line numbers stay those of the
    whole). None unless that line is ``\\begin{document}`` alone."""
    lines = body.split("\n")
    for i, line in enumerate(lines):
        if "\\begin{document}" in line:
            if line.strip() != "\\begin{document}":
                return None
            return "\n".join(lines[:i + 1]) + "\n", "\n".join([""] * (i + 1) + lines[i + 1:])
    return None


def use_format(document: Document, workdir: Path) -> FormatUse | None:
    """If a trusted format exists for this document, place it and the body file in
    ``workdir`` and return the engine arguments; else None (build normally)."""
    found = _applicable(document)
    if found is None:
        return None
    split, name = found
    fmt = usable(document.engine, name)
    if fmt is None:
        return None
    try:
        # recently used: the .fmt's own times are part of its identity
        with contextlib.suppress(OSError):
            os.utime(_hash_file(fmt))
        (workdir / f"{process.TEX_NAME}.tex").write_text(split.body, encoding="utf-8")
    except OSError as exc:
        log.debug("format %s not usable: %s", name, exc)
        (workdir / f"{process.TEX_NAME}.tex").write_text(document.tex, encoding="utf-8")
        return None
    return FormatUse(name, fmt, fmt_args(fmt), split.body)


def mark_bad(use: FormatUse) -> None:
    """A post failed with the format but built without it: never use this format again."""
    log.debug("format %s failed where a normal build worked; disabled", use.name)
    with contextlib.suppress(OSError):
        (use.path.parent / f"{use.name}.bad").write_text("failed a build\n", encoding="utf-8")


def create_format(document: Document, workdir: Path, timeout: float) -> bool:
    """After a normal build in ``workdir``: dump the document's prefix into a format, check
    that it typesets this document identically, and install it in the cache atomically.
    Returns True when a format was installed. Never raises except on interruption."""
    found = _applicable(document)
    if found is None or not (shutil.which("pdftotext") and shutil.which("pdfinfo")):
        return False
    split, name = found
    directory = cache_dir()
    if usable(document.engine, name) is not None or (directory / f"{name}.bad").exists():
        return False
    try:
        directory.mkdir(parents=True, exist_ok=True)
        lock = os.open(directory / f"{name}.lock", os.O_CREAT | os.O_RDWR, 0o600)
    except OSError as exc:
        log.debug("format cache %s not writable: %s", directory, exc)
        return False
    try:
        if not _try_lock(lock) or usable(document.engine, name) is not None:
            return False
        with contextlib.ExitStack() as scratch:
            return _dump_and_verify(document, workdir, split, name, directory, timeout,
                                    scratch)
    except (OSError, subprocess.SubprocessError, Md2TexError) as exc:
        log.debug("format %s not made: %s", name, exc)
        return False
    finally:
        os.close(lock)


def _try_lock(fd: int) -> bool:
    try:
        import fcntl
    except ImportError:  # pragma: no cover - not POSIX
        return True
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        return False  # another thread or process is making it: build normally meanwhile
    return True


def _dump_and_verify(document: Document, workdir: Path, split: Split, name: str,
                     directory: Path, timeout: float, scratch: contextlib.ExitStack) -> bool:
    """Dump, check and install; the private folders it works in are removed with
    ``scratch``."""
    dumpdir = scratch.enter_context(private_dir.temporary("md2tex-fmt-"))
    (dumpdir / "prefix.tex").write_text(ini_text(document.engine, split), encoding="utf-8")
    status, _log = process.run_engine(dumpdir, document.engine, timeout,
                                    ("-ini", f"-jobname={name}", f"&{document.engine}"),
                                    source="prefix.tex", jobname=name)
    fmt = dumpdir / f"{name}.fmt"
    if status != 0 or not fmt.is_file():
        log.debug("dumping format %s failed (status %s)", name, status)
        (directory / f"{name}.bad").write_text("dump failed\n", encoding="utf-8")
        return False
    _inflate(fmt)
    if not _TEX_SAFE_PATH.fullmatch(str(fmt)):
        log.debug("format %s: no path TeX can take as it is (%s)", name, fmt)
        return False
    digest = sha256_file(fmt)
    # the check: this very post, built with the format, must match the normal build; TeX
    # reads the format where it was dumped, outside its work dir, and cannot write it
    checkdir = scratch.enter_context(private_dir.temporary("md2tex-fmtcheck-"))
    shutil.copytree(workdir, checkdir, symlinks=False, dirs_exist_ok=True,
                    ignore=shutil.ignore_patterns(f"{process.TEX_NAME}.*", ".texmf-*", "*.fmt"))
    (checkdir / f"{process.TEX_NAME}.tex").write_text(split.body, encoding="utf-8")
    passes.run_until_settled(document, checkdir, time.monotonic() + timeout, fmt_args(fmt))
    normal, dumped = workdir / f"{process.TEX_NAME}.pdf", checkdir / f"{process.TEX_NAME}.pdf"
    if not same_pdf(normal, dumped):
        log.debug("format %s typesets differently; disabled", name)
        (directory / f"{name}.bad").write_text("output differs\n", encoding="utf-8")
        return False
    target = directory / f"{name}.fmt"
    tmp = directory / f".{name}.{os.getpid()}.{os.urandom(4).hex()}.tmp"
    try:
        shutil.copyfile(fmt, tmp)
        if sha256_file(fmt) != digest or sha256_file(tmp) != digest:
            log.warning("format %s changed during its check; not installed", name)
            (directory / f"{name}.bad").write_text("changed during its check\n",
                                                   encoding="utf-8")
            return False
        _hash_file(target).unlink(missing_ok=True)  # an older unverified one goes first
        os.replace(tmp, target)
        _record_hash(target, digest)
    finally:
        with contextlib.suppress(OSError):
            tmp.unlink()
    _prune(directory)
    log.debug("format %s installed", name)
    return True


def _inflate(fmt: Path) -> None:
    """TeX Live writes formats gzip-compressed; it reads an uncompressed one as well (zlib's
    transparent mode) in about half the time: ~40 ms less for every TeX run that loads a
    LaTeX format, for ~3x the disk space. The check build that follows uses this file."""
    import gzip

    with fmt.open("rb") as fh:
        if fh.read(2) != b"\x1f\x8b":
            return
    fmt.write_bytes(gzip.decompress(fmt.read_bytes()))


def _pdf_facts(pdf: Path) -> tuple[str, str]:
    text = subprocess.run(["pdftotext", "-q", str(pdf), "-"], capture_output=True,
                          timeout=60, stdin=subprocess.DEVNULL, check=True).stdout
    info = subprocess.run(["pdfinfo", str(pdf)], capture_output=True, timeout=60,
                          stdin=subprocess.DEVNULL, check=True).stdout
    return (text.decode("utf-8", "replace"),
            _VOLATILE_INFO.sub("", info.decode("utf-8", "replace")))


def same_pdf(a: Path, b: Path) -> bool:
    """Same text and metadata (title, author, pages, page size...), dates aside."""
    return _pdf_facts(a) == _pdf_facts(b)


def _prune(directory: Path) -> None:
    """Remove the least recently used formats beyond the limits (use is the time of the
    ``.sha256`` file: ``use_format`` touches it), and hash files without a format."""
    formats = []
    for path in directory.glob("md2tex-*.fmt"):
        with contextlib.suppress(OSError):
            stat = path.stat()
            used = stat.st_mtime
            with contextlib.suppress(OSError):
                used = max(used, _hash_file(path).stat().st_mtime)
            formats.append((used, stat.st_size, path))
    formats.sort(key=lambda item: item[0], reverse=True)
    total = 0
    for count, (_used, size, path) in enumerate(formats):
        total += size
        if count >= MAX_FORMATS or (count and total > MAX_CACHE_BYTES):
            _forget(path)
    for path in directory.glob("md2tex-*.sha256"):
        if not path.with_suffix(".fmt").exists():
            with contextlib.suppress(OSError):
                path.unlink()
