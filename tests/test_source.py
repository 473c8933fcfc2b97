"""source.py: decoding, line ends, YAML front matter and where the body starts."""

from __future__ import annotations

from pathlib import Path

import pytest
from helpers import body_of
from hypothesis import given
from hypothesis import strategies as st

import md2tex
from md2tex.markdown.source import decode, load_post, normalise

# ------------------------------------------------------------------------------ decoding


def test_bom_is_dropped() -> None:
    assert decode("\ufeffHallo".encode()) == "Hallo"
    assert decode(b"\xef\xbb\xbfx") == "x"


def test_invalid_utf8_names_file_line_and_column() -> None:
    data = b"first line\nsecond\nthird \xff here\n"
    with pytest.raises(md2tex.InputError) as info:
        decode(data, "post.md")
    (diag,) = info.value.diagnostics
    assert (diag.path, diag.line, diag.column, diag.code) == ("post.md", 3, 7, "input-encoding")
    assert "0xff" in diag.message
    assert "--lenient" in (diag.hint or "")
    assert str(info.value).startswith("post.md:3:7: error: invalid UTF-8")


def test_invalid_utf8_lenient_replaces() -> None:
    assert decode(b"a\xffb", lenient=True) == "a\ufffdb"


def test_latin1_file_is_rejected_by_convert_file(tmp_path: Path) -> None:
    post = tmp_path / "latin.md"
    post.write_bytes("Intro\n\nCaf\u00e9 cr\u00e8me\n".encode("latin-1"))
    with pytest.raises(md2tex.InputError) as info:
        md2tex.convert_file(post)
    assert info.value.diagnostics[0].line == 3
    assert info.value.diagnostics[0].path == str(post)
    doc = md2tex.convert_file(post, md2tex.Options(lenient=True))
    assert "Caf" in doc.tex


# --------------------------------------------------------------------------- line ends


def test_crlf_and_cr_become_lf() -> None:
    assert normalise("a\r\nb\rc\n") == "a\nb\nc\n"


def test_control_characters_removed_tabs_kept() -> None:
    assert normalise("a\x00b\x07c\td\x1b") == "abc\td"


def test_crlf_bom_post_converts_like_lf_post() -> None:
    lf = "---\ntitle: Same\n---\n\nPara $x_1$\nline two  \nthree\n\n```\ncode\n```\n"
    crlf = "\ufeff" + lf.replace("\n", "\r\n")
    assert md2tex.convert(crlf).tex == md2tex.convert(lf).tex


@given(st.text(alphabet=st.sampled_from(list("ab \t\r\n-:#")), max_size=80))
def test_normalise_leaves_no_cr_and_keeps_line_count(text: str) -> None:
    out = normalise(text)
    assert "\r" not in out
    expected_breaks = text.count("\r\n") + (text.count("\r") - text.count("\r\n")) \
        + (text.count("\n") - text.count("\r\n"))
    assert out.count("\n") == expected_breaks


# ------------------------------------------------------------------------- front matter


def test_front_matter_split_and_body_line() -> None:
    post = load_post("---\ntitle: T\ntags: [a, b]\n---\n\nBody\n", "p.md")
    assert post.meta == {"title": "T", "tags": ["a", "b"]}
    assert post.body == "\nBody\n"
    assert post.body_line == 5


def test_dots_close_front_matter() -> None:
    post = load_post("---\ntitle: T\n...\nBody\n")
    assert post.meta == {"title": "T"} and post.body == "Body\n" and post.body_line == 4


def test_no_front_matter() -> None:
    post = load_post("Just text\n")
    assert post.meta == {} and post.body_line == 1


def test_unclosed_dashes_are_a_thematic_break_not_front_matter() -> None:
    post = load_post("---\nText after a rule\n")
    assert post.meta == {} and post.body.startswith("---")
    assert "\\mdrule" in md2tex.convert("---\nText after a rule\n").tex


def test_empty_front_matter() -> None:
    post = load_post("---\n---\nBody\n")
    assert post.meta == {} and post.body == "Body\n" and post.body_line == 3


@pytest.mark.parametrize(("text", "line"), [
    ("---\ntitle: ok\n  bad: indent\n---\nBody\n", 3),
    ("---\ntitle: ok\nother: fine\nkey: [unclosed\n---\nBody\n", 5),
    ("---\ntitle: \"unterminated\n---\nBody\n", 3),
])
def test_invalid_yaml_is_error_at_markdown_line(text: str, line: int) -> None:
    with pytest.raises(md2tex.InputError) as info:
        md2tex.convert(text, path="p.md")
    (diag,) = info.value.diagnostics
    assert diag.code == "front-matter"
    assert diag.line == line, diag.format()
    assert diag.path == "p.md"
    assert "invalid YAML" in diag.message


@pytest.mark.parametrize(("text", "line"), [
    ("---\ntitle: x\ndate: 2018-02-30\n---\nBody\n", 3),
    ("---\nn: !!int abc\n---\nBody\n", 2),
    ("---\na: 1\nb: 2\nt: !!timestamp nonsense\n---\nBody\n", 4),
])
def test_impossible_yaml_value_is_error_at_its_line(text: str, line: int) -> None:
    with pytest.raises(md2tex.InputError) as info:
        md2tex.convert(text, path="p.md")
    (diag,) = info.value.diagnostics
    assert (diag.code, diag.line) == ("front-matter", line), diag.format()


def test_invalid_yaml_line_counts_bom_and_crlf() -> None:
    text = "\ufeff---\r\ntitle: ok\r\n  bad: indent\r\n---\r\nBody\r\n"
    with pytest.raises(md2tex.InputError) as info:
        md2tex.convert(text)
    assert info.value.diagnostics[0].line == 3


def test_front_matter_must_be_a_mapping() -> None:
    with pytest.raises(md2tex.InputError, match="mapping"):
        md2tex.convert("---\n- a\n- b\n---\nBody\n")


def test_yaml_is_loaded_safely() -> None:
    with pytest.raises(md2tex.InputError):
        md2tex.convert("---\nx: !!python/object/apply:os.system ['echo hi']\n---\nBody\n")


def test_yaml_alias_bomb_is_refused() -> None:
    lines = ["a: &a [x, x, x, x, x, x, x, x, x, x]"]
    for i in range(1, 8):
        prev = chr(ord("a") + i - 1)
        cur = chr(ord("a") + i)
        lines.append(f"{cur}: &{cur} [*{prev}, *{prev}, *{prev}, *{prev}, *{prev}, *{prev}, "
                     f"*{prev}, *{prev}, *{prev}, *{prev}]")
    text = "---\n" + "\n".join(lines) + "\n---\nBody\n"
    with pytest.raises(md2tex.InputError, match="alias"):
        md2tex.convert(text)


def test_body_lines_are_counted_from_the_file_start() -> None:
    doc = md2tex.convert("---\ntitle: T\nx: 1\n---\n\nFirst para\n\nSecond para\n")
    assert "%L6\nFirst para" in body_of(doc.tex)
    assert "%L8\nSecond para" in body_of(doc.tex)


@given(st.integers(min_value=0, max_value=6), st.integers(min_value=0, max_value=4))
def test_body_line_matches_front_matter_size(keys: int, blank: int) -> None:
    fm = "".join(f"k{i}: v{i}\n" for i in range(keys))
    text = "---\n" + fm + "---\n" + "\n" * blank + "Para\n"
    post = load_post(text)
    assert post.body_line == keys + 3
    para_line = post.body_line + post.body[: post.body.index("Para")].count("\n")
    assert text.split("\n")[para_line - 1] == "Para"
