"""``md2tex.convert`` is pure, as the README says: a library call reads and writes no cache
unless the caller hands it one (``memo=``), and no module steers another through a hidden
context variable. With the user's memo (what the CLI passes) the same post gives the same
LaTeX."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from helpers import SAMPLES

import md2tex
from md2tex.memo import Memo

POST = """---
title: Pure
author: A. Writer
date: 2024-03-01
tags: [one, two]
---

Text with a formula $x^2 + y^2 = z^2$ and a display one:

$$\\int_0^1 f(x)\\,dx$$

```python
def f(x):
    return x + 1
```

![A chart](chart.svg)

![A spinner](spinner.gif)
"""


@pytest.fixture()
def post(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    monkeypatch.delenv("MD2TEX_MEMO", raising=False)
    folder = tmp_path / "site"
    folder.mkdir()
    for name in ("chart.svg", "spinner.gif"):
        shutil.copy(SAMPLES / "images" / name, folder / name)
    path = folder / "post.md"
    path.write_text(POST, encoding="utf-8")
    return path


def _files(folder: Path) -> list[Path]:
    return sorted(p for p in folder.rglob("*")) if folder.exists() else []


def test_a_library_conversion_writes_no_cache(post: Path, tmp_path: Path) -> None:
    before = sorted(p.name for p in post.parent.iterdir())
    doc = md2tex.convert_file(post)
    assert doc.ok, doc.diagnostics
    assert "\\PY" in doc.tex and "\\mdincludegraphics" in doc.tex
    assert _files(tmp_path / "xdg") == []
    assert sorted(p.name for p in post.parent.iterdir()) == before
    # the converted GIF (and the SVG, with rsvg-convert) are files the build can copy
    assert any(name.endswith(".png") for name in doc.resources)
    if shutil.which("rsvg-convert"):
        assert any(name.endswith(".pdf") for name in doc.resources)
    for source in doc.resources.values():
        assert Path(source).is_file()
        assert not Path(source).is_relative_to(tmp_path / "xdg")


def test_the_users_memo_gives_the_same_latex(post: Path, tmp_path: Path) -> None:
    plain = md2tex.convert_file(post)
    remembered = md2tex.convert_file(post, memo=Memo.for_user())
    assert remembered.tex == plain.tex and remembered.resources.keys() == plain.resources.keys()
    kinds = {p.name for p in (tmp_path / "xdg" / "md2tex" / "memo").iterdir()}
    assert {"yaml", "code", "style", "template"} <= kinds
    assert _files(tmp_path / "xdg" / "md2tex" / "images") != []
    again = md2tex.convert_file(post, memo=Memo.for_user())
    assert again.tex == plain.tex and again.resources == remembered.resources


def test_a_memo_folder_others_can_write_to_is_not_used(post: Path, tmp_path: Path) -> None:
    shared = tmp_path / "shared"
    shared.mkdir(mode=0o777)
    shared.chmod(0o777)
    (shared / "memo").mkdir()
    (shared / "memo").chmod(0o777)
    doc = md2tex.convert_file(post, memo=Memo(shared))
    assert doc.ok
    assert [p.name for p in (shared / "memo").iterdir()] == []


def test_no_hidden_switches_between_modules() -> None:
    package = Path(md2tex.__file__).parent
    users = [str(p.relative_to(package)) for p in package.rglob("*.py")
             if "ContextVar" in p.read_text(encoding="utf-8")]
    assert users == []
