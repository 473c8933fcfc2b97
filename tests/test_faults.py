"""Faults around the TeX run: a full disk and a TeX process killed from outside.

Each must end in a clear message, no partial output, no temporary directory left behind and
an earlier good output file intact.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from helpers import cmdline, looping_template

pytestmark = pytest.mark.skipif(shutil.which("pdflatex") is None, reason="needs pdflatex")

MD2TEX = [sys.executable, "-m", "md2tex"]


def _big_post(path: Path) -> Path:
    parts = ["---", "title: A long post", "---", ""]
    for i in range(700):
        parts.append(f"## Part {i}\n\nWords and a formula $x_{{{i}}}^2 + y = {i}$ to fill the "
                     "page, repeated. " * 4 + "\n")
    path.write_text("\n".join(parts), encoding="utf-8")
    return path


def _can_mount_tmpfs(where: Path) -> bool:
    if shutil.which("unshare") is None:
        return False
    probe = subprocess.run(
        ["unshare", "--user", "--map-root-user", "--mount", "sh", "-c",
         f"mount -t tmpfs -o size=64k tmpfs '{where}'"],
        capture_output=True, timeout=20, check=False)
    return probe.returncode == 0


@pytest.mark.parametrize("size", ["8k", "400k"])
def test_disk_full_during_the_tex_run(tmp_path: Path, size: str) -> None:
    """8k: the .tex itself does not fit; 400k: TeX fills the disk while writing the PDF."""
    small = tmp_path / "small"
    small.mkdir()
    if not _can_mount_tmpfs(small):
        pytest.skip("cannot mount a small tmpfs here (needs user namespaces)")
    post = _big_post(tmp_path / "big.md")
    out = tmp_path / "big.pdf"
    out.write_bytes(b"%PDF-1.5 earlier good output\n")
    script = (f"mount -t tmpfs -o size={size} tmpfs '{small}' && "
              f"TMPDIR='{small}' "
              f"{' '.join(MD2TEX)} '{post}' -o '{out}'; echo \"rc=$?\"; ls -A '{small}'")
    done = subprocess.run(["unshare", "--user", "--map-root-user", "--mount", "sh", "-c", script],
                          capture_output=True, text=True, timeout=120, check=False,
                          env={**os.environ, "XDG_CACHE_HOME": str(tmp_path / "cache")})
    lines = done.stdout.strip().splitlines()
    assert lines[0] == "rc=3", done.stdout + done.stderr
    assert lines[1:] == [], f"temporary files left behind: {lines[1:]}"
    assert "no space left" in done.stderr, done.stderr
    assert "Traceback" not in done.stderr
    assert out.read_bytes() == b"%PDF-1.5 earlier good output\n"
    assert not list(tmp_path.glob("*.part"))


def _tex_pids_below(pid: int) -> list[int]:
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_bytes()
            cmdline = Path(f"/proc/{entry}/cmdline").read_bytes()
        except OSError:
            continue
        if b"pdflatex" not in cmdline or b"bwrap" in cmdline.split(b"\0")[0]:
            continue
        # walk up to see whether it descends from pid
        ppid = int(stat[stat.rfind(b")") + 2 :].split()[1])
        seen = 0
        while ppid > 1 and seen < 50:
            if ppid == pid:
                found.append(int(entry))
                break
            try:
                pstat = Path(f"/proc/{ppid}/stat").read_bytes()
            except OSError:
                break
            ppid = int(pstat[pstat.rfind(b")") + 2 :].split()[1])
            seen += 1
    return found


def _is_format_dump(pid: int) -> bool:
    return b"-ini" in cmdline(pid).split(b"\0")


def _spinning_tex_pids(pid: int) -> list[int]:
    """The TeX runs below pid that stay alive for a second: the spinning document.

    A first build also dumps a format (``pdflatex -ini``), a short run that must not be the
    one killed: dumps are left out, and only runs seen alive twice, a second apart, count.
    """
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        before = {p for p in _tex_pids_below(pid) if not _is_format_dump(p)}
        time.sleep(1.0)
        stayed = sorted(before & set(_tex_pids_below(pid)))
        if stayed:
            return stayed
    return []


def test_tex_killed_mid_run(tmp_path: Path) -> None:
    """A TeX process killed from outside: exit 3, a clear message, nothing half-written."""
    template = looping_template(tmp_path)
    post = tmp_path / "post.md"
    post.write_text("# Hello\n\nA short post.\n", encoding="utf-8")
    out = tmp_path / "post.pdf"
    out.write_bytes(b"%PDF-1.5 earlier good output\n")
    tmpdir = tmp_path / "tmp"
    tmpdir.mkdir()
    env = {**os.environ, "TMPDIR": str(tmpdir), "XDG_CACHE_HOME": str(tmp_path / "cache")}
    proc = subprocess.Popen([*MD2TEX, str(post), "-o", str(out), "--template", str(template),
                             "--timeout", "60"], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env=env)
    try:
        pids = _spinning_tex_pids(proc.pid)
        assert pids, "the spinning TeX run never started"
        for pid in pids:
            os.kill(pid, signal.SIGKILL)
        _, stderr = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 3, stderr
    assert "stopped by SIGKILL" in stderr, stderr
    assert "Traceback" not in stderr
    assert out.read_bytes() == b"%PDF-1.5 earlier good output\n"
    assert list(tmpdir.iterdir()) == []
    assert _tex_pids_below(proc.pid) == []


def _alive(pid: int) -> bool:
    """Running (a zombie waiting for a parent that does not reap orphans has ended)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_bytes()
    except OSError:
        return False
    return stat[stat.rfind(b")") + 2:].split()[0] not in (b"Z", b"X")


def test_tex_dies_with_md2tex(tmp_path: Path) -> None:
    """md2tex SIGKILLed while TeX spins, without bubblewrap (whose --die-with-parent would
    do it): no ``finally`` runs, yet no TeX survives it (the kernel's parent-death signal)."""
    template = looping_template(tmp_path)
    post = tmp_path / "post.md"
    post.write_text("# Hello\n\nA short post.\n", encoding="utf-8")
    env = {**os.environ, "MD2TEX_ISOLATION": "none", "TMPDIR": str(tmp_path),
           "XDG_CACHE_HOME": str(tmp_path / "cache")}
    proc = subprocess.Popen([*MD2TEX, str(post), "-o", str(tmp_path / "post.pdf"),
                             "--template", str(template), "--timeout", "60"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env)
    pids: list[int] = []
    try:
        pids = _spinning_tex_pids(proc.pid)
        assert pids, "the spinning TeX run never started"
        proc.kill()
        proc.wait(timeout=10)
        deadline = time.monotonic() + 10
        while any(map(_alive, pids)) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert not [p for p in pids if _alive(p)], "TeX outlived md2tex"
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        for pid in pids:  # never leave a spinning TeX behind, even when the test fails
            if _alive(pid):
                os.kill(pid, signal.SIGKILL)
