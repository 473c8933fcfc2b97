"""Many posts: find them, skip unchanged ones, convert the rest on any executor, report.

``convert_many`` is the library entry; the CLI's ``md2tex batch`` is a thin layer over it that
prints progress events and the report's summary. A work item (``Job``) is plain picklable data
and ``run_job`` is a top-level function, so any ``concurrent.futures.Executor`` works: the
default thread pool (TeX runs are subprocesses, so threads parallelise well), a process pool,
or a Dask cluster (``distributed.Client(...).get_executor()``).

Incremental builds: the batch cache, one file per output folder in the user's cache folder
(``$XDG_CACHE_HOME/md2tex/batch/``, named by a hash of the output folder's path, so nothing
of md2tex's is deployed with the outputs), maps each output to a hash of everything that
decides it (post bytes, options, template, macros, md2tex version, output kind); a post whose
hash is unchanged and whose output exists is ``skipped``; an unchanged post that failed is
reported ``failed`` again from the cache (reason ``unchanged``) without running TeX. ``force``
rebuilds everything. Images are not part of the hash.

Drafts: as Jekyll publishes a site, a post with ``published: false`` in its front matter is
``skipped`` (reason ``draft``), and a site's ``_drafts/`` is not searched, unless ``drafts``
(``--drafts``); a draft's output is ``OUTDIR/_drafts/<name>``.

Failed posts say where they failed (``PostResult.stage``): ``refused`` before TeX ran (the
post cannot be read, its front matter or math has errors, ``--strict`` warnings), ``tex``
(TeX ran and failed), ``output`` (the output cannot be written) or ``internal``.

Symlinks (SECURITY.md): a post file or folder that is a symbolic link is never read, even one
pointing inside the site (Jekyll's safe mode does not follow them either): ``find_posts``
leaves it out with a warning, and ``convert_many`` reads every post with ``O_NOFOLLOW`` and
only when no folder between the root and the post is a link (else: ``skipped``, reason
``symlink``, with a warning). Outputs are written only into real folders below OUTDIR
(``output.write_output(within=...)``: no folder or file there is followed), a link in the way
fails that post. Two posts with the same output name (``index.md`` and ``index.markdown``)
get distinct names, deterministically: the ``.md`` one (else the first) keeps ``index.pdf``,
the other gets ``index.markdown.pdf``, with a warning.

Ctrl-C: pending posts are cancelled, running TeX process groups are killed (``process.cancel_all``),
worker temp dirs are removed by their ``finally``, outputs are only ever renamed into place, so
no half-written file remains; ``convert_many`` then raises ``BatchInterrupted`` with the report.
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import json
import logging
import os
import stat
import time
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import Executor, Future, ThreadPoolExecutor, as_completed, wait
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any

from md2tex.diagnostics import (
    BuildError,
    Diagnostic,
    Md2TexError,
    OutputError,
    Severity,
    error,
    note,
    warning,
)
from md2tex.escape import has_cjk
from md2tex.markdown.source import decode, load_post
from md2tex.memo import Memo, user_cache_dir
from md2tex.options import Options
from md2tex.optionschema import parse_bool
from md2tex.pipeline import convert
from md2tex.tex import build, process
from md2tex.tex.output import write_atomic, write_output
from md2tex.version import __version__

log = logging.getLogger(__name__)

POST_SUFFIXES = (".md", ".markdown")
#: the batch cache's file in an output folder before it moved to the user's cache folder
#: (removed when seen: it would be deployed with the site)
OLD_CACHE_NAME = ".md2tex-cache.json"
CACHE_VERSION = 1
#: a Jekyll site's folder of unpublished posts, beside ``_posts``
DRAFTS = "_drafts"
#: why a failed post failed, for the summary: before TeX, in TeX, writing, a bug
STAGES = ("refused", "tex", "output", "internal")
@dataclass(frozen=True)
class Job:
    """One post to convert: plain data, picklable for process pools and Dask."""

    source: str
    display: str
    output: str
    to: str
    options: Options
    #: the batch's output folder: ``output`` is written only into real folders below it
    out_dir: str | None = None
    #: warnings about this post found before it ran (e.g. its output name was taken)
    notes: tuple[Diagnostic, ...] = ()
    #: the cache the conversion may use (``convert_many``'s ``memo``)
    memo: Memo | None = None


@dataclass(frozen=True)
class PostResult:
    """What happened to one post (the report's row)."""

    path: str
    status: str
    output: str | None
    seconds: float
    diagnostics: tuple[Diagnostic, ...] = ()
    #: why a post was skipped: ``unchanged``, ``interrupted``, ``fail-fast``, ``symlink``
    #: or ``draft``
    reason: str = ""
    #: where a failed post failed: one of ``STAGES``
    stage: str = ""

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {"path": self.path, "status": self.status,
                                "output": self.output, "seconds": round(self.seconds, 3),
                                "diagnostics": [d.to_json() for d in self.diagnostics]}
        if self.reason:
            data["reason"] = self.reason
        if self.stage:
            data["stage"] = self.stage
        return data

    def first_error(self) -> Diagnostic | None:
        """The error that failed the post (the first one), or None."""
        return next((d for d in self.diagnostics if d.severity is Severity.ERROR), None)


@dataclass
class BatchReport:
    """Per-post results in input order, counts, time; ``exit_code`` is 1 if any failed."""

    results: list[PostResult] = field(default_factory=list)
    seconds: float = 0.0
    interrupted: bool = False

    def count(self, status: str) -> int:
        return sum(1 for r in self.results if r.status == status)

    @property
    def converted(self) -> int:
        return self.count("ok") + self.count("warning")

    @property
    def failed(self) -> int:
        return self.count("failed")

    @property
    def exit_code(self) -> int:
        return 1 if self.failed else 0

    def failed_in(self, stage: str) -> int:
        return sum(1 for r in self.results if r.status == "failed" and r.stage == stage)

    def summary(self) -> dict[str, Any]:
        return {"posts": len(self.results), "converted": self.converted,
                "with_warnings": self.count("warning"), "failed": self.failed,
                "failed_by_stage": {stage: self.failed_in(stage) for stage in STAGES},
                "skipped": self.count("skipped"), "seconds": round(self.seconds, 3),
                "interrupted": self.interrupted}

    def to_json(self) -> dict[str, Any]:
        return {"md2tex": __version__, "interrupted": self.interrupted,
                "summary": self.summary(), "posts": [r.to_json() for r in self.results]}

    def format_summary(self) -> str:
        """The summary table the CLI prints at the end: the failures split into those
        refused before TeX ran (input, math, ``--strict``) and those TeX failed on."""
        rows = [("converted", str(self.converted)),
                ("with warnings", str(self.count("warning"))),
                ("failed", str(self.failed)),
                *((f"  {_STAGE_NAMES[stage]}", str(self.failed_in(stage)))
                  for stage in STAGES if self.failed_in(stage)),
                ("skipped", str(self.count("skipped"))),
                ("time", f"{self.seconds:.1f} s")]
        width = max(len(r[1]) for r in rows)
        lines = [f"  {name:<22}{value:>{width}}" for name, value in rows]
        head = f"md2tex batch: {len(self.results)} post{'s' if len(self.results) != 1 else ''}"
        if self.interrupted:
            head += " (interrupted)"
        return "\n".join([head, *lines])


#: the summary's name of each stage a post can fail in
_STAGE_NAMES = {"refused": "refused before TeX", "tex": "TeX failed",
                "output": "not written", "internal": "internal error"}


class BatchInterrupted(KeyboardInterrupt):
    """Ctrl-C during ``convert_many``: everything was cleaned up; ``report`` has what ran."""

    def __init__(self, report: BatchReport) -> None:
        super().__init__("interrupted")
        self.report = report


ResultCallback = Callable[[PostResult, int, int], None]
#: ``on_plan(to_run, workers)``: how many posts will be converted, how many at once
PlanCallback = Callable[[int, int], None]


def find_posts(directory: Path, exclude: Sequence[Path] = (),
               drafts: bool = False) -> tuple[Path, list[Path]]:
    """(root, posts): every ``*.md``/``*.markdown`` under ``directory`` (its ``_posts/`` if it
    is a Jekyll site root, and with ``drafts`` its ``_drafts/`` too), sorted; hidden folders,
    ``_drafts/`` (unless ``drafts``) and ``exclude`` folders are left out, and so is every
    symbolic link to a post or a folder (with a warning: a site's files may come from
    someone else, and a link may lead anywhere)."""
    posts_dir = directory / "_posts"
    if posts_dir.is_symlink():
        log.warning("%s: a symbolic link, not followed: no posts read from it", posts_dir)
        return posts_dir, []
    root = posts_dir if posts_dir.is_dir() else directory
    posts = _posts_below(root, [p.resolve() for p in exclude], drafts)
    drafts_dir = directory / DRAFTS
    if drafts and root == posts_dir and drafts_dir.is_dir():
        if drafts_dir.is_symlink():
            log.warning("%s: a symbolic link to a folder, not followed", drafts_dir)
        else:
            posts += _posts_below(drafts_dir, [p.resolve() for p in exclude], drafts)
    return root, posts


def _posts_below(root: Path, excluded: Sequence[Path], drafts: bool) -> list[Path]:
    posts: list[Path] = []
    for dirpath, dirnames, filenames in os.walk(root):
        here = Path(dirpath)
        kept = []
        for d in sorted(dirnames):
            if d.startswith(".") or (here / d).resolve() in excluded or (
                    d == DRAFTS and not drafts):
                continue
            if (here / d).is_symlink():
                log.warning("%s: a symbolic link to a folder, not followed", here / d)
                continue
            kept.append(d)
        dirnames[:] = kept
        for f in sorted(filenames):
            if not f.lower().endswith(POST_SUFFIXES) or f.startswith("."):
                continue
            if (here / f).is_symlink():
                log.warning("%s: a symbolic link, not followed (skipped)", here / f)
                continue
            posts.append(here / f)
    return posts


def read_post_bytes(path: Path, root: Path | None = None) -> bytes:
    """A post's bytes, never through a symbolic link: the file is opened with
    ``O_NOFOLLOW`` and, when it lies below ``root``, no folder between them may be a link
    (``OSError`` with ``ELOOP`` otherwise)."""
    if root is not None:
        rel = os.path.relpath(os.path.abspath(path), os.path.abspath(root))
        inside = rel != os.pardir and not rel.startswith(os.pardir + os.sep)
        if inside and os.path.realpath(path) != os.path.join(
                os.path.realpath(root), rel):
            raise OSError(errno.ELOOP, "a folder on its way is a symbolic link", str(path))
    fd = os.open(path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_CLOEXEC", 0))
    with os.fdopen(fd, "rb") as fh:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise OSError(errno.EINVAL, "not a regular file", str(path))
        return fh.read()


def output_names(posts: Sequence[Path], root: Path, out_dir: Path,
                 to: str) -> list[tuple[Path, Diagnostic | None]]:
    """Each post's output (``output_for``) and, when it had to differ, a warning why. Posts
    sharing an output name (``index.md``, ``index.markdown``; ``a.md``, ``a.MD``) never
    overwrite each other: the ``.md`` one, else the first in ``posts``, keeps the name, each
    other gets its full file name plus the suffix (``index.markdown.pdf``; ``.2``, ``.3``...
    before the suffix if that is taken too). Deterministic for a given list."""
    natural = [output_for(p, root, out_dir, to) for p in posts]
    names: list[tuple[Path, Diagnostic | None]] = [(t, None) for t in natural]
    taken = set(natural)
    claims: dict[Path, list[int]] = {}
    for index, target in enumerate(natural):
        claims.setdefault(target, []).append(index)
    for target, indices in claims.items():
        if len(indices) < 2:
            continue
        keep = min(indices, key=lambda i: (posts[i].suffix != ".md", i))
        for index in indices:
            if index == keep:
                continue
            own = posts[index].name
            other = target.with_name(f"{own}.{to}")
            number = 2
            while other in taken:
                other = target.with_name(f"{own}.{number}.{to}")
                number += 1
            taken.add(other)
            names[index] = (other, warning(
                "output-name", f"{posts[keep].name} is also written to {target.name}: this "
                f"post is written to {other.name} instead", path=str(posts[index])))
    return names


def output_for(post: Path, root: Path, out_dir: Path, to: str) -> Path:
    """``OUTDIR/<path relative to root>`` with the suffix ``.pdf`` or ``.tex``; a post beside
    ``root`` rather than below it (a Jekyll site's ``_drafts/x.md`` when ``root`` is its
    ``_posts``) keeps its folder (``OUTDIR/_drafts/x.pdf``)."""
    post_path = Path(os.path.abspath(post))
    for base in (Path(os.path.abspath(root)), Path(os.path.abspath(root)).parent):
        try:
            rel = post_path.relative_to(base)
            break
        except ValueError:
            continue
    else:
        rel = Path(post.name)
    return out_dir / rel.with_suffix(f".{to}")


def unpublished(data: bytes, path: str) -> bool:
    """Does the post's front matter say ``published: false`` (Jekyll leaves it out)? A front
    matter that cannot be read says nothing here (the conversion reports it)."""
    if b"published" not in data:
        return False
    try:
        post = load_post(decode(data, path, lenient=True), path)
    except Md2TexError:
        return False
    return parse_bool(post.meta.get("published")) is False


def job_key(data: bytes, options: Options, to: str) -> str:
    """Hash of everything that decides a post's output."""
    digest = hashlib.sha256()
    digest.update(f"md2tex {__version__}\0{to}\0".encode())
    digest.update(data)
    values = {f.name: getattr(options, f.name) for f in fields(options)
              if f.name not in ("base_dir", "timeout")}
    digest.update(json.dumps(values, sort_keys=True, default=_plain).encode("utf-8"))
    if options.template is not None:
        with contextlib.suppress(OSError):
            digest.update(Path(options.template).read_bytes())
    return digest.hexdigest()


def estimated_cost(data: bytes) -> float:
    """A rough guess at a post's build time, to start the longest posts first: with N
    workers, a long post that starts last keeps one worker busy while the others idle.
    Size, times 2 for CJK (xelatex + xeCJK), times 2.5 for a table of contents (2-3 TeX
    runs); the constant is the cost of any TeX run."""
    text = data.decode("utf-8", errors="replace")
    cost = 20_000.0 + len(data)
    if has_cjk(text):
        cost *= 2
    if "{:toc}" in text:
        cost *= 2.5
    return cost


def _plain(value: Any) -> Any:
    if isinstance(value, (frozenset, set)):
        return sorted(str(v) for v in value)
    if isinstance(value, tuple):
        return list(value)
    return str(value)


def run_job(job: Job) -> PostResult:
    """Convert one post and write its output; every problem becomes a ``failed`` result."""
    started = time.perf_counter()
    diagnostics: list[Diagnostic] = list(job.notes)
    status = "failed"
    stage = "refused"
    within = job.out_dir
    try:
        source = Path(job.source)
        options = replace(job.options, base_dir=source.parent)
        try:
            data = read_post_bytes(source)
        except OSError as exc:
            raise _unreadable(job.display, exc) from None
        doc = convert(decode(data, job.display, options.lenient), options, job.display,
                      memo=job.memo)
        diagnostics += doc.diagnostics
        if doc.ok:
            output = Path(job.output)
            tex = doc.tex.encode("utf-8")
            if job.to == "tex":
                write_output(output, tex, follow=within is None, within=within)
            else:
                built = build.build_pdf(doc, output, follow=within is None, within=within)
                diagnostics += built.diagnostics  # formulas TeX rejected, --keep-tex's files
            warned = any(d.severity is not Severity.NOTE for d in diagnostics)
            status = "warning" if warned else "ok"
    except Md2TexError as exc:
        code = "output" if isinstance(exc, OutputError) else "failed"
        stage = "output" if isinstance(exc, OutputError) else \
            "tex" if isinstance(exc, BuildError) else "refused"
        diagnostics += list(exc.diagnostics) or [error(code, exc.message, path=job.display)]
    except OSError as exc:
        stage = "output"
        where = exc.filename if exc.filename and within is None else job.output
        diagnostics.append(error("output", f"{where}: cannot write: {exc.strerror or exc}",
                                 path=job.display))
    except Exception as exc:  # a bug must not stop the other posts
        stage = "internal"
        log.debug("internal error on %s", job.display, exc_info=True)
        diagnostics.append(error("internal-error", f"md2tex internal error: {exc!r}",
                                 path=job.display))
    failed = status == "failed"
    return PostResult(job.display, status, None if failed else job.output,
                      time.perf_counter() - started, _dedupe(diagnostics),
                      stage=stage if failed else "")


def _unreadable(display: str, exc: OSError) -> Md2TexError:
    why = "a symbolic link (not followed)" if exc.errno == errno.ELOOP else \
        exc.strerror or str(exc)
    return Md2TexError(f"{display}: cannot read: {why}",
                       [error("input", f"cannot read: {why}", path=display)])


def _dedupe(diagnostics: Iterable[Diagnostic]) -> tuple[Diagnostic, ...]:
    return tuple(dict.fromkeys(diagnostics))


def cache_file(out_dir: Path) -> Path | None:
    """The batch cache of ``out_dir``: in the user's cache folder, named by the output
    folder's real path; None when that folder is not private to this user (then nothing
    is skipped)."""
    folder = Memo(user_cache_dir("")).private("batch")
    if folder is None:
        return None
    name = hashlib.sha256(os.path.realpath(out_dir).encode("utf-8", "surrogateescape"))
    return folder / f"{name.hexdigest()[:32]}.json"


def _load_cache(out_dir: Path) -> dict[str, Any]:
    path = cache_file(out_dir)
    if path is None:
        return {}
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    if not isinstance(data, dict) or data.get("version") != CACHE_VERSION:
        return {}
    entries = data.get("entries")
    return entries if isinstance(entries, dict) else {}


def _save_cache(out_dir: Path, entries: dict[str, Any]) -> None:
    path = cache_file(out_dir)
    if path is None:
        log.warning("%s: the user's cache folder is not private: unchanged posts will not be "
                    "skipped", user_cache_dir("batch"))
        return
    data = json.dumps({"version": CACHE_VERSION, "output": os.path.realpath(out_dir),
                       "entries": entries}, sort_keys=True, indent=0).encode("utf-8")
    try:
        write_atomic(path, data)
    except OSError as exc:
        log.warning("%s: cannot write the batch cache: %s", path, exc)
    old = out_dir / OLD_CACHE_NAME
    if old.is_file() and not old.is_symlink():
        with contextlib.suppress(OSError):
            old.unlink()


def convert_many(paths: Iterable[str | Path], out_dir: str | Path,
                 options: Options | None = None, executor: Executor | None = None, *,
                 root: str | Path | None = None, to: str = "pdf", force: bool = False,
                 fail_fast: bool = False, jobs: int | None = None,
                 on_result: ResultCallback | None = None,
                 memo: Memo | None = None, drafts: bool = False,
                 on_plan: PlanCallback | None = None) -> BatchReport:
    """Convert ``paths`` (post files) into ``out_dir`` (``<path relative to root>.pdf``, or
    ``.tex`` with ``to="tex"``), skipping unchanged posts unless ``force``.

    ``executor``: any ``concurrent.futures.Executor`` (default: threads, ``jobs`` of them,
    CPU count by default); it is not shut down when given. ``on_result(result, done,
    total)`` is called in the calling thread as each post finishes. Posts are submitted
    longest first (``estimated_cost``; input order with ``fail_fast``); the report keeps the
    input order. ``memo``: the cache the conversions may use (the CLI's is
    ``Memo.for_user()``; None: none, as for ``convert``). ``drafts``: also convert posts
    whose front matter says ``published: false``. ``on_plan(to_run, workers)`` is called
    once the unchanged posts are known, before the first conversion starts. Returns the
    report; raises ``BatchInterrupted`` (a KeyboardInterrupt carrying the report) on
    Ctrl-C."""
    if to not in ("pdf", "tex"):
        raise ValueError(f"to must be 'pdf' or 'tex', not {to!r}")
    started = time.perf_counter()
    options = options or Options()
    posts = [Path(p) for p in paths]
    out = Path(out_dir)
    if root is None:
        parents = [os.path.dirname(os.path.abspath(p)) for p in posts]
        root = os.path.commonpath(parents) if parents else "."
    root_path = Path(root)
    names = output_names(posts, root_path, out, to)
    cache = {} if force else _load_cache(out)
    entries: dict[str, Any] = dict(cache)
    results: list[PostResult | None] = [None] * len(posts)
    pending: list[tuple[int, Job, str]] = []
    costs: dict[int, float] = {}
    done = 0
    total = len(posts)

    def finish(index: int, result: PostResult) -> None:
        nonlocal done
        results[index] = result
        done += 1
        if on_result is not None:
            on_result(result, done, total)

    try:  # reading and hashing the posts: Ctrl-C here too ends with a report
        for index, post in enumerate(posts):
            target, renamed = names[index]
            notes = (renamed,) if renamed else ()
            rel = target.relative_to(out).as_posix()
            try:
                data = read_post_bytes(post, root_path)
            except OSError as exc:
                if exc.errno == errno.ELOOP:
                    log.warning("%s: a symbolic link, not followed (skipped)", post)
                    finish(index, PostResult(str(post), "skipped", None, 0.0, (warning(
                        "symlink", "a symbolic link (or below one): not followed, not converted",
                        path=str(post)),), reason="symlink"))
                    continue
                finish(index, PostResult(str(post), "failed", None, 0.0, (error(
                    "input", f"cannot read: {exc.strerror or exc}", path=str(post)),),
                    stage="refused"))
                continue
            if not drafts and unpublished(data, str(post)):
                finish(index, PostResult(str(post), "skipped", None, 0.0, (note(
                    "not-run", "published: false (a draft): not converted (--drafts converts "
                    "it)", path=str(post)),), reason="draft"))
                continue
            key = job_key(data, options, to)
            entry = cache.get(rel)
            if isinstance(entry, dict) and entry.get("key") == key:
                if entry.get("status") in ("ok", "warning") and target.exists():
                    finish(index, PostResult(str(post), "skipped", str(target), 0.0, notes,
                                             reason="unchanged"))
                    continue
                replay = _replay_failure(entry, str(post))
                if replay is not None:
                    finish(index, replay)
                    continue
            entries.pop(rel, None)
            pending.append((index, Job(str(post.resolve()), str(post), str(target), to, options,
                                       str(out), notes, memo), key))
            costs[index] = estimated_cost(data)
    except KeyboardInterrupt:
        report = BatchReport([r if r is not None else PostResult(
            str(posts[i]), "skipped", None, 0.0, (note(
                "not-run", "not converted (interrupted)", path=str(posts[i])),),
            reason="interrupted") for i, r in enumerate(results)],
            time.perf_counter() - started, interrupted=True)
        raise BatchInterrupted(report) from None
    if not fail_fast:
        # longest first (the report keeps the input order); --fail-fast keeps the input
        # order, so the posts after the first failure are the ones not run
        pending.sort(key=lambda item: -costs[item[0]])

    own = executor is None
    workers = jobs or os.cpu_count() or 1
    if on_plan is not None:
        on_plan(len(pending), min(workers, len(pending)))
    pool = executor or ThreadPoolExecutor(max_workers=workers, thread_name_prefix="md2tex")
    futures: dict[Future[PostResult], tuple[int, Job, str]] = {}
    interrupted = False
    process.reset_cancel()
    try:
        for item in pending:
            futures[pool.submit(run_job, item[1])] = item
        for future in as_completed(futures):
            index, job, key = futures[future]
            result = _outcome(future, job)
            _remember(entries, out, job, key, result)
            finish(index, result)
            if fail_fast and result.status == "failed":
                break
    except KeyboardInterrupt:
        interrupted = True
        process.cancel_all()
    finally:
        for future in futures:
            future.cancel()
        if interrupted:
            # running TeX groups are dead; let the workers clean up their temp dirs
            wait(list(futures), timeout=30)
        if own:
            pool.shutdown(wait=True, cancel_futures=True)
        for future, (index, job, key) in futures.items():
            if results[index] is not None:
                continue
            late = _outcome(future, job) if future.done() and not future.cancelled() \
                else None
            if late is not None and not (interrupted and late.status == "failed"):
                _remember(entries, out, job, key, late)
                finish(index, late)
            else:
                reason = "interrupted" if interrupted else "fail-fast"
                finish(index, PostResult(job.display, "skipped", None, 0.0, (note(
                    "not-run", f"not converted ({reason})", path=job.display),),
                    reason=reason))
        if pending or entries != cache:
            _save_cache(out, entries)
        process.reset_cancel()
    report = BatchReport([r for r in results if r is not None],
                         time.perf_counter() - started, interrupted)
    if interrupted:
        raise BatchInterrupted(report)
    return report


def _remember(entries: dict[str, Any], out: Path, job: Job, key: str,
              result: PostResult) -> None:
    """Cache a result: a success by its output; a failure (unless it is an internal or
    interruption problem) with its diagnostics, so an unchanged failing post is not rebuilt."""
    rel = Path(job.output).relative_to(out).as_posix()
    if result.status in ("ok", "warning"):
        entries[rel] = {"key": key, "status": result.status}
    elif result.status == "failed" and result.stage in ("refused", "tex") and not any(
            d.code in ("internal-error", "output", "tex-timeout") for d in result.diagnostics):
        entries[rel] = {"key": key, "status": "failed", "stage": result.stage,
                        "diagnostics": [d.to_json() for d in result.diagnostics]}


def _replay_failure(entry: dict[str, Any], path: str) -> PostResult | None:
    """An unchanged post that failed last time fails the same way: report it again."""
    if entry.get("status") != "failed" or not isinstance(entry.get("diagnostics"), list):
        return None
    try:
        diagnostics = tuple(Diagnostic(**{**d, "severity": Severity(d["severity"])})
                            for d in entry["diagnostics"])
    except (TypeError, ValueError, KeyError):
        return None
    stage = entry.get("stage")
    return PostResult(path, "failed", None, 0.0, diagnostics, reason="unchanged",
                      stage=stage if stage in STAGES else "refused")


def _outcome(future: Future[PostResult], job: Job) -> PostResult:
    try:
        return future.result()
    except BaseException as exc:  # KeyboardInterrupt in a worker, or an executor error
        return PostResult(job.display, "failed", None, 0.0, (error(
            "internal-error", f"worker failed: {exc!r}", path=job.display),), stage="internal")


def write_report(report: BatchReport, path: str | Path) -> None:
    """The report as JSON (``path``: per post ``path``, ``status``, ``output``, ``seconds``,
    ``diagnostics``), written atomically."""
    write_atomic(Path(path), json.dumps(report.to_json(), indent=2).encode("utf-8") + b"\n")


def problems(result: PostResult) -> list[Diagnostic]:
    """The diagnostics worth a line of their own: errors and warnings."""
    return [d for d in result.diagnostics if d.severity is not Severity.NOTE]


__all__ = ["BatchInterrupted", "BatchReport", "Job", "PostResult", "cache_file", "convert_many",
           "find_posts", "output_names", "read_post_bytes", "run_job", "unpublished",
           "write_report"]
