"""``md2tex.memo``: results of front matter parsing, highlighting and template filling are
remembered between processes in the ``Memo`` the CLI hands to ``convert``, so a rebuild
imports neither PyYAML, Pygments nor Jinja; what comes back is exactly what the library would
have produced without one, and a folder anyone could write to, a damaged entry or
``MD2TEX_MEMO=0`` is simply not used."""

from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from md2tex import memo
from md2tex.memo import Memo

POST = """---
title: Remembered
author: A. Writer
date: 2024-03-01 10:30:00 +01:00
tags: [one, two]
description: What a rebuild does not parse again.
---

Some text with `code` and a formula $x^2$.

```python
def f(x):
    return x + 1  # one more
```
"""

#: converts a post in a fresh interpreter as the CLI does (with the user's memo); prints
#: which libraries it imported and the .tex
PROBE = """
import json, sys
from pathlib import Path
import md2tex
from md2tex.memo import Memo
doc = md2tex.convert_file(sys.argv[1], memo=Memo.for_user())
loaded = sorted({m.split(".")[0] for m in sys.modules} & {"yaml", "pygments", "jinja2"})
print(json.dumps({"loaded": loaded, "tex": doc.tex, "errors": len(doc.errors)}))
"""


def _convert(post: Path, env: dict[str, str]) -> dict[str, object]:
    out = subprocess.run([sys.executable, "-c", PROBE, str(post)], capture_output=True,
                         text=True, check=True, cwd=post.parent,
                         env={**os.environ, "PYTHONPATH": str(Path(__file__).parents[1]),
                              **env}).stdout
    result: dict[str, object] = json.loads(out)
    return result


@pytest.fixture()
def private(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    monkeypatch.delenv(memo.ENV, raising=False)
    yield tmp_path / "xdg" / "md2tex" / "memo"


@pytest.fixture()
def user() -> Memo:
    return Memo.for_user()


def test_a_rebuild_imports_none_of_the_three_and_gives_the_same_tex(tmp_path: Path) -> None:
    post = tmp_path / "post.md"
    post.write_text(POST, encoding="utf-8")
    env = {"XDG_CACHE_HOME": str(tmp_path / "xdg")}
    first = _convert(post, env)
    assert first["loaded"] == ["jinja2", "pygments", "yaml"] and first["errors"] == 0
    second = _convert(post, env)
    assert second["loaded"] == [] and second["tex"] == first["tex"]
    off = _convert(post, {**env, "MD2TEX_MEMO": "0"})
    assert off["loaded"] == ["jinja2", "pygments", "yaml"] and off["tex"] == first["tex"]


def test_an_edited_body_reuses_the_rest_and_matches_a_fresh_conversion(tmp_path: Path) -> None:
    post = tmp_path / "post.md"
    post.write_text(POST, encoding="utf-8")
    env = {"XDG_CACHE_HOME": str(tmp_path / "xdg")}
    _convert(post, env)
    post.write_text(POST + "\nA new paragraph, \\LaTeX{} & friends.\n", encoding="utf-8")
    edited = _convert(post, env)
    assert edited["loaded"] == []  # same front matter, same code block, same skeleton
    fresh = _convert(post, {**env, "MD2TEX_MEMO": "0"})
    assert edited["tex"] == fresh["tex"]
    assert "A new paragraph" in str(edited["tex"])
    # a new title, author, description and tags: the front matter is parsed anew; the
    # template's skeleton has a marker for each of them, so Jinja is still not needed
    other = (POST.replace("title: Remembered", "title: Renamed & 100%")
             .replace("author: A. Writer", "author: [B, C]")
             .replace("tags: [one, two]", "tags: [three]")
             .replace("description: What", "description: How"))
    post.write_text(other, encoding="utf-8")
    renamed = _convert(post, env)
    assert renamed["loaded"] == ["yaml"]
    tex = str(renamed["tex"])
    assert "\\title{Renamed \\& 100\\%}" in tex and "\\author{B \\and C}" in tex
    assert "pdfkeywords={three}" in tex and "How a rebuild" in tex
    assert renamed["tex"] == _convert(post, {**env, "MD2TEX_MEMO": "0"})["tex"]
    # no description: the abstract goes (the template tests it), through a new skeleton
    post.write_text(other.replace("description: How a rebuild does not parse again.\n", ""),
                    encoding="utf-8")
    bare = _convert(post, env)
    assert "jinja2" in bare["loaded"] and "\\begin{abstract}" not in str(bare["tex"])
    assert bare["tex"] == _convert(post, {**env, "MD2TEX_MEMO": "0"})["tex"]


def test_values_come_back_exactly_or_are_not_stored(private: Path, user: Memo) -> None:
    value = {"date": dt.date(2024, 3, 1),
             "when": dt.datetime(2024, 3, 1, 10, 30, tzinfo=dt.timezone(dt.timedelta(hours=1))),
             "naive": dt.datetime(2024, 3, 1, 10, 30), "list": [1, 1.0, True, None, "x"],
             "nested": {"a": ["\u00e9", {"b": 2}]}}
    user.put("t", "k1", value)
    back = user.get("t", "k1")
    assert back == value and memo._same(back, value)
    assert isinstance(back["list"][1], float) and back["list"][2] is True
    for bad in ({1: "int key"}, {"s": {1, 2}}, float("nan"), b"bytes", {"\0date": "x"}):
        user.put("t", "bad", bad)
        assert user.get("t", "bad") is None


def test_a_folder_others_can_write_to_or_a_damaged_entry_is_not_used(private: Path,
                                                                     user: Memo) -> None:
    user.put("t", "k", "value")
    assert user.get("t", "k") == "value"
    (private / "t" / "k.json").write_text("{garbage", encoding="utf-8")
    assert user.get("t", "k") is None
    (private / "t" / "k.json").write_text(json.dumps({"key": "other", "value": "v"}),
                                          encoding="utf-8")
    assert user.get("t", "k") is None  # a file under another name is not this entry
    user.put("t", "k", "value")
    private.chmod(0o777)
    assert user.get("t", "k") is None
    private.chmod(0o700)
    assert user.get("t", "k") == "value"


def test_memo_off_keeps_no_entries(private: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(memo.ENV, "0")
    off = Memo.for_user()
    off.put("t", "k", "value")
    assert off.get("t", "k") is None and not private.exists()


def test_names_depend_on_every_part_and_the_library_identity() -> None:
    assert memo.key("a", "b") != memo.key("ab") != memo.key("a", "b", "")
    assert memo.library_id("yaml") and memo.library_id("no_such_library_here") is None
    assert memo.library_id("yaml") != memo.library_id("jinja2")
    # md2tex's own modules that make remembered results are part of their names too
    assert memo.library_id("md2tex.latex.highlight") and memo.library_id("md2tex.yamlload")


def test_pruning_keeps_the_newest(private: Path, user: Memo,
                                  monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(memo, "MAX_FILES", 3)
    for n in range(6):
        user.put("p", f"k{n}", n)
        os.utime(private / "p" / f"k{n}.json", (n, n))
    memo._prune(private / "p")
    assert sorted(p.stem for p in (private / "p").glob("*.json")) == ["k3", "k4", "k5"]


def test_the_skeleton_key_ignores_what_the_template_never_reads() -> None:
    from md2tex.latex import template

    names = template._names(template._builtin_source())
    assert {b"title", b"body", b"pdf", b"features", b"var"} <= names
    assert b"page" not in names and b"keywords" not in names
    assert b"page" in template._names(b"x ((( page.title ))) y ((* if page *))z((* endif *))")


def test_the_cli_remembers(tmp_path: Path) -> None:
    """``md2tex post.md -o post.tex`` passes the user's memo: the front matter, the code and
    the template skeleton are stored, and a second run gives the same .tex."""
    post = tmp_path / "post.md"
    post.write_text(POST, encoding="utf-8")
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).parents[1]),
           "XDG_CACHE_HOME": str(tmp_path / "xdg"), "MD2TEX_EARLY_TEX": "0"}
    run = [sys.executable, "-m", "md2tex", str(post), "-o", str(tmp_path / "post.tex")]
    subprocess.run(run, check=True, env=env, capture_output=True)
    first = (tmp_path / "post.tex").read_text(encoding="utf-8")
    kinds = {p.name for p in (tmp_path / "xdg" / "md2tex" / "memo").iterdir()}
    assert {"yaml", "code", "template"} <= kinds
    subprocess.run(run, check=True, env=env, capture_output=True)
    assert (tmp_path / "post.tex").read_text(encoding="utf-8") == first
