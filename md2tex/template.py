"""Filling the LaTeX template: the user's file if given, else md2tex's own.

Our own template puts the body in one place, as it is. So the rest of its output depends
only on the other values, and is remembered (``memo``) with a marker where the body goes:
a rebuild whose title, options and features did not change fills that in and never imports
Jinja (~30 ms). A remembered skeleton is stored only after it gave exactly the output of
Jinja for the body it was made with."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from . import memo

DEFAULT_TEMPLATE = "article.tex.j2"
#: stands for the body in a remembered skeleton
_BODY = "\0md2tex-body\0"


def render_template(values: Mapping[str, Any], template: Path | None = None) -> str:
    """Fill the template (the user's file if given, else ours) with the document's values.
    A broken user template is an InputError naming the template file and line."""
    body = values.get("body")
    name = _skeleton_name(values) if template is None and isinstance(body, str) else None
    if name is not None and isinstance(body, str) and body:
        skeleton = memo.get("template", name)
        if isinstance(skeleton, str) and skeleton.count(_BODY) == 1:
            return skeleton.replace(_BODY, body)
    from .jinjaenv import render

    tex = render(values, template)
    if name is not None and isinstance(body, str) and body and _BODY not in body:
        skeleton = render({**values, "body": _BODY}, template)
        if skeleton.count(_BODY) == 1 and skeleton.replace(_BODY, body) == tex:
            memo.put("template", name, skeleton)
    return tex


def _skeleton_name(values: Mapping[str, Any]) -> str | None:
    library = memo.library_id("jinja2")
    if library is None:
        return None
    try:
        rest = json.dumps({k: v for k, v in values.items() if k != "body"}, sort_keys=True,
                          ensure_ascii=False, default=_repr)
        source = _builtin_source()
    except (TypeError, ValueError, OSError):
        return None
    return memo.key("template", library, hashlib.sha256(source).hexdigest(), rest)


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
