"""Filling the LaTeX template: the user's file if given, else md2tex's own.

Our own template inserts the body, the title, subtitle, author, date, abstract and PDF
metadata as they are (or tests whether they are empty). So the rest of its output depends
only on the other values, and is remembered (in the ``Memo`` the caller gives) as a
*skeleton*, with a marker where each of those texts goes: a rebuild, or a new post of a site
whose options and features are those of a post built before, fills the markers in and never
imports Jinja (~30 ms). A skeleton is stored only after filling it in gave exactly Jinja's
output for the post it was made with. Without a memo, Jinja renders every time."""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping
from functools import lru_cache
from pathlib import Path
from typing import Any

from md2tex.memo import Memo, library_id, name_for
from md2tex.options import DEFAULT_TEMPLATE

#: the texts our template only inserts or tests: top-level values, then ``pdf.*`` ones
_TEXTS = ("body", "title", "subtitle", "author", "date", "abstract")
_PDF_TEXTS = ("title", "author", "subject", "keywords")
_MARKER = re.compile("\0md2tex-[a-z.]+\0")
#: a ``((( ... )))`` or ``((* ... *))`` expression of a template
_EXPRESSION = re.compile(rb"\(\([(*]((?:(?![*)]\)\)).)*)", re.S)
#: a name in an expression (not an attribute: ``pdf.title`` names ``pdf``)
_NAME = re.compile(rb"(?<![.\w])[A-Za-z_]\w*")


def render_template(values: Mapping[str, Any], template: Path | None = None,
                    memo: Memo | None = None) -> str:
    """Fill the template (the user's file if given, else ours) with the document's values.
    A broken user template is an InputError naming the template file and line."""
    found = _skeleton(values) if template is None and memo is not None else None
    if found is not None:
        name, marked, texts = found
        assert memo is not None
        skeleton = memo.get("template", name)
        if isinstance(skeleton, str) and skeleton.count(_marker("body")) == 1:
            return _fill(skeleton, texts)
    from md2tex.latex.jinjaenv import render

    tex = render(values, template, memo)
    if found is not None and memo is not None:
        skeleton = render(marked, template, memo)
        if skeleton.count(_marker("body")) == 1 and _fill(skeleton, texts) == tex:
            memo.put("template", name, skeleton)
    return tex


def _marker(name: str) -> str:
    return f"\0md2tex-{name}\0"


def _fill(skeleton: str, texts: Mapping[str, str]) -> str:
    return _MARKER.sub(lambda m: texts[m.group(0)], skeleton)


def _skeleton(values: Mapping[str, Any]) -> tuple[str, dict[str, Any], dict[str, str]] | None:
    """(the skeleton's memo name, the values with markers in place of the texts, marker ->
    text), or None when the values do not allow a skeleton."""
    pdf = values.get("pdf")
    if not isinstance(pdf, Mapping):
        return None
    marked = dict(values)
    marked_pdf = dict(pdf)
    texts: dict[str, str] = {}
    for where, keys, prefix in ((marked, _TEXTS, ""), (marked_pdf, _PDF_TEXTS, "pdf.")):
        for key in keys:
            text = where.get(key)
            if not isinstance(text, str) or "\0" in text:
                return None
            if text:  # an empty one stays empty: the template may test it
                marker = _marker(prefix + key)
                texts[marker] = text
                where[key] = marker
    marked["pdf"] = marked_pdf
    if _marker("body") not in texts:
        return None
    try:
        source = _builtin_source()
        names = _names(source)  # values the template never reads do not matter (``page``)
        key = json.dumps({k: v for k, v in marked.items() if k.encode() in names},
                         sort_keys=True, ensure_ascii=False, default=_repr)
    except (TypeError, ValueError, OSError):
        return None
    name = name_for("jinja2", "md2tex.latex.template", "template",
                    library_id("md2tex.latex.jinjaenv") or "",
                    hashlib.sha256(source).hexdigest(), key)
    return None if name is None else (name, marked, texts)


@lru_cache(maxsize=4)
def _names(source: bytes) -> frozenset[bytes]:
    return frozenset(name for expression in _EXPRESSION.findall(source)
                     for name in _NAME.findall(expression))


def _repr(value: Any) -> str:
    return f"{type(value).__module__}.{type(value).__qualname__}:{value!r}"


def _builtin_source() -> bytes:
    import importlib.util

    spec = importlib.util.find_spec("md2tex.templates")
    if spec is None or not spec.submodule_search_locations:
        raise OSError("md2tex.templates not found")
    return (Path(next(iter(spec.submodule_search_locations))) / DEFAULT_TEMPLATE).read_bytes()


def template_source_hash(template: Path | None) -> str:
    """Identifies the template's text, for batch caching."""
    data = template.read_bytes() if template is not None else _builtin_source()
    return hashlib.sha256(data).hexdigest()[:16]


def default_template_text() -> str:
    """md2tex's own template, as ``md2tex template`` prints it (a starting point for
    ``--template``)."""
    return _builtin_source().decode("utf-8")
