"""A batch on workers that share no folders with the caller (a Dask cluster, or any executor
that runs elsewhere): each post travels as a ``Bundle``, its bytes and every file it names,
and comes back as output bytes that the caller writes.

On the caller, ``bundle`` reads the post and the files it may name: every token of the post
that looks like a file name (``img/a.png``, ``/assets/x.svg``, ``refs.bib``, ``toc.html``) and
is a file under the post's folder, the site root, its ``_includes`` or the resource path, the
files an SVG among them references, the bibliographies the citations room finds for it (also
those it does not name) and the template. Reading more than the post uses costs only bytes; a
file the post used without spelling out its name would be missing on the worker, with the
warning a missing file gets. Macro files travel inside ``Options.macros``.

On the worker, ``run_bundle`` writes the files below a private folder at their absolute
paths (``/site/img/a.png`` becomes ``PRIVATE/site/img/a.png``), so every relative and
site-root path of the post resolves as on the caller, converts and builds with
``batch.run_job``, and returns the report entry and the output files' bytes; messages name
the caller's paths. TeX is needed on every worker, none on the caller.
"""

from __future__ import annotations

import os
import re
import urllib.parse
from collections.abc import Callable, Iterable
from concurrent.futures import Executor, Future, ProcessPoolExecutor, ThreadPoolExecutor
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from md2tex.diagnostics import Diagnostic, Md2TexError, error
from md2tex.latex.citations import find_bibliographies
from md2tex.latex.images import (
    SVG_NAME,
    ImageResolver,
    resolve_inside,
    site_root_for,
    svg_inputs,
)
from md2tex.markdown.source import decode, load_post
from md2tex.memo import Memo
from md2tex.options import Options
from md2tex.site.batch import BatchReport, Job, PostResult, ResultCallback, run_job
from md2tex.site.batch import convert_many as convert_many_here
from md2tex.tex import private_dir
from md2tex.tex.output import write_output

#: a token of a post that may name a file: a path with a suffix of letters and digits
_FILE_TOKEN = re.compile(r"[\w@~+%./-]*\w\.[A-Za-z][A-Za-z0-9]{0,5}(?![\w/])")
#: a link's or an attribute's whole target, which may hold spaces (``![a](my plot.png)``)
_TARGET = re.compile(r"""\]\(\s*<?([^()<>\n]+?)>?(?:\s+["'][^"'\n]*["'])?\s*\)"""
                     r"""|\b(?:src|href|path|file|image|url)\s*=\s*["']([^"'\n]+)["']""")
#: ``\bibliography{refs}``, ``bibliography: refs``: names that may come without ``.bib``
_BIB_NAME = re.compile(r"bibliography\w*\s*(?:\{|:)\s*([\w./-]+)")
#: shipped files whose text is scanned for more names (includes that include, a bibliography
#: beside its styles)
_SCANNED = (".md", ".markdown", ".html", ".liquid", ".txt", ".tex", ".bib")
MAX_FILES = 2000
MAX_BYTES = 512 * 1024 * 1024


@dataclass(frozen=True)
class Bundle:
    """One post as a worker without the caller's folders needs it: the job (paths as on the
    caller) and the files, by absolute path on the caller."""

    job: Job
    files: dict[str, bytes]


def bundle(job: Job) -> Bundle:
    """Read the post of ``job`` and every file it may name (module docstring)."""
    source = Path(job.source).absolute()
    post_dir = source.parent
    options = job.options
    root = (options.site_root or site_root_for(post_dir)).absolute()
    # every path absolute here: on the worker a relative one would start from its own folder
    options = replace(options, site_root=root, resource_path=tuple(
        Path(p).absolute() for p in options.resource_path), template=None
        if options.template is None else Path(options.template).absolute())
    roots = [post_dir, root, root / "_includes", *options.resource_path]
    allowed = [post_dir, root, *options.resource_path]
    files: dict[str, bytes] = {str(source): source.read_bytes()}
    if options.template is not None:
        files[str(options.template)] = options.template.read_bytes()
    files.update(_bibliographies(source, files[str(source)], options))
    queue = [files[str(source)]]
    total = 0
    while queue and len(files) < MAX_FILES:
        text = queue.pop().decode("utf-8", errors="replace")
        for path in _named_files(text, roots, allowed):
            if str(path) in files:
                continue
            try:
                data = path.read_bytes()
            except OSError:
                continue
            total += len(data)
            if total > MAX_BYTES or len(files) >= MAX_FILES:
                break
            files[str(path)] = data
            if path.suffix.lower() == ".svg":
                files.update({str(path.parent / rel): ref for rel, ref
                              in svg_inputs(path, data).items() if rel != SVG_NAME})
            elif path.suffix.lower() in _SCANNED:
                queue.append(data)
    return Bundle(replace(job, source=str(source), options=options, memo=None), files)


def _bibliographies(source: Path, data: bytes, options: Options) -> dict[str, bytes]:
    """The .bib files the post uses, also those it does not name (jekyll-scholar's, a
    distill post's own), found by the citations room's rule."""
    try:
        meta = load_post(decode(data, str(source), lenient=True), str(source)).meta
    except Md2TexError:
        return {}
    images = ImageResolver(source.parent, options.resource_path, site_root=options.site_root)
    found, _missing = find_bibliographies(meta, options.site, images, str(source))
    out: dict[str, bytes] = {}
    for path in found:
        try:
            out[str(path)] = path.read_bytes()
        except OSError:
            continue
    return out


def _named_files(text: str, roots: list[Path], allowed: list[Path]) -> Iterable[Path]:
    """Each file a token of ``text`` names under one of ``roots`` (as the post's resolver
    would find it: inside ``allowed``), by its path below that root (a symlink's own name)."""
    tokens = [*_FILE_TOKEN.findall(text), *(a or b for a, b in _TARGET.findall(text))]
    names = {urllib.parse.unquote(t).split("?")[0].split("#")[0].strip() for t in tokens}
    names |= {n if n.endswith(".bib") else n + ".bib" for n in _BIB_NAME.findall(text)}
    for name in sorted(names):
        parts = [p for p in name.split("/") if p not in ("", ".")]
        if not parts or ".." in parts:
            continue
        for folder in roots:
            if resolve_inside([folder], name, within=allowed) is not None:
                yield Path(os.path.normpath(os.path.join(folder, *parts)))


def _mirror(base: Path, path: str | Path) -> Path:
    absolute = Path(os.path.abspath(path))
    return base / absolute.relative_to(absolute.anchor)


def run_bundle(shipped: Bundle) -> tuple[PostResult, dict[str, bytes]]:
    """On a worker: the post converted and built in a private folder; (its report entry,
    output file name -> bytes). Top-level and plain data, so any executor can run it."""
    job = shipped.job
    work = private_dir.create()
    try:
        files = work / "files"
        for name, data in shipped.files.items():
            target = _mirror(files, name)
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(data)
        out = work / "out"
        out.mkdir()
        options = job.options

        def moved(path: Path | None) -> Path | None:
            return None if path is None else _mirror(files, path)

        options = replace(options, site_root=moved(options.site_root),
                          template=moved(options.template),
                          resource_path=tuple(_mirror(files, p) for p in options.resource_path))
        output = out / Path(job.output).name
        result = run_job(replace(job, source=str(_mirror(files, job.source)),
                                 output=str(output), out_dir=str(out), options=options))
        made = {p.name: p.read_bytes() for p in out.iterdir() if p.is_file()}
        prefix = str(files)
        result = replace(result, output=job.output if result.output else None,
                         diagnostics=tuple(_unmirrored(d, prefix) for d in result.diagnostics))
        return result, made
    finally:
        private_dir.remove(work)


def _unmirrored(d: Diagnostic, prefix: str) -> Diagnostic:
    """``d`` naming the caller's paths, not the worker's private copies."""
    def fix(text: str | None) -> str | None:
        return None if text is None else text.replace(prefix, "")
    return replace(d, message=fix(d.message) or "", hint=fix(d.hint), path=fix(d.path) or "")


class _Returned(Future[PostResult]):
    """The caller's side of a shipped post: done once the outputs are written here."""

    def __init__(self, remote: Future[tuple[PostResult, dict[str, bytes]]]) -> None:
        super().__init__()
        self.remote = remote

    def cancel(self) -> bool:
        self.remote.cancel()
        return super().cancel()


class ShippingExecutor(Executor):
    """Runs ``batch.run_job`` on ``inner``'s workers as ``run_bundle`` (posts travel as
    bundles, outputs come back as bytes and are written here); anything else as it is."""

    def __init__(self, inner: Executor) -> None:
        self.inner = inner

    def submit(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Future[Any]:
        if fn is not run_job or kwargs or len(args) != 1:
            return self.inner.submit(fn, *args, **kwargs)
        job: Job = args[0]
        try:
            shipped = bundle(job)
        except OSError as exc:
            failed: Future[PostResult] = Future()
            failed.set_result(PostResult(job.display, "failed", None, 0.0, (error(
                "input", f"cannot read: {exc.strerror or exc}", path=job.display),)))
            return failed
        returned = _Returned(self.inner.submit(run_bundle, shipped))
        returned.remote.add_done_callback(lambda remote: _write_back(remote, returned, job))
        return returned

    def shutdown(self, wait: bool = True, *, cancel_futures: bool = False) -> None:
        """The inner executor belongs to the caller: it is not shut down."""


def _write_back(remote: Future[tuple[PostResult, dict[str, bytes]]],
                returned: _Returned, job: Job) -> None:
    """Write what a worker made beside ``job.output`` (only below the batch's folder)."""
    if not returned.set_running_or_notify_cancel():
        return
    try:
        result, made = remote.result()
        try:
            for name, data in made.items():
                write_output(Path(job.output).with_name(name), data, follow=False,
                             within=job.out_dir)
        except OSError as exc:
            result = replace(result, status="failed", output=None, diagnostics=(
                *result.diagnostics, error("output", f"{job.output}: cannot write: "
                                           f"{exc.strerror or exc}", path=job.display)))
        returned.set_result(result)
    except BaseException as exc:  # the worker died or the executor failed: batch reports it
        returned.set_exception(exc)


def convert_many(paths: Iterable[str | Path], out_dir: str | Path,
                 options: Options | None = None, executor: Executor | None = None, *,
                 root: str | Path | None = None, to: str = "pdf", force: bool = False,
                 fail_fast: bool = False, jobs: int | None = None,
                 on_result: ResultCallback | None = None,
                 memo: Memo | None = None) -> BatchReport:
    """``md2tex batch`` as a library call: convert ``paths`` (post files) into ``out_dir``
    (``<path relative to root>.pdf``, or ``.tex`` with ``to="tex"``), skipping unchanged
    posts unless ``force``. Outputs in the report are absolute paths.

    ``executor``: the default is a thread pool (``jobs`` threads). A ``ThreadPoolExecutor``
    or ``ProcessPoolExecutor`` shares this machine's folders and runs posts in place; any
    other executor (``distributed.Client(...).get_executor()``) is taken to run elsewhere:
    each post is shipped to it with the files it names, and its PDF comes back to be
    written here. It is not shut down. ``on_result(result, done, total)`` is called in the
    calling thread as each post finishes; ``memo``: the cache conversions here may use.
    Raises ``BatchInterrupted`` (a KeyboardInterrupt carrying the report) on Ctrl-C."""
    if executor is not None and not isinstance(executor,
                                               (ThreadPoolExecutor, ProcessPoolExecutor)):
        executor = ShippingExecutor(executor)
    return convert_many_here(paths, Path(out_dir).absolute(), options, executor, root=root,
                             to=to, force=force, fail_fast=fail_fast, jobs=jobs,
                             on_result=on_result, memo=memo)
