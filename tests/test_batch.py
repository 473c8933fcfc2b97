"""convert_many and ``md2tex batch``: statuses, report, incremental cache, executors."""

from __future__ import annotations

import json
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import pytest
from batch_posts import BAD, GOOD, HAVE_PDFLATEX, WARN, write_posts
from click.testing import CliRunner

import md2tex
from md2tex.cli.commands import main
from md2tex.site.batch import CACHE_NAME, find_posts, output_for

needs_tex = pytest.mark.skipif(not HAVE_PDFLATEX, reason="needs pdflatex (TeX Live)")


@pytest.fixture(autouse=True)
def _format_cache(tmp_path_factory: pytest.TempPathFactory,
                  monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path_factory.getbasetemp() / "xdg"))


def test_find_posts_site_root_and_nesting(tmp_path: Path) -> None:
    write_posts(tmp_path / "_posts", a=GOOD, sub__b=GOOD)
    (tmp_path / "_posts" / "notes.txt").write_text("x")
    (tmp_path / "_posts" / "c.markdown").write_text(GOOD)
    (tmp_path / "README.md").write_text("not a post")
    (tmp_path / "_posts" / ".hidden").mkdir()
    (tmp_path / "_posts" / ".hidden" / "d.md").write_text(GOOD)
    root, posts = find_posts(tmp_path)
    assert root == tmp_path / "_posts"
    assert [p.relative_to(root).as_posix() for p in posts] == ["a.md", "c.markdown",
                                                               "sub/b.md"]
    assert output_for(posts[2], root, tmp_path / "out", "pdf") == tmp_path / "out/sub/b.pdf"


def test_find_posts_excludes_the_output_folder(tmp_path: Path) -> None:
    write_posts(tmp_path, a=GOOD, out__old=GOOD)
    _root, posts = find_posts(tmp_path, exclude=[tmp_path / "out"])
    assert [p.name for p in posts] == ["a.md"]


def test_tex_batch_statuses_report_and_incremental(tmp_path: Path) -> None:
    posts = write_posts(tmp_path / "src", good=GOOD, warn=WARN, bad=BAD, deep__good2=GOOD)
    out = tmp_path / "out"
    seen: list[tuple[str, int, int]] = []
    report = md2tex.convert_many(posts, out, to="tex",
                                 on_result=lambda r, done, total: seen.append(
                                     (r.status, done, total)))
    status = {Path(r.path).name: r.status for r in report.results}
    assert status == {"good.md": "ok", "warn.md": "warning", "bad.md": "failed",
                      "good2.md": "ok"}
    assert [r.path for r in report.results] == [str(p) for p in posts]  # input order
    assert sorted(d for _s, d, _t in seen) == [1, 2, 3, 4] and {t for *_x, t in seen} == {4}
    assert (out / "good.tex").read_text().startswith("\\documentclass")
    assert (out / "deep" / "good2.tex").is_file()
    assert not (out / "bad.tex").exists()
    bad = next(r for r in report.results if r.status == "failed")
    assert bad.output is None
    assert any(d.line == 3 and d.severity is md2tex.Severity.ERROR for d in bad.diagnostics)
    assert report.exit_code == 1 and report.converted == 3 and report.failed == 1
    summary = report.format_summary()
    for word in ("converted", "with warnings", "failed", "skipped", "time"):
        assert word in summary
    data = report.to_json()
    row = next(p for p in data["posts"] if p["path"].endswith("warn.md"))
    assert set(row) >= {"path", "status", "output", "seconds", "diagnostics"}
    assert row["diagnostics"][0]["severity"] == "warning"
    json.dumps(data)

    # second run: unchanged posts are skipped, the failed one is tried again
    again = md2tex.convert_many(posts, out, to="tex")
    status = {Path(r.path).name: r.status for r in again.results}
    assert status == {"good.md": "skipped", "warn.md": "skipped", "bad.md": "failed",
                      "good2.md": "skipped"}
    replayed = next(r for r in again.results if r.status == "failed")
    assert replayed.reason == "unchanged"  # an unchanged failure is not rebuilt
    assert [d.line for d in replayed.diagnostics] == [d.line for d in bad.diagnostics]
    # a changed post, changed options, a deleted output, --force: rebuilt
    posts[0].write_text(GOOD + "\nOne more line.\n")
    (out / "deep" / "good2.tex").unlink()
    third = md2tex.convert_many(posts, out, to="tex")
    status = {Path(r.path).name: r.status for r in third.results}
    assert status["good.md"] == "ok" and status["good2.md"] == "ok"
    assert status["warn.md"] == "skipped"
    opts = md2tex.Options(variables={"papersize": "letterpaper"})
    assert {r.status for r in md2tex.convert_many(posts[1:2], out, opts, to="tex",
                                                  root=tmp_path / "src").results} == {"warning"}
    forced = md2tex.convert_many(posts, out, to="tex", force=True)
    assert forced.count("skipped") == 0
    assert json.loads((out / CACHE_NAME).read_text())["version"] == 1


def test_fail_fast_skips_the_rest(tmp_path: Path) -> None:
    posts = write_posts(tmp_path, **{"a_bad": BAD, **{f"p{i}": GOOD for i in range(6)}})
    report = md2tex.convert_many(posts, tmp_path / "out", to="tex", fail_fast=True, jobs=1)
    assert report.results[0].status == "failed"
    assert report.count("skipped") >= 1
    assert all(r.reason == "fail-fast" for r in report.results if r.status == "skipped")


def test_process_pool_executor(tmp_path: Path) -> None:
    """Work items are picklable: a process pool works as well as threads."""
    posts = write_posts(tmp_path, a=GOOD, b=WARN)
    with ProcessPoolExecutor(max_workers=2) as pool:
        report = md2tex.convert_many(posts, tmp_path / "out", to="tex", executor=pool)
    assert [r.status for r in report.results] == ["ok", "warning"]
    assert (tmp_path / "out" / "a.tex").is_file()


@needs_tex
def test_pdf_batch_one_failure_does_not_stop_the_others(tmp_path: Path) -> None:
    posts = write_posts(tmp_path, good=GOOD, bad=BAD, sub__warn=WARN)
    report = md2tex.convert_many(posts, tmp_path / "out", jobs=2)
    assert [r.status for r in report.results] == ["ok", "failed", "warning"]
    assert (tmp_path / "out" / "good.pdf").read_bytes().startswith(b"%PDF")
    assert (tmp_path / "out" / "sub" / "warn.pdf").read_bytes().startswith(b"%PDF")
    assert not list((tmp_path / "out").rglob("*.part"))


def test_cli_batch_site_root_report_and_exit_status(tmp_path: Path) -> None:
    site = tmp_path / "site"
    write_posts(site / "_posts", good=GOOD, warn=WARN, bad=BAD)
    (site / "_config.yml").write_text("url: https://example.org\ntitle: Site\n")
    (site / "md2tex.yaml").write_text("to: tex\nnot_an_option: 1\n")
    out, report_file = tmp_path / "out", tmp_path / "report.json"
    result = CliRunner().invoke(main, ["batch", str(site), "-o", str(out), "--report",
                                       str(report_file), "-j", "2"])
    assert result.exit_code == 1, result.output
    err = result.stderr
    assert "unknown key 'not_an_option'" in err
    assert f"{site / '_posts' / 'bad.md'}:3:" in err  # per-file line with path:line
    assert "warn.md:" in err and "warning" in err
    assert "converted" in err and "failed" in err
    assert "[#" not in err  # no progress bar when stderr is not a terminal
    data = json.loads(report_file.read_text())
    assert {p["status"] for p in data["posts"]} == {"ok", "warning", "failed"}
    assert (out / "good.tex").is_file()
    # everything converted now: exit 0 and all skipped
    (site / "_posts" / "bad.md").unlink()
    result = CliRunner().invoke(main, ["batch", str(site), "-o", str(out)])
    assert result.exit_code == 0, result.output
    assert "skipped" in result.stderr


def test_cli_batch_config_error_is_usage_error(tmp_path: Path) -> None:
    write_posts(tmp_path / "src", a=GOOD)
    (tmp_path / "bad.yaml").write_text("engine: [unclosed\n")
    result = CliRunner().invoke(main, ["batch", str(tmp_path / "src"), "-o",
                                       str(tmp_path / "out"), "--config",
                                       str(tmp_path / "bad.yaml")])
    assert result.exit_code == 2
    assert "bad.yaml" in result.stderr


def test_batch_site_paths_start_at_the_folder_given(tmp_path: Path) -> None:
    """``/img/x.png`` in a post of ``md2tex batch SITE`` is SITE/img/x.png, as Jekyll serves
    it, also for a folder that is not a Jekyll site (no ``_config.yml``, no ``_posts``)."""
    from helpers import make_png, run_md2tex

    site = tmp_path / "site"
    (site / "notes").mkdir(parents=True)
    (site / "img").mkdir()
    make_png(site / "img" / "dot.png")
    (site / "notes" / "p.md").write_text("# P\n\n![a dot](/img/dot.png)\n", encoding="utf-8")
    report = tmp_path / "report.json"
    done = run_md2tex(["batch", site, "-o", tmp_path / "out", "--to", "tex", "--report",
                       report])
    assert done.returncode == 0, done.stderr
    codes = [d["code"] for post in json.loads(report.read_text())["posts"]
             for d in post["diagnostics"]]
    assert not [c for c in codes if c.startswith("image-")], codes
    assert "includegraphics" in (tmp_path / "out" / "notes" / "p.tex").read_text()
