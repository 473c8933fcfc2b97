"""The Jinja environment: LaTeX-safe delimiters, the user's template directory first
(imported only when ``template`` has to render: Jinja costs ~30 ms to import).

Every template renders in Jinja's sandbox, md2tex's own and ``--template`` ones too: a
template may come with a site (``md2tex.yaml``), and a plain ``jinja2.Environment`` lets it
reach Python (``cycler.__init__.__globals__.os``). Files a template extends or includes are
read only from its own folder (symlinks resolved: no way out of it) and from md2tex's
templates."""

from __future__ import annotations

import contextlib
import os
import time
from collections.abc import Callable, Mapping
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any

import jinja2
from jinja2.exceptions import SecurityError
from jinja2.loaders import split_template_path
from jinja2.sandbox import SandboxedEnvironment

from md2tex.diagnostics import InputError, error
from md2tex.memo import Memo
from md2tex.options import DEFAULT_TEMPLATE

#: the largest string or list ``*`` may make, and the largest integer ``**`` may make (bits)
MAX_REPEAT = 1_000_000
MAX_POWER_BITS = 4096
#: bounds on a user template's output (the body is in it: posts reach 5,000,000 characters)
MAX_OUTPUT = 64_000_000
MAX_SECONDS = 20.0
#: Python errors a template's expressions can raise (``1/0``, ``[][1]``...): the template's
#: fault, reported like a Jinja error
_TEMPLATE_FAULTS = (ArithmeticError, LookupError, TypeError, ValueError, RecursionError)


class _Sandbox(SandboxedEnvironment):
    """Jinja's sandbox (no ``_`` attributes, no unsafe callables, bounded ``range``) with
    ``*`` and ``**`` bounded too, so ``'x' * 10**12`` is an error, not all the memory."""

    intercepted_binops = frozenset({"*", "**"})

    def unsafe_undefined(self, obj: Any, attribute: str) -> jinja2.Undefined:
        """An unsafe attribute is an error at once (Jinja's sandbox returns an undefined,
        which our ``ChainableUndefined`` would let a template test and loop over)."""
        raise SecurityError(f"access to attribute {attribute!r} of {type(obj).__name__!r} "
                            "object is unsafe")

    def call_binop(self, context: jinja2.runtime.Context, operator: str, left: Any,
                   right: Any) -> Any:
        if operator == "*":
            for seq, times in ((left, right), (right, left)):
                if (isinstance(seq, (str, bytes, list, tuple)) and isinstance(times, int)
                        and len(seq) * times > MAX_REPEAT):
                    raise SecurityError(f"'*' would make more than {MAX_REPEAT} items")
        elif (operator == "**" and isinstance(left, int) and isinstance(right, int)
              and right > 0 and abs(left) > 1 and left.bit_length() * right > MAX_POWER_BITS):
            raise SecurityError(f"'**' would make an integer over {MAX_POWER_BITS} bits")
        return super().call_binop(context, operator, left, right)


class _FolderLoader(jinja2.BaseLoader):
    """Templates from one folder only: the resolved file (symlinks followed) must lie inside
    it. Jinja's ``FileSystemLoader`` refuses ``..`` but follows a symlink anywhere. One that
    leads out is an error, not "not found": the next loader must not be asked instead."""

    def __init__(self, folder: str) -> None:
        self.folder = os.path.realpath(folder)

    def get_source(self, environment: jinja2.Environment,
                   template: str) -> tuple[str, str, Callable[[], bool]]:
        path = os.path.realpath(os.path.join(self.folder, *split_template_path(template)))
        if os.path.commonpath([path, self.folder]) != self.folder:
            raise SecurityError(f"{template!r} leads outside the template's folder "
                                f"{self.folder}")
        if not os.path.isfile(path):
            raise jinja2.TemplateNotFound(template, f"{template!r} not found in "
                                          f"{self.folder}")
        with open(path, encoding="utf-8") as f:
            contents = f.read()
        mtime = os.path.getmtime(path)

        def uptodate() -> bool:
            try:
                return os.path.getmtime(path) == mtime
            except OSError:
                return False

        return contents, path, uptodate


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


def _bytecode_cache(memo: Memo | None) -> jinja2.BytecodeCache | None:
    """The memo's ``jinja`` folder, only if it is this user's and nobody else can write there
    (compiled templates are code); None without a memo. Its own file names: code compiled
    for the sandbox (intercepted operators) differs from a plain environment's."""
    directory = None if memo is None else memo.private("jinja")
    return None if directory is None else _BytecodeCache(str(directory),
                                                         "__md2tex_sandbox_%s.cache")


def _environment(loaders: list[jinja2.BaseLoader],
                 memo: Memo | None = None) -> jinja2.Environment:
    return _Sandbox(
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
        bytecode_cache=_bytecode_cache(memo),
    )


def _package_loader() -> jinja2.BaseLoader:
    root = resources.files("md2tex.templates")
    return jinja2.FileSystemLoader(str(root))


@lru_cache(maxsize=16)
def environment(user_dir: str | None = None, memo: Memo | None = None) -> jinja2.Environment:
    """The environment for templates in ``user_dir`` (and ours); compiled templates are
    kept in ``memo`` when one is given."""
    loaders: list[jinja2.BaseLoader] = []
    if user_dir:
        loaders.append(_FolderLoader(user_dir))
    loaders.append(_package_loader())
    return _environment(loaders, memo)


def _bounded(tpl: jinja2.Template, values: Mapping[str, Any]) -> str:
    """A user template's output, stopped once it passes ``MAX_OUTPUT`` characters or
    ``MAX_SECONDS`` (a loop that keeps writing). A loop that writes nothing is not seen."""
    chunks: list[str] = []
    size = 0
    deadline = time.monotonic() + MAX_SECONDS
    for chunk in tpl.generate(**values):
        chunks.append(chunk)
        size += len(chunk)
        if size > MAX_OUTPUT:
            raise SecurityError(f"the output passed {MAX_OUTPUT} characters")
        if time.monotonic() > deadline:
            raise SecurityError(f"it ran longer than {MAX_SECONDS:g} s")
    return "".join(chunks)


def render(values: Mapping[str, Any], template: Path | None = None,
           memo: Memo | None = None) -> str:
    """Fill the template (the user's file if given, else ours) with the document's values.
    A broken or refused user template is an InputError naming the template file and line."""
    try:
        if template is not None:
            resolved = template.resolve()
            env = environment(str(resolved.parent), memo)
            return _bounded(env.get_template(resolved.name), values)
        return environment(None, memo).get_template(DEFAULT_TEMPLATE).render(**values)
    except jinja2.TemplateError as exc:
        where = getattr(exc, "filename", None) or (str(template) if template else
                                                    DEFAULT_TEMPLATE)
        line = getattr(exc, "lineno", None)
        kind = "not found" if isinstance(exc, jinja2.TemplateNotFound) else "error"
        raise InputError(f"template {kind}", [error(
            "template", f"template {kind}: {exc.message or exc}", line, path=str(where))]) \
            from None
    except _TEMPLATE_FAULTS as exc:
        if template is None:
            raise
        raise InputError("template error", [error(
            "template", f"template error: {type(exc).__name__}: {exc}",
            path=str(template))]) from None
