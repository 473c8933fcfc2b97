"""What a post's last successful build leaves for its next one (``earlytex``).

``last-formats.json`` in the format cache folder maps each input path (newest last, at most
``MAX_RECORDS``) to the engine and format of its last successful build, its TeX time limit,
the digest of its *predocument* (the body file's lines up to ``\\begin{document}``, kept
as ``predocument-DIGEST.tex`` beside it) and the *warm-up features* of its body: which
fonts it used (math, italic, code, headings...), so that the next early TeX process can load
them before the body is ready. A post never built gets the record of the latest build in
its folder. Everything from the cache is checked against a fixed form before use: format
names, digests and feature names, never TeX taken from the JSON.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from md2tex.document import Document
from md2tex.options import Options
from md2tex.tex import formats as fmtcache
from md2tex.tex.output import write_atomic

log = logging.getLogger(__name__)

#: input path -> its record (engine, format, timeout, predocument, warm_up), in the format
#: cache folder
RECORD = "last-formats.json"
MAX_RECORDS = 256
_MAX_RECORD_BYTES = 1 << 20
_NAME = re.compile(r"md2tex-[0-9a-f]{24}")
_DIGEST = re.compile(r"[0-9a-f]{24}")
#: after ``\begin{document}``: load the fonts the post's last build used, as its body would
#: load them on first use (font loading and microtype's per-font set-up are global), each
#: typeset in a group into a box that is dropped. Feature of the body -> what loads its fonts.
WARM_UPS: dict[str, tuple[re.Pattern[str], str]] = {
    "math": (re.compile(r"(?<!\\)\$|\\[(\[]|\\begin\{(?:equation|align|gather|multline)"),
             r"$x^2$"),
    "italic": (re.compile(r"\\(?:emph|textit|itshape)(?![A-Za-z])"), r"\itshape x"),
    "bold": (re.compile(r"\\(?:textbf|bfseries|subsubsection|paragraph)(?![A-Za-z])"),
             r"\bfseries x"),
    "tt": (re.compile(r"\\(?:texttt|mdcode|ttfamily)(?![A-Za-z])"), r"\ttfamily x"),
    "code": (re.compile(r"\\begin\{(?:Verbatim|verbatim|lstlisting)\}"),
             r"\ifdefined\mdcodesize\mdcodesize\else\small\fi\ttfamily x"),
    "footnote": (re.compile(r"\\footnote(?![A-Za-z])"), r"\footnotesize x$^{\normalfont 1}$"),
    "title": (re.compile(r"\\maketitle(?![A-Za-z])"), r"\LARGE x\normalfont\large x"),
    "abstract": (re.compile(r"\\begin\{abstract\}"), r"\small\bfseries x\normalfont\small x"),
    "section": (re.compile(r"\\section(?![A-Za-z])"), r"\Large\bfseries x"),
    "subsection": (re.compile(r"\\subsection(?![A-Za-z])"), r"\large\bfseries x"),
}


def warm_up_features(tex: str) -> list[str]:
    """The ``WARM_UPS`` features the body of ``tex`` (after ``\\begin{document}``) uses."""
    body = tex.partition("\\begin{document}")[2]
    return [name for name, (pattern, _code) in WARM_UPS.items() if pattern.search(body)]


def warm_up(features: list[str]) -> str:
    """The TeX that loads those features' fonts (unknown names are ignored)."""
    return "".join(r"\begingroup\setbox0\hbox{\normalfont\normalsize " + WARM_UPS[name][1]
                   + "}\\endgroup" for name in features if name in WARM_UPS)


def predocument_file(digest: str) -> Path:
    return fmtcache.cache_dir() / f"predocument-{digest}.tex"


def _record_path() -> Path:
    return fmtcache.cache_dir() / RECORD


def _key(source: Path) -> str:
    return str(Path(source).resolve())


def _records() -> dict[str, Any]:
    try:
        with _record_path().open("rb") as fh:
            data = json.loads(fh.read(_MAX_RECORD_BYTES))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


@dataclass(frozen=True)
class Guess:
    """What the last successful build of a post recorded for the next one."""

    engine: str
    name: str
    #: digest of its predocument file, if it has one
    predocument: str | None
    #: its ``warm_up_features``
    warm_up: list[str]
    #: its TeX time limit (``Options.timeout``)
    timeout: float


def guess(source: Path) -> Guess | None:
    """The record of ``source``'s last build; for a post never built, that of the latest
    build in its folder (a site's posts share their preamble: the template puts a post's
    title and metadata after ``\\begin{document}``)."""
    records = _records()
    key = _key(source)
    entry = records.get(key)
    if not isinstance(entry, dict):
        folder = str(Path(key).parent)
        entry = next((value for other, value in reversed(records.items())
                      if str(Path(other).parent) == folder), None)
    if not isinstance(entry, dict):
        return None
    engine, name, digest = entry.get("engine"), entry.get("format"), entry.get("predocument")
    if engine not in fmtcache.ENGINES or not isinstance(name, str) \
            or not _NAME.fullmatch(name):
        return None
    limit = entry.get("timeout")
    timeout = float(limit) if isinstance(limit, (int, float)) and 0 < limit <= 86400 \
        else Options.timeout
    if not isinstance(digest, str) or not _DIGEST.fullmatch(digest):
        return Guess(str(engine), name, None, [], timeout)
    warm = entry.get("warm_up")
    features = [str(f) for f in warm if f in WARM_UPS] if isinstance(warm, list) else []
    return Guess(str(engine), name, digest, features, timeout)


def record(source: Path, document: Document) -> None:
    """After a successful build of ``source``: remember its format and predocument for the
    next build (the oldest entries go beyond ``MAX_RECORDS``, with predocuments no entry
    names; written only when it changed, atomically)."""
    try:
        planned = fmtcache.planned_format(document)
        key = _key(source)
        records = _records()
        if planned is None:
            if records.pop(key, None) is None:
                return
        else:
            name, body = planned
            entry: dict[str, Any] = {"engine": document.engine, "format": name,
                                     "timeout": document.options.timeout}
            split = fmtcache.predocument(body)
            if split is not None:
                digest = hashlib.sha256(split[0].encode("utf-8")).hexdigest()[:24]
                entry["predocument"] = digest
                entry["warm_up"] = warm_up_features(body)
                path = predocument_file(digest)
                if not path.is_file():
                    path.parent.mkdir(parents=True, exist_ok=True)
                    write_atomic(path, split[0].encode("utf-8"))
            if records.get(key) == entry:
                return
            records.pop(key, None)
            records[key] = entry
        for old in list(records)[:max(0, len(records) - MAX_RECORDS)]:
            del records[old]
        _record_path().parent.mkdir(parents=True, exist_ok=True)
        write_atomic(_record_path(), json.dumps(records, indent=0).encode("utf-8"))
        _prune(records)
    except (OSError, ValueError) as exc:
        log.debug("cannot record the format of %s: %s", source, exc)


def _prune(records: dict[str, Any]) -> None:
    """Remove the predocument files no record names."""
    named = {entry.get("predocument") for entry in records.values() if isinstance(entry, dict)}
    for path in fmtcache.cache_dir().glob("predocument-*.tex"):
        if path.stem.removeprefix("predocument-") not in named:
            with contextlib.suppress(OSError):
                path.unlink()
