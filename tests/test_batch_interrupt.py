"""Ctrl-C on a real ``md2tex batch`` process: clean stop, nothing half-written or left over,
and the report written all the same."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from batch_posts import GOOD, HAVE_PDFLATEX, SLOW_TEMPLATE, write_posts

pytestmark = pytest.mark.skipif(not HAVE_PDFLATEX, reason="needs pdflatex (TeX Live)")


def _processes_in(folder: Path) -> list[int]:
    """Processes whose working directory is inside ``folder`` (TeX runs in its temp dir)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            cwd = os.readlink(entry / "cwd")
        except OSError:
            continue
        if cwd.startswith(str(folder)):
            found.append(int(entry.name))
    return found


def test_sigint_stops_cleanly(tmp_path: Path) -> None:
    posts = tmp_path / "posts"
    write_posts(posts, **{f"p{i}": GOOD for i in range(6)})
    (tmp_path / "slow.tex.j2").write_text(SLOW_TEMPLATE)
    temp = tmp_path / "tmp"
    temp.mkdir()
    out = tmp_path / "out"
    report = tmp_path / "report.json"
    env = {**os.environ, "TMPDIR": str(temp), "XDG_CACHE_HOME": str(tmp_path / "xdg")}
    proc = subprocess.Popen(
        [sys.executable, "-m", "md2tex", "batch", str(posts), "-o", str(out), "-j", "2",
         "--template", str(tmp_path / "slow.tex.j2"), "--no-format-cache",
         "--report", str(report)],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 20
    while not _processes_in(temp) and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.05)
    if not _processes_in(temp):
        proc.kill()
        _out, err = proc.communicate(timeout=30)
        pytest.fail(f"TeX never started; md2tex batch ended with {proc.returncode}: "
                    f"{err.decode(errors='replace')[-3000:]}")
    time.sleep(0.3)
    started = time.monotonic()
    proc.send_signal(signal.SIGINT)
    _out, err = proc.communicate(timeout=30)
    assert time.monotonic() - started < 10, "did not stop promptly"
    assert proc.returncode == 130, err.decode()
    assert b"interrupted" in err
    assert _processes_in(temp) == [], "stray TeX processes"
    assert list(temp.iterdir()) == [], "temp dirs left behind"
    leftovers = [p for p in out.rglob("*") if p.suffix in (".pdf", ".part")
                 or ".part" in p.name] if out.exists() else []
    assert leftovers == []
    data = json.loads(report.read_text())
    assert data["interrupted"] is True and data["summary"]["interrupted"] is True
    assert len(data["posts"]) == 6
    assert {p["reason"] for p in data["posts"] if p["status"] == "skipped"} == {"interrupted"}
