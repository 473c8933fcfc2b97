"""The Jinja environment: LaTeX-safe delimiters, the user's template directory first
(imported only when ``template`` has to render: Jinja costs ~30 ms to import)."""

from __future__ import annotations

import contextlib
from collections.abc import Mapping
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any

import jinja2

from .diagnostics import InputError, error
from .memo import private_dir
from .template import DEFAULT_TEMPLATE


class _BytecodeCache(jinja2.FileSystemBytecodeCache):
    """Compiled templates on disk: compiling ours costs ~35 ms in every fresh process, loading
    it back ~1 ms. Keyed by template name and source checksum; a cache that cannot be read or
    written is simply not used."""

    def load_bytecode(self, bucket: jinja2.bccache.Bucket) -> None:
        try:
            super().load_bytecode(bucket)
        except (OSError, ValueError, EOFError):
            bucket.reset()

    def dump_bytecode(self, bucket: jinja2.bccache.Bucket) -> None:
        with contextlib.suppress(OSError, ValueError):
            super().dump_bytecode(bucket)


def _bytecode_cache() -> jinja2.BytecodeCache | None:
    """``$XDG_CACHE_HOME/md2tex/jinja`` (or ``~/.cache/...``), only if it is this user's and
    nobody else can write there (compiled templates are code)."""
    directory = private_dir("jinja")
    return None if directory is None else _BytecodeCache(str(directory))


def _environment(loaders: list[jinja2.BaseLoader]) -> jinja2.Environment:
    return jinja2.Environment(
        loader=jinja2.ChoiceLoader(loaders),
        block_start_string="((*",
        block_end_string="*))",
        variable_start_string="(((",
        variable_end_string=")))",
        comment_start_string="((=",
        comment_end_string="=))",
        trim_blocks=True,
        lstrip_blocks=True,
        autoescape=False,
        keep_trailing_newline=True,
        undefined=jinja2.ChainableUndefined,
        bytecode_cache=_bytecode_cache(),
    )


def _package_loader() -> jinja2.BaseLoader:
    root = resources.files("md2tex.templates")
    return jinja2.FileSystemLoader(str(root))


@lru_cache(maxsize=16)
def environment(user_dir: str | None = None) -> jinja2.Environment:
    loaders: list[jinja2.BaseLoader] = []
    if user_dir:
        loaders.append(jinja2.FileSystemLoader(user_dir))
    loaders.append(_package_loader())
    return _environment(loaders)


def render(values: Mapping[str, Any], template: Path | None = None) -> str:
    """Fill the template (the user's file if given, else ours) with the document's values.
    A broken user template is an InputError naming the template file and line."""
    try:
        if template is not None:
            env = environment(str(template.resolve().parent))
            tpl = env.get_template(template.name)
        else:
            tpl = environment(None).get_template(DEFAULT_TEMPLATE)
        return tpl.render(**values)
    except jinja2.TemplateError as exc:
        where = getattr(exc, "filename", None) or (str(template) if template else
                                                    DEFAULT_TEMPLATE)
        line = getattr(exc, "lineno", None)
        kind = "not found" if isinstance(exc, jinja2.TemplateNotFound) else "error"
        raise InputError(f"template {kind}", [error(
            "template", f"template {kind}: {exc.message or exc}", line, path=str(where))]) \
            from None
