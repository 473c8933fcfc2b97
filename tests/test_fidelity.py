""""Nothing lost", measured by the independent fidelity check (``../shared/checks/
fidelity_check.py``: what the web page shows against what the PDF contains) on a sample of
corpus sites built with their own settings: every post keeps >= 99% of its prose and every
display formula, and shows no source syntax (TeX, Markdown, HTML, Liquid).

The check builds each site with this checkout's ``md2tex batch`` and needs pandoc as its
reference parser; it takes a few minutes, so it is opt-in like the corpus run:
``MD2TEX_CORPUS=1 python -m pytest tests/test_fidelity.py``.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from helpers import CORPUS, ROOT

CHECK = CORPUS.parent / "checks" / "fidelity_check.py"
#: sites of different kinds: distill/al-folio with citations and theorem blocks, a classic
#: MathJax blog, a notebook-export blog
SAMPLE = ("aerosengart__aerosengart.github.io", "karpathy__karpathy.github.io",
          "krasserm__krasserm.github.io")
MIN_RECALL = 0.99


def _pandoc() -> str | None:
    found = shutil.which("pandoc")
    if found:
        return found
    try:
        import pypandoc
    except ImportError:
        return None
    path = pypandoc.get_pandoc_path()
    return str(path) if path else None


pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(os.environ.get("MD2TEX_CORPUS") != "1",
                       reason="the fidelity run takes minutes: set MD2TEX_CORPUS=1"),
    pytest.mark.skipif(not CHECK.is_file(), reason="the shared fidelity check is absent"),
    pytest.mark.skipif(_pandoc() is None, reason="the fidelity check needs pandoc"),
]


def _md2tex_bin(folder: Path) -> Path:
    """A folder whose ``md2tex`` is this checkout's, whatever else is on PATH."""
    folder.mkdir()
    exe = folder / "md2tex"
    exe.write_text(f"#!/bin/sh\nPYTHONPATH={ROOT} exec {sys.executable} -m md2tex \"$@\"\n",
                   encoding="utf-8")
    exe.chmod(0o755)
    return folder


def unfaithful(post: dict[str, Any]) -> list[str]:
    """Why a post is not faithful (empty: it is)."""
    why = []
    if post.get("recall", 0.0) < MIN_RECALL:
        why.append(f"recall {post.get('recall', 0.0):.3f}")
    found = post.get("display_found", 0) + post.get("display_unverifiable", 0)
    if found < post.get("display_src", 0):
        why.append(f"display formulas missing: {post.get('display_missing')}")
    leaks = {k: v for k, v in (post.get("leaks") or {}).items()
             if v and not k.endswith("_examples")}
    if leaks:
        why.append(f"source shown: {leaks}")
    return why


def test_sample_sites_are_faithful(tmp_path: Path) -> None:
    pandoc = _pandoc()
    assert pandoc is not None
    env = {**os.environ, "PATH": f"{Path(pandoc).parent}{os.pathsep}{os.environ['PATH']}",
           "MD2TEX_BINDIR": str(_md2tex_bin(tmp_path / "bin")),
           "XDG_CACHE_HOME": str(tmp_path / "cache")}
    report = tmp_path / "fidelity.json"
    proc = subprocess.run(
        [sys.executable, str(CHECK), "run", str(CORPUS / "jekyll"), "--sites", ",".join(SAMPLE),
         "-j", "2", "--out", str(tmp_path / "out"), "--json", str(report)],
        capture_output=True, text=True, env=env, timeout=1800, check=False)
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    posts = json.loads(report.read_text(encoding="utf-8"))["posts"]
    assert len(posts) >= 20
    problems = {p["post"]: why for p in posts if (why := unfaithful(p))}
    assert not problems, problems
