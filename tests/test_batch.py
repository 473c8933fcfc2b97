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
from md2tex.site.batch import OLD_CACHE_NAME, cache_file, find_posts, output_for

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
    cache = cache_file(out)
    assert cache is not None and json.loads(cache.read_text())["version"] == 1
    # the cache lives in the user's cache folder: the output folder holds outputs only
    assert sorted(p.name for p in out.rglob("*")) == ["deep", "good.tex", "good2.tex",
                                                      "warn.tex"]


def test_the_batch_cache_is_kept_per_output_folder_outside_it(tmp_path: Path) -> None:
    posts = write_posts(tmp_path / "src", a=GOOD)
    one, two = tmp_path / "one", tmp_path / "two"
    (one).mkdir()
    (one / OLD_CACHE_NAME).write_text("{}")  # left by an older md2tex: it is removed
    assert md2tex.convert_many(posts, one, to="tex").results[0].status == "ok"
    assert md2tex.convert_many(posts, two, to="tex").results[0].status == "ok"
    assert md2tex.convert_many(posts, one, to="tex").results[0].status == "skipped"
    assert cache_file(one) != cache_file(two)
    assert sorted(p.name for p in one.iterdir()) == ["a.tex"]


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
    assert not list(out.glob(".*"))  # nothing of md2tex's own is deployed with the outputs
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


def _batch(*args: str | Path) -> tuple[int, str]:
    result = CliRunner().invoke(main, ["batch", *map(str, args)])
    return result.exit_code, result.stderr


def test_cli_batch_says_why_a_post_failed_and_where(tmp_path: Path) -> None:
    """Not a terminal: one line per post; a failed post's line starts with FAILED and shows
    the error that failed it (not a warning it also had); the summary says the post was
    refused before TeX ran."""
    write_posts(tmp_path / "src", good=GOOD, warn=WARN)
    # its first diagnostic is a warning (good.md has its output name), then its error
    bad = tmp_path / "src" / "good.markdown"
    bad.write_text("---\ntitle: [unclosed\n---\n\nText.\n")
    code, err = _batch(tmp_path / "src", "-o", tmp_path / "out", "--to", "tex", "-j", "1")
    assert code == 1
    lines = err.splitlines()
    assert lines[0].startswith("md2tex batch: 3 posts in ")  # said before anything ran
    [failed] = [line for line in lines if line.startswith("FAILED ")]
    assert failed.startswith(f"FAILED {bad}:3:1: error: invalid YAML front matter")
    assert failed.endswith("[front-matter] (+1 more)")
    assert any(line.startswith(f"{tmp_path / 'src' / 'warn.md'}:7: warning: ") for line in lines)
    assert any(line.startswith("ok ") and "good.md -> " in line for line in lines)
    summary = err[err.index("converted"):]
    assert "refused before TeX" in summary and "TeX failed" not in summary


@needs_tex
def test_cli_batch_summary_separates_refused_posts_from_tex_failures(tmp_path: Path) -> None:
    from helpers import TRAP, TRAP_MACROS, trap_template

    macros = tmp_path / "macros.tex"
    macros.write_text(TRAP_MACROS + "\n")
    write_posts(tmp_path / "src", good=GOOD, bad=BAD, texfails=f"Text.\n\nThen {TRAP}.\n")
    report = tmp_path / "report.json"
    code, err = _batch(tmp_path / "src", "-o", tmp_path / "out", "--strict", "--template",
                       trap_template(tmp_path), "--macros", macros, "--report", report)
    assert code == 1
    [tex_line] = [line for line in err.splitlines() if "texfails.md" in line]
    assert tex_line.startswith(f"FAILED {tmp_path / 'src' / 'texfails.md'}:3: error: TeX: "
                               "Undefined control sequence")
    rows = {" ".join(line.split()[:-1]): line.split()[-1] for line in err.splitlines()
            if line.startswith("  ")}
    assert rows["refused before TeX"] == "1" and rows["TeX failed"] == "1"
    data = json.loads(report.read_text())
    assert data["summary"]["failed_by_stage"]["tex"] == 1
    assert {p["path"].rsplit("/", 1)[1]: p.get("stage") for p in data["posts"]} == {
        "bad.md": "refused", "good.md": None, "texfails.md": "tex"}


def test_cli_batch_of_a_folder_without_posts_is_a_usage_error(tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()
    code, err = _batch(tmp_path / "empty", "-o", tmp_path / "out")
    assert code == 2 and "no posts (*.md, *.markdown) under" in err
    assert not (tmp_path / "out").exists()


def test_drafts_are_left_out_unless_asked_for(tmp_path: Path) -> None:
    site = tmp_path / "site"
    write_posts(site / "_posts", good=GOOD)
    write_posts(site / "_posts", hidden="---\ntitle: H\npublished: false\n---\n\nText.\n")
    write_posts(site / "_drafts", idea="# An idea\n\nText.\n")
    out = tmp_path / "out"
    report = tmp_path / "report.json"
    code, err = _batch(site, "-o", out, "--to", "tex", "--report", report)
    assert code == 0, err
    assert sorted(p.name for p in out.rglob("*.tex")) == ["good.tex"]
    rows = {p["path"].rsplit("/", 1)[1]: (p["status"], p.get("reason"))
            for p in json.loads(report.read_text())["posts"]}
    assert rows == {"good.md": ("ok", None), "hidden.md": ("skipped", "draft")}
    code, err = _batch(site, "-o", out, "--to", "tex", "--drafts")
    assert code == 0, err
    assert (out / "hidden.tex").is_file() and (out / "_drafts" / "idea.tex").is_file()
    # the same as a setting of the site
    (site / "md2tex.yaml").write_text("drafts: true\n")
    code, err = _batch(site, "-o", tmp_path / "out2", "--to", "tex")
    assert (tmp_path / "out2" / "_drafts" / "idea.tex").is_file()


def test_posts_sharing_a_name_never_overwrite_each_other(tmp_path: Path) -> None:
    src = tmp_path / "src"
    src.mkdir()
    (src / "a.md").write_text("Written as a.md.\n")
    (src / "a.markdown").write_text("Written as a.markdown.\n")
    out = tmp_path / "out"
    code, err = _batch(src, "-o", out, "--to", "tex")
    assert code == 0, err
    assert "Written as a.md." in (out / "a.tex").read_text()
    assert "Written as a.markdown." in (out / "a.markdown.tex").read_text()
    assert "is also written to a.tex: this post is written to a.markdown.tex instead" in err
