"""``md2tex batch`` on a terminal: a status line (done/total, posts in flight, time left)
redrawn in place, lines only for posts with problems; a real process on a pseudo-terminal."""

from __future__ import annotations

import os
import pty
import subprocess
import sys
from pathlib import Path

from batch_posts import GOOD, WARN, write_posts


def _run_on_a_terminal(args: list[str], env: dict[str, str]) -> str:
    """Run ``python -m md2tex ARGS`` with stdout and stderr on a pseudo-terminal; all it
    wrote there."""
    leader, follower = pty.openpty()
    proc = subprocess.Popen([sys.executable, "-m", "md2tex", *args], stdin=subprocess.DEVNULL,
                            stdout=follower, stderr=follower, env=env)
    os.close(follower)
    chunks = []
    while True:
        try:
            data = os.read(leader, 4096)
        except OSError:  # EIO: the process closed the terminal
            break
        if not data:
            break
        chunks.append(data)
    proc.wait(timeout=120)
    os.close(leader)
    assert proc.returncode == 0
    return b"".join(chunks).decode("utf-8", "replace").replace("\r\n", "\n")


def test_status_line_on_a_terminal(tmp_path: Path) -> None:
    write_posts(tmp_path / "src", **{f"p{i}": GOOD for i in range(4)}, warn=WARN)
    env = {**os.environ, "XDG_CACHE_HOME": str(tmp_path / "xdg"), "NO_COLOR": "1"}
    out = _run_on_a_terminal(["batch", str(tmp_path / "src"), "-o", str(tmp_path / "out"),
                              "--to", "tex", "-j", "1"], env)
    assert out.startswith("md2tex batch: 5 posts in ")  # at once, before any post ran
    assert "\r[0/5] 1 in flight" in out  # drawn before the first post finished
    assert "\r[1/5] 1 in flight, about " in out and " s left" in out
    # finished posts without problems are counted, not listed; the warning has its line
    assert "ok " not in out
    assert "warn.md:7: warning: no highlighter" in out
    assert "\r[5/5]" not in out  # the line is cleared before the summary
    assert "converted" in out.split("\r")[-1]  # the summary after the cleared line
