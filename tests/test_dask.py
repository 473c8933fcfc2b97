"""A batch on a Dask cluster (the optional ``md2tex[dask]`` extra), threads and processes.

The cluster's workers are separate processes in another working directory, and each refuses
to open anything in the caller's site folder: what they need travels with the post, and
the caller writes the PDFs."""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from concurrent.futures import Executor, ProcessPoolExecutor, ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
from batch_posts import BAD, GOOD, HAVE_PDFLATEX, WARN, write_posts
from helpers import HAVE_POPPLER, make_png, pdf_image_count, pdf_text

import md2tex

distributed = pytest.importorskip(
    "distributed", reason="the optional Dask extra is not installed: pip install 'md2tex[dask]'")

needs_tex = pytest.mark.skipif(not (HAVE_PDFLATEX and HAVE_POPPLER),
                               reason="needs pdflatex (TeX Live) and poppler-utils")

#: a post that names an image by its site path and a bibliography beside it
SITE_POST = """---
title: Shipped to a worker
bibliography: refs.bib
---

Reals: $\\R^n$ and a figure.

![A square](/assets/square.png)

Closing words of the shipped post.
"""


def _refuse_opening(folder: str) -> None:
    """In a worker: opening anything below ``folder`` fails (an audit hook, for the life
    of the worker process), as if the caller's folders were not there."""
    def hook(event: str, args: tuple[Any, ...]) -> None:
        if event == "open" and isinstance(args[0], (str, bytes, os.PathLike)):
            path = os.fsdecode(args[0])
            if os.path.abspath(path).startswith(folder):
                raise PermissionError(f"worker may not open {path}")
    sys.addaudithook(hook)


def _site(root: Path) -> list[Path]:
    (root / "_posts").mkdir(parents=True)
    (root / "_config.yml").write_text("title: Shipped\n", encoding="utf-8")
    (root / "_posts" / "refs.bib").write_text("@book{k, title={T}, year=2000}\n",
                                              encoding="utf-8")
    make_png(root / "assets" / "square.png")
    posts = [root / "_posts" / "2024-01-01-shipped.md"]
    posts[0].write_text(SITE_POST, encoding="utf-8")
    posts += write_posts(root / "_posts", good=GOOD, bad=BAD)
    return posts


@pytest.fixture(scope="module")
def cluster_executor(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Executor]:
    """Two single-threaded worker processes whose working directory is their own."""
    scratch = tmp_path_factory.mktemp("dask")
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                  dashboard_address=None, local_directory=str(scratch),
                                  ) as cluster, distributed.Client(cluster) as client:
        client.run(os.chdir, str(scratch))
        yield client.get_executor()


def test_batch_on_a_cluster_whose_workers_share_no_folders(
        tmp_path: Path, cluster_executor: Executor, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    posts = _site(tmp_path / "site")
    client = distributed.get_client()
    site = str((tmp_path / "site").resolve())
    client.run(_refuse_opening, site)
    assert set(client.run(os.getcwd).values()) != {os.getcwd()}
    # the guard holds: a worker cannot read the site's files, by any path
    peek = client.submit(Path.read_bytes, tmp_path / "site" / "_config.yml", pure=False)
    assert isinstance(peek.exception(), PermissionError)
    opts = md2tex.Options(macros={"\\R": "\\mathbb{R}"})
    report = md2tex.convert_many([p.relative_to(tmp_path) for p in posts], "out", opts,
                                 executor=cluster_executor, to="tex")
    by_name = {Path(r.path).name: r for r in report.results}
    assert by_name["good.md"].status == "ok" and by_name["bad.md"].status == "failed"
    shipped = by_name["2024-01-01-shipped.md"]
    for result in report.results:
        assert result.output is None or Path(result.output).is_absolute()
    assert shipped.output == str(tmp_path / "out" / "2024-01-01-shipped.tex")
    tex = Path(shipped.output).read_text(encoding="utf-8")
    assert "\\mathbb{R}" in tex and "Closing words" in tex
    assert not [d for d in shipped.diagnostics if d.code.startswith("image")], \
        shipped.diagnostics
    # the failed post's diagnostics name the caller's file, at its Markdown line
    bad = by_name["bad.md"].diagnostics
    assert bad and bad[0].path == str(Path("site/_posts/bad.md")) and bad[0].line == 3


@needs_tex
def test_pdfs_from_a_cluster_are_written_by_the_caller(
        tmp_path: Path, cluster_executor: Executor) -> None:
    posts = _site(tmp_path / "site")
    client = distributed.get_client()
    client.run(_refuse_opening, str((tmp_path / "site").resolve()))
    opts = md2tex.Options(macros={"\\R": "\\mathbb{R}"})
    report = md2tex.convert_many(posts[:2], tmp_path / "pdf", opts, executor=cluster_executor)
    assert [r.status for r in report.results] == ["ok", "ok"], report.to_json()
    pdf = Path(report.results[0].output or "")
    assert pdf == tmp_path / "pdf" / "2024-01-01-shipped.pdf"
    text = pdf_text(pdf)
    assert "Closing words of the shipped post" in text
    assert pdf_image_count(pdf) == 1
    assert (tmp_path / "pdf" / "good.pdf").read_bytes().startswith(b"%PDF")


@pytest.mark.parametrize("pool", [ThreadPoolExecutor, ProcessPoolExecutor])
def test_threads_and_processes_run_posts_in_place(tmp_path: Path,
                                                  pool: type[Executor]) -> None:
    posts = write_posts(tmp_path / "src", good=GOOD, warn=WARN, bad=BAD)
    with pool(max_workers=2) as executor:
        report = md2tex.convert_many(posts, tmp_path / "tex", to="tex", executor=executor)
    assert [r.status for r in report.results] == ["ok", "warning", "failed"]
    assert report.results[0].output == str(tmp_path / "tex" / "good.tex")
    assert (tmp_path / "tex" / "good.tex").is_file()


def test_a_bundle_holds_the_files_the_post_names_and_no_others(tmp_path: Path) -> None:
    from md2tex.site.batch import Job
    from md2tex.site.remote import bundle

    posts = _site(tmp_path / "site")
    site = tmp_path / "site"
    (site / "assets" / "chart.svg").write_text(
        '<svg xmlns="http://www.w3.org/2000/svg" xmlns:xlink="http://www.w3.org/1999/xlink">'
        '<image xlink:href="square.png" width="4" height="4"/></svg>', encoding="utf-8")
    (site / "_posts" / "my plot.png").write_bytes((site / "assets" / "square.png").read_bytes())
    (site / "assets" / "unrelated.png").write_bytes(b"not named by the post")
    (tmp_path / "outside.png").write_bytes(b"outside the site")
    posts[0].write_text(SITE_POST + "\n![c](/assets/chart.svg) ![p](my plot.png) "
                        "![o](../../outside.png)\n", encoding="utf-8")
    job = Job(str(posts[0]), "post.md", str(tmp_path / "out" / "post.pdf"), "pdf",
              md2tex.Options())
    shipped = bundle(job)
    names = {str(Path(p).relative_to(site)) for p in shipped.files}
    assert names == {"_posts/2024-01-01-shipped.md", "_posts/refs.bib", "_posts/my plot.png",
                     "assets/square.png", "assets/chart.svg"}
    assert shipped.job.options.site_root == site.resolve()
    # a bibliography the post does not name (jekyll-scholar's default) travels too
    (site / "_bibliography").mkdir()
    (site / "_bibliography" / "references.bib").write_text("@misc{m, title={M}}\n",
                                                          encoding="utf-8")
    other = bundle(Job(str(posts[1]), "good.md", str(tmp_path / "out" / "good.pdf"), "pdf",
                       md2tex.Options()))
    assert {str(Path(p).relative_to(site)) for p in other.files} == {
        "_posts/good.md", "_bibliography/references.bib"}
