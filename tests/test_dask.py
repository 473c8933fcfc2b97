"""A batch on a Dask cluster (the optional ``md2tex[dask]`` extra)."""

from __future__ import annotations

from pathlib import Path

import pytest
from batch_posts import BAD, GOOD, HAVE_PDFLATEX, WARN, write_posts

import md2tex

distributed = pytest.importorskip(
    "distributed", reason="the optional Dask extra is not installed: pip install 'md2tex[dask]'")


def test_batch_on_a_local_cluster(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    posts = write_posts(tmp_path / "src", good=GOOD, warn=WARN, bad=BAD)
    with distributed.LocalCluster(n_workers=1, threads_per_worker=2, processes=False,
                                  dashboard_address=None) as cluster, \
            distributed.Client(cluster) as client:
        executor = client.get_executor()
        report = md2tex.convert_many(posts, tmp_path / "tex", to="tex", executor=executor)
        assert [r.status for r in report.results] == ["ok", "warning", "failed"]
        assert (tmp_path / "tex" / "good.tex").is_file()
        if HAVE_PDFLATEX:
            pdf = md2tex.convert_many(posts[:1], tmp_path / "pdf", executor=executor)
            assert pdf.results[0].status == "ok"
            assert (tmp_path / "pdf" / "good.pdf").read_bytes().startswith(b"%PDF")
