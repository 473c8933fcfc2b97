"""Decode a post, split its YAML front matter and remember where the body starts.

The parsed front matter is remembered in the ``Memo`` the caller gives (a rebuild then
imports no PyYAML); without one nothing is read from or written to a cache."""

from __future__ import annotations

import re
from typing import Any, NamedTuple

from md2tex.diagnostics import Diagnostic, InputError, error, warning
from md2tex.memo import Memo, name_for

_FRONT_OPEN = re.compile(r"---[ \t]*\n")
_FRONT_CLOSE = re.compile(r"^(?:---|\.\.\.)[ \t]*$", re.M)
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
#: the biggest front matter we parse; alias bombs expand far beyond their text
_MAX_FRONT_MATTER = 256 * 1024
#: the biggest post converted (real posts are well under 1 MB; a 1 MB post takes ~5 s)
MAX_POST_CHARS = 5_000_000


class Post(NamedTuple):
    """A decoded post: its front matter, its Markdown body and the body's first line number."""

    meta: dict[str, Any]
    body: str
    path: str = "<string>"
    #: 1-based line in the file where ``body`` begins
    body_line: int = 1
    diagnostics: tuple[Diagnostic, ...] = ()


def decode(data: bytes, path: str = "<string>", lenient: bool = False) -> str:
    """UTF-8 (BOM optional); undecodable bytes are an error naming the line unless lenient."""
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        if lenient:
            return data.decode("utf-8", errors="replace")
        line = data.count(b"\n", 0, exc.start) + 1
        column = exc.start - (data.rfind(b"\n", 0, exc.start) + 1) + 1
        raise InputError(
            "not UTF-8",
            [
                error(
                    "input-encoding",
                    f"invalid UTF-8 byte 0x{data[exc.start]:02x}; the file is not UTF-8 text",
                    line,
                    column=column,
                    path=path,
                    hint="save the file as UTF-8, or pass --lenient to replace bad bytes",
                )
            ],
        ) from None


def normalise(text: str) -> str:
    """LF line ends, no BOM, no control characters TeX would choke on (tabs stay)."""
    text = text.lstrip("\ufeff").replace("\r\n", "\n").replace("\r", "\n")
    return _CONTROL.sub("", text)


def load_post(text: str, path: str = "<string>", memo: Memo | None = None) -> Post:
    """Split front matter from body; invalid YAML is an error at its Markdown line."""
    if len(text) > MAX_POST_CHARS:
        raise InputError("post too large", [error(
            "input-too-large", f"the post has {len(text):,} characters; md2tex converts posts "
            f"of up to {MAX_POST_CHARS:,}", path=path, hint="split it into several posts")])
    text = normalise(text)
    m = _FRONT_OPEN.match(text)
    if not m:
        return Post({}, text, path, 1)
    close = _FRONT_CLOSE.search(text, m.end())
    if not close:
        # a lone '---' opening line with no close is a thematic break, not front matter
        return Post({}, text, path, 1)
    yaml_text = text[m.end() : close.start()]
    body_start = text.find("\n", close.start())
    body = "" if body_start < 0 else text[body_start + 1 :]
    body_line = text.count("\n", 0, body_start) + 2 if body_start >= 0 else 1
    meta, diags = _parse_yaml(yaml_text, path, memo)
    return Post(meta, body, path, body_line, tuple(diags))


def _parse_yaml(yaml_text: str, path: str,
                memo: Memo | None) -> tuple[dict[str, Any], list[Diagnostic]]:
    if len(yaml_text) > _MAX_FRONT_MATTER:
        raise InputError("front matter too large", [
            error("front-matter", "front matter is larger than 256 KiB", 2, path=path)])
    # a rebuild parses the same front matter again: remembered, PyYAML is not even imported
    def load() -> Any:
        return _load_yaml(yaml_text, path)

    if memo is None:
        loaded = load()
    else:
        name = name_for("yaml", "md2tex.yamlload", "front-matter", yaml_text)
        loaded = memo.recall("yaml", name, load)
    if loaded is None:
        return {}, []
    if not isinstance(loaded, dict):
        raise InputError("front matter not a mapping", [
            error("front-matter", "front matter must be a mapping of keys to values, not a "
                  f"{type(loaded).__name__}", 2, path=path)])
    return {str(k): v for k, v in loaded.items()}, _check_meta(loaded, path)


def _check_meta(meta: dict[Any, Any], path: str) -> list[Diagnostic]:
    out: list[Diagnostic] = []
    for key in ("title", "subtitle", "description", "excerpt"):
        value = meta.get(key)
        if value is not None and not isinstance(value, (str, int, float)):
            out.append(warning("front-matter", f"front matter '{key}' should be text", 2,
                               path=path))
    return out


def _load_yaml(yaml_text: str, path: str) -> Any:
    from md2tex.yamlload import load_front_matter

    return load_front_matter(yaml_text, path)
