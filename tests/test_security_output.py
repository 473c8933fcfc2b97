"""Outputs and inputs never go through a link md2tex was not given (SECURITY.md, issue 10
items 4 and 9; issue 13 "Output paths").

- ``md2tex post.md`` (derived ``post.pdf``): a symlink, folder, FIFO or device there is
  refused before TeX runs (exit 5); ``-o NAME`` is written *through* what is there: a
  symlink's regular target is replaced atomically (the link stays), a FIFO, ``/dev/null`` and
  ``/dev/stdout`` get a plain write and are never replaced.
- ``md2tex batch``: a symlinked post or folder is never read (warning, ``skipped``); an
  output is written only into real folders below OUTDIR (a symlinked subfolder or output
  file fails that post, nothing is written through it); two posts with one output name get
  two files.
"""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
import threading
from pathlib import Path

import pytest
from batch_posts import GOOD, write_posts
from click.testing import CliRunner
from helpers import ROOT, needs_tex, run_md2tex

import md2tex
from md2tex.cli.commands import main
from md2tex.site.batch import find_posts, output_names, read_post_bytes
from md2tex.tex.output import OutputRefused, check_output, write_output

SECRET = "CANARY-SECRET-5512"


@pytest.fixture(autouse=True)
def _private_cache(tmp_path_factory: pytest.TempPathFactory,
                   monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path_factory.getbasetemp() / "xdg"))


def _env(tmp_path: Path) -> dict[str, str]:
    return {"XDG_CACHE_HOME": str(tmp_path / "xdg"), "MD2TEX_EARLY_TEX": "0"}


# ------------------------------------------------------------------ output.py, no TeX

def test_write_through_a_symlink_replaces_its_target_and_keeps_the_link(tmp_path: Path) -> None:
    target = tmp_path / "real" / "target.pdf"
    target.parent.mkdir()
    target.write_bytes(b"old")
    link = tmp_path / "link.pdf"
    link.symlink_to(target)
    write_output(link, b"%PDF new")
    assert link.is_symlink() and target.read_bytes() == b"%PDF new"
    dangling = tmp_path / "dangling.pdf"
    dangling.symlink_to(tmp_path / "real" / "created.pdf")
    write_output(dangling, b"%PDF x")
    assert dangling.is_symlink() and (tmp_path / "real" / "created.pdf").read_bytes() == b"%PDF x"
    assert not list(tmp_path.rglob("*.part"))


def test_derived_names_never_follow_links_or_special_files(tmp_path: Path) -> None:
    victim = tmp_path / "victim"
    victim.write_text("keep me")
    link = tmp_path / "post.pdf"
    link.symlink_to(victim)
    fifo = tmp_path / "fifo.pdf"
    os.mkfifo(fifo)
    folder = tmp_path / "folder.pdf"
    folder.mkdir()
    for path in (link, fifo, folder):
        with pytest.raises(OutputRefused):
            check_output(path, follow=False)
        with pytest.raises(OutputRefused):
            write_output(path, b"%PDF", follow=False)  # a FIFO is not opened: no hang
    assert victim.read_text() == "keep me" and link.is_symlink()
    assert stat.S_ISFIFO(os.lstat(fifo).st_mode) and not list(folder.iterdir())
    with pytest.raises(OutputRefused):
        write_output(folder, b"%PDF")  # a folder is refused even when named by the user


def test_a_fifo_and_dev_null_are_written_through_not_replaced(tmp_path: Path) -> None:
    fifo = tmp_path / "out.pdf"
    os.mkfifo(fifo)
    got: list[bytes] = []
    reader = threading.Thread(target=lambda: got.append(fifo.read_bytes()))
    reader.start()
    write_output(fifo, b"%PDF through a fifo")
    reader.join(10)
    assert got == [b"%PDF through a fifo"] and stat.S_ISFIFO(os.lstat(fifo).st_mode)
    before = os.stat("/dev/null")
    write_output(Path("/dev/null"), b"%PDF")
    after = os.stat("/dev/null")
    assert stat.S_ISCHR(after.st_mode) and after.st_ino == before.st_ino
    link = tmp_path / "null.pdf"
    link.symlink_to("/dev/null")
    write_output(link, b"%PDF")
    assert link.is_symlink() and stat.S_ISCHR(os.stat("/dev/null").st_mode)


def test_batch_writes_only_into_real_folders_below_the_output_folder(tmp_path: Path) -> None:
    out, elsewhere = tmp_path / "out", tmp_path / "elsewhere"
    out.mkdir()
    elsewhere.mkdir()
    (out / "posts").symlink_to(elsewhere)
    with pytest.raises(OutputRefused, match="symbolic link"):
        write_output(out / "posts" / "a.pdf", b"%PDF", within=out)
    with pytest.raises(OutputRefused):
        check_output(out / "posts" / "deeper" / "a.pdf", within=out)
    victim = tmp_path / "victim"
    victim.write_text("keep me")
    (out / "b.pdf").symlink_to(victim)
    with pytest.raises(OutputRefused, match="symbolic link"):
        write_output(out / "b.pdf", b"%PDF", within=out)
    assert not list(elsewhere.iterdir()) and victim.read_text() == "keep me"
    write_output(out / "new" / "deep" / "c.pdf", b"%PDF ok", within=out)
    assert (out / "new" / "deep" / "c.pdf").read_bytes() == b"%PDF ok"
    assert not list(out.rglob("*.part"))


# ------------------------------------------------------------------- single post, CLI

@needs_tex
def test_default_output_that_is_a_link_is_refused_before_tex(tmp_path: Path) -> None:
    """``post.pdf`` -> a folder or a file elsewhere (shipped with the site): exit 5, nothing
    written into the folder, the file untouched."""
    post = tmp_path / "post.md"
    post.write_text(GOOD)
    folder = tmp_path / "somefolder"
    folder.mkdir()
    (tmp_path / "post.pdf").symlink_to(folder)
    proc = run_md2tex([post], env=_env(tmp_path))
    assert proc.returncode == 5, proc.stderr
    assert "post.pdf" in proc.stderr and "symbolic link" in proc.stderr
    assert not list(folder.iterdir())
    (tmp_path / "post.pdf").unlink()
    victim = tmp_path / "bashrc"
    victim.write_text("keep me")
    (tmp_path / "post.pdf").symlink_to(victim)
    proc = run_md2tex([post], env=_env(tmp_path))
    assert proc.returncode == 5, proc.stderr
    assert victim.read_text() == "keep me" and (tmp_path / "post.pdf").is_symlink()


@needs_tex
def test_explicit_output_link_and_dev_stdout_are_written_through(tmp_path: Path) -> None:
    post = tmp_path / "post.md"
    post.write_text(GOOD)
    target = tmp_path / "real.pdf"
    target.write_bytes(b"old")
    link = tmp_path / "link.pdf"
    link.symlink_to(target)
    proc = run_md2tex([post, "-o", link], env=_env(tmp_path))
    assert proc.returncode == 0, proc.stderr
    assert link.is_symlink() and target.read_bytes().startswith(b"%PDF")
    # /dev/stdout into a pipe: the PDF comes out on stdout, nothing is created or replaced
    env = {**os.environ, **_env(tmp_path), "PYTHONPATH": str(ROOT)}
    piped = subprocess.run([sys.executable, "-m", "md2tex", str(post), "-o", "/dev/stdout"],
                           capture_output=True, env=env, timeout=120,
                           stdin=subprocess.DEVNULL)
    assert piped.returncode == 0, piped.stderr
    assert piped.stdout.startswith(b"%PDF") and piped.stdout.rstrip().endswith(b"%%EOF")


@needs_tex
def test_library_build_pdf_writes_through_a_fifo(tmp_path: Path) -> None:
    fifo = tmp_path / "out.pdf"
    os.mkfifo(fifo)
    got: list[bytes] = []
    reader = threading.Thread(target=lambda: got.append(fifo.read_bytes()))
    reader.start()
    md2tex.build_pdf(md2tex.convert(GOOD), fifo)
    reader.join(30)
    assert got and got[0].startswith(b"%PDF") and stat.S_ISFIFO(os.lstat(fifo).st_mode)


# ------------------------------------------------------------------------------ batch

def _site_with_links(tmp_path: Path) -> tuple[Path, Path]:
    """A site whose _posts holds a real post, a link to a secret outside the site, a link
    to another post inside it, and a linked folder of posts outside it."""
    site, outside = tmp_path / "site", tmp_path / "outside"
    write_posts(site / "_posts", real=GOOD)
    (site / "drafts").mkdir()
    (site / "drafts" / "inner.md").write_text(GOOD.replace("sums", "inner"))
    outside.mkdir()
    (outside / "id_rsa").write_text(f"-----BEGIN KEY-----\n{SECRET}\n")
    write_posts(outside / "posts", stolen=f"# {SECRET}\n")
    (site / "_posts" / "key.md").symlink_to(outside / "id_rsa")
    (site / "_posts" / "inner.md").symlink_to(site / "drafts" / "inner.md")
    (site / "_posts" / "linked").symlink_to(outside / "posts")
    return site, outside


def test_find_posts_leaves_out_symlinked_posts_and_folders(tmp_path: Path,
                                                           caplog: pytest.LogCaptureFixture
                                                           ) -> None:
    site, _outside = _site_with_links(tmp_path)
    _root, posts = find_posts(site)
    assert [p.name for p in posts] == ["real.md"]
    logged = caplog.text
    assert "key.md" in logged and "inner.md" in logged and "linked" in logged
    (site / "_posts" / "key.md").unlink()
    renamed = tmp_path / "site2"
    site.rename(renamed)
    (tmp_path / "site3").mkdir()
    (tmp_path / "site3" / "_posts").symlink_to(renamed / "_posts")
    assert find_posts(tmp_path / "site3")[1] == []  # _posts itself a link: not read


def test_batch_never_converts_a_symlinked_post(tmp_path: Path) -> None:
    site, _outside = _site_with_links(tmp_path)
    out, report = tmp_path / "out", tmp_path / "report.json"
    proc = run_md2tex(["batch", site, "-o", out, "--to", "tex", "--report", report],
                      env=_env(tmp_path))
    assert proc.returncode == 0, proc.stderr
    for name in ("key.md", "inner.md", "linked"):  # each one said, not silently dropped
        assert any(name in line and "symbolic link" in line
                   for line in proc.stderr.splitlines()), proc.stderr
    written = sorted(p.relative_to(out).as_posix() for p in out.rglob("*.tex"))
    assert written == ["real.tex"]
    for path in out.rglob("*"):
        if path.is_file():
            assert SECRET not in path.read_text(errors="replace")
    # the library refuses a symlinked post given directly, and one below a linked folder
    posts = [site / "_posts" / "key.md", site / "_posts" / "linked" / "stolen.md",
             site / "_posts" / "real.md"]
    lib = md2tex.convert_many(posts, tmp_path / "out2", to="tex", root=site / "_posts")
    assert [(r.status, r.reason) for r in lib.results] == [
        ("skipped", "symlink"), ("skipped", "symlink"), ("ok", "")]
    assert lib.results[0].diagnostics[0].code == "symlink"
    assert not (tmp_path / "out2" / "key.tex").exists()
    assert not (tmp_path / "out2" / "linked").exists()
    with pytest.raises(OSError):
        read_post_bytes(site / "_posts" / "linked" / "stolen.md", site / "_posts")
    assert json.loads(report.read_text())["summary"]["failed"] == 0


def test_batch_refuses_a_symlinked_output_subfolder(tmp_path: Path) -> None:
    site, elsewhere = tmp_path / "site", tmp_path / "elsewhere"
    write_posts(site / "_posts", posts__a=GOOD, b=GOOD)
    elsewhere.mkdir()
    out = site / "pdf"
    out.mkdir()
    (out / "posts").symlink_to(elsewhere)
    victim = tmp_path / "victim"
    victim.write_text("keep me")
    (out / "b.tex").symlink_to(victim)
    result = CliRunner().invoke(main, ["batch", str(site), "-o", str(out), "--to", "tex"])
    assert result.exit_code == 1, result.output
    assert "symbolic link" in result.stderr and str(out / "posts") in result.stderr
    assert not list(elsewhere.iterdir()) and victim.read_text() == "keep me"
    report = md2tex.convert_many([site / "_posts" / "posts" / "a.md"], out, to="tex",
                                 root=site / "_posts")
    (failed,) = report.results
    assert failed.status == "failed" and failed.diagnostics[0].code == "output"


@needs_tex
def test_pdf_batch_refuses_a_symlinked_output_subfolder_before_tex(tmp_path: Path) -> None:
    src, elsewhere, out = tmp_path / "src", tmp_path / "elsewhere", tmp_path / "out"
    posts = write_posts(src, sub__a=GOOD, b=GOOD)
    elsewhere.mkdir()
    out.mkdir()
    (out / "sub").symlink_to(elsewhere)
    report = md2tex.convert_many(posts, out, md2tex.Options(keep_tex=True), root=src, jobs=1)
    assert [r.status for r in report.results] == ["failed", "ok"]
    assert "symbolic link" in report.results[0].diagnostics[-1].message
    assert not list(elsewhere.iterdir())
    assert (out / "b.pdf").read_bytes().startswith(b"%PDF")
    assert (out / "b.tex").read_text().startswith("\\documentclass")  # --keep-tex: same rules


def test_batch_output_names_never_collide(tmp_path: Path) -> None:
    site = tmp_path / "site"
    site.mkdir()
    (site / "index.md").write_text(GOOD.replace("sums", "from md"))
    (site / "index.markdown").write_text(GOOD.replace("sums", "from markdown"))
    (site / "index.markdown.md").write_text(GOOD.replace("sums", "from markdown md"))
    out = tmp_path / "out"
    _root, posts = find_posts(site)
    names = [(t.name, w is not None) for t, w in output_names(posts, site, out, "tex")]
    assert sorted(names) == [("index.markdown.2.tex", True), ("index.markdown.tex", False),
                             ("index.tex", False)]
    report = md2tex.convert_many(posts, out, to="tex", root=site)
    texts = {p.name: p.read_text() for p in out.glob("*.tex")}
    assert "from md" in texts["index.tex"]
    assert "from markdown md" in texts["index.markdown.tex"]
    second = texts["index.markdown.2.tex"]
    assert "from markdown" in second and "from markdown md" not in second
    renamed = next(r for r in report.results if r.path.endswith("index.markdown"))
    assert renamed.status == "warning"
    assert any(d.code == "output-name" for d in renamed.diagnostics)
    again = md2tex.convert_many(posts, out, to="tex", root=site)
    assert [r.status for r in again.results] == ["skipped"] * 3  # same names, same cache
    # the CLI says so
    (site / "index.markdown.md").unlink()
    result = CliRunner().invoke(main, ["batch", str(site), "-o", str(tmp_path / "cli"),
                                       "--to", "tex"])
    assert result.exit_code == 0, result.output
    assert "index.markdown.tex" in result.stderr
    assert {p.name for p in (tmp_path / "cli").glob("*.tex")} == {"index.tex",
                                                                 "index.markdown.tex"}
